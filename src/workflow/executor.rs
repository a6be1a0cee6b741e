//! The executor: consumes the work queue and runs each job under a lease.
//!
//! One claim loop per process takes entries while it has free slots
//! (`WORKER_CONCURRENCY`); a renew loop refreshes the leases of running jobs
//! and stops any run whose lease was taken over; a reclaim loop adopts
//! entries whose owner stopped renewing (a dead replica); a deadline loop
//! cancels approvals left unanswered. A job's run stops when it is
//! cancelled from any replica: a watcher follows the job's events.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::Utc;
use futures::StreamExt;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use super::mother::{MotherAgent, Outcome, RunError};
use crate::jobs::{
    self, ApplyError, EventKind, Job, JobStore, Lease, TraceRef, WorkQueue, transitions,
};
use crate::observability::{JobTrace, Tracer};

#[derive(Debug, Clone)]
pub struct ExecutorSettings {
    pub concurrency: usize,
    pub lease: Duration,
    pub max_attempts: u32,
    pub approval_timeout: Duration,
    pub claim_wait: Duration,
    /// This replica's name, unique per process: its queue consumer name.
    pub consumer: String,
}

/// Why a run was stopped from outside.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum StopReason {
    Cancelled,
    LeaseLost,
    Shutdown,
}

/// A run this process owns, as the renew loop and shutdown see it.
struct Running {
    lease: Lease,
    /// Cancelled by whoever stops the run (renew loop, watcher, shutdown);
    /// each step of the run races it and returns `Stopped`.
    stop: CancellationToken,
    /// Shared by the run, its cancellation watcher and the renew loop; the
    /// first writer wins, so `finish` sees why the run really stopped.
    reason: Arc<Mutex<Option<StopReason>>>,
}

pub struct Executor {
    /// Shared with HTTP and every replica: runs change jobs only through
    /// conditional transitions, so concurrent writers never overwrite each other.
    store: Arc<dyn JobStore>,
    /// Shared by the claim, renew, reclaim and deadline loops; the store
    /// keeps which consumer owns each entry, not this process.
    queue: Arc<dyn WorkQueue>,
    /// Shared by every run; it keeps no per-run state (that is in the job).
    agent: Arc<MotherAgent>,
    settings: ExecutorSettings,
    /// One permit per running job: the claim loop takes one before claiming,
    /// `run_one` holds it until the run ends, so at most `concurrency` run.
    slots: Arc<Semaphore>,
    /// This process's runs by entry id: `run_one` inserts and removes, the
    /// renew loop and shutdown read. A std mutex, never held across an await.
    running: Mutex<HashMap<String, Running>>,
    /// A cheap handle; the exporter task owns the Opik queue behind it.
    tracer: Tracer,
}

impl Executor {
    pub fn new(
        store: Arc<dyn JobStore>,
        queue: Arc<dyn WorkQueue>,
        agent: Arc<MotherAgent>,
        settings: ExecutorSettings,
        tracer: Tracer,
    ) -> Arc<Self> {
        Arc::new(Self {
            slots: Arc::new(Semaphore::new(settings.concurrency)),
            store,
            queue,
            agent,
            settings,
            running: Mutex::new(HashMap::new()),
            tracer,
        })
    }

    fn running(&self) -> std::sync::MutexGuard<'_, HashMap<String, Running>> {
        self.running.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Runs until `shutdown`, then stops every run and hands its job back to
    /// the queue so another replica continues it at once.
    pub async fn run(self: Arc<Self>, shutdown: CancellationToken) {
        let mut runs = JoinSet::new();
        let mut loops = JoinSet::new();
        loops.spawn(self.clone().renew_loop(shutdown.clone()));
        loops.spawn(self.clone().deadline_loop(shutdown.clone()));
        let tick = (self.settings.lease / 3).max(Duration::from_millis(100));
        let mut next_reclaim = tokio::time::Instant::now();
        tracing::info!(consumer = %self.settings.consumer, concurrency = self.settings.concurrency, "executor started");
        while !shutdown.is_cancelled() {
            let permit = tokio::select! {
                _ = shutdown.cancelled() => break,
                permit = self.slots.clone().acquire_owned() => match permit {
                    Ok(permit) => permit,
                    Err(_) => break,
                },
            };
            let free = self.slots.available_permits() + 1;
            let mut leases = Vec::new();
            if tokio::time::Instant::now() >= next_reclaim {
                next_reclaim = tokio::time::Instant::now() + tick;
                match self
                    .queue
                    .reclaim(&self.settings.consumer, self.settings.lease, free)
                    .await
                {
                    Ok(found) => leases = found,
                    Err(e) => tracing::warn!(error = %e, "reclaim failed"),
                }
            }
            if leases.is_empty() {
                // Not cancelled on shutdown: a blocked XREADGROUP that is
                // abandoned still takes entries for this consumer, which would
                // then wait out a lease. It returns within `claim_wait`.
                match self
                    .queue
                    .claim(&self.settings.consumer, free, self.settings.claim_wait)
                    .await
                {
                    Ok(found) => leases = found,
                    Err(e) => {
                        tracing::warn!(error = %e, "claim failed; retrying");
                        tokio::select! {
                            _ = shutdown.cancelled() => {}
                            _ = tokio::time::sleep(Duration::from_millis(500)) => {}
                        }
                    }
                }
            }
            if shutdown.is_cancelled() {
                for lease in &leases {
                    self.release(lease).await;
                }
                break;
            }
            let mut permit = Some(permit);
            for lease in leases {
                let slot = match permit.take() {
                    Some(p) => p,
                    None => match self.slots.clone().try_acquire_owned() {
                        Ok(p) => p,
                        // More entries than slots: hand the rest back at once.
                        Err(_) => {
                            self.release(&lease).await;
                            continue;
                        }
                    },
                };
                runs.spawn(self.clone().run_one(lease, slot));
            }
            while runs.try_join_next().is_some() {}
        }
        self.stop_all(StopReason::Shutdown);
        while runs.join_next().await.is_some() {}
        loops.abort_all();
        tracing::info!(consumer = %self.settings.consumer, "executor stopped");
    }

    /// Removes the entry. A failed ack is logged: the entry stays pending,
    /// and whoever reclaims it finds the job finished or parked and acks it.
    async fn ack(&self, lease: &Lease) {
        if let Err(e) = self.queue.ack(&self.settings.consumer, lease).await {
            tracing::warn!(job_id = %lease.job_id, error = %e, "ack failed; the entry will be reclaimed");
        }
    }

    /// Hands the entry back. A failed release is logged: the lease then
    /// expires and another replica reclaims the job.
    async fn release(&self, lease: &Lease) {
        if let Err(e) = self.queue.release(&self.settings.consumer, lease).await {
            tracing::warn!(job_id = %lease.job_id, error = %e, "release failed; the lease will expire");
        }
    }

    fn stop_all(&self, reason: StopReason) {
        for running in self.running().values() {
            stop_run(&running.stop, &running.reason, reason);
        }
    }

    fn stop(&self, entry_id: &str, reason: StopReason) {
        if let Some(running) = self.running().get(entry_id) {
            stop_run(&running.stop, &running.reason, reason);
        }
    }

    async fn renew_loop(self: Arc<Self>, shutdown: CancellationToken) {
        let every = (self.settings.lease / 3).max(Duration::from_millis(100));
        while !shutdown.is_cancelled() {
            tokio::time::sleep(every).await;
            let leases: Vec<Lease> = self.running().values().map(|r| r.lease.clone()).collect();
            match self.queue.renew(&self.settings.consumer, &leases).await {
                Ok(owned) => {
                    for lease in leases.iter().filter(|l| !owned.contains(l)) {
                        tracing::warn!(job_id = %lease.job_id, "lease taken over by another worker; stopping this run");
                        self.stop(&lease.entry_id, StopReason::LeaseLost);
                    }
                }
                // Keep running: the lease outlives a short outage, and a long
                // one lets another replica take over, which stops us.
                Err(e) => tracing::warn!(error = %e, "lease renewal failed"),
            }
        }
    }

    async fn deadline_loop(self: Arc<Self>, shutdown: CancellationToken) {
        let every = (self.settings.approval_timeout / 4)
            .clamp(Duration::from_millis(200), Duration::from_secs(5));
        while !shutdown.is_cancelled() {
            tokio::time::sleep(every).await;
            let due = match self.queue.due_deadlines(Utc::now(), 100).await {
                Ok(due) => due,
                Err(e) => {
                    tracing::warn!(error = %e, "approval deadline check failed");
                    continue;
                }
            };
            for job_id in due {
                // Any replica may race here; the transition is conditional.
                match self
                    .store
                    .apply(job_id, &transitions::expire_approval)
                    .await
                {
                    Ok(applied) => {
                        tracing::info!(%job_id, "approval expired; job cancelled");
                        self.tracer.job_ended(&applied.job);
                    }
                    Err(ApplyError::Refused(_)) | Err(ApplyError::NotFound(_)) => {
                        if let Err(e) = self.store.apply(job_id, &transitions::clear_deadline).await
                        {
                            tracing::debug!(%job_id, error = %e, "stale approval deadline not cleared");
                        }
                    }
                    Err(e) => tracing::warn!(%job_id, error = %e, "approval expiry failed"),
                }
            }
        }
    }

    /// Takes ownership of the job for this lease, counting the attempt. The
    /// first run also gives the job its trace, in the same write, so every
    /// later run (after an approval or a reclaim, on any replica) continues
    /// it. Returns the job and the trace minted here, if it was used.
    async fn start(&self, lease: &Lease) -> Result<(Job, Option<TraceRef>), ApplyError> {
        let max = self.settings.max_attempts;
        let entry = lease.entry_id.as_str();
        // Minted outside the transition, which may run more than once.
        let minted = self.tracer.mint();
        let applied = self
            .store
            .apply(lease.job_id, &|job: &mut Job| {
                transitions::begin_attempt(job, entry, max, minted.as_ref())
            })
            .await?;
        let job = applied.job;
        let minted = minted.filter(|m| job.trace.as_ref() == Some(m));
        Ok((job, minted))
    }

    async fn run_one(self: Arc<Self>, lease: Lease, _slot: OwnedSemaphorePermit) {
        let job_id = lease.job_id;
        let (job, minted) = match self.start(&lease).await {
            Ok((job, _)) if job.status.is_terminal() => {
                tracing::warn!(%job_id, attempts = job.attempts, "attempts exhausted; job failed");
                self.ack(&lease).await;
                return;
            }
            Ok(started) => started,
            Err(ApplyError::Refused(_)) | Err(ApplyError::NotFound(_)) => {
                // Finished, parked or expired: nothing to run.
                self.ack(&lease).await;
                return;
            }
            Err(e) => {
                tracing::warn!(%job_id, error = %e, "cannot start job; it stays queued");
                return;
            }
        };
        let stop = CancellationToken::new();
        let reason = Arc::new(Mutex::new(None));
        self.running().insert(
            lease.entry_id.clone(),
            Running {
                lease: lease.clone(),
                stop: stop.clone(),
                reason: reason.clone(),
            },
        );
        let watcher = tokio::spawn(watch_cancellation(
            self.store.clone(),
            job_id,
            stop.clone(),
            reason.clone(),
        ));
        let trace = self.tracer.begin_run(&job, minted.as_ref());
        let outcome = self
            .agent
            .run(job, &lease.entry_id, stop.clone(), trace.clone())
            .await;
        watcher.abort();
        self.running().remove(&lease.entry_id);
        let stopped_by = *reason.lock().unwrap_or_else(|p| p.into_inner());
        self.finish(lease, outcome, stopped_by).await;
        self.end_trace(&trace, job_id).await;
    }

    /// Closes the run's trace from the job as stored, whoever wrote its end
    /// (this run, a failure recorded in `finish`, a cancel from elsewhere).
    async fn end_trace(&self, trace: &JobTrace, job_id: Uuid) {
        if !trace.is_active() {
            return;
        }
        match self.store.get(job_id).await {
            Ok(job) => trace.end_run(job.as_ref()),
            Err(e) => {
                tracing::debug!(%job_id, error = %e, "cannot read the job to end its trace");
                trace.end_run(None);
            }
        }
    }

    async fn finish(
        &self,
        lease: Lease,
        outcome: Result<Outcome, RunError>,
        stopped_by: Option<StopReason>,
    ) {
        let job_id = lease.job_id;
        match (outcome, stopped_by) {
            (Ok(outcome), _) => {
                tracing::info!(%job_id, ?outcome, "run finished");
                self.ack(&lease).await;
            }
            (Err(_), Some(StopReason::Shutdown)) => {
                // Not the job's fault: give the attempt back, then requeue.
                let entry = lease.entry_id.as_str();
                if let Err(e) = self
                    .store
                    .apply(job_id, &|job: &mut Job| transitions::hand_back(job, entry))
                    .await
                {
                    tracing::warn!(%job_id, error = %e, "attempt not given back");
                }
                match self.queue.release(&self.settings.consumer, &lease).await {
                    Ok(()) => tracing::info!(%job_id, "handed back to the queue"),
                    Err(e) => {
                        tracing::warn!(%job_id, error = %e, "hand-back failed; the lease will expire")
                    }
                }
            }
            (Err(_), Some(StopReason::Cancelled)) | (Err(RunError::Ended), _) => {
                self.ack(&lease).await;
            }
            (Err(_), Some(StopReason::LeaseLost)) | (Err(RunError::NotOwner), _) => {
                tracing::info!(%job_id, "run stopped: another worker owns the job");
            }
            (Err(RunError::Stopped), None) => {
                tracing::warn!(%job_id, "run stopped without a reason; the job will be resumed");
            }
            (Err(RunError::Store(e)), None) => {
                // Leave the entry pending: once the lease lapses the job is
                // reclaimed and resumes from its checkpoints.
                tracing::warn!(%job_id, error = %e, "job store failed mid-run; the job will be resumed");
            }
            (Err(RunError::Failed(error)), None) => {
                let entry = lease.entry_id.as_str();
                let failed = self
                    .store
                    .apply(job_id, &|job: &mut Job| {
                        transitions::fail_if_owner(job, entry, error.clone())
                    })
                    .await;
                match failed {
                    Ok(_) => tracing::info!(%job_id, "job failed"),
                    Err(e) => tracing::warn!(%job_id, error = %e, "could not record the failure"),
                }
                self.ack(&lease).await;
            }
        }
    }
}

/// Stops a run, keeping the first reason given.
fn stop_run(stop: &CancellationToken, reason: &Mutex<Option<StopReason>>, why: StopReason) {
    reason
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .get_or_insert(why);
    stop.cancel();
}

/// Stops the run when the job is cancelled, whichever replica cancelled it.
async fn watch_cancellation(
    store: Arc<dyn JobStore>,
    job_id: Uuid,
    stop: CancellationToken,
    reason: Arc<Mutex<Option<StopReason>>>,
) {
    let mut events = std::pin::pin!(jobs::follow(store, job_id, None));
    while let Some(Ok(event)) = events.next().await {
        if event.kind == EventKind::StateChange && event.ends_stream() {
            stop_run(&stop, &reason, StopReason::Cancelled);
            return;
        }
    }
}
