//! One run of one job by one worker: every write goes through here, checked
//! against the run's lease (a run that lost its job stops writing), and
//! every agent task is checkpointed so a resumed run skips finished work.

use std::future::Future;
use std::sync::{Arc, Mutex};

use chrono::Utc;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use super::agents::AgentCall;
use crate::jobs::{
    ApplyError, Change, EventKind, Job, JobError, JobStatus, JobStore, JobUsage, NewEvent, Refusal,
    Stage, StoreError, Task, TaskStatus, output_object, transitions,
};
use crate::llm::{CallRecord, TokenMeter, TokenUsage};
use crate::observability::JobTrace;

/// Why a run ended without finishing the job.
#[derive(Debug, Clone, thiserror::Error)]
pub enum RunError {
    /// The job cannot be done as asked: it fails with this error.
    #[error("{}", .0.message)]
    Failed(JobError),
    /// The store failed: stop; the job resumes after the lease lapses.
    #[error(transparent)]
    Store(StoreError),
    /// Another run owns the job now.
    #[error("another run owns the job")]
    NotOwner,
    /// The job ended meanwhile (cancelled).
    #[error("the job has ended")]
    Ended,
    /// Stopped from outside (cancel, shutdown, lost lease).
    #[error("the run was stopped")]
    Stopped,
}

impl RunError {
    pub fn failed(code: &str, message: impl Into<String>) -> Self {
        Self::Failed(JobError {
            message: message.into(),
            code: code.into(),
        })
    }
}

impl From<ApplyError> for RunError {
    fn from(e: ApplyError) -> Self {
        match e {
            ApplyError::Store(e) => Self::Store(e),
            ApplyError::NotFound(_) => Self::Ended,
            ApplyError::Refused(Refusal::NotOwner) => Self::NotOwner,
            ApplyError::Refused(_) => Self::Ended,
        }
    }
}

/// An agent's answer and how sure it is (0–1).
pub struct AgentOutput<T> {
    pub value: T,
    pub confidence: f64,
}

pub struct Run {
    pub store: Arc<dyn JobStore>,
    pub job_id: Uuid,
    entry: String,
    pub stop: CancellationToken,
    /// LLM tokens used so far; written to the job with every update.
    meter: Arc<TokenMeter>,
    /// The job's trace: a span per stage, per agent task and per LLM call.
    pub trace: JobTrace,
    /// LLM calls the agents made, shared with their `AgentContext`.
    calls: Arc<Mutex<Vec<AgentCall>>>,
}

impl Run {
    pub fn new(
        store: Arc<dyn JobStore>,
        job_id: Uuid,
        entry: &str,
        stop: CancellationToken,
        meter: Arc<TokenMeter>,
        trace: JobTrace,
        calls: Arc<Mutex<Vec<AgentCall>>>,
    ) -> Self {
        Self {
            store,
            job_id,
            entry: entry.to_string(),
            stop,
            meter,
            trace,
            calls,
        }
    }

    /// Applies `transition` if this run still owns the job.
    pub async fn update(
        &self,
        transition: impl Fn(&mut Job) -> Result<Change, Refusal> + Send + Sync,
    ) -> Result<Job, RunError> {
        let entry = self.entry.as_str();
        let usage = self.meter.snapshot();
        let applied = self
            .store
            .apply(self.job_id, &|job: &mut Job| {
                transitions::ensure_owner(job, entry)?;
                job.usage = stored_usage(usage);
                transition(job)
            })
            .await?;
        Ok(applied.job)
    }

    /// Moves the job forward to `stage` (and `status`), announcing each
    /// change; a stage already reached is not announced again on resume.
    /// The stage gets a span unless the job is already past it (a resumed
    /// run only passes through finished stages).
    pub async fn advance(&self, stage: Stage, status: Option<JobStatus>) -> Result<Job, RunError> {
        let job = self
            .update(|job| Ok(transitions::advance(job, stage, status)))
            .await?;
        if job.stage == Some(stage) {
            self.trace.enter_stage(stage.as_str());
        }
        Ok(job)
    }

    /// Adds pending entries for tasks not yet listed, so progress shows the total.
    pub async fn register_tasks(&self, tasks: &[(&str, &str)]) -> Result<Job, RunError> {
        self.update(|job| {
            for (agent, name) in tasks {
                if !job.tasks.iter().any(|t| t.agent == *agent) {
                    job.tasks.push(pending_task(agent, name));
                }
            }
            Ok(Change::none())
        })
        .await
    }

    /// Runs one agent task, or returns its checkpoint if a previous run
    /// finished it. Emits `task_start`, then `task_complete` and the
    /// `agent_output` for `key`; a failing task is marked failed.
    pub async fn task<T, F>(
        &self,
        agent: &str,
        task_name: &str,
        key: &str,
        work: F,
    ) -> Result<T, RunError>
    where
        T: Serialize + DeserializeOwned,
        F: Future<Output = Result<AgentOutput<T>, RunError>>,
    {
        if let Some(done) = self.checkpoint::<T>(key).await? {
            return Ok(done);
        }
        self.update(|job| {
            let task = upsert_task(job, agent, task_name);
            task.status = TaskStatus::Running;
            task.started_at = Some(Utc::now());
            Ok(Change::event(transitions::task_event(
                EventKind::TaskStart,
                task,
                None,
            )))
        })
        .await?;
        let span = self
            .trace
            .start_agent(agent, json!({ "task_name": task_name, "output_key": key }));
        let result = tokio::select! {
            _ = self.stop.cancelled() => Err(RunError::Stopped),
            result = work => result,
        };
        for call in self.take_calls(agent) {
            span.llm_call(&call);
        }
        let result = result.and_then(|output| {
            serde_json::to_value(&output.value)
                .map(|value| (output, value))
                .map_err(|e| RunError::failed("internal", format!("{agent} output: {e}")))
        });
        match &result {
            Ok((output, value)) => span.succeeded(value, output.confidence),
            Err(RunError::Failed(error)) => span.failed(error),
            Err(other) => span.interrupted(&other.to_string()),
        }
        match result {
            Ok((output, value)) => {
                self.complete_task(agent, task_name, key, value, output.confidence)
                    .await?;
                Ok(output.value)
            }
            Err(RunError::Failed(error)) => {
                self.fail_task(agent, task_name, &error.message).await?;
                Err(RunError::Failed(error))
            }
            Err(other) => Err(other),
        }
    }

    /// Stores a task's output as its checkpoint and announces it.
    async fn complete_task(
        &self,
        agent: &str,
        task_name: &str,
        key: &str,
        value: Value,
        confidence: f64,
    ) -> Result<Job, RunError> {
        self.update(|job| {
            let task = upsert_task(job, agent, task_name);
            task.status = TaskStatus::Completed;
            task.completed_at = Some(Utc::now());
            task.output = None;
            task.output_key = Some(key.to_string());
            task.confidence_score = Some(confidence);
            let done = transitions::task_event(
                EventKind::TaskComplete,
                task,
                Some(output_object(key, &value)),
            );
            // Stored once: the task points at it, and it is the checkpoint.
            job.current_output.insert(key.to_string(), value.clone());
            let partial = NewEvent::new(
                EventKind::AgentOutput,
                json!({ "key": key, "value": value }),
            );
            Ok(Change::events(vec![done, partial]))
        })
        .await
    }

    async fn fail_task(
        &self,
        agent: &str,
        task_name: &str,
        message: &str,
    ) -> Result<Job, RunError> {
        self.update(|job| {
            let task = upsert_task(job, agent, task_name);
            task.status = TaskStatus::Failed;
            task.completed_at = Some(Utc::now());
            task.output = Some(json!({ "error": message }));
            let output = task.output.clone();
            Ok(Change::event(transitions::task_event(
                EventKind::TaskComplete,
                task,
                output,
            )))
        })
        .await
    }

    /// Removes and returns the LLM calls `agent` made. Agents run
    /// concurrently, so the others' calls stay for them.
    fn take_calls(&self, agent: &str) -> Vec<CallRecord> {
        let mut calls = self.calls.lock().unwrap_or_else(|p| p.into_inner());
        let (mine, others) = std::mem::take(&mut *calls)
            .into_iter()
            .partition(|c| c.agent == agent);
        *calls = others;
        mine.into_iter().map(|c: AgentCall| c.call).collect()
    }

    pub async fn checkpoint<T: DeserializeOwned>(&self, key: &str) -> Result<Option<T>, RunError> {
        let job = self
            .store
            .get(self.job_id)
            .await
            .map_err(RunError::Store)?
            .ok_or(RunError::Ended)?;
        job.current_output
            .get(key)
            .map(|v| serde_json::from_value(v.clone()))
            .transpose()
            .map_err(|e| RunError::failed("internal", format!("checkpoint {key}: {e}")))
    }
}

fn stored_usage(usage: TokenUsage) -> JobUsage {
    JobUsage {
        calls: usage.calls,
        prompt_tokens: usage.prompt_tokens,
        completion_tokens: usage.completion_tokens,
        total_tokens: usage.total_tokens,
    }
}

/// What earlier runs of the job used, for the meter to start from.
pub fn usage_so_far(job: &Job) -> TokenUsage {
    let used = job.usage;
    TokenUsage {
        calls: used.calls,
        prompt_tokens: used.prompt_tokens,
        completion_tokens: used.completion_tokens,
        total_tokens: used.total_tokens,
    }
}

fn pending_task(agent: &str, name: &str) -> Task {
    Task {
        task_id: agent.to_string(),
        agent: agent.to_string(),
        task_name: name.to_string(),
        status: TaskStatus::Pending,
        started_at: None,
        completed_at: None,
        output: None,
        output_key: None,
        confidence_score: None,
    }
}

fn upsert_task<'a>(job: &'a mut Job, agent: &str, name: &str) -> &'a mut Task {
    let index = match job.tasks.iter().position(|t| t.agent == agent) {
        Some(i) => i,
        None => {
            job.tasks.push(pending_task(agent, name));
            job.tasks.len() - 1
        }
    };
    &mut job.tasks[index]
}
