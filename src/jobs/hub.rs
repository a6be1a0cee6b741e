//! `EventHub`: fans one process's incoming event feed (a single Redis
//! subscription, or the memory store's writes) out to any number of local
//! subscribers over bounded channels.
//!
//! A subscriber that cannot keep up is dropped rather than buffered without
//! bound or allowed to stall the feed: its channel closes, and its owner
//! resumes from the last id it saw by reading the event log.
//!
//! Beside events, the hub tells watchers that a job was written at all
//! (`watch`): every write is announced, also those without an event, so a
//! `?wait=` request wakes on any change of the job's version.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use tokio::sync::{mpsc, watch};
use uuid::Uuid;

use super::model::Event;

/// Events a subscriber may have buffered before it counts as fallen behind.
/// A job writes a few dozen events in all, so only a stalled reader hits this.
const SUBSCRIBER_BUFFER: usize = 64;

type Senders = HashMap<Uuid, Vec<(u64, mpsc::Sender<Arc<Event>>)>>;
/// One counter per watched job, shared by all of its watchers: a waiter
/// costs one receiver, however many wait on the same job.
type Watched = HashMap<Uuid, watch::Sender<u64>>;

#[derive(Clone, Default)]
pub struct EventHub {
    inner: Arc<HubInner>,
}

#[derive(Default)]
struct HubInner {
    subscribers: Mutex<Senders>,
    watched: Mutex<Watched>,
    next_id: AtomicU64,
}

impl EventHub {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn subscribe(&self, job_id: Uuid) -> Subscription {
        let (tx, rx) = mpsc::channel(SUBSCRIBER_BUFFER);
        let id = self.inner.next_id.fetch_add(1, Ordering::Relaxed);
        self.lock().entry(job_id).or_default().push((id, tx));
        metrics::gauge!("lotara_hub_subscribers").increment(1.0);
        Subscription {
            rx,
            job_id,
            id,
            hub: self.clone(),
        }
    }

    /// Wakes (`JobWatch::changed`) after any later write of the job, and
    /// after the feed reconnected (a write may have been missed).
    pub fn watch(&self, job_id: Uuid) -> JobWatch {
        let rx = self
            .lock_watched()
            .entry(job_id)
            .or_insert_with(|| watch::channel(0).0)
            .subscribe();
        JobWatch {
            rx,
            job_id,
            hub: self.clone(),
        }
    }

    /// Announces a write of the job to its watchers (events do this too).
    pub fn touch(&self, job_id: Uuid) {
        if let Some(tx) = self.lock_watched().get(&job_id) {
            tx.send_modify(|n| *n = n.wrapping_add(1));
        }
    }

    /// Delivers an event to the job's subscribers without waiting on any.
    /// A logged event also wakes the job's watchers; a progress report does
    /// not, as it changes nothing stored.
    pub fn dispatch(&self, event: Event) {
        if event.kind.is_logged() {
            self.touch(event.job_id);
        }
        let event = Arc::new(event);
        let mut subscribers = self.lock();
        let Some(list) = subscribers.get_mut(&event.job_id) else {
            return;
        };
        // Dropping the sender of a full channel closes it: that subscriber
        // re-reads the log instead of slowing everyone else down.
        list.retain(|(_, tx)| tx.try_send(event.clone()).is_ok());
        if list.is_empty() {
            subscribers.remove(&event.job_id);
        }
    }

    /// Closes every subscription, so each re-reads the log. Called when the
    /// feed may have missed events (the Redis subscription reconnected).
    pub fn resync_all(&self) {
        self.lock().clear();
        for tx in self.lock_watched().values() {
            tx.send_modify(|n| *n = n.wrapping_add(1));
        }
    }

    #[cfg(test)]
    fn subscriber_count(&self) -> usize {
        self.lock().values().map(Vec::len).sum()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Senders> {
        // The map holds no invariant a panicking holder could break halfway.
        self.inner
            .subscribers
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn lock_watched(&self) -> std::sync::MutexGuard<'_, Watched> {
        self.inner
            .watched
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn unsubscribe(&self, job_id: Uuid, id: u64) {
        let mut subscribers = self.lock();
        if let Some(list) = subscribers.get_mut(&job_id) {
            list.retain(|(sub, _)| *sub != id);
            if list.is_empty() {
                subscribers.remove(&job_id);
            }
        }
    }
}

/// Live events of one job. `recv` returns `None` when the hub dropped this
/// subscriber (it fell behind, or the feed reconnected): re-read the log from
/// the last id seen and subscribe again.
pub struct Subscription {
    rx: mpsc::Receiver<Arc<Event>>,
    job_id: Uuid,
    id: u64,
    hub: EventHub,
}

impl Subscription {
    pub async fn recv(&mut self) -> Option<Arc<Event>> {
        self.rx.recv().await
    }
}

impl Drop for Subscription {
    fn drop(&mut self) {
        self.hub.unsubscribe(self.job_id, self.id);
        metrics::gauge!("lotara_hub_subscribers").decrement(1.0);
    }
}

/// Notice of writes to one job (see `EventHub::watch`).
pub struct JobWatch {
    rx: watch::Receiver<u64>,
    job_id: Uuid,
    hub: EventHub,
}

impl JobWatch {
    /// Returns once the job was written after the last call (or after
    /// `watch`). Never returns early on its own: the hub keeps the sender
    /// while any watcher lives.
    pub async fn changed(&mut self) {
        if self.rx.changed().await.is_err() {
            std::future::pending::<()>().await;
        }
    }
}

impl Drop for JobWatch {
    fn drop(&mut self) {
        let mut watched = self.hub.lock_watched();
        // This receiver still counts until the drop completes.
        if watched
            .get(&self.job_id)
            .is_some_and(|tx| tx.receiver_count() <= 1)
        {
            watched.remove(&self.job_id);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jobs::model::{EventId, EventKind};

    fn event(job_id: Uuid, seq: u64) -> Event {
        Event {
            id: EventId { ms: 1, seq },
            job_id,
            kind: EventKind::AgentOutput,
            data: "{}".into(),
            frame: Default::default(),
        }
    }

    #[tokio::test]
    async fn a_stalled_subscriber_is_dropped_without_affecting_others() {
        let hub = EventHub::new();
        let job = Uuid::now_v7();
        let mut stalled = hub.subscribe(job);
        let mut reader = hub.subscribe(job);
        for seq in 0..(SUBSCRIBER_BUFFER as u64 * 2) {
            hub.dispatch(event(job, seq));
            assert_eq!(reader.recv().await.map(|e| e.id.seq), Some(seq));
        }
        let mut buffered = 0;
        while stalled.recv().await.is_some() {
            buffered += 1;
        }
        assert_eq!(buffered, SUBSCRIBER_BUFFER);
        assert_eq!(hub.subscriber_count(), 1);
    }

    #[tokio::test]
    async fn a_watch_wakes_on_events_and_touches_and_is_forgotten_when_dropped() {
        let hub = EventHub::new();
        let job = Uuid::now_v7();
        let mut first = hub.watch(job);
        let mut second = hub.watch(job);
        hub.touch(job);
        first.changed().await;
        second.changed().await;
        hub.dispatch(event(job, 1));
        first.changed().await;
        drop(first);
        drop(second);
        assert!(hub.lock_watched().is_empty());
    }

    #[tokio::test]
    async fn dropping_a_subscription_unregisters_it() {
        let hub = EventHub::new();
        let job = Uuid::now_v7();
        drop(hub.subscribe(job));
        assert_eq!(hub.subscriber_count(), 0);
    }
}
