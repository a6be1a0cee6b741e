//! `MemoryStore`: the embedded store used when `REDIS_URL` is unset, so the
//! service runs on a bare machine. Same semantics as `RedisStore` (atomic
//! transitions, capped event logs, queue with leases, TTLs) within one
//! process; everything is lost on exit.

use std::collections::{BTreeSet, HashMap, VecDeque};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use tokio::sync::Notify;
use uuid::Uuid;

use super::StoreSettings;
use super::hub::{EventHub, JobWatch, Subscription};
use super::listing::JobFilter;
use super::model::{Event, EventId, Job, NewEvent};
use super::store::{
    Applied, ApplyError, Change, Created, Deadline, JobPage, JobStore, Lease, RateLimiter,
    StoreError, StoreHealth, Transition, VersionPage, WorkQueue,
};

pub struct MemoryStore {
    state: Mutex<State>,
    hub: EventHub,
    queue_ready: Notify,
    settings: StoreSettings,
}

#[derive(Default)]
struct State {
    jobs: HashMap<Uuid, StoredJob>,
    /// Job ids per user; v7 ids sort by creation time.
    users: HashMap<String, BTreeSet<Uuid>>,
    waiting: VecDeque<(u64, Uuid)>,
    pending: HashMap<u64, PendingEntry>,
    next_entry: u64,
    deadlines: BTreeSet<(i64, Uuid)>,
    deadline_of: HashMap<Uuid, i64>,
    /// (user, idempotency key) → the job it created, until it expires.
    idempotency: HashMap<(String, String), (Uuid, Instant)>,
    /// client → (requests in the window, when the window ends)
    rate_windows: HashMap<String, (u64, Instant)>,
    last_sweep: Option<Instant>,
}

struct StoredJob {
    job: Job,
    /// 1 when created, one more per write, as Redis counts it.
    version: u64,
    events: VecDeque<Event>,
    last_event: EventId,
    expires_at: Instant,
}

struct PendingEntry {
    job_id: Uuid,
    consumer: String,
    renewed_at: Instant,
}

impl MemoryStore {
    pub fn new(settings: StoreSettings) -> Self {
        Self {
            state: Mutex::new(State::default()),
            hub: EventHub::new(),
            queue_ready: Notify::new(),
            settings,
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn enqueue(&self, state: &mut State, job_id: Uuid) {
        state.next_entry += 1;
        let entry = state.next_entry;
        state.waiting.push_back((entry, job_id));
        self.queue_ready.notify_waiters();
    }

    /// Appends events with ids that grow strictly, like Redis Stream ids.
    fn log(&self, stored: &mut StoredJob, job_id: Uuid, events: Vec<NewEvent>) -> Vec<Event> {
        let mut written = Vec::with_capacity(events.len());
        for new in events {
            let now_ms = Utc::now().timestamp_millis().max(0) as u64;
            let last = stored.last_event;
            let id = if now_ms > last.ms {
                EventId { ms: now_ms, seq: 0 }
            } else {
                EventId {
                    ms: last.ms,
                    seq: last.seq + 1,
                }
            };
            stored.last_event = id;
            let event = Event {
                id,
                job_id,
                kind: new.kind,
                data: new.data,
                frame: Default::default(),
            };
            stored.events.push_back(event.clone());
            while stored.events.len() > self.settings.event_log_cap {
                stored.events.pop_front();
            }
            written.push(event);
        }
        written
    }

    fn set_deadline(state: &mut State, job_id: Uuid, deadline: Deadline) {
        let clear = |state: &mut State| {
            if let Some(old) = state.deadline_of.remove(&job_id) {
                state.deadlines.remove(&(old, job_id));
            }
        };
        match deadline {
            Deadline::Keep => {}
            Deadline::Clear => clear(state),
            Deadline::Set(at) => {
                clear(state);
                let ms = at.timestamp_millis();
                state.deadlines.insert((ms, job_id));
                state.deadline_of.insert(job_id, ms);
            }
        }
    }

    /// Drops expired jobs, at most once a second, so memory stays bounded
    /// without a background task.
    fn sweep(state: &mut State) {
        let now = Instant::now();
        if state
            .last_sweep
            .is_some_and(|at| now - at < Duration::from_secs(1))
        {
            return;
        }
        state.last_sweep = Some(now);
        let expired: Vec<(Uuid, String)> = state
            .jobs
            .iter()
            .filter(|(_, s)| s.expires_at <= now)
            .map(|(id, s)| (*id, s.job.user_id.clone()))
            .collect();
        for (id, user) in expired {
            state.jobs.remove(&id);
            if let Some(ids) = state.users.get_mut(&user) {
                ids.remove(&id);
                if ids.is_empty() {
                    state.users.remove(&user);
                }
            }
            Self::set_deadline(state, id, Deadline::Clear);
        }
    }

    fn live<'a>(state: &'a mut State, id: &Uuid) -> Option<&'a mut StoredJob> {
        let now = Instant::now();
        state.jobs.get_mut(id).filter(|s| s.expires_at > now)
    }

    fn take_waiting(&self, consumer: &str, max: usize) -> Vec<Lease> {
        let mut state = self.lock();
        let mut leases = Vec::new();
        while leases.len() < max {
            let Some((entry, job_id)) = state.waiting.pop_front() else {
                break;
            };
            state.pending.insert(
                entry,
                PendingEntry {
                    job_id,
                    consumer: consumer.to_string(),
                    renewed_at: Instant::now(),
                },
            );
            leases.push(Lease {
                entry_id: entry.to_string(),
                job_id,
            });
        }
        leases
    }
}

fn entry_number(lease: &Lease) -> u64 {
    lease.entry_id.parse().unwrap_or(0)
}

/// Removes the pending entry if `consumer` still owns it.
fn take_owned(state: &mut State, consumer: &str, lease: &Lease) -> bool {
    let entry = entry_number(lease);
    let owned = state
        .pending
        .get(&entry)
        .is_some_and(|p| p.consumer == consumer);
    if owned {
        state.pending.remove(&entry);
    }
    owned
}

#[async_trait]
impl JobStore for MemoryStore {
    async fn create(&self, job: &Job, first_event: NewEvent) -> Result<Event, StoreError> {
        let mut state = self.lock();
        Self::sweep(&mut state);
        if state.jobs.contains_key(&job.id) {
            return Err(StoreError::Duplicate(job.id));
        }
        let mut stored = StoredJob {
            job: job.clone(),
            version: 1,
            events: VecDeque::new(),
            last_event: EventId::ZERO,
            expires_at: Instant::now() + self.settings.job_ttl,
        };
        let mut events = self.log(&mut stored, job.id, vec![first_event]);
        state.jobs.insert(job.id, stored);
        state
            .users
            .entry(job.user_id.clone())
            .or_default()
            .insert(job.id);
        self.enqueue(&mut state, job.id);
        let event = events.remove(0);
        self.hub.dispatch(event.clone());
        Ok(event)
    }

    async fn create_once(
        &self,
        job: &Job,
        first_event: NewEvent,
        key: &str,
    ) -> Result<Created, StoreError> {
        let scoped = (job.user_id.clone(), key.to_string());
        {
            let mut state = self.lock();
            let now = Instant::now();
            state.idempotency.retain(|_, (_, expires)| *expires > now);
            if let Some((existing, _)) = state.idempotency.get(&scoped) {
                return Ok(Created::Existing(*existing));
            }
            // Claimed under the same lock as the check: a concurrent repeat
            // sees this claim.
            state
                .idempotency
                .insert(scoped.clone(), (job.id, now + self.settings.job_ttl));
        }
        match self.create(job, first_event).await {
            Ok(event) => Ok(Created::New(event)),
            Err(e) => {
                self.lock().idempotency.remove(&scoped);
                Err(e)
            }
        }
    }

    async fn get(&self, id: Uuid) -> Result<Option<Job>, StoreError> {
        let mut state = self.lock();
        Ok(Self::live(&mut state, &id).map(|s| s.job.clone()))
    }

    async fn version(&self, id: Uuid) -> Result<Option<u64>, StoreError> {
        let mut state = self.lock();
        Ok(Self::live(&mut state, &id).map(|s| s.version))
    }

    async fn get_versioned(&self, id: Uuid) -> Result<Option<(Job, u64)>, StoreError> {
        let mut state = self.lock();
        Ok(Self::live(&mut state, &id).map(|s| (s.job.clone(), s.version)))
    }

    async fn get_many_versioned(&self, ids: &[Uuid]) -> Result<Vec<(Job, u64)>, StoreError> {
        let mut state = self.lock();
        Ok(ids
            .iter()
            .filter_map(|id| Self::live(&mut state, id).map(|s| (s.job.clone(), s.version)))
            .collect())
    }

    async fn list_user_versions(
        &self,
        user_id: &str,
        limit: usize,
        cursor: Option<Uuid>,
    ) -> Result<VersionPage, StoreError> {
        let page = self.list_user_jobs(user_id, limit, cursor).await?;
        let mut state = self.lock();
        let entries = page
            .jobs
            .iter()
            .filter_map(|job| Self::live(&mut state, &job.id).map(|s| (job.id, s.version)))
            .collect();
        Ok(VersionPage {
            entries,
            next_cursor: page.next_cursor,
        })
    }

    async fn apply(&self, id: Uuid, transition: &Transition<'_>) -> Result<Applied, ApplyError> {
        let mut state = self.lock();
        let stored = Self::live(&mut state, &id).ok_or(ApplyError::NotFound(id))?;
        let mut job = stored.job.clone();
        let Change {
            events,
            enqueue,
            deadline,
        } = transition(&mut job)?;
        job.updated_at = Utc::now();
        stored.job = job.clone();
        stored.version += 1;
        stored.expires_at = Instant::now() + self.settings.job_ttl;
        let written = self.log(stored, id, events);
        if written.is_empty() {
            self.hub.touch(id);
        }
        Self::set_deadline(&mut state, id, deadline);
        if enqueue {
            self.enqueue(&mut state, id);
        }
        // Dispatched under the lock so subscribers see ids in log order.
        for event in &written {
            self.hub.dispatch(event.clone());
        }
        Ok(Applied {
            job,
            events: written,
        })
    }

    async fn list_user_jobs(
        &self,
        user_id: &str,
        limit: usize,
        cursor: Option<Uuid>,
    ) -> Result<JobPage, StoreError> {
        let mut state = self.lock();
        Self::sweep(&mut state);
        let Some(ids) = state.users.get(user_id) else {
            return Ok(JobPage {
                jobs: Vec::new(),
                next_cursor: None,
            });
        };
        let older: Vec<Uuid> = match cursor {
            Some(c) => ids.range(..c).rev().take(limit + 1).copied().collect(),
            None => ids.iter().rev().take(limit + 1).copied().collect(),
        };
        let more = older.len() > limit;
        let jobs: Vec<Job> = older
            .iter()
            .take(limit)
            .filter_map(|id| state.jobs.get(id).map(|s| s.job.clone()))
            .collect();
        let next_cursor = more.then(|| jobs.last().map(|j| j.id)).flatten();
        Ok(JobPage { jobs, next_cursor })
    }

    async fn list_jobs(
        &self,
        filter: &JobFilter,
        limit: usize,
        cursor: Option<Uuid>,
    ) -> Result<JobPage, StoreError> {
        let mut state = self.lock();
        Self::sweep(&mut state);
        let mut ids: Vec<Uuid> = match &filter.user_id {
            Some(user) => state
                .users
                .get(user)
                .map(|ids| ids.iter().copied().collect())
                .unwrap_or_default(),
            None => state.jobs.keys().copied().collect(),
        };
        let ceiling = filter.id_ceiling(cursor);
        let floor = filter.lowest_id();
        ids.retain(|id| ceiling.is_none_or(|c| *id < c) && floor.is_none_or(|f| *id >= f));
        ids.sort_unstable_by(|a, b| b.cmp(a));
        let now = Instant::now();
        let mut matching = ids
            .iter()
            .filter_map(|id| state.jobs.get(id).filter(|s| s.expires_at > now))
            .map(|s| &s.job)
            .filter(|job| filter.matches(job));
        let jobs: Vec<Job> = matching.by_ref().take(limit).cloned().collect();
        let more = matching.next().is_some();
        let next_cursor = more.then(|| jobs.last().map(|j| j.id)).flatten();
        Ok(JobPage { jobs, next_cursor })
    }

    async fn events_after(
        &self,
        id: Uuid,
        after: Option<EventId>,
    ) -> Result<Vec<Event>, StoreError> {
        let mut state = self.lock();
        Ok(Self::live(&mut state, &id)
            .map(|s| {
                s.events
                    .iter()
                    .filter(|e| after.is_none_or(|a| e.id > a))
                    .cloned()
                    .collect()
            })
            .unwrap_or_default())
    }

    async fn announce(&self, id: Uuid, event: NewEvent) -> Result<(), StoreError> {
        self.hub
            .dispatch(Event::new(EventId::ZERO, id, event.kind, event.data));
        Ok(())
    }

    fn subscribe(&self, id: Uuid) -> Subscription {
        self.hub.subscribe(id)
    }

    fn watch(&self, id: Uuid) -> JobWatch {
        self.hub.watch(id)
    }
}

#[async_trait]
impl WorkQueue for MemoryStore {
    async fn claim(
        &self,
        consumer: &str,
        max: usize,
        wait: Duration,
    ) -> Result<Vec<Lease>, StoreError> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            // Register interest before looking, so an enqueue in between wakes us.
            let ready = self.queue_ready.notified();
            let leases = self.take_waiting(consumer, max);
            if !leases.is_empty() {
                return Ok(leases);
            }
            if tokio::time::timeout_at(deadline, ready).await.is_err() {
                return Ok(Vec::new());
            }
        }
    }

    async fn renew(&self, consumer: &str, leases: &[Lease]) -> Result<Vec<Lease>, StoreError> {
        let mut state = self.lock();
        let now = Instant::now();
        Ok(leases
            .iter()
            .filter(|lease| match state.pending.get_mut(&entry_number(lease)) {
                Some(p) if p.consumer == consumer => {
                    p.renewed_at = now;
                    true
                }
                _ => false,
            })
            .cloned()
            .collect())
    }

    async fn ack(&self, consumer: &str, lease: &Lease) -> Result<(), StoreError> {
        take_owned(&mut self.lock(), consumer, lease);
        Ok(())
    }

    async fn release(&self, consumer: &str, lease: &Lease) -> Result<(), StoreError> {
        let mut state = self.lock();
        if take_owned(&mut state, consumer, lease) {
            self.enqueue(&mut state, lease.job_id);
        }
        Ok(())
    }

    async fn reclaim(
        &self,
        consumer: &str,
        min_idle: Duration,
        max: usize,
    ) -> Result<Vec<Lease>, StoreError> {
        let mut state = self.lock();
        let now = Instant::now();
        let mut stale: Vec<u64> = state
            .pending
            .iter()
            .filter(|(_, p)| now.duration_since(p.renewed_at) >= min_idle)
            .map(|(entry, _)| *entry)
            .collect();
        stale.sort_unstable();
        stale.truncate(max);
        Ok(stale
            .into_iter()
            .filter_map(|entry| {
                let p = state.pending.get_mut(&entry)?;
                p.consumer = consumer.to_string();
                p.renewed_at = now;
                Some(Lease {
                    entry_id: entry.to_string(),
                    job_id: p.job_id,
                })
            })
            .collect())
    }

    async fn due_deadlines(&self, now: DateTime<Utc>, max: usize) -> Result<Vec<Uuid>, StoreError> {
        let state = self.lock();
        let now_ms = now.timestamp_millis();
        Ok(state
            .deadlines
            .iter()
            .take_while(|(ms, _)| *ms <= now_ms)
            .take(max)
            .map(|(_, id)| *id)
            .collect())
    }
}

#[async_trait]
impl RateLimiter for MemoryStore {
    async fn count_request(
        &self,
        client: &str,
        window: Duration,
    ) -> Result<(u64, Duration), StoreError> {
        let mut state = self.lock();
        let now = Instant::now();
        state.rate_windows.retain(|_, (_, ends)| *ends > now);
        let (count, ends) = state
            .rate_windows
            .entry(client.to_string())
            .or_insert((0, now + window));
        *count += 1;
        Ok((*count, ends.saturating_duration_since(now)))
    }
}

#[async_trait]
impl StoreHealth for MemoryStore {
    async fn queue_depth(&self) -> Result<u64, StoreError> {
        let state = self.lock();
        Ok((state.waiting.len() + state.pending.len()) as u64)
    }

    async fn ping(&self) -> Result<(), StoreError> {
        Ok(())
    }

    fn backend(&self) -> &'static str {
        "memory"
    }
}
