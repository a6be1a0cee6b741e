//! The exporter: producers push records to a bounded outbox without ever
//! waiting; one background task merges them and sends them in batches.
//!
//! Two rules come from the Opik backend and SDK (batch ingestion and ids):
//! - A batch never carries one trace or span id twice: the backend refuses
//!   such a batch whole (422 `Duplicate trace id`). Held records are keyed
//!   by id and a newer record (by `last_updated_at`) replaces the one held,
//!   as `CreateTraceMessageBatcher.add` does.
//! - When Opik cannot be reached, nothing is thrown away: what could not be
//!   sent is kept, nothing more is sent, and `is-alive/ping` is asked every
//!   ping interval; once it answers, everything kept is sent (the SDK's
//!   replay manager). Only records beyond the outbox's bound are dropped.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use reqwest::Method;
use serde::Serialize;
use serde_json::{Value, json};
use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use super::OpikSettings;
use super::opik::{
    FeedbackScore, Item, MAX_BATCH, OpikClient, OpikTime, Sent, SpanRecord, TraceRecord,
};

/// Attempts per batch while Opik answers with 429 or 5xx (the SDK makes 3;
/// we wait less between them, so we try a little more often).
const MAX_ATTEMPTS: u32 = 5;
/// Rounds of attempts an item may fail while Opik says it is healthy
/// before it is dropped: a batch the server keeps failing on is given up
/// rather than replayed forever. Refused connections do not count.
const MAX_ROUNDS: u8 = 5;
/// The SDK's `connection_monitor_check_timeout`.
const PING_TIMEOUT: Duration = Duration::from_secs(5);

/// The sending side of the exporter's bounded queue. Pushing never waits:
/// when the bound is reached the new item is dropped and counted.
#[derive(Clone)]
pub struct Outbox {
    queue: mpsc::Sender<Item>,
    /// Items pushed and neither sent, merged away nor dropped, wherever they
    /// are (in the channel or held by the exporter); at most `capacity`.
    unsent: Arc<AtomicUsize>,
    capacity: usize,
    /// Drops the exporter has not yet reported.
    unreported_drops: Arc<AtomicU64>,
}

impl Outbox {
    pub fn push(&self, item: Item) {
        let capacity = self.capacity;
        let room = self
            .unsent
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < capacity).then_some(n + 1)
            })
            .is_ok();
        let reason = if !room {
            "queue_full"
        } else {
            match self.queue.try_send(item) {
                Ok(()) => return,
                Err(mpsc::error::TrySendError::Full(_)) => "queue_full",
                Err(mpsc::error::TrySendError::Closed(_)) => "stopped",
            }
        };
        if room {
            self.unsent.fetch_sub(1, Ordering::AcqRel);
        }
        count_dropped(reason, 1);
        self.unreported_drops.fetch_add(1, Ordering::Relaxed);
    }
}

fn count_dropped(reason: &'static str, items: u64) {
    metrics::counter!("lotara_opik_dropped_items_total", "reason" => reason).increment(items);
}

/// A record waiting to be sent, and how many rounds of attempts it failed.
struct Entry<T> {
    record: T,
    failed_rounds: u8,
}

impl<T> Entry<T> {
    fn new(record: T) -> Self {
        Self {
            record,
            failed_rounds: 0,
        }
    }
}

/// A record Opik upserts by id, keeping the newest `last_updated_at`.
trait Upserted {
    fn id(&self) -> Uuid;
    fn updated(&self) -> OpikTime;
}

impl Upserted for TraceRecord {
    fn id(&self) -> Uuid {
        self.id
    }
    fn updated(&self) -> OpikTime {
        self.last_updated_at
    }
}

impl Upserted for SpanRecord {
    fn id(&self) -> Uuid {
        self.id
    }
    fn updated(&self) -> OpikTime {
        self.last_updated_at
    }
}

/// At most one record per id, in the order ids were first seen.
struct ById<T> {
    entries: Vec<Entry<T>>,
    index: HashMap<Uuid, usize>,
}

impl<T> Default for ById<T> {
    fn default() -> Self {
        Self {
            entries: Vec::new(),
            index: HashMap::new(),
        }
    }
}

impl<T: Upserted> ById<T> {
    /// Keeps the newer of `entry` and the one held for its id; returns
    /// whether one of them was merged away.
    fn insert(&mut self, entry: Entry<T>) -> bool {
        let id = entry.record.id();
        match self.index.get(&id) {
            Some(&i) => {
                if entry.record.updated() >= self.entries[i].record.updated() {
                    self.entries[i] = entry;
                }
                true
            }
            None => {
                self.index.insert(id, self.entries.len());
                self.entries.push(entry);
                false
            }
        }
    }

    /// The first `n` entries, taken out.
    fn take_front(&mut self, n: usize) -> Vec<Entry<T>> {
        let taken: Vec<Entry<T>> = self.entries.drain(..n.min(self.entries.len())).collect();
        self.index = self
            .entries
            .iter()
            .enumerate()
            .map(|(i, e)| (e.record.id(), i))
            .collect();
        taken
    }

    fn len(&self) -> usize {
        self.entries.len()
    }
}

/// What the exporter holds: records not yet sent, merged by id.
#[derive(Default)]
struct Held {
    traces: ById<TraceRecord>,
    spans: ById<SpanRecord>,
    scores: Vec<Entry<FeedbackScore>>,
}

/// One request's worth of one kind.
enum Chunk {
    Traces(Vec<Entry<TraceRecord>>),
    Spans(Vec<Entry<SpanRecord>>),
    Scores(Vec<Entry<FeedbackScore>>),
}

impl Held {
    /// Holds `item`; returns how many items were merged away (0 or 1).
    fn push(&mut self, item: Item) -> usize {
        let merged = match item {
            Item::Trace(t) => self.traces.insert(Entry::new(t)),
            Item::Span(s) => self.spans.insert(Entry::new(s)),
            Item::Score(s) => {
                self.scores.push(Entry::new(s));
                false
            }
        };
        usize::from(merged)
    }

    fn len(&self) -> usize {
        self.traces.len() + self.spans.len() + self.scores.len()
    }

    fn full(&self) -> bool {
        [self.traces.len(), self.spans.len(), self.scores.len()]
            .iter()
            .any(|n| *n >= MAX_BATCH)
    }

    /// The next request to make: traces first, so spans and scores never
    /// arrive before their trace.
    fn next_chunk(&mut self) -> Option<Chunk> {
        if self.traces.len() > 0 {
            Some(Chunk::Traces(self.traces.take_front(MAX_BATCH)))
        } else if self.spans.len() > 0 {
            Some(Chunk::Spans(self.spans.take_front(MAX_BATCH)))
        } else if !self.scores.is_empty() {
            let n = self.scores.len().min(MAX_BATCH);
            Some(Chunk::Scores(self.scores.drain(..n).collect()))
        } else {
            None
        }
    }

    /// Takes back a chunk that was not sent, and what was not tried yet;
    /// returns how many items were merged away.
    fn restore(&mut self, chunk: Chunk, rest: Held) -> usize {
        let mut merged = 0;
        match chunk {
            Chunk::Traces(entries) => {
                for e in entries {
                    merged += usize::from(self.traces.insert(e));
                }
            }
            Chunk::Spans(entries) => {
                for e in entries {
                    merged += usize::from(self.spans.insert(e));
                }
            }
            Chunk::Scores(entries) => self.scores.extend(entries),
        }
        for e in rest.traces.entries {
            merged += usize::from(self.traces.insert(e));
        }
        for e in rest.spans.entries {
            merged += usize::from(self.spans.insert(e));
        }
        self.scores.extend(rest.scores);
        merged
    }
}

impl Chunk {
    fn len(&self) -> usize {
        match self {
            Chunk::Traces(e) => e.len(),
            Chunk::Spans(e) => e.len(),
            Chunk::Scores(e) => e.len(),
        }
    }

    fn request(&self) -> (Method, &'static str, Value) {
        fn records<T: Serialize>(entries: &[Entry<T>]) -> Vec<&T> {
            entries.iter().map(|e| &e.record).collect()
        }
        match self {
            Chunk::Traces(e) => (
                Method::POST,
                "/v1/private/traces/batch",
                json!({ "traces": records(e) }),
            ),
            Chunk::Spans(e) => (
                Method::POST,
                "/v1/private/spans/batch",
                json!({ "spans": records(e) }),
            ),
            Chunk::Scores(e) => (
                Method::PUT,
                "/v1/private/traces/feedback-scores",
                json!({ "scores": records(e) }),
            ),
        }
    }

    /// Counts a failed round on each item; returns the chunk without the
    /// items that have now failed too often, and how many those were.
    fn failed_round(self) -> (Chunk, usize) {
        fn keep<T>(entries: Vec<Entry<T>>) -> (Vec<Entry<T>>, usize) {
            let before = entries.len();
            let kept: Vec<Entry<T>> = entries
                .into_iter()
                .map(|mut e| {
                    e.failed_rounds = e.failed_rounds.saturating_add(1);
                    e
                })
                .filter(|e| e.failed_rounds < MAX_ROUNDS)
                .collect();
            let given_up = before - kept.len();
            (kept, given_up)
        }
        match self {
            Chunk::Traces(e) => {
                let (e, n) = keep(e);
                (Chunk::Traces(e), n)
            }
            Chunk::Spans(e) => {
                let (e, n) = keep(e);
                (Chunk::Spans(e), n)
            }
            Chunk::Scores(e) => {
                let (e, n) = keep(e);
                (Chunk::Scores(e), n)
            }
        }
    }
}

/// What became of one batch.
enum Delivery {
    Sent,
    /// Refused (4xx): dropped, since sending it again cannot help.
    Rejected(String),
    /// Not sent: keep it for when Opik is back. `answered` when Opik did
    /// answer (5xx, 429, timeouts) rather than refuse the connection.
    Failed {
        reason: String,
        answered: bool,
    },
}

/// Whether Opik is taking records, as the SDK's `OpikConnectionMonitor`.
enum Link {
    Up,
    /// Since an attempt failed: nothing is sent until a ping answers.
    Down {
        since: Instant,
        next_ping: Instant,
    },
}

/// Drops are logged once per episode of a full outbox (typically one
/// outage), with the total when the episode ends, not once per item.
#[derive(Default)]
struct DropLog {
    in_episode: u64,
}

impl DropLog {
    /// Notes `n` new drops; true when they start an episode (warn now).
    fn dropped(&mut self, n: u64) -> bool {
        let starts = self.in_episode == 0 && n > 0;
        self.in_episode += n;
        starts
    }

    /// The episode is over (Opik is taking records and none are waiting);
    /// returns how many were dropped in it, if any.
    fn settle(&mut self) -> Option<u64> {
        (self.in_episode > 0).then(|| std::mem::take(&mut self.in_episode))
    }
}

/// The background task that owns the receiving end of the queue.
pub struct Exporter {
    client: Arc<OpikClient>,
    queue: mpsc::Receiver<Item>,
    unsent: Arc<AtomicUsize>,
    capacity: usize,
    unreported_drops: Arc<AtomicU64>,
    flush_every: Duration,
    ping_every: Duration,
    stop: CancellationToken,
    /// How long the final flush may take once `stop` is cancelled.
    grace: Duration,
    give_up_at: Option<Instant>,
    held: Held,
    link: Link,
    drops: DropLog,
}

impl Exporter {
    /// The queue's two ends: the outbox for producers, the exporter to spawn.
    pub fn new(
        settings: &OpikSettings,
        client: Arc<OpikClient>,
        stop: CancellationToken,
        grace: Duration,
    ) -> (Outbox, Self) {
        let capacity = settings.queue_capacity.max(1);
        let (tx, rx) = mpsc::channel(capacity);
        let unsent = Arc::new(AtomicUsize::new(0));
        let unreported_drops = Arc::new(AtomicU64::new(0));
        let outbox = Outbox {
            queue: tx,
            unsent: unsent.clone(),
            capacity,
            unreported_drops: unreported_drops.clone(),
        };
        let exporter = Self {
            client,
            queue: rx,
            unsent,
            capacity,
            unreported_drops,
            flush_every: settings.flush_interval,
            ping_every: settings.ping_interval,
            stop,
            grace,
            give_up_at: None,
            held: Held::default(),
            link: Link::Up,
            drops: DropLog::default(),
        };
        (outbox, exporter)
    }

    /// Sends every `flush_every`, or sooner when a batch is full, while Opik
    /// is up; pings it every `ping_every` while it is down and sends what
    /// was kept once it answers. On `stop`, drains the queue and sends what
    /// is left within `grace`.
    pub async fn run(mut self) {
        let mut tick = tokio::time::interval(self.flush_every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            let ping_at = match self.link {
                Link::Down { next_ping, .. } => Some(next_ping),
                Link::Up => None,
            };
            tokio::select! {
                _ = self.stop.cancelled() => break,
                item = self.queue.recv() => match item {
                    Some(item) => {
                        self.hold(item);
                        if self.held.full() && matches!(self.link, Link::Up) {
                            self.flush().await;
                        }
                    }
                    None => break,
                },
                _ = tick.tick() => {
                    self.report();
                    if matches!(self.link, Link::Up) {
                        self.flush().await;
                    }
                }
                _ = sleep_until_some(ping_at) => self.ping().await,
            }
        }
        self.finish().await;
    }

    fn hold(&mut self, item: Item) {
        let merged = self.held.push(item);
        if merged > 0 {
            self.unsent.fetch_sub(merged, Ordering::AcqRel);
        }
    }

    /// The shutdown: sends what is queued and held, within the grace period.
    async fn finish(&mut self) {
        self.give_up_at = Some(Instant::now() + self.grace);
        self.queue.close();
        while let Ok(item) = self.queue.try_recv() {
            self.hold(item);
        }
        if matches!(self.link, Link::Down { .. }) {
            self.ping().await;
        }
        if matches!(self.link, Link::Up) {
            self.flush().await;
        }
        let left = self.held.len();
        if left > 0 {
            self.held = Held::default();
            self.unsent.fetch_sub(left, Ordering::AcqRel);
            count_dropped("send_failed", left as u64);
            tracing::warn!(
                items = left,
                "Opik did not take these records before shutdown; dropped them"
            );
        }
        self.report();
        tracing::info!("Opik exporter stopped");
    }

    /// Logs drops once per episode and keeps the gauge current.
    fn report(&mut self) {
        let dropped = self.unreported_drops.swap(0, Ordering::Relaxed);
        if self.drops.dropped(dropped) {
            tracing::warn!(
                capacity = self.capacity,
                "Opik outbox full (Opik slow or down): new records are dropped until it takes them again (lotara_opik_dropped_items_total)"
            );
        }
        let waiting = self.unsent.load(Ordering::Acquire);
        metrics::gauge!("lotara_opik_unsent_items").set(waiting as f64);
        if matches!(self.link, Link::Up)
            && self.held.len() == 0
            && let Some(total) = self.drops.settle()
        {
            tracing::warn!(
                dropped = total,
                "Opik outbox has room again; records were dropped while it was full"
            );
        }
    }

    /// Asks `is-alive/ping`; if it answers, Opik is up again and what was
    /// kept is sent now.
    async fn ping(&mut self) {
        let Link::Down { since, .. } = self.link else {
            return;
        };
        let limit = match self.give_up_at {
            Some(at) => at.saturating_duration_since(Instant::now()),
            None => self.ping_every,
        }
        .min(PING_TIMEOUT);
        match self.client.ping(limit).await {
            Ok(()) => {
                tracing::info!(
                    down_for = ?since.elapsed(),
                    items = self.held.len(),
                    "Opik answers again; sending the records kept meanwhile"
                );
                self.link = Link::Up;
                if self.give_up_at.is_none() {
                    self.flush().await;
                }
            }
            Err(reason) => {
                tracing::debug!(%reason, "Opik still unreachable");
                self.link = Link::Down {
                    since,
                    next_ping: Instant::now() + self.ping_every,
                };
            }
        }
    }

    /// Sends everything held, a batch at a time. On the first batch that
    /// cannot be sent, keeps it and the rest, and marks Opik down.
    async fn flush(&mut self) {
        let mut pending = std::mem::take(&mut self.held);
        while let Some(chunk) = pending.next_chunk() {
            let items = chunk.len();
            let (method, path, body) = chunk.request();
            match self.deliver(method, path, &body).await {
                Delivery::Sent => {
                    self.unsent.fetch_sub(items, Ordering::AcqRel);
                    metrics::counter!("lotara_opik_sent_items_total").increment(items as u64);
                }
                Delivery::Rejected(reason) => {
                    self.unsent.fetch_sub(items, Ordering::AcqRel);
                    count_dropped("rejected", items as u64);
                    tracing::warn!(path, items, %reason, "Opik refused a batch; dropped it");
                }
                Delivery::Failed { reason, answered } => {
                    let chunk = if answered {
                        let (chunk, given_up) = chunk.failed_round();
                        if given_up > 0 {
                            self.unsent.fetch_sub(given_up, Ordering::AcqRel);
                            count_dropped("send_failed", given_up as u64);
                            tracing::warn!(path, items = given_up, %reason, "Opik kept failing on these records; dropped them");
                        }
                        chunk
                    } else {
                        chunk
                    };
                    let merged = self.held.restore(chunk, pending);
                    self.unsent.fetch_sub(merged, Ordering::AcqRel);
                    self.went_down(path, &reason);
                    return;
                }
            }
        }
    }

    fn went_down(&mut self, path: &str, reason: &str) {
        if matches!(self.link, Link::Up) {
            metrics::counter!("lotara_opik_outages_total").increment(1);
            tracing::warn!(
                path,
                %reason,
                items = self.held.len(),
                "Opik unreachable: keeping its records and sending them once is-alive/ping answers"
            );
        }
        let now = Instant::now();
        self.link = Link::Down {
            since: now,
            next_ping: now + self.ping_every,
        };
    }

    /// Sends one batch, retrying in place while Opik answers 429 or 5xx.
    async fn deliver(&mut self, method: Method, path: &str, body: &Value) -> Delivery {
        let mut attempt = 0;
        loop {
            attempt += 1;
            let sent = match self.give_up_at {
                None => self.client.send(method.clone(), path, body).await,
                Some(at) => {
                    tokio::time::timeout_at(at, self.client.send(method.clone(), path, body))
                        .await
                        .unwrap_or_else(|_| Sent::Unreachable("shutdown grace period over".into()))
                }
            };
            match sent {
                Sent::Accepted => return Delivery::Sent,
                Sent::Rejected(reason) => return Delivery::Rejected(reason),
                Sent::Unreachable(reason) => {
                    return Delivery::Failed {
                        reason,
                        answered: false,
                    };
                }
                Sent::Retry(reason, _) if attempt >= MAX_ATTEMPTS => {
                    return Delivery::Failed {
                        reason,
                        answered: true,
                    };
                }
                Sent::Retry(reason, wait) => {
                    let wait = wait.unwrap_or_else(|| backoff(attempt));
                    tracing::debug!(path, %reason, ?wait, attempt, "Opik send failed; retrying");
                    if !self.pause(wait).await {
                        return Delivery::Failed {
                            reason,
                            answered: true,
                        };
                    }
                }
            }
        }
    }

    /// Waits before a retry; false when shutting down leaves no time for it.
    /// A shutdown that starts mid-wait cuts the wait short.
    async fn pause(&mut self, wait: Duration) -> bool {
        if self.give_up_at.is_none() {
            tokio::select! {
                _ = tokio::time::sleep(wait) => return true,
                _ = self.stop.cancelled() => self.give_up_at = Some(Instant::now() + self.grace),
            }
        }
        match self.give_up_at {
            Some(at) if Instant::now() + wait >= at => false,
            _ => {
                tokio::time::sleep(wait).await;
                true
            }
        }
    }
}

/// Sleeps until `at`, or forever when there is nothing to wait for.
async fn sleep_until_some(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

/// Exponential backoff with jitter: about 0.5 s, 1 s, 2 s, 4 s.
fn backoff(retry: u32) -> Duration {
    let cap = Duration::from_millis(500) * 2u32.pow(retry.saturating_sub(1).min(4));
    cap.mul_f64(0.5 + fastrand::f64() * 0.5)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::observability::opik::{SdkSource, SpanType};
    use chrono::{TimeZone, Utc};

    fn at(ms: i64) -> OpikTime {
        OpikTime(Utc.timestamp_millis_opt(1_780_000_000_000 + ms).unwrap())
    }

    fn trace(id: Uuid, updated: i64, ended: bool) -> Item {
        Item::Trace(TraceRecord {
            id,
            project_name: "p".into(),
            name: "workflow_reactive".into(),
            start_time: at(0),
            end_time: ended.then(|| at(updated)),
            input: json!({}),
            output: None,
            metadata: json!({}),
            tags: vec![],
            error_info: None,
            thread_id: None,
            source: SdkSource,
            last_updated_at: at(updated),
        })
    }

    fn span(trace_id: Uuid) -> Item {
        Item::Span(SpanRecord {
            id: Uuid::now_v7(),
            project_name: "p".into(),
            trace_id,
            parent_span_id: None,
            name: "intake".into(),
            kind: SpanType::General,
            start_time: at(0),
            end_time: at(1),
            input: None,
            output: None,
            metadata: None,
            model: None,
            provider: None,
            usage: None,
            error_info: None,
            source: SdkSource,
            last_updated_at: at(1),
        })
    }

    fn ids(chunk: &Chunk) -> Vec<(Uuid, OpikTime)> {
        match chunk {
            Chunk::Traces(e) => e
                .iter()
                .map(|e| (e.record.id, e.record.last_updated_at))
                .collect(),
            Chunk::Spans(e) => e
                .iter()
                .map(|e| (e.record.id, e.record.last_updated_at))
                .collect(),
            Chunk::Scores(e) => e.iter().map(|e| (e.record.id, at(0))).collect(),
        }
    }

    #[test]
    fn a_batch_holds_only_the_newest_record_of_each_trace() {
        let (a, b) = (Uuid::now_v7(), Uuid::now_v7());
        let mut held = Held::default();
        assert_eq!(held.push(trace(a, 1, false)), 0, "start record");
        assert_eq!(held.push(trace(b, 2, false)), 0);
        assert_eq!(held.push(trace(a, 5, true)), 1, "parked record replaces it");
        assert_eq!(
            held.push(trace(a, 9, true)),
            1,
            "final record replaces that"
        );
        assert_eq!(held.push(trace(a, 7, true)), 1, "an older record loses");
        let chunk = held.next_chunk().unwrap();
        assert_eq!(ids(&chunk), [(a, at(9)), (b, at(2))]);
        assert!(held.next_chunk().is_none());
    }

    #[test]
    fn traces_go_first_then_spans_then_scores_at_most_1000_a_request() {
        let t = Uuid::now_v7();
        let mut held = Held::default();
        for _ in 0..1001 {
            held.push(span(t));
        }
        held.push(trace(t, 1, true));
        let chunks: Vec<(String, usize)> = std::iter::from_fn(|| held.next_chunk())
            .map(|c| (c.request().1.to_string(), c.len()))
            .collect();
        assert_eq!(
            chunks,
            [
                ("/v1/private/traces/batch".to_string(), 1),
                ("/v1/private/spans/batch".to_string(), 1000),
                ("/v1/private/spans/batch".to_string(), 1),
            ]
        );
    }

    #[test]
    fn a_chunk_not_sent_is_held_again_merged_with_the_rest() {
        let t = Uuid::now_v7();
        let mut held = Held::default();
        held.push(trace(t, 1, false));
        held.push(span(t));
        let chunk = held.next_chunk().unwrap();
        let rest = std::mem::take(&mut held);
        // Meanwhile nothing else came; after the outage all is there once.
        assert_eq!(held.restore(chunk, rest), 0);
        assert_eq!(held.len(), 2);
        assert_eq!(ids(&held.next_chunk().unwrap()), [(t, at(1))]);
    }

    #[test]
    fn items_opik_keeps_failing_on_are_given_up_after_max_rounds() {
        let mut held = Held::default();
        held.push(trace(Uuid::now_v7(), 1, true));
        let mut chunk = held.next_chunk().unwrap();
        for round in 1..MAX_ROUNDS {
            let (kept, given_up) = chunk.failed_round();
            assert_eq!((kept.len(), given_up), (1, 0), "round {round}");
            chunk = kept;
        }
        let (kept, given_up) = chunk.failed_round();
        assert_eq!((kept.len(), given_up), (0, 1));
    }

    #[test]
    fn drops_are_reported_once_per_episode() {
        let mut log = DropLog::default();
        assert_eq!(log.settle(), None, "nothing dropped, nothing to say");
        assert!(log.dropped(3), "the first drop warns");
        assert!(!log.dropped(40), "later drops do not");
        assert!(!log.dropped(0));
        assert_eq!(log.settle(), Some(43), "the episode's total at its end");
        assert_eq!(log.settle(), None);
        assert!(log.dropped(1), "a new episode warns again");
    }
}
