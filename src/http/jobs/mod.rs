//! Job resources: create (plan, suggest), read (status, list), cancel.

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use std::collections::HashMap;
use std::time::Duration;
use uuid::Uuid;

use super::AppState;
use super::error::{ApiError, ErrorResponse, FieldError};
use super::json::{self, Valid};
use crate::jobs::{self, Job, JobRequest, WorkflowMode, transitions};

mod read;
mod wire;
pub use read::ReadCache;
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
    params(("Idempotency-Key" = Option<String>, Header, min_length = 1, max_length = 255, pattern = "^[!-~]+$", description = "1–255 visible ASCII characters. Makes retries safe: a repeat with the same key (per user, 24 h) returns the first job instead of creating another")),
    responses(
        (status = 202, description = "Job accepted (or, for a repeated Idempotency-Key, the job the first request created; header `Idempotent-Replayed: true`)", body = JobResponse),
        (status = 409, description = "Idempotency-Key reused for a different request", body = ErrorResponse),
        (status = 422, description = "Validation error; details.errors names each bad field", body = ErrorResponse),
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
    params(("Idempotency-Key" = Option<String>, Header, min_length = 1, max_length = 255, pattern = "^[!-~]+$", description = "1–255 visible ASCII characters. Makes retries safe, as for /v1/plan")),
    responses(
        (status = 202, description = "Job accepted", body = JobResponse),
        (status = 409, description = "Idempotency-Key reused for a different request", body = ErrorResponse),
        (status = 422, description = "Validation error; details.errors names each bad field", body = ErrorResponse),
        (status = 503, description = "A dependency (the job store) is unavailable; retry after Retry-After", body = ErrorResponse)),
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

/// Longest `?wait=` a caller may ask for, in seconds.
pub const MAX_WAIT_SECS: u64 = 60;

/// A job's status, progress, partial outputs and result.
///
/// With `If-None-Match` naming the job's current `ETag`, answers 304; with
/// `?wait=` as well, holds the request until the job changes (then 200) or
/// the wait runs out (then 304).
#[utoipa::path(get, path = "/v1/status/{job_id}", tag = "jobs",
    params(
        ("job_id" = String, Path, description = "The job id"),
        ("wait" = Option<u64>, Query, minimum = 0, maximum = 60, description = "Seconds (0–60) to hold the request while `If-None-Match` still names the job's current version: answers 200 as soon as the job changes, 304 when the time is up. Capped a second below `REQUEST_TIMEOUT_SECS`. Ignored without `If-None-Match`"),
        ("If-None-Match" = Option<String>, Header, description = "The `ETag` of the copy the caller has")),
    responses(
        (status = 200, description = "The job's status; ETag is its version", body = JobStatusResponse, headers(
            ("ETag" = String, description = "The job's version, e.g. `W/\"12\"`: changes on every write of the job"),
            ("Cache-Control" = String, description = "`no-cache`: revalidate with `If-None-Match` before reuse"))),
        (status = 304, description = "Not Modified: `If-None-Match` names the job's current version (after `wait`, nothing changed in time). No body", headers(
            ("ETag" = String, description = "The job's version"))),
        (status = 404, description = "Not found", body = ErrorResponse),
        (status = 422, description = "`wait` is not a whole number of seconds from 0 to 60", body = ErrorResponse),
        (status = 503, description = "A dependency (the job store) is unavailable; retry after Retry-After", body = ErrorResponse)),
    security((), ("bearer" = []), ("api_key" = [])))]
pub async fn job_status(
    State(state): State<AppState>,
    Path(job_id): Path<String>,
    Query(params): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let id = parse_job_id(&job_id)?;
    let wait = wait_param(&params, state.config.request_timeout)?;
    // Watch before reading the version: a write in between still wakes us.
    let mut watch = (!wait.is_zero()).then(|| state.store.watch(id));
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        let version = state
            .store
            .version(id)
            .await?
            .ok_or_else(|| ApiError::job_not_found(id))?;
        let etag = read::status_etag(version);
        if !read::etag_matches(&headers, &etag) {
            let rendered = state
                .reads
                .status(state.store.as_ref(), id, version)
                .await?
                .ok_or_else(|| ApiError::job_not_found(id))?;
            return Ok(rendered.respond(&headers));
        }
        let Some(watch) = watch.as_mut() else {
            return Ok(read::not_modified(&etag));
        };
        tokio::select! {
            () = watch.changed() => {}
            () = tokio::time::sleep_until(deadline) => return Ok(read::not_modified(&etag)),
            () = state.shutdown.cancelled() => return Ok(read::not_modified(&etag)),
        }
    }
}

/// `?wait=` in seconds, 0–60, kept a second inside the request timeout so
/// the caller gets a 304 rather than a timeout error.
fn wait_param(
    params: &HashMap<String, String>,
    request_timeout: Duration,
) -> Result<Duration, ApiError> {
    let Some(raw) = params.get("wait").filter(|s| !s.is_empty()) else {
        return Ok(Duration::ZERO);
    };
    match raw.trim().parse::<u64>() {
        Ok(secs) if secs <= MAX_WAIT_SECS => {
            Ok(Duration::from_secs(secs)
                .min(request_timeout.saturating_sub(Duration::from_secs(1))))
        }
        _ => Err(ApiError::Validation(vec![FieldError::query(
            "wait",
            format!("Must be a whole number of seconds from 0 to {MAX_WAIT_SECS}"),
        )])),
    }
}

/// A user's jobs, newest first.
#[utoipa::path(get, path = "/v1/jobs", tag = "jobs",
    params(
        ("user_id" = String, Query, min_length = 1, max_length = 200, description = "Whose jobs (trimmed; 1–200 characters, no control characters)"),
        ("limit" = Option<u32>, Query, minimum = 1, maximum = 100, description = "1–100, default 20"),
        ("cursor" = Option<String>, Query, description = "`next_cursor` of the previous page"),
        ("If-None-Match" = Option<String>, Header, description = "The `ETag` of the copy of this page the caller has")),
    responses(
        (status = 200, description = "A page of the user's jobs; ETag covers the page", body = JobListResponse, headers(
            ("ETag" = String, description = "Digest of the page: changes when a listed job is written, or a job joins or leaves the page"),
            ("Cache-Control" = String, description = "`no-cache`: revalidate with `If-None-Match` before reuse"))),
        (status = 304, description = "Not Modified: `If-None-Match` names the page's current `ETag`. No body", headers(
            ("ETag" = String, description = "The page's digest"))),
        (status = 422, description = "Validation error; details.errors names each bad field", body = ErrorResponse), (status = 503, description = "A dependency (the job store) is unavailable; retry after Retry-After", body = ErrorResponse)),
    security((), ("bearer" = []), ("api_key" = [])))]
pub async fn list_jobs(
    State(state): State<AppState>,
    Query(params): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
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
    state
        .reads
        .page(state.store.as_ref(), &user_id, limit, cursor, &headers)
        .await
}

/// Cancel a job that has not finished.
#[utoipa::path(post, path = "/v1/jobs/{job_id}/cancel", tag = "jobs",
    params(("job_id" = String, Path, description = "The job id")),
    responses(
        (status = 200, description = "OK", body = JobResponse),
        (status = 404, description = "Not found", body = ErrorResponse),
        (status = 409, description = "Already finished", body = ErrorResponse),
        (status = 503, description = "A dependency (the job store) is unavailable; retry after Retry-After", body = ErrorResponse)),
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
