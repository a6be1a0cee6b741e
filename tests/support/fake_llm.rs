//! A local OpenAI-compatible chat-completions server for tests. It records
//! every request and answers from a script; with the script empty it plays a
//! cooperative model: it reads the intake message as configured, answers the
//! destination_agent's research with the configured city facts, and returns
//! every other agent's draft unchanged (the draft is in the prompt).

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{Value, json};
use tokio::sync::Notify;

#[derive(Clone)]
pub enum Reply {
    /// Behave as the cooperative model.
    Cooperate,
    /// A 200 whose message content is this text.
    Content(String),
    /// An error status with an optional Retry-After (seconds).
    Status(u16, Option<u64>),
    /// Never answer in time.
    Hang(Duration),
    /// Wait until released, then cooperate.
    Hold(Arc<Notify>),
}

#[derive(Clone, Default)]
struct Shared {
    requests: Arc<Mutex<Vec<Value>>>,
    script: Arc<Mutex<VecDeque<Reply>>>,
    /// Replies for one agent (its schema name), used before `script`.
    agent_scripts: Arc<Mutex<std::collections::HashMap<String, VecDeque<Reply>>>>,
    intake: Arc<Mutex<Value>>,
    research: Arc<Mutex<Value>>,
    reject_json_schema: Arc<Mutex<bool>>,
    usage: Arc<Mutex<(u64, u64)>>,
}

pub struct FakeLlm {
    pub url: String,
    shared: Shared,
}

impl FakeLlm {
    pub async fn start() -> Self {
        let shared = Shared::default();
        *shared.intake.lock().unwrap() = json!({
            "destinations": ["Tokyo"], "origin": "LAX", "start_date": null, "days": 5,
            "travelers": 2, "budget_usd": null, "interests": ["food"], "tier": null
        });
        *shared.usage.lock().unwrap() = (120, 80);
        let app = Router::new()
            .route("/v1/chat/completions", post(complete))
            .route(
                "/v1/models",
                get(|| async { Json(json!({"object": "list", "data": [{"id": "fake-model"}]})) }),
            )
            .with_state(shared.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/v1", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        Self { url, shared }
    }

    /// Replies to use, in order, before cooperating again.
    pub fn script(&self, replies: impl IntoIterator<Item = Reply>) {
        self.shared.script.lock().unwrap().extend(replies);
    }

    /// Replies for one agent's calls (by its schema name, e.g.
    /// `hotel_agent` or `trip_request`), in order, before it cooperates again;
    /// agents run concurrently, so the shared script cannot aim at one.
    pub fn script_for(&self, agent: &str, replies: impl IntoIterator<Item = Reply>) {
        self.shared
            .agent_scripts
            .lock()
            .unwrap()
            .entry(agent.to_string())
            .or_default()
            .extend(replies);
    }

    pub fn set_intake(&self, reading: Value) {
        *self.shared.intake.lock().unwrap() = reading;
    }

    /// What the cooperative model says of a city the dataset lacks
    /// (`destination_agent`); `null` until set.
    pub fn set_research(&self, answer: Value) {
        *self.shared.research.lock().unwrap() = answer;
    }

    pub fn set_usage(&self, prompt: u64, completion: u64) {
        *self.shared.usage.lock().unwrap() = (prompt, completion);
    }

    /// Answer 400 to `json_schema`, as some servers do.
    pub fn reject_json_schema(&self) {
        *self.shared.reject_json_schema.lock().unwrap() = true;
    }

    pub fn requests(&self) -> Vec<Value> {
        self.shared.requests.lock().unwrap().clone()
    }

    /// The requests for one agent (its schema name).
    pub fn requests_for(&self, agent: &str) -> Vec<Value> {
        self.requests()
            .into_iter()
            .filter(|r| schema_name(r) == agent)
            .collect()
    }
}

fn schema_name(request: &Value) -> String {
    request["response_format"]["json_schema"]["name"]
        .as_str()
        .map(String::from)
        .unwrap_or_else(|| {
            // json_object mode: find the agent named in the system prompt.
            let system = request["messages"][0]["content"].as_str().unwrap_or("");
            system
                .split_whitespace()
                .find(|w| w.ends_with("_agent"))
                .unwrap_or("")
                .to_string()
        })
}

fn cooperate(shared: &Shared, request: &Value) -> String {
    let name = schema_name(request);
    if name == "trip_request" || name == "intake_agent" {
        return shared.intake.lock().unwrap().to_string();
    }
    if name == "destination_agent" {
        return shared.research.lock().unwrap().to_string();
    }
    let user = request["messages"][1]["content"].as_str().unwrap_or("");
    user.split_once("(keep its shape):\n")
        .map(|(_, draft)| draft.to_string())
        .unwrap_or_default()
}

fn completion(shared: &Shared, content: String) -> Response {
    let (prompt, completion) = *shared.usage.lock().unwrap();
    Json(json!({
        "id": "chatcmpl-test", "object": "chat.completion", "model": "fake-model",
        "choices": [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": content}}],
        "usage": {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}
    }))
    .into_response()
}

async fn complete(
    State(shared): State<Shared>,
    headers: HeaderMap,
    Json(request): Json<Value>,
) -> Response {
    let mut recorded = request.clone();
    recorded["authorization"] = json!(headers.get("authorization").and_then(|v| v.to_str().ok()));
    recorded["received_ms"] = json!(chrono::Utc::now().timestamp_millis());
    shared.requests.lock().unwrap().push(recorded);
    if request["response_format"]["type"] == "json_schema"
        && *shared.reject_json_schema.lock().unwrap()
    {
        return (
            StatusCode::BAD_REQUEST,
            Json(json!({"error": {"message": "response_format json_schema is not supported"}})),
        )
            .into_response();
    }
    let own = shared
        .agent_scripts
        .lock()
        .unwrap()
        .get_mut(&schema_name(&request))
        .and_then(VecDeque::pop_front);
    let reply = own
        .or_else(|| shared.script.lock().unwrap().pop_front())
        .unwrap_or(Reply::Cooperate);
    match reply {
        Reply::Cooperate => completion(&shared, cooperate(&shared, &request)),
        Reply::Content(text) => completion(&shared, text),
        Reply::Status(code, retry_after) => {
            let mut response = (
                StatusCode::from_u16(code).unwrap(),
                Json(json!({"error": {"message": "scripted"}})),
            )
                .into_response();
            if let Some(secs) = retry_after {
                response
                    .headers_mut()
                    .insert("retry-after", secs.to_string().parse().unwrap());
            }
            response
        }
        Reply::Hang(duration) => {
            tokio::time::sleep(duration).await;
            completion(&shared, cooperate(&shared, &request))
        }
        Reply::Hold(release) => {
            release.notified().await;
            completion(&shared, cooperate(&shared, &request))
        }
    }
}
