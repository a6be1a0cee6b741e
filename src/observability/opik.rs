//! Opik's REST API, as Opik's REST API documents it: the records it accepts
//! and a client that sends them with the SDK's headers. The exporter task
//! (`exporter.rs`) decides when and what to send.

use std::collections::BTreeMap;
use std::io::Write;
use std::time::Duration;

use chrono::{DateTime, SecondsFormat, Utc};
use reqwest::{Method, StatusCode};
use serde::{Serialize, Serializer};
use serde_json::Value;
use uuid::Uuid;

use super::OpikSettings;
use crate::secret::Secret;

/// Opik refuses batches of more than 1000 items (`@Size(max=1000)`).
pub const MAX_BATCH: usize = 1000;
/// Bodies from this size on are gzipped, as the SDK does; the server inflates them.
const GZIP_FROM_BYTES: usize = 256;
/// The longest `Retry-After`/`RateLimit-Reset` we honour, as the SDK.
const MAX_SERVER_WAIT: Duration = Duration::from_secs(60);
/// What the SDK sends as `source` on traces and spans it logs.
const SOURCE_SDK: &str = "sdk";

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
    pub source: SdkSource,
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
    /// One of the SDK's `LLMProvider` values, or absent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub provider: Option<&'static str>,
    /// Token counts; Opik reads them as int32.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub usage: Option<BTreeMap<String, i32>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_info: Option<ErrorInfo>,
    pub source: SdkSource,
    pub last_updated_at: OpikTime,
}

/// `source: "sdk"`, which the SDK sets on every trace and span it logs.
#[derive(Debug, Clone, Copy, Default)]
pub struct SdkSource;

impl Serialize for SdkSource {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(SOURCE_SDK)
    }
}

/// `FeedbackScoreBatchItem` for a trace.
#[derive(Debug, Clone, Serialize)]
pub struct FeedbackScore {
    pub id: Uuid,
    pub project_name: String,
    pub name: String,
    pub value: f64,
    pub source: SdkSource,
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

/// What became of one request.
pub enum Sent {
    Accepted,
    /// Worth trying again soon (429, 5xx, a timeout), after the server's
    /// wait if it gave one.
    Retry(String, Option<Duration>),
    /// No connection: Opik is down or unreachable. The exporter keeps the
    /// batch and waits for `is-alive/ping` to answer before sending again.
    Unreachable(String),
    /// The server will not take it (4xx): retrying cannot help.
    Rejected(String),
}

/// Speaks to one Opik deployment with the headers its SDK sends.
pub struct OpikClient {
    http: reqwest::Client,
    base: String,
    api_key: Option<Secret>,
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
            request = request.header("authorization", key.expose());
        }
        request
    }

    pub async fn send(&self, method: Method, path: &str, body: &Value) -> Sent {
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
            Err(e) if e.is_connect() => return Sent::Unreachable(e.to_string()),
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

    /// `GET {base}/is-alive/ping`, for `/health` and to learn that Opik is
    /// back after an outage.
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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

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
            provider: Some("openai"),
            usage: Some(BTreeMap::from([("total_tokens".to_string(), 3)])),
            error_info: None,
            source: SdkSource,
            last_updated_at: OpikTime::now(),
        };
        let v = json!(span);
        assert_eq!(v["type"], "llm");
        assert_eq!(v["source"], "sdk");
        assert_eq!(v["provider"], "openai");
        assert_eq!(v["usage"]["total_tokens"], 3);
        assert!(v.get("parent_span_id").is_none());
        assert!(v.get("input").is_none());
    }
}
