//! A job's whole lifecycle: every write to its status, lease and attempts
//! is one of these named transitions, shared by the API, the executor and
//! the workflow. Each is a pure function of the current job, applied
//! atomically by `JobStore::apply`, so a condition ("only while paused",
//! "only if this run owns it") is checked on the same state that is written.

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use super::model::{
    Approval, ApprovalDecision, EventKind, FEEDBACK_KEPT, Feedback, Job, JobError, JobStatus,
    NewEvent, Stage, Task, TaskStatus, TraceRef,
};
use super::store::{Change, Deadline, Refusal};

pub fn status_event(job: &Job) -> NewEvent {
    NewEvent::new(
        EventKind::StateChange,
        json!({ "status": job.status, "error": job.error }),
    )
}

pub fn stage_event(stage: Stage) -> NewEvent {
    NewEvent::new(EventKind::StateChange, json!({ "workflow_state": stage }))
}

fn ensure_active(job: &Job) -> Result<(), Refusal> {
    if job.status.is_terminal() {
        return Err(Refusal::AlreadyTerminal(job.status));
    }
    Ok(())
}

/// The `state_change` that announces a pause for approval.
pub fn approval_event(data: &Value) -> NewEvent {
    NewEvent::new(
        EventKind::StateChange,
        json!({ "status": JobStatus::WaitingApproval, "approval_data": data }),
    )
}

/// Refuses unless the run holding queue entry `entry` still owns the job: a
/// run whose lease was reclaimed, or whose job ended, must stop writing.
pub fn ensure_owner(job: &Job, entry: &str) -> Result<(), Refusal> {
    ensure_active(job)?;
    if job.lease_entry.as_deref() != Some(entry) {
        return Err(Refusal::NotOwner);
    }
    Ok(())
}

/// The `task_start`/`task_complete` event that announces `task`'s status.
pub fn task_event(kind: EventKind, task: &Task, output: Option<Value>) -> NewEvent {
    NewEvent::new(
        kind,
        json!({
            "task_id": task.task_id,
            "agent": task.agent,
            "task_name": task.task_name,
            "status": task.status,
            "output": output,
            "confidence_score": task.confidence_score,
        }),
    )
}

/// Moves a job to a terminal status and stamps `completed_at`. Its
/// unfinished tasks end with it — a running one `cancelled`, one never
/// started `skipped` —, each announced by a `task_complete` returned here,
/// so no task of an ended job is left pending or running, however it ended.
fn finish(job: &mut Job, status: JobStatus) -> Vec<NewEvent> {
    let now = Utc::now();
    job.status = status;
    job.completed_at = Some(now);
    job.lease_entry = None;
    job.tasks
        .iter_mut()
        .filter(|task| !task.status.is_terminal())
        .map(|task| {
            task.status = match task.status {
                TaskStatus::Running => TaskStatus::Cancelled,
                _ => TaskStatus::Skipped,
            };
            task.completed_at = Some(now);
            task_event(EventKind::TaskComplete, task, None)
        })
        .collect()
}

/// Takes the job for the run holding queue entry `entry`, counting the
/// attempt. Past `max_attempts` the job fails instead. The first run also
/// gives the job its trace, so later runs on any replica continue it.
pub fn begin_attempt(
    job: &mut Job,
    entry: &str,
    max_attempts: u32,
    trace: Option<&TraceRef>,
) -> Result<Change, Refusal> {
    ensure_active(job)?;
    if job.status == JobStatus::WaitingApproval {
        return Err(Refusal::Other("waiting for approval".into()));
    }
    job.attempts += 1;
    if job.attempts > max_attempts {
        let message = format!(
            "The job was abandoned by its worker {max_attempts} times (crash or restart) and will not be retried"
        );
        return fail(
            job,
            JobError {
                message,
                code: "attempts_exhausted".into(),
            },
        );
    }
    job.lease_entry = Some(entry.to_string());
    if job.trace.is_none() {
        job.trace = trace.cloned();
    }
    Ok(Change::none())
}

/// Gives back the attempt of a run stopped by shutdown (not the job's
/// fault) and lets go of the job, if that run still owns it.
pub fn hand_back(job: &mut Job, entry: &str) -> Result<Change, Refusal> {
    if job.lease_entry.as_deref() == Some(entry) {
        job.attempts = job.attempts.saturating_sub(1);
        job.lease_entry = None;
    }
    Ok(Change::none())
}

/// Moves a running job forward to `stage` (and `status`), announcing each
/// change. Statuses and stages only move forward: a resumed run does not go
/// back to `planning` after an approval put the job in `executing`, and a
/// stage already reached is not announced again.
pub fn advance(job: &mut Job, stage: Stage, status: Option<JobStatus>) -> Change {
    let mut events = Vec::new();
    if let Some(status) = status.filter(|s| progress_rank(*s) > progress_rank(job.status)) {
        job.status = status;
        events.push(status_event(job));
    }
    if job.stage.is_none_or(|current| current < stage) {
        job.stage = Some(stage);
        events.push(stage_event(stage));
    }
    Change::events(events)
}

fn progress_rank(status: JobStatus) -> u8 {
    match status {
        JobStatus::Started => 0,
        JobStatus::Planning => 1,
        JobStatus::Executing | JobStatus::WaitingApproval => 2,
        JobStatus::Completed | JobStatus::Failed | JobStatus::Cancelled => 3,
    }
}

/// Parks the job for a human decision: off the queue (its lease let go)
/// until approved, or until `deadline` expires it.
pub fn park_for_approval(job: &mut Job, data: &Value, deadline: DateTime<Utc>) -> Change {
    job.stage = Some(Stage::Approval);
    job.status = JobStatus::WaitingApproval;
    job.lease_entry = None;
    job.approval = Some(Approval {
        requested_at: Utc::now(),
        data: data.clone(),
        decision: None,
    });
    Change {
        events: vec![stage_event(Stage::Approval), approval_event(data)],
        enqueue: false,
        deadline: Deadline::Set(deadline),
    }
}

/// Ends the job with its plan: `done`, `completed`, then the `complete`
/// event that carries the result and ends its streams.
pub fn complete(job: &mut Job, result: &Value) -> Change {
    job.stage = Some(Stage::Done);
    let mut events = finish(job, JobStatus::Completed);
    job.final_result = Some(result.clone());
    events.extend([
        stage_event(Stage::Done),
        status_event(job),
        NewEvent::new(EventKind::Complete, json!({ "result": result })),
    ]);
    Change::events(events)
}

/// Records a human decision on a paused job: approved → back on the queue,
/// rejected → cancelled. Refused unless the job is waiting for approval.
pub fn decide_approval(
    job: &mut Job,
    approved: bool,
    notes: Option<String>,
) -> Result<Change, Refusal> {
    if job.status != JobStatus::WaitingApproval {
        return Err(Refusal::NotAwaitingApproval);
    }
    let Some(approval) = job.approval.as_mut() else {
        return Err(Refusal::NotAwaitingApproval);
    };
    approval.decision = Some(ApprovalDecision {
        approved,
        notes,
        decided_at: Utc::now(),
    });
    if approved {
        job.status = JobStatus::Executing;
        job.attempts = 0;
        Ok(Change {
            events: vec![status_event(job)],
            enqueue: true,
            deadline: Deadline::Clear,
        })
    } else {
        let mut events = finish(job, JobStatus::Cancelled);
        job.error = Some(JobError {
            message: "Approval denied".into(),
            code: "approval_denied".into(),
        });
        events.push(status_event(job));
        Ok(Change {
            events,
            enqueue: false,
            deadline: Deadline::Clear,
        })
    }
}

/// Cancels a job that has not finished.
pub fn cancel(job: &mut Job, message: &str, code: &str) -> Result<Change, Refusal> {
    ensure_active(job)?;
    let mut events = finish(job, JobStatus::Cancelled);
    job.error = Some(JobError {
        message: message.into(),
        code: code.into(),
    });
    events.push(status_event(job));
    Ok(Change {
        events,
        enqueue: false,
        deadline: Deadline::Clear,
    })
}

/// Ends a paused job whose approval was not given in time.
pub fn expire_approval(job: &mut Job) -> Result<Change, Refusal> {
    if job.status != JobStatus::WaitingApproval {
        return Err(Refusal::NotAwaitingApproval);
    }
    cancel(
        job,
        "Approval was not given in time; the job was cancelled",
        "approval_expired",
    )
}

/// Fails a job that has not finished: a `state_change` then the `error`
/// event that ends its streams.
pub fn fail(job: &mut Job, error: JobError) -> Result<Change, Refusal> {
    ensure_active(job)?;
    let mut events = finish(job, JobStatus::Failed);
    let error_event = NewEvent::new(
        EventKind::Error,
        json!({ "message": error.message, "code": error.code }),
    );
    job.error = Some(error);
    events.extend([status_event(job), error_event]);
    Ok(Change {
        events,
        enqueue: false,
        deadline: Deadline::Clear,
    })
}

/// Fails the job only if the run holding `entry` still owns it: a run that
/// lost its lease must not end a job another worker is running.
pub fn fail_if_owner(job: &mut Job, entry: &str, error: JobError) -> Result<Change, Refusal> {
    if job.lease_entry.as_deref() != Some(entry) {
        return Err(Refusal::NotOwner);
    }
    fail(job, error)
}

/// Forgets an approval deadline that no longer applies (the job was
/// approved, rejected or cancelled before it fell due).
pub fn clear_deadline(_job: &mut Job) -> Result<Change, Refusal> {
    Ok(Change {
        deadline: Deadline::Clear,
        ..Change::default()
    })
}

/// Keeps feedback with the job, whatever its status: the latest
/// `FEEDBACK_KEPT` entries, and the count of all. No event: feedback is not
/// progress.
pub fn add_feedback(job: &mut Job, feedback: Feedback) -> Result<Change, Refusal> {
    // Jobs stored before the count existed count what they kept.
    job.feedback_count = job.feedback_count.max(job.feedback.len() as u64) + 1;
    job.feedback.push(feedback);
    let excess = job.feedback.len().saturating_sub(FEEDBACK_KEPT);
    job.feedback.drain(..excess);
    Ok(Change::none())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jobs::model::{Approval, JobRequest, WorkflowMode};

    #[test]
    fn feedback_keeps_the_latest_fifty_and_counts_all() {
        let mut job = Job::new("u".into(), WorkflowMode::Reactive, JobRequest::default());
        for rating in 0..60u8 {
            let feedback = Feedback {
                rating: rating % 5 + 1,
                comment: Some(format!("#{rating}")),
                helpful_aspects: None,
                improvement_areas: None,
                submitted_at: Utc::now(),
            };
            add_feedback(&mut job, feedback).unwrap();
        }
        assert_eq!(job.feedback.len(), FEEDBACK_KEPT);
        assert_eq!(job.feedback_count, 60);
        assert_eq!(job.feedback[0].comment.as_deref(), Some("#10"));
        assert_eq!(job.feedback[49].comment.as_deref(), Some("#59"));
    }

    fn paused_job() -> Job {
        let mut job = Job::new("u".into(), WorkflowMode::Reactive, JobRequest::default());
        job.status = JobStatus::WaitingApproval;
        job.approval = Some(Approval {
            requested_at: Utc::now(),
            data: json!({}),
            decision: None,
        });
        job
    }

    #[test]
    fn approval_requeues_and_rejection_cancels() {
        let mut job = paused_job();
        let change = decide_approval(&mut job, true, Some("ok".into())).unwrap();
        assert!(change.enqueue);
        assert_eq!(job.status, JobStatus::Executing);
        assert_eq!(
            decide_approval(&mut job, true, None).unwrap_err(),
            Refusal::NotAwaitingApproval
        );

        let mut job = paused_job();
        let change = decide_approval(&mut job, false, None).unwrap();
        assert!(!change.enqueue);
        assert_eq!(job.status, JobStatus::Cancelled);
        assert!(job.completed_at.is_some());
    }

    #[test]
    fn finished_jobs_cannot_be_cancelled_or_failed() {
        let mut job = paused_job();
        cancel(&mut job, "stop", "cancelled").unwrap();
        assert_eq!(
            cancel(&mut job, "again", "cancelled").unwrap_err(),
            Refusal::AlreadyTerminal(JobStatus::Cancelled)
        );
        let error = JobError {
            message: "x".into(),
            code: "x".into(),
        };
        assert!(fail(&mut job, error).is_err());
    }

    fn task(agent: &str, status: TaskStatus) -> Task {
        Task {
            task_id: agent.into(),
            agent: agent.into(),
            task_name: agent.into(),
            status,
            started_at: None,
            completed_at: None,
            output: None,
            output_key: None,
            confidence_score: None,
        }
    }

    /// However a job ends, none of its tasks stays pending or running, and
    /// each one closed is announced before the job's terminal events.
    #[test]
    fn every_way_a_job_ends_closes_its_tasks() {
        type Ending = fn(&mut Job) -> Change;
        let endings: Vec<(&str, Ending)> = vec![
            ("complete", |job| complete(job, &json!({}))),
            ("fail", |job| {
                fail(
                    job,
                    JobError {
                        message: "x".into(),
                        code: "x".into(),
                    },
                )
                .unwrap()
            }),
            ("cancel", |job| cancel(job, "stop", "cancelled").unwrap()),
            ("reject", |job| {
                job.status = JobStatus::WaitingApproval;
                job.approval = paused_job().approval;
                decide_approval(job, false, None).unwrap()
            }),
            ("expire", |job| {
                job.status = JobStatus::WaitingApproval;
                expire_approval(job).unwrap()
            }),
        ];
        for (how, end) in endings {
            let mut job = running_job("1-0");
            job.tasks = vec![
                task("intake_agent", TaskStatus::Completed),
                task("hotel_agent", TaskStatus::Failed),
                task("activity_agent", TaskStatus::Running),
                task("cost_agent", TaskStatus::Pending),
            ];
            let change = end(&mut job);
            let statuses: Vec<TaskStatus> = job.tasks.iter().map(|t| t.status).collect();
            assert_eq!(
                statuses,
                [
                    TaskStatus::Completed,
                    TaskStatus::Failed,
                    TaskStatus::Cancelled,
                    TaskStatus::Skipped
                ],
                "{how}"
            );
            let closed: Vec<Value> = change
                .events
                .iter()
                .take(2)
                .map(|e| serde_json::from_str::<Value>(&e.data).unwrap()["agent"].clone())
                .collect();
            assert_eq!(
                closed,
                [json!("activity_agent"), json!("cost_agent")],
                "{how}"
            );
            assert!(
                change.events[..2]
                    .iter()
                    .all(|e| e.kind == EventKind::TaskComplete)
            );
            assert!(job.tasks[2].completed_at.is_some(), "{how}");
        }
    }

    fn running_job(entry: &str) -> Job {
        let mut job = Job::new("u".into(), WorkflowMode::Reactive, JobRequest::default());
        begin_attempt(&mut job, entry, 3, None).unwrap();
        job
    }

    #[test]
    fn begin_attempt_takes_the_job_and_counts_until_the_limit() {
        let mut job = Job::new("u".into(), WorkflowMode::Reactive, JobRequest::default());
        for attempt in 1..=2 {
            begin_attempt(&mut job, "1-0", 2, None).unwrap();
            assert_eq!(job.attempts, attempt);
            assert_eq!(job.lease_entry.as_deref(), Some("1-0"));
        }
        let change = begin_attempt(&mut job, "2-0", 2, None).unwrap();
        assert_eq!(job.status, JobStatus::Failed);
        assert_eq!(job.error.as_ref().unwrap().code, "attempts_exhausted");
        assert_eq!(change.events.len(), 2, "state_change then error");
        assert!(begin_attempt(&mut job, "3-0", 9, None).is_err());
        assert!(begin_attempt(&mut paused_job(), "1-0", 9, None).is_err());
    }

    #[test]
    fn begin_attempt_keeps_the_first_trace() {
        let first = TraceRef {
            trace_id: uuid::Uuid::new_v4(),
            url: "first".into(),
        };
        let second = TraceRef {
            url: "second".into(),
            ..first.clone()
        };
        let mut job = Job::new("u".into(), WorkflowMode::Reactive, JobRequest::default());
        begin_attempt(&mut job, "1-0", 3, Some(&first)).unwrap();
        begin_attempt(&mut job, "2-0", 3, Some(&second)).unwrap();
        assert_eq!(job.trace.unwrap().url, "first");
    }

    #[test]
    fn hand_back_returns_the_attempt_only_to_the_owner() {
        let mut job = running_job("1-0");
        hand_back(&mut job, "other").unwrap();
        assert_eq!((job.attempts, job.lease_entry.as_deref()), (1, Some("1-0")));
        hand_back(&mut job, "1-0").unwrap();
        assert_eq!((job.attempts, job.lease_entry.as_deref()), (0, None));
    }

    #[test]
    fn only_the_owner_fails_a_running_job() {
        let error = JobError {
            message: "x".into(),
            code: "x".into(),
        };
        let mut job = running_job("1-0");
        assert_eq!(
            fail_if_owner(&mut job, "other", error.clone()).unwrap_err(),
            Refusal::NotOwner
        );
        assert_eq!(ensure_owner(&job, "other").unwrap_err(), Refusal::NotOwner);
        assert!(ensure_owner(&job, "1-0").is_ok());
        fail_if_owner(&mut job, "1-0", error).unwrap();
        assert_eq!(job.status, JobStatus::Failed);
        assert!(ensure_owner(&job, "1-0").is_err());
    }

    #[test]
    fn advance_only_moves_forward() {
        let mut job = running_job("1-0");
        let change = advance(&mut job, Stage::Execution, Some(JobStatus::Executing));
        assert_eq!(change.events.len(), 2);
        let change = advance(&mut job, Stage::Intake, Some(JobStatus::Planning));
        assert!(change.events.is_empty(), "nothing announced going back");
        assert_eq!(
            (job.stage, job.status),
            (Some(Stage::Execution), JobStatus::Executing)
        );
    }

    #[test]
    fn parking_lets_go_of_the_lease_and_sets_the_deadline() {
        let mut job = running_job("1-0");
        let deadline = Utc::now();
        let change = park_for_approval(&mut job, &json!({ "reason": "budget_override" }), deadline);
        assert_eq!(job.status, JobStatus::WaitingApproval);
        assert_eq!(job.lease_entry, None);
        assert_eq!(change.deadline, Deadline::Set(deadline));
        assert!(!change.enqueue);
        assert!(job.approval.is_some());
        decide_approval(&mut job, true, None).unwrap();
        assert_eq!(job.attempts, 0, "an approval starts the count again");
    }

    #[test]
    fn complete_ends_the_job_with_its_result() {
        let mut job = running_job("1-0");
        let change = complete(&mut job, &json!({ "summary": "s" }));
        assert_eq!(job.status, JobStatus::Completed);
        assert_eq!(job.stage, Some(Stage::Done));
        assert_eq!(job.lease_entry, None);
        assert!(job.completed_at.is_some());
        assert_eq!(change.events.last().unwrap().kind, EventKind::Complete);
    }

    #[test]
    fn expiry_cancels_only_paused_jobs_and_clearing_writes_only_the_deadline() {
        let mut job = running_job("1-0");
        assert_eq!(
            expire_approval(&mut job).unwrap_err(),
            Refusal::NotAwaitingApproval
        );
        let change = clear_deadline(&mut job).unwrap();
        assert_eq!(change.deadline, Deadline::Clear);
        assert!(change.events.is_empty());
        let mut job = paused_job();
        expire_approval(&mut job).unwrap();
        assert_eq!(job.error.unwrap().code, "approval_expired");
    }
}
