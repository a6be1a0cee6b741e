//! One job's trace: the records Opik gets for it, built from the job and from
//! what a run reports (stages entered, agent tasks, LLM calls). Spans are
//! kept here while open and sent once, whole, when they end.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use uuid::Uuid;

use super::exporter::Outbox;
use super::opik::{
    ErrorInfo, FeedbackScore, Item, OpikTime, SdkSource, SpanRecord, SpanType, TraceRecord,
};
use crate::jobs::{Feedback, Job, JobError, JobStatus};
use crate::llm::CallRecord;

/// The trace of the job a run is working on; a no-op when Opik is not
/// configured. Cheap to clone: the clones share the open stage span.
#[derive(Clone, Default)]
pub struct JobTrace {
    active: Option<Arc<Active>>,
}

struct Active {
    trace_id: Uuid,
    project: String,
    outbox: Outbox,
    /// The stage the run is in; agent spans hang under it.
    stage: Mutex<Option<OpenSpan>>,
    /// The latest end of a span this run sent: the trace does not end before it.
    last_span_end: Mutex<Option<OpikTime>>,
}

struct OpenSpan {
    id: Uuid,
    parent: Option<Uuid>,
    name: String,
    kind: SpanType,
    start: OpikTime,
    input: Option<Value>,
    metadata: Option<Value>,
}

/// An agent task's span while the task runs; a no-op when not tracing.
pub struct AgentSpan {
    open: Option<(Arc<Active>, OpenSpan)>,
}

impl JobTrace {
    pub(super) fn new(trace_id: Uuid, project: &str, outbox: Outbox) -> Self {
        Self {
            active: Some(Arc::new(Active {
                trace_id,
                project: project.to_string(),
                outbox,
                stage: Mutex::new(None),
                last_span_end: Mutex::new(None),
            })),
        }
    }

    pub fn is_active(&self) -> bool {
        self.active.is_some()
    }

    /// Ends the current stage's span and opens one for `stage`.
    pub fn enter_stage(&self, stage: &str) {
        let Some(active) = &self.active else { return };
        let next = OpenSpan::new(stage, SpanType::General, None, None);
        let previous = active.stage().replace(next);
        if let Some(previous) = previous {
            active.close(previous, None, None);
        }
    }

    /// Opens a span for an agent task, under the current stage.
    pub fn start_agent(&self, agent: &str, input: Value) -> AgentSpan {
        let Some(active) = &self.active else {
            return AgentSpan { open: None };
        };
        let parent = active.stage().as_ref().map(|s| s.id);
        let span = OpenSpan::new(agent, SpanType::Tool, parent, Some(input));
        AgentSpan {
            open: Some((active.clone(), span)),
        }
    }

    /// The run is over: closes the open stage span and, if the job has
    /// reached a resting point (finished, or parked for approval), sends the
    /// trace's final record. A job still running (handed back on shutdown,
    /// taken over by another worker) is left to the run that continues it.
    pub fn end_run(&self, job: Option<&Job>) {
        let Some(active) = &self.active else { return };
        let failure = job.and_then(|j| j.error.as_ref().filter(|_| j.status == JobStatus::Failed));
        if let Some(stage) = active.stage().take() {
            active.close(stage, None, failure.map(error_info));
        }
        if let Some(job) = job.filter(|j| at_rest(j)) {
            let mut record = trace_record(job, active.trace_id, &active.project, true);
            // The job's end was stored before the run closed its last spans
            // (a failure is recorded after the run, a stage closes after the
            // job completes): the trace ends with the last of them.
            let last_span_end = *active.last_span_end();
            record.end_time = record.end_time.max(last_span_end);
            active.outbox.push(Item::Trace(record));
        }
    }
}

impl Active {
    fn stage(&self) -> std::sync::MutexGuard<'_, Option<OpenSpan>> {
        self.stage.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn last_span_end(&self) -> std::sync::MutexGuard<'_, Option<OpikTime>> {
        self.last_span_end.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn send_span(&self, record: SpanRecord) {
        {
            let mut last = self.last_span_end();
            *last = (*last).max(Some(record.end_time));
        }
        self.outbox.push(Item::Span(record));
    }

    fn close(&self, span: OpenSpan, output: Option<Value>, error: Option<ErrorInfo>) {
        let record = SpanRecord {
            id: span.id,
            project_name: self.project.clone(),
            trace_id: self.trace_id,
            parent_span_id: span.parent,
            name: span.name,
            kind: span.kind,
            start_time: span.start,
            end_time: OpikTime::now(),
            input: span.input,
            output,
            metadata: span.metadata,
            model: None,
            provider: None,
            usage: None,
            error_info: error,
            source: SdkSource,
            last_updated_at: OpikTime::now(),
        };
        self.send_span(record);
    }
}

impl OpenSpan {
    fn new(name: &str, kind: SpanType, parent: Option<Uuid>, input: Option<Value>) -> Self {
        Self {
            id: Uuid::now_v7(),
            parent,
            name: name.to_string(),
            kind,
            start: OpikTime::now(),
            input,
            metadata: None,
        }
    }
}

impl AgentSpan {
    /// Records an LLM call, failed or not, as a child span.
    pub fn llm_call(&self, call: &CallRecord) {
        let Some((active, span)) = &self.open else {
            return;
        };
        let record = llm_span(call, span.id, active.trace_id, &active.project);
        active.send_span(record);
    }

    pub fn succeeded(self, output: &Value, confidence: f64) {
        let Some((active, mut span)) = self.open else {
            return;
        };
        span.metadata = Some(json!({ "confidence_score": confidence }));
        active.close(span, Some(as_object(output)), None);
    }

    pub fn failed(self, error: &JobError) {
        let Some((active, span)) = self.open else {
            return;
        };
        let output = json!({ "error": error.message, "code": error.code });
        active.close(span, Some(output), Some(error_info(error)));
    }

    /// Stopped from outside (cancel, shutdown, lost lease): not the agent's fault.
    pub fn interrupted(self, reason: &str) {
        let Some((active, span)) = self.open else {
            return;
        };
        active.close(span, None, Some(ErrorInfo::new("interrupted", reason)));
    }
}

/// The span of one LLM call. A failed call has `error_info`, and the usage
/// the server reported when it answered at all (a refused answer still
/// spent its tokens).
fn llm_span(call: &CallRecord, parent: Uuid, trace_id: Uuid, project: &str) -> SpanRecord {
    let tokens = |n: u64| i32::try_from(n).unwrap_or(i32::MAX);
    let usage = call.usage.map(|usage| {
        BTreeMap::from([
            ("prompt_tokens".to_string(), tokens(usage.prompt_tokens)),
            (
                "completion_tokens".to_string(),
                tokens(usage.completion_tokens),
            ),
            ("total_tokens".to_string(), tokens(usage.total_tokens)),
        ])
    });
    SpanRecord {
        // Dated by when the call started, though it is recorded later.
        id: v7_at(call.started),
        project_name: project.to_string(),
        trace_id,
        parent_span_id: Some(parent),
        name: "chat_completion".into(),
        kind: SpanType::Llm,
        start_time: OpikTime(call.started),
        end_time: OpikTime(call.ended),
        input: Some(json!({ "messages": call.messages })),
        output: call.reply.as_ref().map(|reply| json!({ "content": reply })),
        metadata: None,
        model: Some(call.model.clone()),
        provider: call.provider,
        usage,
        error_info: call
            .error
            .as_ref()
            .map(|e| ErrorInfo::new(e.kind, &e.message)),
        source: SdkSource,
        last_updated_at: OpikTime::now(),
    }
}

/// A v7 id whose embedded time is `at`.
fn v7_at(at: DateTime<Utc>) -> Uuid {
    let nanos = at.timestamp_subsec_nanos();
    match u64::try_from(at.timestamp()) {
        Ok(secs) => Uuid::new_v7(uuid::Timestamp::from_unix(uuid::NoContext, secs, nanos)),
        Err(_) => Uuid::now_v7(),
    }
}

/// When the trace started: its v7 id was minted then, so every run of the
/// job (on any replica) reports the same start.
fn trace_start(trace_id: Uuid, job: &Job) -> OpikTime {
    trace_id
        .get_timestamp()
        .and_then(|t| {
            let (secs, nanos) = t.to_unix();
            DateTime::from_timestamp(i64::try_from(secs).ok()?, nanos)
        })
        .map(OpikTime)
        .unwrap_or(OpikTime(job.created_at))
}

/// Finished, or parked until a human decides.
fn at_rest(job: &Job) -> bool {
    job.status.is_terminal() || job.status == JobStatus::WaitingApproval
}

/// The whole trace record. `ending` adds the end time, the output and any
/// error; without it, it is the start record sent when the trace begins.
pub(super) fn trace_record(job: &Job, trace_id: Uuid, project: &str, ending: bool) -> TraceRecord {
    let request = &job.request;
    let mut input = json!({ "query": request.query, "constraints": request.constraints });
    if let Some(trigger) = &request.trigger_type {
        input["trigger_type"] = json!(trigger);
        input["context"] = json!(request.context);
    }
    let mut tags = vec![job.mode.as_str().to_string()];
    tags.extend(request.trigger_type.clone());
    TraceRecord {
        id: trace_id,
        project_name: project.to_string(),
        name: format!("workflow_{}", job.mode.as_str()),
        start_time: trace_start(trace_id, job),
        end_time: ending.then(|| OpikTime(job.completed_at.unwrap_or_else(Utc::now))),
        input,
        output: ending.then(|| trace_output(job)),
        metadata: json!({ "job_id": job.id, "user_id": job.user_id, "mode": job.mode }),
        tags,
        error_info: job
            .error
            .as_ref()
            .filter(|_| ending && job.status == JobStatus::Failed)
            .map(error_info),
        thread_id: request.session_id.clone(),
        source: SdkSource,
        last_updated_at: OpikTime::now(),
    }
}

/// The result in brief, or why there is none.
fn trace_output(job: &Job) -> Value {
    let mut output = json!({ "status": job.status });
    if let Some(result) = &job.final_result {
        output["summary"] = result["summary"].clone();
        output["estimated_total_usd"] = result["budget"]["estimated_total_usd"].clone();
    }
    if job.status == JobStatus::WaitingApproval
        && let Some(approval) = &job.approval
    {
        output["approval_data"] = approval.data.clone();
    }
    if let Some(error) = &job.error {
        output["error"] = json!({ "message": error.message, "code": error.code });
    }
    output
}

pub(super) fn feedback_score(trace_id: Uuid, project: &str, feedback: &Feedback) -> FeedbackScore {
    FeedbackScore {
        id: trace_id,
        project_name: project.to_string(),
        name: "user_rating".into(),
        value: f64::from(feedback.rating) / 5.0,
        source: SdkSource,
        reason: feedback.comment.clone(),
    }
}

fn error_info(error: &JobError) -> ErrorInfo {
    ErrorInfo::new(&error.code, &error.message)
}

/// Opik shows objects best; the SDK wraps anything else the same way.
fn as_object(value: &Value) -> Value {
    match value {
        Value::Object(_) => value.clone(),
        other => json!({ "output": other }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jobs::{JobRequest, WorkflowMode};

    #[test]
    fn a_v7_id_carries_the_time_it_is_dated_by() {
        let at = DateTime::parse_from_rfc3339("2026-01-20T10:00:00.123Z")
            .unwrap()
            .with_timezone(&Utc);
        let id = v7_at(at);
        assert_eq!(id.get_version_num(), 7);
        let job = Job::new("u".into(), WorkflowMode::Reactive, JobRequest::default());
        assert_eq!(trace_start(id, &job), OpikTime(at));
    }

    #[test]
    fn the_trace_names_the_mode_and_tags_the_trigger() {
        let request = JobRequest {
            trigger_type: Some("price_drop".into()),
            session_id: Some("s1".into()),
            ..Default::default()
        };
        let job = Job::new("u".into(), WorkflowMode::Proactive, request);
        let start = trace_record(&job, Uuid::now_v7(), "p", false);
        assert_eq!(start.name, "workflow_proactive");
        assert_eq!(start.tags, ["proactive", "price_drop"]);
        assert_eq!(start.thread_id.as_deref(), Some("s1"));
        assert!(start.end_time.is_none() && start.output.is_none());
    }
}
