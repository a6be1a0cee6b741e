//! Operator views across users: the jobs of every user
//! by status, mode, user and creation date, e.g. every plan waiting for
//! approval. Protected like the other routes.

use std::collections::HashMap;

use axum::Json;
use axum::extract::{Query, State};
use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;
use uuid::Uuid;

use super::AppState;
use super::error::{ApiError, ErrorResponse, FieldError, Timestamp};
use super::jobs::{ApprovalInfo, JobSummary};
use crate::jobs::{Job, JobFilter, JobStatus, WorkflowMode};

/// A job in an operator listing: its summary and, for a plan that went over
/// budget, the approval asked for (budget, estimate, overage) and any decision.
#[derive(Debug, Serialize, ToSchema)]
pub struct OperatorJob {
    #[serde(flatten)]
    pub summary: JobSummary,
    pub approval: Option<ApprovalInfo>,
}

impl From<&Job> for OperatorJob {
    fn from(job: &Job) -> Self {
        Self {
            summary: JobSummary::from(job),
            approval: job.approval.as_ref().map(|a| ApprovalInfo {
                requested_at: a.requested_at.into(),
                approval_data: a.data.clone(),
                approved: a.decision.as_ref().map(|d| d.approved),
                notes: a.decision.as_ref().and_then(|d| d.notes.clone()),
                decided_at: a.decision.as_ref().map(|d| Timestamp(d.decided_at)),
            }),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct OperatorJobList {
    pub jobs: Vec<OperatorJob>,
    /// Pass as `cursor` for the next (older) page; null when no job is left.
    /// A narrow filter may give a short (even empty) page with a cursor: one
    /// request reads a bounded number of jobs.
    pub next_cursor: Option<String>,
}

/// Jobs of every user, newest first, filtered.
#[utoipa::path(get, path = "/v1/operator/jobs", tag = "operator", operation_id = "list_operator_jobs",
    params(
        ("status" = Option<JobStatus>, Query, description = "Only jobs in this status, e.g. `waiting_approval`"),
        ("mode" = Option<WorkflowMode>, Query, description = "`reactive` or `proactive`"),
        ("user_id" = Option<String>, Query, description = "Only this user's jobs"),
        ("created_from" = Option<String>, Query, format = Date, description = "YYYY-MM-DD (UTC): created on or after this day"),
        ("created_to" = Option<String>, Query, format = Date, description = "YYYY-MM-DD (UTC): created on or before this day"),
        ("limit" = Option<u32>, Query, minimum = 1, maximum = 100, description = "1–100, default 20"),
        ("cursor" = Option<String>, Query, description = "`next_cursor` of the previous page")),
    responses(
        (status = 200, description = "OK", body = OperatorJobList),
        (status = 422, description = "Validation error; details.errors names each bad field", body = ErrorResponse), (status = 503, description = "A dependency (the job store) is unavailable; retry after Retry-After", body = ErrorResponse)),
    security((), ("bearer" = []), ("api_key" = [])))]
pub async fn list_jobs(
    State(state): State<AppState>,
    Query(params): Query<HashMap<String, String>>,
) -> Result<Json<OperatorJobList>, ApiError> {
    let (filter, limit, cursor) = parse_listing(&params).map_err(ApiError::Validation)?;
    let page = state.store.list_jobs(&filter, limit, cursor).await?;
    Ok(Json(OperatorJobList {
        jobs: page.jobs.iter().map(OperatorJob::from).collect(),
        next_cursor: page.next_cursor.map(|c| c.to_string()),
    }))
}

type Listing = (JobFilter, usize, Option<Uuid>);

fn parse_listing(params: &HashMap<String, String>) -> Result<Listing, Vec<FieldError>> {
    let mut errors = Vec::new();
    let take = |name: &str| {
        params
            .get(name)
            .map(|v| v.trim())
            .filter(|v| !v.is_empty())
            .map(str::to_string)
    };
    let raw_status = take("status");
    let raw_mode = take("mode");
    let user_id = take("user_id");
    let raw_from = take("created_from");
    let raw_to = take("created_to");
    let raw_limit = take("limit");
    let raw_cursor = take("cursor");

    let mut check = |field: &str, ok: bool, reason: &str| {
        if !ok {
            errors.push(FieldError::query(field, reason));
        }
    };
    let status = raw_status.as_deref().map(enum_value::<JobStatus>);
    check(
        "status",
        !matches!(status, Some(None)),
        "Must be one of started, planning, executing, waiting_approval, completed, failed, cancelled",
    );
    let mode = raw_mode.as_deref().map(enum_value::<WorkflowMode>);
    check(
        "mode",
        !matches!(mode, Some(None)),
        "Must be reactive or proactive",
    );
    let from = raw_from.as_deref().map(day_start);
    check(
        "created_from",
        !matches!(from, Some(None)),
        "Must be a date, YYYY-MM-DD",
    );
    // The last day is included: the bound is the start of the next one.
    let to = raw_to
        .as_deref()
        .map(|d| day_start(d).map(|t| t + chrono::Duration::days(1)));
    check(
        "created_to",
        !matches!(to, Some(None)),
        "Must be a date, YYYY-MM-DD",
    );
    let limit = raw_limit
        .as_deref()
        .map(|l| l.parse::<usize>().ok().filter(|n| (1..=100).contains(n)));
    check(
        "limit",
        !matches!(limit, Some(None)),
        "Must be a whole number between 1 and 100",
    );
    let cursor = raw_cursor.as_deref().map(|c| c.parse::<Uuid>().ok());
    check(
        "cursor",
        !matches!(cursor, Some(None)),
        "Must be a next_cursor value from a previous page",
    );
    if !errors.is_empty() {
        return Err(errors);
    }
    let filter = JobFilter {
        user_id,
        status: status.flatten(),
        mode: mode.flatten(),
        created_from: from.flatten(),
        created_before: to.flatten(),
    };
    Ok((filter, limit.flatten().unwrap_or(20), cursor.flatten()))
}

/// A snake_case enum value, as the wire spells it.
fn enum_value<T: serde::de::DeserializeOwned>(raw: &str) -> Option<T> {
    serde_json::from_value(Value::String(raw.to_string())).ok()
}

fn day_start(raw: &str) -> Option<DateTime<Utc>> {
    let day = NaiveDate::parse_from_str(raw, "%Y-%m-%d").ok()?;
    Some(day.and_hms_opt(0, 0, 0)?.and_utc())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn a_filter_is_read_from_the_query() {
        let (filter, limit, cursor) = parse_listing(&params(&[
            ("status", "waiting_approval"),
            ("mode", "reactive"),
            ("user_id", " ann "),
            ("created_from", "2026-03-01"),
            ("created_to", "2026-03-01"),
            ("limit", "5"),
        ]))
        .unwrap();
        assert_eq!(filter.status, Some(JobStatus::WaitingApproval));
        assert_eq!(filter.mode, Some(WorkflowMode::Reactive));
        assert_eq!(filter.user_id.as_deref(), Some("ann"));
        assert_eq!(
            filter.created_before.unwrap() - filter.created_from.unwrap(),
            chrono::Duration::days(1)
        );
        assert_eq!((limit, cursor), (5, None));
    }

    #[test]
    fn every_bad_parameter_is_named() {
        let errors = parse_listing(&params(&[
            ("status", "paused"),
            ("mode", "eager"),
            ("created_from", "March"),
            ("created_to", "2026-13-01"),
            ("limit", "0"),
            ("cursor", "x"),
        ]))
        .unwrap_err();
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "status",
                "mode",
                "created_from",
                "created_to",
                "limit",
                "cursor"
            ]
        );
    }

    #[test]
    fn no_parameters_list_everything_twenty_at_a_time() {
        let (filter, limit, cursor) = parse_listing(&HashMap::new()).unwrap();
        assert_eq!((filter, limit, cursor), (JobFilter::default(), 20, None));
    }
}
