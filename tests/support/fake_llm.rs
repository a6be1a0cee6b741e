//! A local OpenAI-compatible chat-completions server for tests. It records
//! every request and answers from a script; with the script empty it plays a
//! cooperative model: it reads the intake message as configured, answers the
//! destination_agent's research with the configured city facts, and returns
//! every other agent's draft unchanged (the draft is in the prompt).
//!
//! It speaks the wire format of the servers the service supports: a request
//! with `stream: true` gets server-sent chunks in OpenAI's chunk format
//! (`data: {"choices":[{"delta":{"content":…},"finish_reason":null}]}` … a
//! final chunk with the finish reason, a `usage` chunk when
//! `stream_options.include_usage` asks for it, `data: [DONE]`), and the
//! request's `max_tokens` (or `max_completion_tokens`) is honoured as a real
//! server does: one chunk is one token, and at the cap the answer ends with
//! `finish_reason: "length"`. Like llama.cpp it serves `GET /props` (the
//! context size, once `set_context` gives one) and refuses a prompt longer
//! than the context with llama.cpp's 400; like Ollama, `POST /api/show`.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{Value, json};
use tokio::sync::{Notify, mpsc};
use tokio_stream::wrappers::ReceiverStream;

/// Characters per token the fake's "tokenizer" counts: a real tokenizer
/// averages 3–4 on English and JSON.
pub const CHARS_PER_TOKEN: usize = 4;
/// A whole answer streams in chunks of this many characters (a real server
/// sends about a token per chunk; eight keep the suite fast). Each counts
/// as its characters' tokens against the cap. `Endless` sends one token
/// per chunk.
const TEXT_CHUNK_CHARS: usize = 8 * CHARS_PER_TOKEN;
/// How often a llama.cpp-like server reports prompt processing.
const PROGRESS_EVERY: Duration = Duration::from_millis(200);

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
    /// A model that never stops: streams `opening`, then `piece` again and
    /// again, one chunk per `every`, until the request's token cap ends it
    /// with `finish_reason: "length"` (without a cap it streams for ever).
    Endless {
        opening: String,
        piece: String,
        every: Duration,
    },
    /// Streams the cooperative answer's first `chunks` chunks, then sends
    /// nothing more, holding the connection open.
    Stall { chunks: usize },
    /// Ignores `stream` and answers the cooperative answer whole, as one
    /// JSON completion.
    Whole,
    /// llama.cpp's 400 for a prompt longer than its context of this size.
    TooLong(u64),
    /// A CPU server evaluating a long prompt for this long before its first
    /// token: the response head at once, then silence — or, when the request
    /// asks `return_progress` (llama.cpp), a `prompt_progress` chunk every
    /// 200 ms —, then the cooperative answer.
    SlowPrompt(Duration),
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
    /// Listed by `/models`; with `strict_models`, the only ones served.
    models: Arc<Mutex<Vec<String>>>,
    strict_models: Arc<Mutex<bool>>,
    /// Stated by `/props` and enforced; `None`: unknown, not enforced.
    context: Arc<Mutex<Option<u64>>>,
    /// Stated by `/api/show`.
    ollama_context: Arc<Mutex<Option<u64>>>,
    chunk_delay: Arc<Mutex<Duration>>,
    /// Streams the client closed before their end.
    closed_early: Arc<AtomicUsize>,
    /// Streams sent to the end.
    finished: Arc<AtomicUsize>,
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
        *shared.models.lock().unwrap() = ["fake-model", "fake-model-x", "gpt-4o-mini"]
            .map(String::from)
            .to_vec();
        let app = Router::new()
            .route("/v1/chat/completions", post(complete))
            .route("/v1/models", get(models))
            .route("/props", get(props))
            .route("/api/show", post(show))
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

    /// Serve only these models, as OpenAI and Ollama do (404 for others).
    pub fn serve_only(&self, models: &[&str]) {
        *self.shared.models.lock().unwrap() = models.iter().map(|m| m.to_string()).collect();
        *self.shared.strict_models.lock().unwrap() = true;
    }

    /// Run with a context of `tokens`: `/props` states it, and a longer
    /// prompt gets llama.cpp's 400.
    pub fn set_context(&self, tokens: u64) {
        *self.shared.context.lock().unwrap() = Some(tokens);
    }

    /// State a context size through Ollama's `/api/show` only.
    pub fn set_ollama_context(&self, tokens: u64) {
        *self.shared.ollama_context.lock().unwrap() = Some(tokens);
    }

    /// Wait between streamed chunks (a model that writes at a human pace).
    pub fn set_chunk_delay(&self, delay: Duration) {
        *self.shared.chunk_delay.lock().unwrap() = delay;
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

    /// How many streamed answers the client closed before their end.
    pub fn closed_early(&self) -> usize {
        self.shared.closed_early.load(Ordering::SeqCst)
    }

    /// How many streamed answers went out to their end.
    pub fn finished(&self) -> usize {
        self.shared.finished.load(Ordering::SeqCst)
    }
}

/// Tokens of a request's messages as the fake counts them.
pub fn prompt_tokens(request: &Value) -> u64 {
    let chars: usize = request["messages"]
        .as_array()
        .map(|messages| {
            messages
                .iter()
                .map(|m| m["content"].as_str().unwrap_or("").chars().count())
                .sum()
        })
        .unwrap_or(0);
    chars.div_ceil(CHARS_PER_TOKEN) as u64
}

/// The request's token cap, under either name.
pub fn token_cap(request: &Value) -> Option<u64> {
    request["max_tokens"]
        .as_u64()
        .or_else(|| request["max_completion_tokens"].as_u64())
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

async fn models(State(shared): State<Shared>) -> Json<Value> {
    let data: Vec<Value> = shared
        .models
        .lock()
        .unwrap()
        .iter()
        .map(|id| json!({"id": id, "object": "model", "owned_by": "test"}))
        .collect();
    Json(json!({"object": "list", "data": data}))
}

async fn props(State(shared): State<Shared>) -> Response {
    match *shared.context.lock().unwrap() {
        Some(n_ctx) => Json(json!({
            "default_generation_settings": {"n_ctx": n_ctx, "params": {"temperature": 0.8}},
            "total_slots": 1, "model_path": "fake.gguf"
        }))
        .into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

async fn show(State(shared): State<Shared>) -> Response {
    match *shared.ollama_context.lock().unwrap() {
        Some(n) => Json(json!({
            "parameters": "stop \"<end_of_turn>\"",
            "model_info": {"general.architecture": "gemma3", "gemma3.context_length": n}
        }))
        .into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
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

fn error(status: StatusCode, body: Value) -> Response {
    (status, Json(body)).into_response()
}

fn too_long(prompt: u64, n_ctx: u64) -> Response {
    error(
        StatusCode::BAD_REQUEST,
        json!({"error": {"code": 400, "type": "exceed_context_size_error",
            "message": format!("request ({prompt} tokens) exceeds the available context size ({n_ctx} tokens), try increasing it"),
            "n_prompt_tokens": prompt, "n_ctx": n_ctx}}),
    )
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
    let model = request["model"].as_str().unwrap_or("");
    if *shared.strict_models.lock().unwrap()
        && !shared.models.lock().unwrap().iter().any(|m| m == model)
    {
        return error(
            StatusCode::NOT_FOUND,
            json!({"error": {"message": format!("model '{model}' not found"), "type": "not_found_error"}}),
        );
    }
    if request["response_format"]["type"] == "json_schema"
        && *shared.reject_json_schema.lock().unwrap()
    {
        return error(
            StatusCode::BAD_REQUEST,
            json!({"error": {"message": "response_format json_schema is not supported"}}),
        );
    }
    let context = *shared.context.lock().unwrap();
    if let Some(n_ctx) = context
        && prompt_tokens(&request) >= n_ctx
    {
        return too_long(prompt_tokens(&request), n_ctx);
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
    let streamed = request["stream"] == true;
    let answer = |content: String| match streamed {
        true => stream(
            &shared,
            &request,
            Pieces::text(&content),
            None,
            Duration::ZERO,
        ),
        false => completion(&shared, content),
    };
    match reply {
        Reply::Cooperate => answer(cooperate(&shared, &request)),
        Reply::Content(text) => answer(text),
        Reply::Whole => completion(&shared, cooperate(&shared, &request)),
        Reply::Status(code, retry_after) => {
            let mut response = error(
                StatusCode::from_u16(code).unwrap(),
                json!({"error": {"message": "scripted"}}),
            );
            if let Some(secs) = retry_after {
                response
                    .headers_mut()
                    .insert("retry-after", secs.to_string().parse().unwrap());
            }
            response
        }
        Reply::TooLong(n_ctx) => too_long(prompt_tokens(&request), n_ctx),
        Reply::Hang(duration) => {
            tokio::time::sleep(duration).await;
            answer(cooperate(&shared, &request))
        }
        Reply::Hold(release) => {
            release.notified().await;
            answer(cooperate(&shared, &request))
        }
        Reply::Endless {
            opening,
            piece,
            every,
        } => stream(
            &shared,
            &request,
            Pieces::Endless {
                opening: Some(opening),
                piece,
            },
            Some(every),
            Duration::ZERO,
        ),
        Reply::Stall { chunks } => {
            let text = cooperate(&shared, &request);
            let pieces = Pieces::text(&text);
            stream(
                &shared,
                &request,
                pieces.stalling_after(chunks),
                None,
                Duration::ZERO,
            )
        }
        Reply::SlowPrompt(evaluating) => {
            let text = cooperate(&shared, &request);
            stream(&shared, &request, Pieces::text(&text), None, evaluating)
        }
    }
}

/// What a streamed answer is made of.
enum Pieces {
    Text {
        pieces: VecDeque<String>,
        stall_after: Option<usize>,
    },
    Endless {
        opening: Option<String>,
        piece: String,
    },
}

impl Pieces {
    fn text(text: &str) -> Self {
        let chars: Vec<char> = text.chars().collect();
        Self::Text {
            pieces: chars
                .chunks(TEXT_CHUNK_CHARS)
                .map(|c| c.iter().collect())
                .collect(),
            stall_after: None,
        }
    }

    fn stalling_after(self, chunks: usize) -> Self {
        match self {
            Self::Text { pieces, .. } => Self::Text {
                pieces,
                stall_after: Some(chunks),
            },
            other => other,
        }
    }

    /// The next piece and the tokens it counts for, after `sent` chunks;
    /// `Err(())` when the stream should go silent.
    fn next(&mut self, sent: usize) -> Result<Option<(String, u64)>, ()> {
        match self {
            Self::Text {
                pieces,
                stall_after,
            } => {
                if *stall_after == Some(sent) {
                    return Err(());
                }
                Ok(pieces.pop_front().map(|piece| {
                    let tokens = piece.chars().count().div_ceil(CHARS_PER_TOKEN) as u64;
                    (piece, tokens)
                }))
            }
            Self::Endless { opening, piece } => {
                Ok(Some((opening.take().unwrap_or(piece.clone()), 1)))
            }
        }
    }
}

fn chunk(content: Option<&str>, finish: Option<&str>) -> Bytes {
    let delta = match content {
        Some(text) => json!({"content": text}),
        None => json!({}),
    };
    let data = json!({
        "id": "chatcmpl-test", "object": "chat.completion.chunk", "model": "fake-model",
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]
    });
    Bytes::from(format!("data: {data}\n\n"))
}

/// llama.cpp's chunk reporting prompt processing (`return_progress`).
fn progress_chunk(processed: u64, total: u64, time_ms: u128) -> Bytes {
    let data = json!({
        "id": "chatcmpl-test", "object": "chat.completion.chunk", "model": "fake-model",
        "choices": [{"index": 0, "delta": {"role": "assistant", "content": null}, "finish_reason": null}],
        "prompt_progress": {"total": total, "cache": 0, "processed": processed, "time_ms": time_ms}
    });
    Bytes::from(format!("data: {data}\n\n"))
}

/// Streams `pieces` as server-sent chunks, ending at the request's token
/// cap with `finish_reason: "length"`, after `evaluating` the prompt (see
/// `Reply::SlowPrompt`). A send that fails means the client closed the
/// connection: counted in `closed_early`.
fn stream(
    shared: &Shared,
    request: &Value,
    mut pieces: Pieces,
    every: Option<Duration>,
    evaluating: Duration,
) -> Response {
    let (tx, rx) = mpsc::channel::<Result<Bytes, Infallible>>(2);
    let cap = token_cap(request);
    let include_usage = request["stream_options"]["include_usage"] == true;
    let delay = every.unwrap_or(*shared.chunk_delay.lock().unwrap());
    let progress = request["return_progress"] == true;
    let total = prompt_tokens(request);
    let shared = shared.clone();
    tokio::spawn(async move {
        let sent_all = async {
            let started = std::time::Instant::now();
            while started.elapsed() < evaluating {
                tokio::time::sleep(PROGRESS_EVERY.min(evaluating - started.elapsed())).await;
                if progress {
                    let share = started.elapsed().as_secs_f64() / evaluating.as_secs_f64();
                    let processed = ((total as f64) * share.min(1.0)) as u64;
                    let sent = progress_chunk(processed, total, started.elapsed().as_millis());
                    tx.send(Ok(sent)).await.ok()?;
                }
            }
            let opening = json!({"choices": [{"index": 0, "delta": {"role": "assistant", "content": ""}, "finish_reason": null}]});
            tx.send(Ok(Bytes::from(format!("data: {opening}\n\n")))).await.ok()?;
            let (mut sent, mut tokens) = (0, 0);
            let mut batch: Vec<u8> = Vec::new();
            let finish = loop {
                let (piece, cost) = match pieces.next(sent) {
                    Ok(Some(piece)) => piece,
                    Ok(None) => break "stop",
                    Err(()) => {
                        tx.send(Ok(Bytes::from(std::mem::take(&mut batch)))).await.ok()?;
                        // Silent, holding the connection until the client leaves.
                        tx.closed().await;
                        return None;
                    }
                };
                if cap.is_some_and(|cap| tokens + cost > cap) {
                    break "length";
                }
                batch.extend_from_slice(&chunk(Some(&piece), None));
                sent += 1;
                tokens += cost;
                // Without a pace, chunks go out a few dozen per write (as a
                // fast server's do), so long answers stream quickly.
                if !delay.is_zero() || sent % 32 == 0 {
                    tx.send(Ok(Bytes::from(std::mem::take(&mut batch)))).await.ok()?;
                }
                if !delay.is_zero() {
                    tokio::time::sleep(delay).await;
                }
            };
            batch.extend_from_slice(&chunk(None, Some(finish)));
            tx.send(Ok(Bytes::from(batch))).await.ok()?;
            if include_usage {
                let (prompt, completion) = *shared.usage.lock().unwrap();
                let usage = json!({"choices": [], "usage": {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}});
                tx.send(Ok(Bytes::from(format!("data: {usage}\n\n")))).await.ok()?;
            }
            tx.send(Ok(Bytes::from_static(b"data: [DONE]\n\n"))).await.ok()?;
            Some(())
        }
        .await;
        let counter = match sent_all {
            Some(()) => &shared.finished,
            None => &shared.closed_early,
        };
        counter.fetch_add(1, Ordering::SeqCst);
    });
    Response::builder()
        .header(header::CONTENT_TYPE, "text/event-stream")
        .header(header::CACHE_CONTROL, "no-cache")
        .body(Body::from_stream(ReceiverStream::new(rx)))
        .unwrap()
}
