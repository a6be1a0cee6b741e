//! Opik's REST API, as `docs/opik.md` describes it: the records it accepts,
//! a client that sends them with the SDK's headers, and the exporter task
//! that batches, retries and, when it must, drops them — so that Opik being
//! slow or down never slows or fails a job.

use std::collections::BTreeMap;
use std::io::Write;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use chrono::{DateTime, SecondsFormat, Utc};
use reqwest::{Method, StatusCode};
use serde::{Serialize, Serializer};
use serde_json::{Value, json};
use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use super::OpikSettings;

/// Opik refuses batches of more than 1000 items (`@Size(max=1000)`).
pub const MAX_BATCH: usize = 1000;
/// Bodies from this size on are gzipped, as the SDK does; the server inflates them.
const GZIP_FROM_BYTES: usize = 256;
/// Attempts per batch before it is dropped (the SDK makes 3; we wait less
/// between them, so we try a little more often).
const MAX_ATTEMPTS: u32 = 5;
/// The longest `Retry-After`/`RateLimit-Reset` we honour, as the SDK.
const MAX_SERVER_WAIT: Duration = Duration::from_secs(60);

/// A time as Opik's SDK sends it: UTC, microseconds, `Z`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct OpikTime(pub DateTime<Utc>);

impl OpikTime {
    pub fn now() -> Self {
        Self(Utc::now())
    }
}

impl Serialize for OpikTime {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0.to_rfc3339_opts(SecondsFormat::Micros, true))
    }
}

/// `ErrorInfo_Write`: `exception_type` and `traceback` must not be empty.
#[derive(Debug, Clone, Serialize)]
pub struct ErrorInfo {
    pub exception_type: String,
    pub message: String,
    pub traceback: String,
}

impl ErrorInfo {
    /// We have no stack trace to give; the message stands in for it.
    pub fn new(kind: &str, message: &str) -> Self {
        let message = if message.is_empty() { kind } else { message };
        Self {
            exception_type: kind.to_string(),
            message: message.to_string(),
            traceback: message.to_string(),
        }
    }
}

/// `Trace_Write`. Sent whole each time: the batch endpoint upserts by id and
/// keeps the record with the newest `last_updated_at`.
#[derive(Debug, Clone, Serialize)]
pub struct TraceRecord {
    pub id: Uuid,
    pub project_name: String,
    pub name: String,
    pub start_time: OpikTime,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub end_time: Option<OpikTime>,
    pub input: Value,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub output: Option<Value>,
    pub metadata: Value,
    pub tags: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_info: Option<ErrorInfo>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub thread_id: Option<String>,
    pub last_updated_at: OpikTime,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SpanType {
    General,
    Tool,
    Llm,
}

/// `Span_Write`, sent once, when the span has ended.
#[derive(Debug, Clone, Serialize)]
pub struct SpanRecord {
    pub id: Uuid,
    pub project_name: String,
    pub trace_id: Uuid,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parent_span_id: Option<Uuid>,
    pub name: String,
    #[serde(rename = "type")]
    pub kind: SpanType,
    pub start_time: OpikTime,
    pub end_time: OpikTime,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub input: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub output: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metadata: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub provider: Option<String>,
    /// Token counts; Opik reads them as int32.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub usage: Option<BTreeMap<String, i32>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_info: Option<ErrorInfo>,
    pub last_updated_at: OpikTime,
}

/// `FeedbackScoreBatchItem` for a trace.
#[derive(Debug, Clone, Serialize)]
pub struct FeedbackScore {
    pub id: Uuid,
    pub project_name: String,
    pub name: String,
    pub value: f64,
    pub source: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// One thing to send.
#[derive(Debug, Clone)]
pub enum Item {
    Trace(TraceRecord),
    Span(SpanRecord),
    Score(FeedbackScore),
}

/// The sending side of the exporter's bounded queue. Pushing never waits:
/// when the queue is full the new item is dropped and counted.
#[derive(Clone)]
pub struct Outbox {
    queue: mpsc::Sender<Item>,
    /// Items pushed and not yet sent or dropped, wherever they are (in the
    /// channel, or taken off it into a batch); at most `capacity`.
    unsent: Arc<AtomicUsize>,
    capacity: usize,
    /// Drops not yet logged; the exporter reports them once per tick.
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

/// What became of one request.
enum Sent {
    Accepted,
    /// Worth trying again (429, 5xx, no connection), after the server's wait if it gave one.
    Retry(String, Option<Duration>),
    /// The server will not take it (4xx): retrying cannot help.
    Rejected(String),
}

/// Speaks to one Opik deployment with the headers its SDK sends.
pub struct OpikClient {
    http: reqwest::Client,
    base: String,
    api_key: Option<String>,
    workspace: String,
}

impl OpikClient {
    pub fn new(settings: &OpikSettings) -> Result<Self, reqwest::Error> {
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(5))
            .timeout(Duration::from_secs(30))
            .build()?;
        Ok(Self {
            http,
            base: settings.url.trim_end_matches('/').to_string(),
            api_key: settings.api_key.clone(),
            // Local Opik only knows the workspace `default`.
            workspace: match settings.api_key {
                Some(_) => settings.workspace.clone(),
                None => "default".into(),
            },
        })
    }

    fn request(&self, method: Method, path: &str) -> reqwest::RequestBuilder {
        let mut request = self
            .http
            .request(method, format!("{}{path}", self.base))
            .header("Comet-Workspace", &self.workspace);
        if let Some(key) = &self.api_key {
            // Opik wants the bare key, no `Bearer`.
            request = request.header("authorization", key);
        }
        request
    }

    async fn send(&self, method: Method, path: &str, body: &Value) -> Sent {
        let mut request = self
            .request(method, path)
            .header("content-type", "application/json;charset=utf-8");
        let bytes = body.to_string().into_bytes();
        request = match gzip(&bytes) {
            Some(zipped) if bytes.len() >= GZIP_FROM_BYTES => {
                request.header("content-encoding", "gzip").body(zipped)
            }
            _ => request.body(bytes),
        };
        let response = match request.send().await {
            Ok(response) => response,
            Err(e) => return Sent::Retry(e.to_string(), None),
        };
        let status = response.status();
        if status.is_success() || status == StatusCode::CONFLICT {
            // 409: a retry of something the server already has.
            return Sent::Accepted;
        }
        let wait = server_wait(response.headers());
        let text = response.text().await.unwrap_or_default();
        let reason = format!(
            "HTTP {status}: {}",
            text.chars().take(300).collect::<String>()
        );
        if status == StatusCode::TOO_MANY_REQUESTS || status.is_server_error() {
            Sent::Retry(reason, wait)
        } else {
            Sent::Rejected(reason)
        }
    }

    /// `GET {base}/is-alive/ping`, for `/health`.
    pub async fn ping(&self, limit: Duration) -> Result<(), String> {
        let response = self
            .request(Method::GET, "/is-alive/ping")
            .timeout(limit)
            .send()
            .await
            .map_err(|e| {
                if e.is_timeout() {
                    format!("no answer within {limit:?}")
                } else {
                    e.to_string()
                }
            })?;
        if response.status().is_success() {
            Ok(())
        } else {
            Err(format!("HTTP {}", response.status()))
        }
    }
}

fn gzip(bytes: &[u8]) -> Option<Vec<u8>> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    encoder.write_all(bytes).ok()?;
    encoder.finish().ok()
}

/// `RateLimit-Reset` (Opik's 429) or `Retry-After`, in seconds.
fn server_wait(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    ["ratelimit-reset", "retry-after"]
        .iter()
        .filter_map(|name| {
            headers
                .get(*name)?
                .to_str()
                .ok()?
                .trim()
                .parse::<f64>()
                .ok()
        })
        .find(|secs| secs.is_finite() && *secs >= 0.0)
        .map(|secs| Duration::from_secs_f64(secs).min(MAX_SERVER_WAIT))
}

/// Exponential backoff with jitter: about 0.5 s, 1 s, 2 s, 4 s.
fn backoff(retry: u32) -> Duration {
    let cap = Duration::from_millis(500) * 2u32.pow(retry.saturating_sub(1).min(4));
    cap.mul_f64(0.5 + fastrand::f64() * 0.5)
}

/// Items waiting for the next flush, by endpoint.
#[derive(Default)]
struct Pending {
    traces: Vec<TraceRecord>,
    spans: Vec<SpanRecord>,
    scores: Vec<FeedbackScore>,
}

impl Pending {
    fn push(&mut self, item: Item) {
        match item {
            Item::Trace(t) => self.traces.push(t),
            Item::Span(s) => self.spans.push(s),
            Item::Score(s) => self.scores.push(s),
        }
    }

    fn full(&self) -> bool {
        [self.traces.len(), self.spans.len(), self.scores.len()]
            .iter()
            .any(|n| *n >= MAX_BATCH)
    }
}

/// The background task that owns the receiving end of the queue.
pub struct Exporter {
    client: Arc<OpikClient>,
    queue: mpsc::Receiver<Item>,
    unsent: Arc<AtomicUsize>,
    unreported_drops: Arc<AtomicU64>,
    flush_every: Duration,
    stop: CancellationToken,
    /// How long the final flush may take once `stop` is cancelled.
    grace: Duration,
    give_up_at: Option<Instant>,
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
            unreported_drops,
            flush_every: settings.flush_interval,
            stop,
            grace,
            give_up_at: None,
        };
        (outbox, exporter)
    }

    /// Sends every `flush_every`, or sooner when a batch is full, until
    /// `stop`; then drains the queue and sends what is left within `grace`.
    /// Items count against the queue's capacity until they are sent or
    /// given up, so an outage fills it and later items are dropped (and
    /// counted) instead of piling up in memory.
    pub async fn run(mut self) {
        let mut pending = Pending::default();
        let mut tick = tokio::time::interval(self.flush_every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = self.stop.cancelled() => break,
                item = self.queue.recv() => match item {
                    Some(item) => {
                        pending.push(item);
                        if pending.full() {
                            self.flush(&mut pending).await;
                        }
                    }
                    None => break,
                },
                _ = tick.tick() => {
                    self.report_drops();
                    self.flush(&mut pending).await;
                }
            }
        }
        self.give_up_at = Some(Instant::now() + self.grace);
        self.queue.close();
        while let Ok(item) = self.queue.try_recv() {
            pending.push(item);
            if pending.full() {
                self.flush(&mut pending).await;
            }
        }
        self.flush(&mut pending).await;
        self.report_drops();
        tracing::info!("Opik exporter stopped");
    }

    fn report_drops(&self) {
        let dropped = self.unreported_drops.swap(0, Ordering::Relaxed);
        if dropped > 0 {
            tracing::warn!(
                dropped,
                "Opik queue full (Opik slow or down?): items were dropped"
            );
        }
    }

    /// Traces first, so spans and scores never arrive before their trace.
    async fn flush(&mut self, pending: &mut Pending) {
        let traces = std::mem::take(&mut pending.traces);
        let spans = std::mem::take(&mut pending.spans);
        let scores = std::mem::take(&mut pending.scores);
        for chunk in traces.chunks(MAX_BATCH) {
            self.deliver(
                Method::POST,
                "/v1/private/traces/batch",
                json!({ "traces": chunk }),
                chunk.len(),
            )
            .await;
        }
        for chunk in spans.chunks(MAX_BATCH) {
            self.deliver(
                Method::POST,
                "/v1/private/spans/batch",
                json!({ "spans": chunk }),
                chunk.len(),
            )
            .await;
        }
        for chunk in scores.chunks(MAX_BATCH) {
            self.deliver(
                Method::PUT,
                "/v1/private/traces/feedback-scores",
                json!({ "scores": chunk }),
                chunk.len(),
            )
            .await;
        }
    }

    /// Sends one batch, retrying with backoff; counts it dropped if it cannot.
    async fn deliver(&mut self, method: Method, path: &str, body: Value, items: usize) {
        let mut attempt = 0;
        let outcome = loop {
            attempt += 1;
            let sent = match self.give_up_at {
                None => self.client.send(method.clone(), path, &body).await,
                Some(at) => {
                    tokio::time::timeout_at(at, self.client.send(method.clone(), path, &body))
                        .await
                        .unwrap_or_else(|_| Sent::Retry("shutdown grace period over".into(), None))
                }
            };
            match sent {
                Sent::Accepted => break Ok(()),
                Sent::Rejected(reason) => break Err(("rejected", reason)),
                Sent::Retry(reason, _) if attempt >= MAX_ATTEMPTS => {
                    break Err(("send_failed", reason));
                }
                Sent::Retry(reason, wait) => {
                    let wait = wait.unwrap_or_else(|| backoff(attempt));
                    tracing::debug!(path, %reason, ?wait, attempt, "Opik send failed; retrying");
                    if !self.pause(wait).await {
                        break Err(("send_failed", reason));
                    }
                }
            }
        };
        self.unsent.fetch_sub(items, Ordering::AcqRel);
        match outcome {
            Ok(()) => metrics::counter!("lotara_opik_sent_items_total").increment(items as u64),
            Err((why, reason)) => {
                count_dropped(why, items as u64);
                tracing::warn!(path, items, %reason, "Opik did not take a batch; dropped it");
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_utc_with_microseconds_and_z() {
        let t = DateTime::parse_from_rfc3339("2025-06-01T12:00:00.123Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(json!(OpikTime(t)), json!("2025-06-01T12:00:00.123000Z"));
    }

    #[test]
    fn the_server_wait_comes_from_ratelimit_reset_or_retry_after() {
        let mut headers = reqwest::header::HeaderMap::new();
        assert_eq!(server_wait(&headers), None);
        headers.insert("retry-after", "2".parse().unwrap());
        assert_eq!(server_wait(&headers), Some(Duration::from_secs(2)));
        headers.insert("ratelimit-reset", "7".parse().unwrap());
        assert_eq!(server_wait(&headers), Some(Duration::from_secs(7)));
        headers.insert("ratelimit-reset", "9999".parse().unwrap());
        assert_eq!(server_wait(&headers), Some(MAX_SERVER_WAIT));
    }

    #[test]
    fn spans_serialise_with_opik_field_names() {
        let span = SpanRecord {
            id: Uuid::now_v7(),
            project_name: "p".into(),
            trace_id: Uuid::now_v7(),
            parent_span_id: None,
            name: "n".into(),
            kind: SpanType::Llm,
            start_time: OpikTime::now(),
            end_time: OpikTime::now(),
            input: None,
            output: None,
            metadata: None,
            model: Some("m".into()),
            provider: Some("openai".into()),
            usage: Some(BTreeMap::from([("total_tokens".to_string(), 3)])),
            error_info: None,
            last_updated_at: OpikTime::now(),
        };
        let v = json!(span);
        assert_eq!(v["type"], "llm");
        assert_eq!(v["usage"]["total_tokens"], 3);
        assert!(v.get("parent_span_id").is_none());
        assert!(v.get("input").is_none());
    }
}
