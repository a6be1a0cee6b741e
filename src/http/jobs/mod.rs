//! Job resources: create (plan, suggest), read (status, list), cancel.

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use std::collections::HashMap;
use uuid::Uuid;

use super::AppState;
use super::error::{ApiError, ErrorResponse, FieldError};
use super::json::{self, Valid};
use crate::jobs::{self, Job, JobRequest, WorkflowMode, transitions};

mod wire;
pub use wire::*;

/// A malformed id names no job: 404, like an unknown one.
pub fn parse_job_id(raw: &str) -> Result<Uuid, ApiError> {
    raw.trim()
        .parse()
        .map_err(|_| ApiError::NotFound("Job not found".into(), None))
}

/// The `Idempotency-Key` header: 1–255 visible ASCII characters.
fn idempotency_key(headers: &HeaderMap) -> Result<Option<String>, ApiError> {
    let Some(value) = headers.get("idempotency-key") else {
        return Ok(None);
    };
    match value.to_str() {
        Ok(key) if (1..=255).contains(&key.len()) && key.chars().all(|c| c.is_ascii_graphic()) => {
            Ok(Some(key.to_string()))
        }
        _ => Err(ApiError::Validation(vec![FieldError {
            location: "header".into(),
            field: "Idempotency-Key".into(),
            reason: "Must be 1–255 visible ASCII characters".into(),
        }])),
    }
}

/// Accepts the job; with an idempotency key, a repeat of the same request
/// returns the job the first one created instead of a second job.
async fn create(
    state: &AppState,
    job: Job,
    message: &str,
    headers: &HeaderMap,
) -> Result<Response, ApiError> {
    let Some(key) = idempotency_key(headers)? else {
        let job = jobs::submit(state.store.as_ref(), job).await?;
        return Ok((StatusCode::ACCEPTED, Json(JobResponse::new(&job, message))).into_response());
    };
    let request = job.request.clone();
    let (job, created) = jobs::submit_once(state.store.as_ref(), job, &key).await?;
    if created {
        return Ok((StatusCode::ACCEPTED, Json(JobResponse::new(&job, message))).into_response());
    }
    if job.request != request {
        return Err(ApiError::Conflict {
            message: "This Idempotency-Key was already used for a different request".into(),
            job_id: Some(job.id),
        });
    }
    let mut response = JobResponse::new(&job, message);
    response.message = Some(format!(
        "{message} (repeated request: this job was created by the first one)"
    ));
    Ok((
        StatusCode::ACCEPTED,
        [("idempotent-replayed", "true")],
        Json(response),
    )
        .into_response())
}

/// Start planning a trip.
#[utoipa::path(post, path = "/v1/plan", tag = "jobs", request_body = PlanRequest,
    params(("Idempotency-Key" = Option<String>, Header, description = "Makes retries safe: a repeat with the same key (per user, 24 h) returns the first job instead of creating another")),
    responses(
        (status = 202, description = "Job accepted (or, for a repeated Idempotency-Key, the job the first request created; header `Idempotent-Replayed: true`)", body = JobResponse),
        (status = 409, description = "Idempotency-Key reused for a different request", body = ErrorResponse),
        (status = 429, description = "Over RATE_LIMIT_PER_MINUTE; see Retry-After", body = ErrorResponse),
        (status = 401, body = ErrorResponse), (status = 415, body = ErrorResponse),
        (status = 413, body = ErrorResponse), (status = 422, body = ErrorResponse),
        (status = 503, description = "Job store unavailable", body = ErrorResponse)),
    security((), ("bearer" = []), ("api_key" = [])))]
pub async fn create_plan(
    State(state): State<AppState>,
    headers: HeaderMap,
    Valid(req): Valid<PlanRequest>,
) -> Result<Response, ApiError> {
    let request = JobRequest {
        query: Some(req.query),
        constraints: req.constraints,
        session_id: req.session_id,
        trigger_type: None,
        context: None,
    };
    let job = Job::new(req.user_id, WorkflowMode::Reactive, request);
    create(&state, job, "Trip planning started", &headers).await
}

/// Start a proactive suggestion from a trigger (price drop, calendar gap, budget surplus).
#[utoipa::path(post, path = "/v1/suggest", tag = "jobs", request_body = SuggestRequest,
    params(("Idempotency-Key" = Option<String>, Header, description = "Makes retries safe, as for /v1/plan")),
    responses(
        (status = 202, description = "Job accepted", body = JobResponse),
        (status = 409, description = "Idempotency-Key reused for a different request", body = ErrorResponse),
        (status = 429, description = "Over RATE_LIMIT_PER_MINUTE; see Retry-After", body = ErrorResponse),
        (status = 401, body = ErrorResponse), (status = 422, body = ErrorResponse),
        (status = 503, body = ErrorResponse)),
    security((), ("bearer" = []), ("api_key" = [])))]
pub async fn create_suggestion(
    State(state): State<AppState>,
    headers: HeaderMap,
    Valid(req): Valid<SuggestRequest>,
) -> Result<Response, ApiError> {
    let request = JobRequest {
        query: None,
        constraints: req.constraints.unwrap_or_default(),
        session_id: None,
        trigger_type: Some(req.trigger_type),
        context: Some(req.context),
    };
    let job = Job::new(req.user_id, WorkflowMode::Proactive, request);
    create(&state, job, "Proactive suggestion started", &headers).await
}

/// A job's status, progress, partial outputs and result.
#[utoipa::path(get, path = "/v1/status/{job_id}", tag = "jobs",
    params(("job_id" = String, Path, description = "The job id")),
    responses(
        (status = 200, body = JobStatusResponse),
        (status = 404, body = ErrorResponse), (status = 503, body = ErrorResponse)),
    security((), ("bearer" = []), ("api_key" = [])))]
pub async fn job_status(
    State(state): State<AppState>,
    Path(job_id): Path<String>,
) -> Result<Json<JobStatusResponse>, ApiError> {
    let id = parse_job_id(&job_id)?;
    let job = state
        .store
        .get(id)
        .await?
        .ok_or_else(|| ApiError::job_not_found(id))?;
    Ok(Json(JobStatusResponse::from(&job)))
}

/// A user's jobs, newest first.
#[utoipa::path(get, path = "/v1/jobs", tag = "jobs",
    params(
        ("user_id" = String, Query, description = "Whose jobs"),
        ("limit" = Option<u32>, Query, description = "1–100, default 20"),
        ("cursor" = Option<String>, Query, description = "`next_cursor` of the previous page")),
    responses(
        (status = 200, body = JobListResponse),
        (status = 422, body = ErrorResponse), (status = 503, body = ErrorResponse)),
    security((), ("bearer" = []), ("api_key" = [])))]
pub async fn list_jobs(
    State(state): State<AppState>,
    Query(params): Query<HashMap<String, String>>,
) -> Result<Json<JobListResponse>, ApiError> {
    let mut errors = Vec::new();
    let user_id = match params.get("user_id").map(|s| json::user_id(s)) {
        None => {
            errors.push(FieldError::query("user_id", "Field required"));
            None
        }
        Some(Err(reason)) => {
            errors.push(FieldError::query("user_id", reason));
            None
        }
        Some(Ok(id)) => Some(id),
    };
    let limit = match params.get("limit").map(|s| s.parse::<usize>()) {
        None => 20,
        Some(Ok(n)) if (1..=100).contains(&n) => n,
        Some(_) => {
            errors.push(FieldError::query(
                "limit",
                "Must be a whole number between 1 and 100",
            ));
            20
        }
    };
    let cursor = match params
        .get("cursor")
        .filter(|s| !s.is_empty())
        .map(|s| s.parse::<Uuid>())
    {
        None => None,
        Some(Ok(id)) => Some(id),
        Some(Err(_)) => {
            errors.push(FieldError::query(
                "cursor",
                "Must be a next_cursor value from a previous page",
            ));
            None
        }
    };
    let Some(user_id) = user_id.filter(|_| errors.is_empty()) else {
        return Err(ApiError::Validation(errors));
    };
    let page = state.store.list_user_jobs(&user_id, limit, cursor).await?;
    Ok(Json(JobListResponse {
        jobs: page.jobs.iter().map(JobSummary::from).collect(),
        next_cursor: page.next_cursor.map(|c| c.to_string()),
    }))
}

/// Cancel a job that has not finished.
#[utoipa::path(post, path = "/v1/jobs/{job_id}/cancel", tag = "jobs",
    params(("job_id" = String, Path, description = "The job id")),
    responses(
        (status = 200, body = JobResponse),
        (status = 404, body = ErrorResponse),
        (status = 409, description = "Already finished", body = ErrorResponse),
        (status = 503, body = ErrorResponse)),
    security((), ("bearer" = []), ("api_key" = [])))]
pub async fn cancel_job(
    State(state): State<AppState>,
    Path(job_id): Path<String>,
) -> Result<Json<JobResponse>, ApiError> {
    let id = parse_job_id(&job_id)?;
    let applied = state
        .store
        .apply(id, &|job: &mut Job| {
            transitions::cancel(job, "Cancelled by request", "cancelled")
        })
        .await
        .map_err(|e| with_job_id(e.into(), id))?;
    tracing::info!(job_id = %id, "job cancelled");
    // A run in progress ends the trace itself when it stops; a job parked
    // for approval has no run to do it.
    let was_parked = applied
        .job
        .approval
        .as_ref()
        .is_some_and(|a| a.decision.is_none());
    if was_parked {
        state.tracer.job_ended(&applied.job);
    }
    Ok(Json(JobResponse::new(&applied.job, "Job cancelled")))
}

/// Names the job in an error about it.
pub fn with_job_id(error: ApiError, id: Uuid) -> ApiError {
    match error {
        ApiError::BadRequest { message, .. } => ApiError::BadRequest {
            message,
            job_id: Some(id),
        },
        ApiError::Conflict { message, .. } => ApiError::Conflict {
            message,
            job_id: Some(id),
        },
        ApiError::NotFound(message, _) => ApiError::NotFound(message, Some(id)),
        other => other,
    }
}
