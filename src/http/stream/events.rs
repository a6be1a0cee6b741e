//! The `data:` of each SSE event, as schemas in the OpenAPI document so
//! typed clients can read what a stream carries. The events are written by
//! `jobs` and `workflow` (which know nothing of HTTP) as JSON; these types
//! only document them, and tests/openapi.rs checks the events a real job
//! streams against them.

#![expect(
    dead_code,
    reason = "documents the SSE payloads in OpenAPI; the events are written as JSON"
)]

use serde_json::Value;
use utoipa::ToSchema;

use crate::http::jobs::JobErrorInfo;
use crate::jobs::{JobStatus, Stage, TaskStatus, WorkflowMode};
use crate::workflow::plan::TripPlan;

/// `state_change`. Its keys depend on the occasion: `{status, mode}` when the
/// job is created; `{status, error}` when its status changes;
/// `{workflow_state}` when its stage changes; `{status, approval_data}` when
/// it pauses for approval; and `{status, current_state}` (with
/// `approval_data` while paused) in the first frame of every connection,
/// which carries no `id:`.
#[derive(ToSchema)]
pub struct StateChangeEvent {
    #[schema(nullable = false)]
    pub status: Option<JobStatus>,
    #[schema(nullable = false)]
    pub mode: Option<WorkflowMode>,
    /// Sent with every status change: null unless the job failed or was cancelled.
    pub error: Option<JobErrorInfo>,
    #[schema(nullable = false)]
    pub workflow_state: Option<Stage>,
    /// The job's stage, in the first frame.
    pub current_state: Option<Stage>,
    /// `{reason, budget_usd, estimated_total_usd, overage_usd, breakdown}`.
    #[schema(value_type = Option<Object>, nullable = false)]
    pub approval_data: Option<Value>,
}

/// `task_start` and `task_complete`: an agent's task began or ended.
#[derive(ToSchema)]
pub struct TaskEvent {
    pub task_id: String,
    pub agent: String,
    pub task_name: String,
    pub status: TaskStatus,
    /// Null on `task_start`; the output (or `{"error": …}` for a failed task)
    /// on `task_complete`.
    #[schema(value_type = Option<Object>, required = true)]
    pub output: Option<Value>,
    /// 0–1; null until the task has completed.
    #[schema(required = true)]
    pub confidence_score: Option<f64>,
}

/// `agent_output`: a partial output became available (also kept in the
/// status's `current_output` under `key`).
#[derive(ToSchema)]
pub struct AgentOutputEvent {
    /// `flights`, `hotels`, `activities`, `budget`, …
    pub key: String,
    /// The output: an object or a list.
    #[schema(value_type = Value)]
    pub value: Value,
}

/// One check of `validation_result`.
#[derive(ToSchema)]
pub struct ValidationCheck {
    /// `days_match_duration`, `nights_covered`, `breakdown_sums_to_total`, `within_budget`.
    pub name: String,
    pub passed: bool,
    pub detail: String,
    /// Present and false for a check that does not fail validation
    /// (going over budget asks for approval instead).
    #[schema(nullable = false)]
    pub blocking: Option<bool>,
}

/// `validation_result`: the plan's checks, once its budget is estimated.
#[derive(ToSchema)]
pub struct ValidationResultEvent {
    pub passed: bool,
    pub checks: Vec<ValidationCheck>,
}

/// `error`: the job failed; the stream ends after it.
#[derive(ToSchema)]
pub struct ErrorEvent {
    pub message: String,
    /// Stable reason, e.g. `destination_not_curated`, `attempts_exhausted`.
    pub code: String,
}

/// `complete`: the job completed; the stream ends after it.
#[derive(ToSchema)]
pub struct CompleteEvent {
    pub result: TripPlan,
}

/// `agent_progress`: an agent's model is writing its answer. Only live
/// streams get it, without an `id:` (it is not logged: a replay or a
/// reconnect does not repeat it), at most four a second per job.
#[derive(ToSchema)]
#[schema(example = json!({"agent": "activity_agent", "tokens": 212}))]
pub struct AgentProgressEvent {
    /// The agent whose answer is being written, e.g. `activity_agent`.
    pub agent: String,
    /// Tokens written so far (counted as the chunks the model sent).
    pub tokens: u64,
    /// The answer so far; only with `LLM_STREAM_TEXT=true`.
    #[schema(nullable = false)]
    pub text: Option<String>,
}

/// The `data:` each `event:` name carries, as one map for typed clients
/// (TypeScript: `components["schemas"]["StreamEvents"]["task_start"]`).
/// Not a body on the wire: a stream sends one event per frame.
#[derive(ToSchema)]
pub struct StreamEvents {
    pub state_change: StateChangeEvent,
    pub task_start: TaskEvent,
    pub task_complete: TaskEvent,
    pub agent_output: AgentOutputEvent,
    pub validation_result: ValidationResultEvent,
    pub error: ErrorEvent,
    pub complete: CompleteEvent,
    pub agent_progress: AgentProgressEvent,
}
