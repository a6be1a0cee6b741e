//! Wire types of jobs (plan, suggest, status, list, cancel): the contract of
//! INTEGRATION.md. Requests parse themselves from JSON (see `json::FromJson`);
//! responses convert from the job model.

use serde::Serialize;
use serde_json::{Map, Value};
use utoipa::ToSchema;

use crate::http::error::{FieldError, Timestamp};
use crate::http::json::{Fields, FromJson};
use crate::jobs::{Job, JobStatus, Stage, Task, TaskStatus, WorkflowMode};

#[derive(Debug, Clone, ToSchema)]
#[schema(example = json!({
    "user_id": "user-123",
    "query": "Plan a 5-day trip to Tokyo for under $3000",
    "constraints": {"budget_usd": 3000, "duration_days": 5, "interests": ["food", "culture"], "departure_city": "LAX"},
    "session_id": "session-abc"
}))]
pub struct PlanRequest {
    /// Trimmed; 1–200 characters, no control characters.
    #[schema(min_length = 1, max_length = 200)]
    pub user_id: String,
    /// 1–2000 characters, not all blank.
    #[schema(min_length = 1, max_length = 2000)]
    pub query: String,
    /// Optional; absent or null is `{}`.
    #[schema(value_type = Option<Constraints>, required = false)]
    pub constraints: Map<String, Value>,
    #[schema(max_length = 200)]
    pub session_id: Option<String>,
}

/// What the caller fixes about the trip; it wins over what the query says.
/// The known keys are checked at the door (a bad one is a 422 naming
/// `constraints.<key>`), null counts as absent, and other keys (`budget`
/// in another currency, `tier`, …) are kept and passed to the planner.
/// Nothing may nest more than 32 levels deep.
#[expect(
    dead_code,
    reason = "documents the request body in OpenAPI; check_constraints reads it"
)]
#[derive(Debug, Clone, ToSchema)]
pub struct Constraints {
    /// For the whole trip, in US dollars.
    #[schema(exclusive_minimum = 0)]
    pub budget_usd: Option<f64>,
    #[schema(minimum = 1, maximum = 30)]
    pub duration_days: Option<u32>,
    /// Attraction categories or free words, each at most 100 characters.
    #[schema(max_items = 30, max_length = 100)]
    pub interests: Option<Vec<String>>,
    /// IATA code (`LAX`) or a city name.
    #[schema(max_length = 100)]
    pub departure_city: Option<String>,
    /// A city, several (`Hanoi, Ha Long`), a country or a region.
    #[schema(max_length = 200)]
    pub destination: Option<String>,
    /// YYYY-MM-DD, today or later.
    #[schema(value_type = Option<String>, format = Date, max_length = 10)]
    pub start_date: Option<String>,
    #[schema(minimum = 1, maximum = 50)]
    pub travelers: Option<u32>,
    /// Cap on the LLM tokens the job may use (default 100000).
    #[schema(minimum = 1, maximum = 10000000)]
    pub budget_tokens: Option<u64>,
    #[serde(flatten)]
    pub other: std::collections::HashMap<String, Value>,
}

/// Checks the known constraint keys; unknown ones pass through untouched.
/// The types are checked here, the values by the planner's own rules, so a
/// request the door accepts does not fail later as a job on them.
fn check_constraints(constraints: &Map<String, Value>, errors: &mut Vec<FieldError>) {
    let mut f = Fields::nested(constraints, "constraints");
    f.number("budget_usd", 0.0);
    f.integer("duration_days", false, 1, 30);
    f.strings("interests", 30, 100);
    f.string("departure_city", false, 100);
    f.string("destination", false, 200);
    f.integer("travelers", false, 1, 50);
    f.integer("budget_tokens", false, 1, 10_000_000);
    if let Some(date) = f.string("start_date", false, 10)
        && chrono::NaiveDate::parse_from_str(&date, "%Y-%m-%d").is_err()
    {
        f.fail("start_date", "Must be a date in YYYY-MM-DD form");
    }
    if f.errors.is_empty() {
        let today = chrono::Utc::now().date_naive();
        for (field, problem) in crate::knowledge::constraint_problems(constraints, today) {
            f.fail(field, problem);
        }
    }
    errors.extend(f.errors);
}

impl FromJson for PlanRequest {
    fn from_json(body: &Map<String, Value>) -> Result<Self, Vec<FieldError>> {
        let mut f = Fields::new(body);
        let user_id = f.user_id("user_id");
        let query = f.string("query", true, 2000);
        let constraints = f.object("constraints", false).unwrap_or_default();
        let session_id = f.string("session_id", false, 200);
        check_constraints(&constraints, &mut f.errors);
        f.finish(|| {
            Some(Self {
                user_id: user_id?,
                query: query?,
                constraints,
                session_id,
            })
        })
    }
}

#[derive(Debug, Clone, ToSchema)]
#[schema(example = json!({
    "user_id": "user-123",
    "trigger_type": "price_drop",
    "context": {"route": "LAX->NRT", "old_price": 850, "new_price": 650, "savings": 200},
    "constraints": {"duration_days": 6}
}))]
pub struct SuggestRequest {
    /// Trimmed; 1–200 characters, no control characters.
    #[schema(min_length = 1, max_length = 200)]
    pub user_id: String,
    /// Known: price_drop, calendar_gap, budget_surplus.
    #[schema(min_length = 1, max_length = 100)]
    pub trigger_type: String,
    /// The trigger's data; nothing may nest more than 32 levels deep.
    #[schema(value_type = Object)]
    pub context: Map<String, Value>,
    #[schema(value_type = Option<Constraints>)]
    pub constraints: Option<Map<String, Value>>,
}

impl FromJson for SuggestRequest {
    fn from_json(body: &Map<String, Value>) -> Result<Self, Vec<FieldError>> {
        let mut f = Fields::new(body);
        let user_id = f.user_id("user_id");
        let trigger_type = f.string("trigger_type", true, 100);
        let context = f.object("context", true);
        let constraints = f.object("constraints", false);
        if let Some(c) = &constraints {
            check_constraints(c, &mut f.errors);
        }
        f.finish(|| {
            Some(Self {
                user_id: user_id?,
                trigger_type: trigger_type?,
                context: context?,
                constraints,
            })
        })
    }
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "job_id": "0193a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b", "user_id": "user-123", "status": "started",
    "message": "Planning started", "created_at": "2026-01-20T10:00:00.123Z", "result": null
}))]
pub struct JobResponse {
    pub job_id: String,
    pub user_id: String,
    pub status: JobStatus,
    pub message: Option<String>,
    pub created_at: Timestamp,
    #[schema(value_type = Option<Object>)]
    pub result: Option<Value>,
}

impl JobResponse {
    pub fn new(job: &Job, message: &str) -> Self {
        Self {
            job_id: job.id.to_string(),
            user_id: job.user_id.clone(),
            status: job.status,
            message: Some(message.into()),
            created_at: job.created_at.into(),
            result: None,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Progress {
    pub current_state: Stage,
    pub tasks_total: usize,
    pub tasks_completed: usize,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TaskInfo {
    pub task_id: String,
    pub agent: String,
    pub task_name: String,
    pub status: TaskStatus,
    pub started_at: Option<Timestamp>,
    pub completed_at: Option<Timestamp>,
    #[schema(value_type = Option<Object>)]
    pub output: Option<Value>,
    pub confidence_score: Option<f64>,
}

impl TaskInfo {
    fn new(job: &Job, t: &Task) -> Self {
        Self {
            task_id: t.task_id.clone(),
            agent: t.agent.clone(),
            task_name: t.task_name.clone(),
            status: t.status,
            started_at: t.started_at.map(Timestamp),
            completed_at: t.completed_at.map(Timestamp),
            output: job.task_output(t),
            confidence_score: t.confidence_score,
        }
    }
}

/// The pending or decided approval of a job.
#[derive(Debug, Serialize, ToSchema)]
pub struct ApprovalInfo {
    pub requested_at: Timestamp,
    /// `{reason, budget_usd, estimated_total_usd, overage_usd, breakdown}`.
    #[schema(value_type = Object)]
    pub approval_data: Value,
    pub approved: Option<bool>,
    pub notes: Option<String>,
    pub decided_at: Option<Timestamp>,
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "job_id": "0193a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b", "user_id": "user-123", "status": "executing", "mode": "reactive",
    "created_at": "2026-01-20T10:00:00.123Z", "updated_at": "2026-01-20T10:00:01.456Z", "completed_at": null,
    "progress": {"current_state": "execution", "tasks_total": 4, "tasks_completed": 2},
    "current_output": {"flights": []}, "final_result": null, "error": null, "tasks": [],
    "approval": null, "opik_trace_url": null
}))]
pub struct JobStatusResponse {
    pub job_id: String,
    pub user_id: String,
    pub status: JobStatus,
    pub mode: WorkflowMode,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub completed_at: Option<Timestamp>,
    pub progress: Option<Progress>,
    #[schema(value_type = Option<Object>)]
    pub current_output: Option<Value>,
    /// The plan (`TripPlan`; with `suggestion` for proactive jobs), when completed.
    #[schema(value_type = Option<crate::workflow::plan::TripPlan>)]
    pub final_result: Option<Value>,
    pub error: Option<JobErrorInfo>,
    pub tasks: Vec<TaskInfo>,
    pub approval: Option<ApprovalInfo>,
    pub opik_trace_url: Option<String>,
}

impl From<&Job> for JobStatusResponse {
    fn from(job: &Job) -> Self {
        let progress = (!job.tasks.is_empty()).then(|| Progress {
            current_state: job.stage.unwrap_or(Stage::Intake),
            tasks_total: job.tasks.len(),
            tasks_completed: job
                .tasks
                .iter()
                .filter(|t| t.status == TaskStatus::Completed)
                .count(),
        });
        Self {
            job_id: job.id.to_string(),
            user_id: job.user_id.clone(),
            status: job.status,
            mode: job.mode,
            created_at: job.created_at.into(),
            updated_at: job.updated_at.into(),
            completed_at: job.completed_at.map(Timestamp),
            progress,
            current_output: (!job.current_output.is_empty())
                .then(|| Value::Object(job.current_output.clone())),
            final_result: job.final_result.clone(),
            error: job.error.as_ref().map(|e| JobErrorInfo {
                message: e.message.clone(),
                code: e.code.clone(),
            }),
            tasks: job.tasks.iter().map(|t| TaskInfo::new(job, t)).collect(),
            approval: job.approval.as_ref().map(|a| ApprovalInfo {
                requested_at: a.requested_at.into(),
                approval_data: a.data.clone(),
                approved: a.decision.as_ref().map(|d| d.approved),
                notes: a.decision.as_ref().and_then(|d| d.notes.clone()),
                decided_at: a.decision.as_ref().map(|d| Timestamp(d.decided_at)),
            }),
            opik_trace_url: job.trace.as_ref().map(|t| t.url.clone()),
        }
    }
}

/// Why a job failed or was cancelled.
#[derive(Debug, Serialize, ToSchema)]
pub struct JobErrorInfo {
    pub message: String,
    /// Stable reason, e.g. `destination_not_curated`, `approval_denied`, `cancelled`.
    pub code: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct JobSummary {
    pub job_id: String,
    pub user_id: String,
    pub status: JobStatus,
    pub mode: WorkflowMode,
    pub current_state: Option<Stage>,
    pub query: Option<String>,
    pub trigger_type: Option<String>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub completed_at: Option<Timestamp>,
}

impl From<&Job> for JobSummary {
    fn from(job: &Job) -> Self {
        Self {
            job_id: job.id.to_string(),
            user_id: job.user_id.clone(),
            status: job.status,
            mode: job.mode,
            current_state: job.stage,
            query: job.request.query.clone(),
            trigger_type: job.request.trigger_type.clone(),
            created_at: job.created_at.into(),
            updated_at: job.updated_at.into(),
            completed_at: job.completed_at.map(Timestamp),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct JobListResponse {
    pub jobs: Vec<JobSummary>,
    /// Pass as `cursor` for the next (older) page; null on the last page.
    pub next_cursor: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"message": "Feedback submitted successfully"}))]
pub struct MessageResponse {
    pub message: String,
}

impl MessageResponse {
    pub fn new(message: &str) -> Self {
        Self {
            message: message.into(),
        }
    }
}
