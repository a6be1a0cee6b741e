//! Running a monitor on request: what operators and tests use instead of
//! waiting for the schedule.

use axum::Json;
use axum::extract::{Path, State};

use super::AppState;
use super::dto::{ErrorResponse, SchedulerRunResponse};
use super::error::{ApiError, FieldError};
use crate::scheduler::Task;

/// Run a monitor now and list the proactive jobs it started. Unlike a
/// scheduled firing it takes no cluster lock; suggestions are still
/// deduplicated, so running it twice starts nothing new.
#[utoipa::path(post, path = "/v1/scheduler/{task}/run", tag = "scheduler",
    params(("task" = String, Path, description = "price_check, calendar_check or budget_check")),
    responses(
        (status = 200, body = SchedulerRunResponse),
        (status = 401, body = ErrorResponse),
        (status = 422, description = "Unknown task", body = ErrorResponse),
        (status = 503, body = ErrorResponse)),
    security((), ("bearer" = []), ("api_key" = [])))]
pub async fn run_task(
    State(state): State<AppState>,
    Path(task): Path<String>,
) -> Result<Json<SchedulerRunResponse>, ApiError> {
    let task: Task = task
        .parse()
        .map_err(|reason| ApiError::Validation(vec![FieldError::path("task", reason)]))?;
    let report = state.scheduler.run(task, None).await?;
    tracing::info!(task = %task, started = report.suggestions.len(), "monitor run on request");
    Ok(Json(SchedulerRunResponse::from(&report)))
}
