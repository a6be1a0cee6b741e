//! `EventHub`: fans one process's incoming event feed (a single Redis
//! subscription, or the memory store's writes) out to any number of local
//! subscribers over bounded channels.
//!
//! A subscriber that cannot keep up is dropped rather than buffered without
//! bound or allowed to stall the feed: its channel closes, and its owner
//! resumes from the last id it saw by reading the event log.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use tokio::sync::mpsc;
use uuid::Uuid;

use super::model::Event;

/// Events a subscriber may have buffered before it counts as fallen behind.
/// A job writes a few dozen events in all, so only a stalled reader hits this.
const SUBSCRIBER_BUFFER: usize = 64;

type Senders = HashMap<Uuid, Vec<(u64, mpsc::Sender<Arc<Event>>)>>;

#[derive(Clone, Default)]
pub struct EventHub {
    inner: Arc<HubInner>,
}

#[derive(Default)]
struct HubInner {
    subscribers: Mutex<Senders>,
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

    /// Delivers an event to the job's subscribers without waiting on any.
    pub fn dispatch(&self, event: Event) {
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
    async fn dropping_a_subscription_unregisters_it() {
        let hub = EventHub::new();
        let job = Uuid::now_v7();
        drop(hub.subscribe(job));
        assert_eq!(hub.subscriber_count(), 0);
    }
}
