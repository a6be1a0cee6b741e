//! The store's traits, one per kind of caller: `JobStore` (job state and
//! its event log), `WorkQueue` (leases and deadlines, for the executor),
//! `RateLimiter` and `StoreHealth` (for HTTP). One backend implements all of
//! them (`JobBackend`); both backends (Redis, memory) pass the same
//! conformance suite (`tests/store_conformance.rs`).

use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::hub::{JobWatch, Subscription};
use super::listing::JobFilter;
use super::model::{Event, EventId, Job, NewEvent};

#[derive(Debug, Clone, thiserror::Error)]
pub enum StoreError {
    /// The backing store did not answer (down, timed out, refused). Callers
    /// map this to 503; nothing was written, or the write is not confirmed.
    #[error("job store unavailable: {0}")]
    Unavailable(String),
    #[error("job {0} already exists")]
    Duplicate(Uuid),
    #[error("stored data is unreadable: {0}")]
    Corrupt(String),
}

/// Why a transition function refused to change a job. Nothing was written.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Refusal {
    #[error("Job is not awaiting approval")]
    NotAwaitingApproval,
    #[error("Job is already {}", .0.as_str())]
    AlreadyTerminal(super::JobStatus),
    /// The run holding this lease no longer owns the job (it was reclaimed by
    /// another worker, or the job was parked or finished by someone else).
    #[error("this run no longer owns the job")]
    NotOwner,
    #[error("{0}")]
    Other(String),
}

#[derive(Debug, Clone, thiserror::Error)]
pub enum ApplyError {
    #[error("job {0} not found")]
    NotFound(Uuid),
    #[error(transparent)]
    Refused(#[from] Refusal),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What a transition wants written besides the new state.
#[derive(Debug, Clone, Default)]
pub struct Change {
    /// Events announcing the change, logged and published in this order.
    pub events: Vec<NewEvent>,
    /// Put the job (back) on the work queue, e.g. after an approval.
    pub enqueue: bool,
    /// Set or clear the job's approval deadline.
    pub deadline: Deadline,
}

#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub enum Deadline {
    #[default]
    Keep,
    Set(DateTime<Utc>),
    Clear,
}

impl Change {
    pub fn none() -> Self {
        Self::default()
    }

    pub fn event(event: NewEvent) -> Self {
        Self {
            events: vec![event],
            ..Self::default()
        }
    }

    pub fn events(events: Vec<NewEvent>) -> Self {
        Self {
            events,
            ..Self::default()
        }
    }
}

/// A transition: inspects the current job and either mutates it and says what
/// to announce, or refuses. It may run more than once (the store retries it on
/// a concurrent write), so it must not have side effects.
pub type Transition<'a> = dyn Fn(&mut Job) -> Result<Change, Refusal> + Send + Sync + 'a;

#[derive(Debug, Clone)]
pub struct Applied {
    pub job: Job,
    pub events: Vec<Event>,
}

#[derive(Debug, Clone)]
pub struct JobPage {
    pub jobs: Vec<Job>,
    /// Pass back to get the next (older) page; `None` on the last page.
    pub next_cursor: Option<Uuid>,
}

/// A page of a user's jobs as ids and versions, without their states.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct VersionPage {
    pub entries: Vec<(Uuid, u64)>,
    pub next_cursor: Option<Uuid>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Created {
    New(Event),
    /// An earlier request with the same idempotency key created this job.
    Existing(Uuid),
}

/// A claim on one queue entry: while its owner renews it, no other consumer
/// takes the job.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Lease {
    pub entry_id: String,
    pub job_id: Uuid,
}

/// Job state and its event log: what HTTP, the workflow and the scheduler
/// read and write.
#[async_trait]
pub trait JobStore: Send + Sync + 'static {
    /// Writes the job, its first event and its queue entry in one atomic step.
    async fn create(&self, job: &Job, first_event: NewEvent) -> Result<Event, StoreError>;

    /// Like `create`, unless a job was already created with this idempotency
    /// key (scoped to the job's user) within the job TTL: then nothing is
    /// written and that job's id is returned. Checked and written atomically.
    async fn create_once(
        &self,
        job: &Job,
        first_event: NewEvent,
        key: &str,
    ) -> Result<Created, StoreError>;

    async fn get(&self, id: Uuid) -> Result<Option<Job>, StoreError>;

    /// The job's version: 1 when created, one more on every write. Cheap
    /// beside `get`: readers check it before rendering the state again.
    async fn version(&self, id: Uuid) -> Result<Option<u64>, StoreError>;

    /// The job and the version it was read at, from one read.
    async fn get_versioned(&self, id: Uuid) -> Result<Option<(Job, u64)>, StoreError>;

    /// The jobs of `ids` that still exist, in order, with their versions.
    async fn get_many_versioned(&self, ids: &[Uuid]) -> Result<Vec<(Job, u64)>, StoreError>;

    /// Applies `transition` to the current state and writes the new state with
    /// its events atomically. Concurrent writers never lose each other's
    /// updates: a write based on a stale read is retried on the fresh state.
    async fn apply(&self, id: Uuid, transition: &Transition<'_>) -> Result<Applied, ApplyError>;

    /// A user's jobs, newest first, `limit` at a time, starting after `cursor`.
    async fn list_user_jobs(
        &self,
        user_id: &str,
        limit: usize,
        cursor: Option<Uuid>,
    ) -> Result<JobPage, StoreError>;

    /// The page `list_user_jobs` would return, as ids and versions only.
    async fn list_user_versions(
        &self,
        user_id: &str,
        limit: usize,
        cursor: Option<Uuid>,
    ) -> Result<VersionPage, StoreError>;

    /// Jobs of any user that `filter` selects, newest first, up to `limit`,
    /// starting after `cursor`. A page may hold fewer than `limit` jobs and
    /// still have a `next_cursor` when the filter is narrow: one call reads
    /// at most `listing::MAX_SCANNED` jobs (the operator console uses this).
    async fn list_jobs(
        &self,
        filter: &JobFilter,
        limit: usize,
        cursor: Option<Uuid>,
    ) -> Result<JobPage, StoreError>;

    /// The job's logged events with ids greater than `after` (all when `None`),
    /// oldest first.
    async fn events_after(
        &self,
        id: Uuid,
        after: Option<EventId>,
    ) -> Result<Vec<Event>, StoreError>;

    /// Delivers `event` to the job's live subscribers on every replica
    /// without writing anything: it is not logged, has no id and is never
    /// replayed (for events that are only of use while they happen, such as
    /// `agent_progress`). A subscriber that is not connected misses it.
    async fn announce(&self, id: Uuid, event: NewEvent) -> Result<(), StoreError>;

    /// Live events of one job from now on. Subscribe first, then read
    /// `events_after`, then skip ids already seen: no event is missed.
    fn subscribe(&self, id: Uuid) -> Subscription;

    /// Wakes after any later write of the job, from any replica, through this
    /// process's event feed (see `EventHub::watch`).
    fn watch(&self, id: Uuid) -> JobWatch;
}

/// The work queue as the executor sees it: leases on runnable jobs, and the
/// approval deadlines that fall due. The Redis scripts behind each method are
/// atomic on their own.
#[async_trait]
pub trait WorkQueue: Send + Sync + 'static {
    /// Takes up to `max` new queue entries for `consumer`, waiting up to `wait`
    /// for one to arrive.
    async fn claim(
        &self,
        consumer: &str,
        max: usize,
        wait: Duration,
    ) -> Result<Vec<Lease>, StoreError>;

    /// Refreshes the leases `consumer` still owns; returns those it owns.
    async fn renew(&self, consumer: &str, leases: &[Lease]) -> Result<Vec<Lease>, StoreError>;

    /// Removes the entry: its job is finished or parked.
    async fn ack(&self, consumer: &str, lease: &Lease) -> Result<(), StoreError>;

    /// Hands the job back to the queue at once (graceful shutdown).
    async fn release(&self, consumer: &str, lease: &Lease) -> Result<(), StoreError>;

    /// Takes over up to `max` entries whose owner has not renewed them for
    /// `min_idle`.
    async fn reclaim(
        &self,
        consumer: &str,
        min_idle: Duration,
        max: usize,
    ) -> Result<Vec<Lease>, StoreError>;

    /// Jobs whose approval deadline is at or before `now`.
    async fn due_deadlines(&self, now: DateTime<Utc>, max: usize) -> Result<Vec<Uuid>, StoreError>;
}

/// A fixed-window request counter shared by every replica.
#[async_trait]
pub trait RateLimiter: Send + Sync + 'static {
    /// Counts one request of `client` in the current fixed window and
    /// returns the count so far, with the time left in the window.
    async fn count_request(
        &self,
        client: &str,
        window: Duration,
    ) -> Result<(u64, Duration), StoreError>;
}

/// What `/health` and `/metrics` read about the backing store.
#[async_trait]
pub trait StoreHealth: Send + Sync + 'static {
    /// Entries waiting or running.
    async fn queue_depth(&self) -> Result<u64, StoreError>;

    async fn ping(&self) -> Result<(), StoreError>;

    /// Which backend this is, for `/health` (`redis` or `memory`).
    fn backend(&self) -> &'static str;
}

/// Everything one backend (Redis or memory) provides. Only start-up and the
/// tests see it whole; each caller is handed the narrow trait it uses.
pub trait JobBackend: JobStore + WorkQueue + RateLimiter + StoreHealth {}

impl<T: JobStore + WorkQueue + RateLimiter + StoreHealth> JobBackend for T {}
