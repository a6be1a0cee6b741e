//! Human decisions on a job: approval of a paused plan, and feedback.

use axum::Json;
use axum::extract::State;
use chrono::Utc;
use serde_json::{Map, Value};
use utoipa::ToSchema;

use super::AppState;
use super::error::{ApiError, ErrorResponse, FieldError};
use super::jobs::MessageResponse;
use super::jobs::{parse_job_id, with_job_id};
use super::json::Valid;
use super::json::{Fields, FromJson};
use crate::jobs::{Feedback, Job, transitions};

/// Approve or reject a plan paused for approval.
#[utoipa::path(post, path = "/v1/approve", tag = "jobs", request_body = ApprovalRequest,
    responses(
        (status = 200, description = "OK", body = MessageResponse, example = json!({"message": "Approval granted, workflow resuming"})),
        (status = 400, description = "Job is not awaiting approval", body = ErrorResponse),
        (status = 404, description = "Not found", body = ErrorResponse), (status = 422, description = "Validation error; details.errors names each bad field", body = ErrorResponse),
        (status = 503, description = "A dependency (the job store) is unavailable; retry after Retry-After", body = ErrorResponse)),
    security((), ("bearer" = []), ("api_key" = [])))]
pub async fn approve(
    State(state): State<AppState>,
    Valid(req): Valid<ApprovalRequest>,
) -> Result<Json<MessageResponse>, ApiError> {
    let id = parse_job_id(&req.job_id)?;
    let notes = req.notes.clone();
    let applied = state
        .store
        .apply(id, &|job: &mut Job| {
            transitions::decide_approval(job, req.approved, notes.clone())
        })
        .await
        .map_err(|e| with_job_id(e.into(), id))?;
    tracing::info!(job_id = %id, approved = req.approved, "approval decided");
    if !req.approved {
        state.tracer.job_ended(&applied.job);
    }
    Ok(Json(MessageResponse::new(if req.approved {
        "Approval granted, workflow resuming"
    } else {
        "Approval denied, workflow cancelled"
    })))
}

/// Rate a job's result; kept with the job, whatever its status, and sent to
/// Opik as the trace's `user_rating` score.
#[utoipa::path(post, path = "/v1/feedback", tag = "jobs", request_body = FeedbackRequest,
    responses(
        (status = 200, description = "OK", body = MessageResponse),
        (status = 404, description = "Not found", body = ErrorResponse), (status = 422, description = "Validation error; details.errors names each bad field", body = ErrorResponse),
        (status = 503, description = "A dependency (the job store) is unavailable; retry after Retry-After", body = ErrorResponse)),
    security((), ("bearer" = []), ("api_key" = [])))]
pub async fn submit_feedback(
    State(state): State<AppState>,
    Valid(req): Valid<FeedbackRequest>,
) -> Result<Json<MessageResponse>, ApiError> {
    let id = parse_job_id(&req.job_id)?;
    let feedback = Feedback {
        rating: req.rating,
        comment: req.comment,
        helpful_aspects: req.helpful_aspects,
        improvement_areas: req.improvement_areas,
        submitted_at: Utc::now(),
    };
    // Stored first: it is kept even when Opik is down or not configured.
    let applied = state
        .store
        .apply(id, &|job: &mut Job| {
            transitions::add_feedback(job, feedback.clone())
        })
        .await
        .map_err(|e| with_job_id(e.into(), id))?;
    metrics::counter!("lotara_feedback_total").increment(1);
    state.tracer.feedback(&applied.job, &feedback);
    Ok(Json(MessageResponse::new(
        "Feedback submitted successfully",
    )))
}

#[derive(Debug, Clone, ToSchema)]
#[schema(example = json!({"job_id": "0193a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b", "approved": true, "notes": "OK to go over by $300"}))]
pub struct ApprovalRequest {
    #[schema(min_length = 1, max_length = 100)]
    pub job_id: String,
    pub approved: bool,
    #[schema(max_length = 500)]
    pub notes: Option<String>,
}

impl FromJson for ApprovalRequest {
    fn from_json(body: &Map<String, Value>) -> Result<Self, Vec<FieldError>> {
        let mut f = Fields::new(body);
        let job_id = f.string("job_id", true, 100);
        let approved = f.boolean("approved");
        let notes = f.string("notes", false, 500);
        f.finish(|| {
            Some(Self {
                job_id: job_id?,
                approved: approved?,
                notes,
            })
        })
    }
}

#[derive(Debug, Clone, ToSchema)]
#[schema(example = json!({
    "job_id": "0193a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b", "rating": 5, "comment": "Great plan",
    "helpful_aspects": ["itinerary"], "improvement_areas": ["hotel choice"]
}))]
pub struct FeedbackRequest {
    #[schema(min_length = 1, max_length = 100)]
    pub job_id: String,
    #[schema(minimum = 1, maximum = 5)]
    pub rating: u8,
    #[schema(max_length = 1000)]
    pub comment: Option<String>,
    /// Each at most 200 characters.
    #[schema(max_items = 50, max_length = 200)]
    pub helpful_aspects: Option<Vec<String>>,
    /// Each at most 200 characters.
    #[schema(max_items = 50, max_length = 200)]
    pub improvement_areas: Option<Vec<String>>,
}

impl FromJson for FeedbackRequest {
    fn from_json(body: &Map<String, Value>) -> Result<Self, Vec<FieldError>> {
        let mut f = Fields::new(body);
        let job_id = f.string("job_id", true, 100);
        let rating = f.integer("rating", true, 1, 5);
        let comment = f.string("comment", false, 1000);
        let helpful_aspects = f.strings("helpful_aspects", 50, 200);
        let improvement_areas = f.strings("improvement_areas", 50, 200);
        f.finish(|| {
            Some(Self {
                job_id: job_id?,
                rating: u8::try_from(rating?).ok()?,
                comment,
                helpful_aspects,
                improvement_areas,
            })
        })
    }
}
