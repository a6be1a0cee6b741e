//! The job as the store keeps it. Wire types (what clients see) live under
//! `http/`, beside each resource's handlers, and are converted from these.

use std::fmt;
use std::str::FromStr;

use std::sync::OnceLock;

use axum::body::Bytes;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use uuid::Uuid;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum JobStatus {
    Started,
    Planning,
    Executing,
    WaitingApproval,
    Completed,
    Failed,
    Cancelled,
}

impl JobStatus {
    pub fn is_terminal(self) -> bool {
        matches!(self, Self::Completed | Self::Failed | Self::Cancelled)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Started => "started",
            Self::Planning => "planning",
            Self::Executing => "executing",
            Self::WaitingApproval => "waiting_approval",
            Self::Completed => "completed",
            Self::Failed => "failed",
            Self::Cancelled => "cancelled",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum WorkflowMode {
    Reactive,
    Proactive,
}

impl WorkflowMode {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Reactive => "reactive",
            Self::Proactive => "proactive",
        }
    }
}

/// The workflow stage, reported as `progress.current_state`. Ordered: a run
/// only moves forward through them.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    Monitoring,
    Intake,
    Planning,
    Execution,
    Validation,
    Approval,
    Finalizing,
    Done,
}

impl Stage {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Monitoring => "monitoring",
            Self::Intake => "intake",
            Self::Planning => "planning",
            Self::Execution => "execution",
            Self::Validation => "validation",
            Self::Approval => "approval",
            Self::Finalizing => "finalizing",
            Self::Done => "done",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TaskStatus {
    Pending,
    Running,
    Completed,
    Failed,
    /// Stopped unfinished because the job ended (cancelled, or failed
    /// elsewhere) while it ran.
    Cancelled,
    /// Never started: the job ended before it was reached.
    Skipped,
}

impl TaskStatus {
    pub fn is_terminal(self) -> bool {
        !matches!(self, Self::Pending | Self::Running)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Task {
    pub task_id: String,
    pub agent: String,
    pub task_name: String,
    pub status: TaskStatus,
    pub started_at: Option<DateTime<Utc>>,
    pub completed_at: Option<DateTime<Utc>>,
    /// Set for outputs not kept elsewhere (a failure's error).
    pub output: Option<Value>,
    /// A finished task's output lives once, in `Job::current_output` under
    /// this key; `Job::task_output` reads it from there.
    #[serde(default)]
    pub output_key: Option<String>,
    pub confidence_score: Option<f64>,
}

/// What the caller asked for. `query` is absent for proactive jobs, which carry
/// a trigger instead.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct JobRequest {
    pub query: Option<String>,
    #[serde(default)]
    pub constraints: Map<String, Value>,
    pub session_id: Option<String>,
    pub trigger_type: Option<String>,
    pub context: Option<Map<String, Value>>,
}

/// What a proactive job starts from. The monitors raise the three known ones;
/// `/v1/suggest` accepts any name (an unknown trigger still plans when its
/// context names a trip), so the wire keeps the name as a string.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Trigger {
    PriceDrop,
    CalendarGap,
    BudgetSurplus,
    Other(String),
}

impl Trigger {
    pub fn as_str(&self) -> &str {
        match self {
            Self::PriceDrop => "price_drop",
            Self::CalendarGap => "calendar_gap",
            Self::BudgetSurplus => "budget_surplus",
            Self::Other(name) => name,
        }
    }
}

impl From<&str> for Trigger {
    fn from(name: &str) -> Self {
        match name {
            "price_drop" => Self::PriceDrop,
            "calendar_gap" => Self::CalendarGap,
            "budget_surplus" => Self::BudgetSurplus,
            other => Self::Other(other.to_string()),
        }
    }
}

impl fmt::Display for Trigger {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobError {
    pub message: String,
    /// A stable machine-readable reason (`unknown_destination`, `attempts_exhausted`, …).
    pub code: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ApprovalDecision {
    pub approved: bool,
    pub notes: Option<String>,
    pub decided_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Approval {
    pub requested_at: DateTime<Utc>,
    pub data: Value,
    pub decision: Option<ApprovalDecision>,
}

/// How many feedback entries a job keeps (the latest); older ones are
/// dropped but counted in `Job::feedback_count`.
pub const FEEDBACK_KEPT: usize = 50;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Feedback {
    pub rating: u8,
    pub comment: Option<String>,
    pub helpful_aspects: Option<Vec<String>>,
    pub improvement_areas: Option<Vec<String>>,
    pub submitted_at: DateTime<Utc>,
}

/// The LLM tokens a job has used, as stored with it (the workflow copies it
/// from the LLM layer's `TokenUsage`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobUsage {
    pub calls: u64,
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
    pub total_tokens: u64,
}

/// The Opik trace a job reports to; kept so a resumed job continues it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TraceRef {
    pub trace_id: Uuid,
    pub url: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Job {
    pub id: Uuid,
    pub user_id: String,
    pub mode: WorkflowMode,
    pub status: JobStatus,
    pub stage: Option<Stage>,
    pub request: JobRequest,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub completed_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub tasks: Vec<Task>,
    /// Outputs of finished tasks by key. They are also the checkpoints: a
    /// resumed run skips every task whose output is here.
    #[serde(default)]
    pub current_output: Map<String, Value>,
    pub final_result: Option<Value>,
    pub error: Option<JobError>,
    pub approval: Option<Approval>,
    /// The latest `FEEDBACK_KEPT` entries, oldest first: every post
    /// rewrites the job, so an unbounded list would slow each one.
    #[serde(default)]
    pub feedback: Vec<Feedback>,
    /// Every entry ever posted, including those no longer kept.
    #[serde(default)]
    pub feedback_count: u64,
    /// Runs started for the current phase; reset when an approval resumes the job.
    #[serde(default)]
    pub attempts: u32,
    #[serde(default)]
    pub usage: JobUsage,
    pub trace: Option<TraceRef>,
    /// The queue entry whose run owns the job; a run whose entry is not this
    /// one (its lease was reclaimed) must stop.
    pub lease_entry: Option<String>,
}

impl Job {
    /// A new job in `started`, with a time-ordered (v7) id so a user's jobs
    /// sort by creation when sorted by id.
    pub fn new(user_id: String, mode: WorkflowMode, request: JobRequest) -> Self {
        let now = Utc::now();
        Self {
            id: Uuid::now_v7(),
            user_id,
            mode,
            status: JobStatus::Started,
            stage: Some(match mode {
                WorkflowMode::Reactive => Stage::Intake,
                WorkflowMode::Proactive => Stage::Monitoring,
            }),
            request,
            created_at: now,
            updated_at: now,
            completed_at: None,
            tasks: Vec::new(),
            current_output: Map::new(),
            final_result: None,
            error: None,
            approval: None,
            feedback: Vec::new(),
            feedback_count: 0,
            attempts: 0,
            usage: JobUsage::default(),
            trace: None,
            lease_entry: None,
        }
    }

    /// A task's `output` as clients see it: always an object (the API contract), so a
    /// list is reported as `{key: list}`.
    pub fn task_output(&self, task: &Task) -> Option<Value> {
        if task.output.is_some() {
            return task.output.clone();
        }
        let key = task.output_key.as_deref()?;
        self.current_output
            .get(key)
            .map(|value| output_object(key, value))
    }

    /// The event that announces a new job.
    pub fn created_event(&self) -> NewEvent {
        NewEvent::new(
            EventKind::StateChange,
            serde_json::json!({ "status": self.status, "mode": self.mode }),
        )
    }
}

/// Wraps a non-object output as `{key: value}`.
pub fn output_object(key: &str, value: &Value) -> Value {
    if value.is_object() {
        value.clone()
    } else {
        serde_json::json!({ key: value })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    StateChange,
    TaskStart,
    TaskComplete,
    AgentOutput,
    /// A model is writing an agent's answer: live only, never logged.
    AgentProgress,
    ValidationResult,
    Error,
    Complete,
}

impl EventKind {
    /// Whether events of this kind go into the job's log (and so have an
    /// id, are replayed, and resume after `Last-Event-ID`). Progress reports
    /// are only of use while they happen: they reach live subscribers and
    /// nothing else.
    pub fn is_logged(self) -> bool {
        self != Self::AgentProgress
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::StateChange => "state_change",
            Self::TaskStart => "task_start",
            Self::TaskComplete => "task_complete",
            Self::AgentOutput => "agent_output",
            Self::AgentProgress => "agent_progress",
            Self::ValidationResult => "validation_result",
            Self::Error => "error",
            Self::Complete => "complete",
        }
    }
}

impl FromStr for EventKind {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(match s {
            "state_change" => Self::StateChange,
            "task_start" => Self::TaskStart,
            "task_complete" => Self::TaskComplete,
            "agent_output" => Self::AgentOutput,
            "agent_progress" => Self::AgentProgress,
            "validation_result" => Self::ValidationResult,
            "error" => Self::Error,
            "complete" => Self::Complete,
            other => return Err(format!("unknown event kind {other:?}")),
        })
    }
}

/// An event id: the Redis Stream entry id (`<ms>-<seq>`), also used by the
/// in-memory store so both order ids the same way. It is the SSE `id:`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct EventId {
    pub ms: u64,
    pub seq: u64,
}

impl EventId {
    pub const ZERO: Self = Self { ms: 0, seq: 0 };
}

impl fmt::Display for EventId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.ms, self.seq)
    }
}

impl FromStr for EventId {
    type Err = String;

    /// Accepts `<ms>-<seq>` and a bare `<ms>` (meaning `<ms>-0`), as Redis does.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad =
            || format!("{s:?} is not an event id (expected <ms>-<seq>, e.g. 1700000000000-0)");
        let (ms, seq) = match s.trim().split_once('-') {
            Some((ms, seq)) => (ms, seq),
            None => (s.trim(), "0"),
        };
        Ok(Self {
            ms: ms.parse().map_err(|_| bad())?,
            seq: seq.parse().map_err(|_| bad())?,
        })
    }
}

/// An event before the store gave it an id. `data` is the event's one-line
/// JSON, serialised once, here (the SSE `data:` field carries it as is).
#[derive(Debug, Clone, PartialEq)]
pub struct NewEvent {
    pub kind: EventKind,
    pub data: String,
}

impl NewEvent {
    pub fn new(kind: EventKind, data: Value) -> Self {
        Self {
            kind,
            data: data.to_string(),
        }
    }
}

/// A logged event of one job.
#[derive(Debug, Clone)]
pub struct Event {
    pub id: EventId,
    pub job_id: Uuid,
    pub kind: EventKind,
    pub data: String,
    /// The transport's encoding of the event, made on first use (see
    /// `encoded`); the event itself does not know the wire format.
    pub(super) frame: OnceLock<Bytes>,
}

impl PartialEq for Event {
    fn eq(&self, other: &Self) -> bool {
        (self.id, self.job_id, self.kind, &self.data)
            == (other.id, other.job_id, other.kind, &other.data)
    }
}

impl Event {
    pub fn new(id: EventId, job_id: Uuid, kind: EventKind, data: String) -> Self {
        Self {
            id,
            job_id,
            kind,
            data,
            frame: OnceLock::new(),
        }
    }

    /// The event as a transport encodes it, computed once: the hub shares
    /// one `Arc<Event>` among all of a process's streams, so `encode` runs
    /// once per event per process however many clients receive it. The
    /// encoding belongs to the caller (`http::stream` frames it for SSE).
    pub fn encoded(&self, encode: impl FnOnce(&Self) -> Bytes) -> Bytes {
        self.frame.get_or_init(|| encode(self)).clone()
    }

    /// Whether a stream should close after this event: it is the last event a
    /// terminal transition writes (`complete`, `error`, or a cancellation).
    pub fn ends_stream(&self) -> bool {
        match self.kind {
            EventKind::Complete | EventKind::Error => true,
            EventKind::StateChange => self.data.contains(r#""status":"cancelled""#),
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_ids_order_by_time_then_sequence() {
        let a: EventId = "1700000000000-5".parse().unwrap();
        let b: EventId = "1700000000001-0".parse().unwrap();
        let c: EventId = "1700000000001".parse().unwrap();
        assert!(a < b);
        assert_eq!(b, c);
        assert_eq!(a.to_string(), "1700000000000-5");
        assert!("abc".parse::<EventId>().is_err());
    }

    #[test]
    fn trigger_names_round_trip_and_unknown_ones_are_kept() {
        for name in ["price_drop", "calendar_gap", "budget_surplus", "flash_sale"] {
            assert_eq!(Trigger::from(name).as_str(), name);
        }
        assert_eq!(Trigger::from("price_drop"), Trigger::PriceDrop);
        assert_eq!(
            Trigger::from("flash_sale"),
            Trigger::Other("flash_sale".into())
        );
    }

    #[test]
    fn only_terminal_events_end_a_stream() {
        let event = |kind, data: &str| Event {
            id: EventId::ZERO,
            job_id: Uuid::nil(),
            kind,
            data: data.into(),
            frame: Default::default(),
        };
        assert!(event(EventKind::Complete, "{}").ends_stream());
        assert!(event(EventKind::Error, r#"{"message":"x"}"#).ends_stream());
        assert!(
            event(
                EventKind::StateChange,
                r#"{"status":"cancelled","error":null}"#
            )
            .ends_stream()
        );
        assert!(!event(EventKind::StateChange, r#"{"status":"failed","error":{}}"#).ends_stream());
        assert!(!event(EventKind::TaskStart, "{}").ends_stream());
    }
}
