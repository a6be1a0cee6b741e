//! Lifecycle transitions shared by the API and the workflow. Each is a pure
//! function of the current job, applied atomically by `JobStore::apply`, so
//! a condition ("only while paused", "only if not finished") is checked on
//! the same state that is written.

use chrono::Utc;
use serde_json::json;

use super::model::{
    ApprovalDecision, EventKind, Feedback, Job, JobError, JobStatus, NewEvent, Stage,
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

/// Moves a job to a terminal status and stamps `completed_at`.
fn finish(job: &mut Job, status: JobStatus) {
    let now = Utc::now();
    job.status = status;
    job.completed_at = Some(now);
    job.lease_entry = None;
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
        finish(job, JobStatus::Cancelled);
        job.error = Some(JobError {
            message: "Approval denied".into(),
            code: "approval_denied".into(),
        });
        Ok(Change {
            events: vec![status_event(job)],
            enqueue: false,
            deadline: Deadline::Clear,
        })
    }
}

/// Cancels a job that has not finished.
pub fn cancel(job: &mut Job, message: &str, code: &str) -> Result<Change, Refusal> {
    ensure_active(job)?;
    finish(job, JobStatus::Cancelled);
    job.error = Some(JobError {
        message: message.into(),
        code: code.into(),
    });
    Ok(Change {
        events: vec![status_event(job)],
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
    finish(job, JobStatus::Failed);
    let error_event = NewEvent::new(
        EventKind::Error,
        json!({ "message": error.message, "code": error.code }),
    );
    job.error = Some(error);
    Ok(Change {
        events: vec![status_event(job), error_event],
        enqueue: false,
        deadline: Deadline::Clear,
    })
}

/// Keeps feedback with the job, whatever its status. No event: feedback is
/// not progress.
pub fn add_feedback(job: &mut Job, feedback: Feedback) -> Result<Change, Refusal> {
    job.feedback.push(feedback);
    Ok(Change::none())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jobs::model::{Approval, JobRequest, WorkflowMode};

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
}
