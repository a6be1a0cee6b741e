//! Running a monitor on request: what operators and tests use instead of
//! waiting for the schedule.

use axum::Json;
use axum::extract::{Path, State};
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

use super::AppState;
use super::error::{ApiError, ErrorResponse, FieldError, Timestamp};
use crate::jobs::JobStatus;
use crate::scheduler::{MonitorTask, RunReport};

/// Run a monitor now and list the proactive jobs it started. Unlike a
/// scheduled firing it takes no cluster lock; suggestions are still
/// deduplicated, so running it twice starts nothing new.
#[utoipa::path(post, path = "/v1/scheduler/{task}/run", tag = "scheduler",
    params(("task" = MonitorTask, Path, description = "Which monitor to run")),
    responses(
        (status = 200, description = "OK", body = SchedulerRunResponse),
        (status = 422, description = "Unknown task", body = ErrorResponse),
        (status = 503, description = "A dependency (the job store) is unavailable; retry after Retry-After", body = ErrorResponse)),
    security((), ("bearer" = []), ("api_key" = [])))]
pub async fn run_task(
    State(state): State<AppState>,
    Path(task): Path<String>,
) -> Result<Json<SchedulerRunResponse>, ApiError> {
    let task: MonitorTask = task
        .parse()
        .map_err(|reason| ApiError::Validation(vec![FieldError::path("task", reason)]))?;
    let report = state.scheduler.run(task, None).await?;
    tracing::info!(task = %task, started = report.suggestions.len(), "monitor run on request");
    Ok(Json(SchedulerRunResponse::from(&report)))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SuggestionInfo {
    pub job_id: String,
    pub user_id: String,
    pub watchlist_id: String,
    /// price_drop, calendar_gap or budget_surplus.
    pub trigger_type: String,
    pub status: JobStatus,
    pub created_at: Timestamp,
    /// What the job starts from: the trigger context, as `/v1/suggest` takes it.
    #[schema(value_type = Object)]
    pub context: Value,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SkippedInfo {
    pub watchlist_id: String,
    pub reason: String,
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "task": "price_check", "fire_time": null, "watchlists_checked": 1,
    "jobs": [{"job_id": "0193a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b", "user_id": "user-123",
        "watchlist_id": "0193a1b2-0000-7e5f-8a9b-0c1d2e3f4a5b", "trigger_type": "price_drop", "status": "started",
        "created_at": "2026-01-20T10:00:00.123Z",
        "context": {"route": "LAX->NRT", "old_price": 850.0, "new_price": 650.0, "savings": 200.0}}],
    "skipped": []
}))]
pub struct SchedulerRunResponse {
    pub task: String,
    /// The schedule's fire time; null for a run on request.
    pub fire_time: Option<Timestamp>,
    pub watchlists_checked: usize,
    /// The proactive jobs this run started (already suggested findings start none).
    pub jobs: Vec<SuggestionInfo>,
    /// Watchlists or routes that could not be checked, and why.
    pub skipped: Vec<SkippedInfo>,
}

impl From<&RunReport> for SchedulerRunResponse {
    fn from(report: &RunReport) -> Self {
        Self {
            task: report.task.as_str().into(),
            fire_time: report.fire_time.map(Timestamp),
            watchlists_checked: report.checked,
            jobs: report
                .suggestions
                .iter()
                .map(|s| SuggestionInfo {
                    job_id: s.job.id.to_string(),
                    user_id: s.job.user_id.clone(),
                    watchlist_id: s.watchlist_id.to_string(),
                    trigger_type: s.job.request.trigger_type.clone().unwrap_or_default(),
                    status: s.job.status,
                    created_at: s.job.created_at.into(),
                    context: Value::Object(s.job.request.context.clone().unwrap_or_default()),
                })
                .collect(),
            skipped: report
                .skipped
                .iter()
                .map(|s| SkippedInfo {
                    watchlist_id: s.watchlist_id.to_string(),
                    reason: s.reason.clone(),
                })
                .collect(),
        }
    }
}
