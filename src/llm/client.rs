//! OpenAI-compatible chat completions over plain reqwest: no SDK, so any
//! compatible server works, including those that differ in small ways.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use reqwest::StatusCode;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use tokio::sync::Semaphore;

use super::meter::TokenMeter;
use crate::secret::Secret;

#[derive(Debug, Clone)]
pub struct LlmSettings {
    /// e.g. `https://api.openai.com/v1`, `http://localhost:11434/v1`.
    pub base_url: String,
    pub api_key: Option<Secret>,
    pub model: String,
    pub timeout: Duration,
    pub max_retries: u32,
    pub max_concurrency: usize,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Message {
    pub role: String,
    pub content: String,
}

impl Message {
    pub fn system(content: impl Into<String>) -> Self {
        Self {
            role: "system".into(),
            content: content.into(),
        }
    }
    pub fn user(content: impl Into<String>) -> Self {
        Self {
            role: "user".into(),
            content: content.into(),
        }
    }
    pub fn assistant(content: impl Into<String>) -> Self {
        Self {
            role: "assistant".into(),
            content: content.into(),
        }
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Usage {
    #[serde(default)]
    pub prompt_tokens: u64,
    #[serde(default)]
    pub completion_tokens: u64,
    #[serde(default)]
    pub total_tokens: u64,
}

#[derive(Debug, Clone, thiserror::Error)]
pub enum LlmError {
    #[error("the LLM did not answer within {0:?}")]
    Timeout(Duration),
    #[error("the LLM is unavailable: {0}")]
    Unavailable(String),
    #[error("the LLM rejected the request: {0}")]
    Rejected(String),
    #[error("the LLM's answer was invalid after a repair attempt: {0}")]
    Invalid(String),
    #[error("the job's LLM token budget of {limit} tokens is spent ({used} used)")]
    BudgetExceeded { limit: u64, used: u64 },
}

/// One LLM call as it is traced, whether it succeeded or not: a call that
/// failed still spent time and, when the server answered, tokens.
#[derive(Debug, Clone)]
pub struct CallRecord {
    pub model: String,
    /// Who served it, as Opik's `LLMProvider` names it (`LlmClient::provider`);
    /// `None` for a server Opik has no name for.
    pub provider: Option<&'static str>,
    /// What the server reported; `None` when no answer came.
    pub usage: Option<Usage>,
    pub started: chrono::DateTime<chrono::Utc>,
    pub ended: chrono::DateTime<chrono::Utc>,
    pub messages: Vec<Message>,
    /// The answer's text; `None` when no answer came.
    pub reply: Option<String>,
    /// Why the call did not give a usable answer.
    pub error: Option<CallError>,
}

/// A failed call, for its trace: a short kind and the message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallError {
    pub kind: &'static str,
    pub message: String,
}

impl CallError {
    fn from_llm(error: &LlmError) -> Self {
        let kind = match error {
            LlmError::Timeout(_) => "timeout",
            LlmError::Unavailable(_) => "unavailable",
            LlmError::Rejected(_) => "rejected",
            LlmError::Invalid(_) => "invalid_answer",
            LlmError::BudgetExceeded { .. } => "token_budget_exceeded",
        };
        Self {
            kind,
            message: error.to_string(),
        }
    }
}

/// What `structured` returns: the value or why there is none, and every
/// call it made either way (failed ones too, so their tokens are traced).
pub struct Structured<T> {
    pub result: Result<T, LlmError>,
    pub calls: Vec<CallRecord>,
}

pub struct LlmClient {
    http: reqwest::Client,
    settings: LlmSettings,
    /// Process-wide cap on calls in flight.
    slots: Arc<Semaphore>,
    /// Cleared once a server rejects `json_schema`; then `json_object` is used.
    schema_supported: AtomicBool,
}

#[derive(Deserialize)]
struct ChatResponse {
    choices: Vec<Choice>,
    #[serde(default)]
    usage: Option<Usage>,
    #[serde(default)]
    model: Option<String>,
}

#[derive(Deserialize)]
struct Choice {
    message: ChoiceMessage,
}

#[derive(Deserialize)]
struct ChoiceMessage {
    #[serde(default)]
    content: Option<String>,
}

enum Attempt {
    Done(String, Usage, String),
    Retry(LlmError, Option<Duration>),
    Fail(LlmError),
    SchemaUnsupported,
}

impl LlmClient {
    pub fn new(settings: LlmSettings) -> Result<Self, LlmError> {
        let http = reqwest::Client::builder()
            .timeout(settings.timeout)
            .build()
            .map_err(|e| LlmError::Unavailable(e.to_string()))?;
        Ok(Self {
            http,
            slots: Arc::new(Semaphore::new(settings.max_concurrency.max(1))),
            settings,
            schema_supported: AtomicBool::new(true),
        })
    }

    pub fn model(&self) -> &str {
        &self.settings.model
    }

    /// For `/health`: lists models, which every compatible server serves.
    pub async fn probe(&self) -> Result<(), LlmError> {
        let url = format!("{}/models", self.settings.base_url.trim_end_matches('/'));
        let mut request = self.http.get(url).timeout(Duration::from_secs(1));
        if let Some(key) = &self.settings.api_key {
            request = request.bearer_auth(key.expose());
        }
        let response = request
            .send()
            .await
            .map_err(|e| LlmError::Unavailable(e.to_string()))?;
        if response.status().is_success() {
            Ok(())
        } else {
            Err(LlmError::Unavailable(format!("HTTP {}", response.status())))
        }
    }

    /// The provider as Opik's SDK names it (its `LLMProvider` enum), from
    /// the base URL's host; `None` for any other server (a local model, a
    /// proxy), since Opik accepts no other value.
    pub fn provider(&self) -> Option<&'static str> {
        provider_of(&self.settings.base_url)
    }

    fn body(&self, messages: &[Message], schema_name: &str, schema: &Value) -> Value {
        let response_format = if self.schema_supported.load(Ordering::Relaxed) {
            json!({"type": "json_schema", "json_schema": {"name": schema_name, "strict": false, "schema": schema}})
        } else {
            json!({"type": "json_object"})
        };
        json!({
            "model": self.settings.model,
            "messages": messages,
            "temperature": 0.2,
            "response_format": response_format,
        })
    }

    async fn attempt(&self, body: &Value) -> Attempt {
        let url = format!(
            "{}/chat/completions",
            self.settings.base_url.trim_end_matches('/')
        );
        let mut request = self.http.post(url).json(body);
        if let Some(key) = &self.settings.api_key {
            request = request.bearer_auth(key.expose());
        }
        let response = match request.send().await {
            Ok(r) => r,
            Err(e) if e.is_timeout() => {
                return Attempt::Retry(LlmError::Timeout(self.settings.timeout), None);
            }
            Err(e) => return Attempt::Retry(LlmError::Unavailable(e.to_string()), None),
        };
        let status = response.status();
        let retry_after = response
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<f64>().ok())
            .map(|secs| Duration::from_secs_f64(secs.clamp(0.0, 60.0)));
        let text = match response.text().await {
            Ok(t) => t,
            Err(e) if e.is_timeout() => {
                return Attempt::Retry(LlmError::Timeout(self.settings.timeout), None);
            }
            Err(e) => return Attempt::Retry(LlmError::Unavailable(e.to_string()), None),
        };
        if status == StatusCode::TOO_MANY_REQUESTS || status.is_server_error() {
            return Attempt::Retry(
                LlmError::Unavailable(format!("HTTP {status}: {}", snippet(&text))),
                retry_after,
            );
        }
        if status == StatusCode::BAD_REQUEST
            && text.contains("response_format")
            && self.schema_supported.load(Ordering::Relaxed)
        {
            return Attempt::SchemaUnsupported;
        }
        if !status.is_success() {
            return Attempt::Fail(LlmError::Rejected(format!(
                "HTTP {status}: {}",
                snippet(&text)
            )));
        }
        match serde_json::from_str::<ChatResponse>(&text) {
            Ok(reply) => {
                let content = reply
                    .choices
                    .into_iter()
                    .next()
                    .and_then(|c| c.message.content)
                    .unwrap_or_default();
                let model = reply.model.unwrap_or_else(|| self.settings.model.clone());
                Attempt::Done(content, reply.usage.unwrap_or_default(), model)
            }
            Err(e) => Attempt::Retry(
                LlmError::Unavailable(format!("unreadable reply: {e}")),
                None,
            ),
        }
    }

    /// One chat completion, retried with backoff and jitter on 429, 5xx and
    /// timeouts (honouring `Retry-After`). Usage is charged to `meter`.
    /// The record is there whenever a request was made, failed or not.
    async fn complete(
        &self,
        messages: &[Message],
        schema_name: &str,
        schema: &Value,
        meter: &TokenMeter,
    ) -> (Result<String, LlmError>, Option<CallRecord>) {
        if meter.exhausted() {
            let error = LlmError::BudgetExceeded {
                limit: meter.limit(),
                used: meter.used(),
            };
            return (Err(error), None);
        }
        let Ok(_slot) = self.slots.acquire().await else {
            return (Err(LlmError::Unavailable("client closed".into())), None);
        };
        let started = chrono::Utc::now();
        let record =
            |reply: Option<String>, usage, model: Option<String>, error: Option<&LlmError>| {
                CallRecord {
                    model: model.unwrap_or_else(|| self.settings.model.clone()),
                    provider: self.provider(),
                    usage,
                    started,
                    ended: chrono::Utc::now(),
                    messages: messages.to_vec(),
                    reply,
                    error: error.map(CallError::from_llm),
                }
            };
        let mut retries = 0;
        loop {
            let body = self.body(messages, schema_name, schema);
            match self.attempt(&body).await {
                Attempt::Done(reply, usage, model) => {
                    meter.record(&usage);
                    metrics::counter!("lotara_llm_calls_total", "outcome" => "ok").increment(1);
                    metrics::counter!("lotara_llm_tokens_total")
                        .increment(usage.prompt_tokens + usage.completion_tokens);
                    let call = record(Some(reply.clone()), Some(usage), Some(model), None);
                    return (Ok(reply), Some(call));
                }
                Attempt::SchemaUnsupported => {
                    tracing::info!("LLM server rejects json_schema; using json_object");
                    self.schema_supported.store(false, Ordering::Relaxed);
                }
                Attempt::Fail(e) => {
                    metrics::counter!("lotara_llm_calls_total", "outcome" => "rejected")
                        .increment(1);
                    let call = record(None, None, None, Some(&e));
                    return (Err(e), Some(call));
                }
                Attempt::Retry(e, retry_after) => {
                    if retries >= self.settings.max_retries {
                        metrics::counter!("lotara_llm_calls_total", "outcome" => "failed")
                            .increment(1);
                        let call = record(None, None, None, Some(&e));
                        return (Err(e), Some(call));
                    }
                    retries += 1;
                    let wait = retry_after.unwrap_or_else(|| backoff(retries));
                    tracing::warn!(error = %e, retry = retries, ?wait, "LLM call failed; retrying");
                    tokio::time::sleep(wait).await;
                }
            }
        }
    }

    /// Asks for JSON matching `schema`, checks it with `check` (which also
    /// parses it), and on a bad answer makes one repair attempt that shows
    /// the model its error. Returns the value, or why there is none, and
    /// every call made: a refused answer's call carries the refusal.
    pub async fn structured<T: DeserializeOwned>(
        &self,
        mut messages: Vec<Message>,
        schema_name: &str,
        schema: &Value,
        meter: &TokenMeter,
        check: impl Fn(&T) -> Result<(), String>,
    ) -> Structured<T> {
        let mut calls = Vec::new();
        let mut last_error = String::new();
        for attempt in 0..2 {
            let (reply, call) = self.complete(&messages, schema_name, schema, meter).await;
            let reply = match reply {
                Ok(reply) => reply,
                Err(error) => {
                    calls.extend(call);
                    return Structured {
                        result: Err(error),
                        calls,
                    };
                }
            };
            let checked = parse_reply::<Value>(&reply)
                .and_then(|value| match super::schema::violation(schema, &value) {
                    Some(problem) => Err(problem),
                    None => serde_json::from_value::<T>(value)
                        .map_err(|e| format!("not valid JSON for the schema ({e})")),
                })
                .and_then(|value| check(&value).map(|()| value));
            let refusal = checked.as_ref().err().map(|error| CallError {
                kind: "invalid_answer",
                message: error.clone(),
            });
            calls.extend(call.map(|call| CallRecord {
                error: refusal,
                ..call
            }));
            match checked {
                Ok(value) => {
                    return Structured {
                        result: Ok(value),
                        calls,
                    };
                }
                Err(error) if attempt == 0 => {
                    tracing::info!(%error, "LLM answer invalid; asking for a repair");
                    messages.push(Message::assistant(reply));
                    messages.push(Message::user(format!(
                        "That answer is invalid: {error}. Reply again with only a JSON object that matches the schema."
                    )));
                    last_error = error;
                }
                Err(error) => last_error = error,
            }
        }
        Structured {
            result: Err(LlmError::Invalid(last_error)),
            calls,
        }
    }
}

/// Opik's `LLMProvider` values (opik 2.2.122 `opik/types.py`) by the host
/// of each provider's OpenAI-compatible endpoint.
fn provider_of(base_url: &str) -> Option<&'static str> {
    let url = reqwest::Url::parse(base_url).ok()?;
    let host = url.host_str()?.to_ascii_lowercase();
    let under = |domain: &str| host == domain || host.ends_with(&format!(".{domain}"));
    if under("api.openai.com") {
        Some("openai")
    } else if under("generativelanguage.googleapis.com") {
        Some("google_ai")
    } else if host == "aiplatform.googleapis.com" || host.ends_with("-aiplatform.googleapis.com") {
        // Vertex AI's OpenAI-compatible endpoint, which serves Gemini.
        Some("google_vertexai")
    } else if under("api.anthropic.com") {
        Some("anthropic")
    } else if under("api.groq.com") {
        Some("groq")
    } else if under("api.mistral.ai") {
        Some("mistral")
    } else if host.starts_with("bedrock") && host.ends_with(".amazonaws.com") {
        Some("bedrock")
    } else {
        None
    }
}

/// Reads the model's JSON, tolerating a Markdown code fence around it.
fn parse_reply<T: DeserializeOwned>(reply: &str) -> Result<T, String> {
    let trimmed = reply.trim();
    let unfenced = trimmed
        .strip_prefix("```json")
        .or_else(|| trimmed.strip_prefix("```"))
        .and_then(|s| s.strip_suffix("```"))
        .unwrap_or(trimmed);
    serde_json::from_str(unfenced.trim())
        .map_err(|e| format!("not valid JSON for the schema ({e})"))
}

/// Exponential backoff with full jitter: 0.5 s, 1 s, 2 s … capped at 8 s.
fn backoff(retry: u32) -> Duration {
    let cap = Duration::from_millis(500) * 2u32.pow(retry.saturating_sub(1).min(4));
    cap.mul_f64(0.5 + fastrand::f64() * 0.5)
}

fn snippet(text: &str) -> String {
    text.chars().take(300).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Reads a reply body as `attempt` does: content, usage, model.
    fn read(body: &str) -> (String, Usage, Option<String>) {
        let reply: ChatResponse = serde_json::from_str(body).expect("a chat completion");
        let content = reply
            .choices
            .into_iter()
            .next()
            .and_then(|c| c.message.content)
            .unwrap_or_default();
        (content, reply.usage.unwrap_or_default(), reply.model)
    }

    /// The answer shapes the supported servers document: extra fields
    /// (`refusal`, `logprobs`, `system_fingerprint`, llama.cpp's `timings`)
    /// are ignored; a missing `usage` counts as zero.
    #[test]
    fn replies_of_each_supported_server_are_read() {
        let openai = r#"{"id":"chatcmpl-1","object":"chat.completion","created":1,"model":"gpt-4o-mini-2024-07-18",
            "choices":[{"index":0,"message":{"role":"assistant","content":"{\"a\":1}","refusal":null},"logprobs":null,"finish_reason":"stop"}],
            "usage":{"prompt_tokens":10,"completion_tokens":5,"total_tokens":15,"prompt_tokens_details":{"cached_tokens":0}},"system_fingerprint":"fp_1"}"#;
        let gemini = r#"{"choices":[{"finish_reason":"stop","index":0,"message":{"content":"```json\n{\"a\":1}\n```","role":"assistant"}}],
            "created":1,"model":"gemini-2.0-flash","object":"chat.completion","usage":{"completion_tokens":5,"prompt_tokens":10,"total_tokens":15}}"#;
        let ollama = r#"{"id":"chatcmpl-2","object":"chat.completion","created":1,"model":"llama3.1","system_fingerprint":"fp_ollama",
            "choices":[{"index":0,"message":{"role":"assistant","content":"{\"a\":1}"},"finish_reason":"stop"}],
            "usage":{"prompt_tokens":10,"completion_tokens":5,"total_tokens":15}}"#;
        let llama_cpp = r#"{"choices":[{"finish_reason":"stop","index":0,"message":{"content":"{\"a\":1}","role":"assistant"}}],
            "created":1,"model":"gpt-3.5-turbo","object":"chat.completion","usage":{"completion_tokens":5,"prompt_tokens":10,"total_tokens":15},
            "id":"chatcmpl-3","timings":{"prompt_n":10,"predicted_n":5,"predicted_per_second":40.0}}"#;
        let no_usage = r#"{"choices":[{"message":{"role":"assistant","content":"{\"a\":1}"}}]}"#;
        for body in [openai, gemini, ollama, llama_cpp] {
            let (content, usage, model) = read(body);
            let value: Value = parse_reply(&content).expect("JSON content, fenced or not");
            assert_eq!(value, json!({"a": 1}));
            assert_eq!((usage.prompt_tokens, usage.completion_tokens), (10, 5));
            assert!(model.is_some());
        }
        let (content, usage, _) = read(no_usage);
        assert_eq!(parse_reply::<Value>(&content).unwrap(), json!({"a": 1}));
        assert_eq!(usage, Usage::default());
    }

    #[test]
    fn the_provider_is_one_of_opiks_names_or_none() {
        for (url, provider) in [
            ("https://api.openai.com/v1", Some("openai")),
            (
                "https://generativelanguage.googleapis.com/v1beta/openai/",
                Some("google_ai"),
            ),
            (
                "https://europe-west1-aiplatform.googleapis.com/v1/projects/p/locations/europe-west1/endpoints/openapi",
                Some("google_vertexai"),
            ),
            ("https://api.anthropic.com/v1/", Some("anthropic")),
            ("https://api.groq.com/openai/v1", Some("groq")),
            ("https://api.mistral.ai/v1", Some("mistral")),
            (
                "https://bedrock-runtime.us-east-1.amazonaws.com/openai/v1",
                Some("bedrock"),
            ),
            ("http://localhost:11434/v1", None),
            ("http://vllm.internal:8000/v1", None),
            ("https://proxy.example.com/api.openai.com/v1", None),
            ("https://api.openai.com.evil.example/v1", None),
            ("not a url", None),
        ] {
            assert_eq!(provider_of(url), provider, "{url}");
        }
    }

    #[test]
    fn backoff_grows_with_jitter_and_stays_capped() {
        for retry in 1..10 {
            let wait = backoff(retry);
            let cap = Duration::from_millis(500) * 2u32.pow((retry - 1).min(4));
            assert!(wait <= cap && wait >= cap / 2, "retry {retry}: {wait:?}");
        }
    }
}
