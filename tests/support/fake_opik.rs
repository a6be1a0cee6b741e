//! A local Opik for tests. It records every request (method, path, headers,
//! JSON body, gunzipped if sent gzipped), answers from a script of statuses
//! (204 once the script is empty), and behaves as the real backend where
//! our client could get it wrong:
//! - a trace or span batch that repeats an id is refused whole with 422
//!   `Duplicate trace id '…'` (`TracesResource.createTraces`, `SpansResource`);
//! - `GET /v1/session/redirect/projects/` answers like `RedirectService`:
//!   303 to the UI for a stored trace, 404 for one not stored, 500 when the
//!   link's `path` has no `/api`;
//! - it can go down (its port closed, open connections dropped) and come
//!   back on the same port.
//!
//! `violations` checks everything received against `docs/opik.md`: paths,
//! headers, v7 ids, timestamps, `source`, provider names, span→trace and
//! parent links, integer usage, batch sizes, one create per span, and that
//! no trace ends before its spans.

use std::collections::{HashMap, HashSet, VecDeque};
use std::io::Read;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

/// The SDK's `LLMProvider` values (opik 2.2.122 `opik/types.py`).
pub const LLM_PROVIDERS: [&str; 8] = [
    "openai",
    "anthropic",
    "google_ai",
    "google_vertexai",
    "anthropic_vertexai",
    "groq",
    "bedrock",
    "mistral",
];

#[derive(Debug, Clone)]
pub struct Request {
    pub method: String,
    /// The path under the API base (`/v1/private/spans/batch`).
    pub path: String,
    pub headers: HashMap<String, String>,
    pub body: Value,
    /// What the fake answered.
    pub status: u16,
    /// Why the fake refused it on its own, as the real backend would.
    pub refused: Option<String>,
    pub at: Instant,
}

impl Request {
    pub fn accepted(&self) -> bool {
        (200..300).contains(&self.status)
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).map(String::as_str)
    }
}

/// A scripted answer: a status and headers to send with it.
#[derive(Clone)]
pub struct Answer {
    pub status: u16,
    pub headers: Vec<(&'static str, String)>,
}

impl Answer {
    pub fn status(status: u16) -> Self {
        Self {
            status,
            headers: Vec::new(),
        }
    }
}

#[derive(Clone, Default)]
struct Shared {
    requests: Arc<Mutex<Vec<Request>>>,
    script: Arc<Mutex<VecDeque<Answer>>>,
    /// Project ids, by name, as the backend creates them on first use.
    projects: Arc<Mutex<HashMap<String, Uuid>>>,
}

/// The running server: cancel `stop` to close it, `done` ends when it has.
struct Server {
    stop: CancellationToken,
    done: tokio::task::JoinHandle<()>,
}

pub struct FakeOpik {
    /// The API base through the UI's proxy, like `http://localhost:5173/api`.
    pub url: String,
    /// The backend directly, like `http://localhost:8080`: the same API
    /// without the `/api` prefix.
    pub backend_url: String,
    /// Where its UI would be: what the redirect sends browsers to.
    pub ui_url: String,
    address: SocketAddr,
    shared: Shared,
    server: Mutex<Option<Server>>,
}

impl FakeOpik {
    pub async fn start() -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let fake = Self::at(address);
        fake.serve(listener);
        fake
    }

    fn at(address: SocketAddr) -> Self {
        Self {
            url: format!("http://{address}/api"),
            backend_url: format!("http://{address}"),
            ui_url: format!("http://{address}"),
            address,
            shared: Shared::default(),
            server: Mutex::new(None),
        }
    }

    fn serve(&self, listener: tokio::net::TcpListener) {
        let app = Router::new()
            .fallback(record)
            .with_state(self.shared.clone());
        let stop = CancellationToken::new();
        let stopping = stop.clone();
        let done = tokio::spawn(async move {
            let _ = axum::serve(listener, app)
                .with_graceful_shutdown(async move { stopping.cancelled().await })
                .await;
        });
        *self.server.lock().unwrap() = Some(Server { stop, done });
    }

    /// An Opik that is not there: the port was bound, then let go, so
    /// connecting is refused.
    pub async fn down() -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        drop(listener);
        Self::at(address)
    }

    /// Goes down as a crashed Opik does: the port is closed (connecting is
    /// refused) and open connections are closed.
    pub async fn go_down(&self) {
        let server = self.server.lock().unwrap().take();
        if let Some(server) = server {
            server.stop.cancel();
            tokio::time::timeout(Duration::from_secs(10), server.done)
                .await
                .expect("the fake Opik closes its connections")
                .unwrap();
        }
    }

    /// Comes back on the same port, with everything it had stored.
    pub async fn come_back(&self) {
        let deadline = Instant::now() + Duration::from_secs(10);
        let listener = loop {
            match tokio::net::TcpListener::bind(self.address).await {
                Ok(listener) => break listener,
                Err(e) => {
                    assert!(
                        Instant::now() < deadline,
                        "cannot rebind {}: {e}",
                        self.address
                    );
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            }
        };
        self.serve(listener);
    }

    /// Answers for the next write requests, in order (pings are not scripted).
    pub fn script(&self, answers: impl IntoIterator<Item = Answer>) {
        self.shared.script.lock().unwrap().extend(answers);
    }

    pub fn requests(&self) -> Vec<Request> {
        self.shared.requests.lock().unwrap().clone()
    }

    /// Every item of every accepted batch sent to `path`, in arrival order.
    pub fn accepted_items(&self, path: &str, key: &str) -> Vec<Value> {
        self.requests()
            .into_iter()
            .filter(|r| r.accepted() && r.path == path)
            .flat_map(|r| r.body[key].as_array().cloned().unwrap_or_default())
            .collect()
    }

    pub fn traces(&self) -> Vec<Value> {
        self.accepted_items("/v1/private/traces/batch", "traces")
    }

    pub fn spans(&self) -> Vec<Value> {
        self.accepted_items("/v1/private/spans/batch", "spans")
    }

    pub fn scores(&self) -> Vec<Value> {
        self.accepted_items("/v1/private/traces/feedback-scores", "scores")
    }

    /// The last accepted record of a trace, if it has ended.
    pub fn final_trace(&self, id: &str) -> Option<Value> {
        self.traces()
            .into_iter()
            .rev()
            .find(|t| t["id"] == id && !t["end_time"].is_null())
    }

    /// What Opik stores: per trace id, the accepted record with the newest
    /// `last_updated_at` (the batch endpoint upserts).
    pub fn stored_traces(&self) -> HashMap<String, Value> {
        let mut stored: HashMap<String, Value> = HashMap::new();
        for t in self.traces() {
            let id = t["id"].as_str().unwrap_or("").to_string();
            let newer = stored
                .get(&id)
                .is_none_or(|old| t["last_updated_at"].as_str() >= old["last_updated_at"].as_str());
            if newer {
                stored.insert(id, t);
            }
        }
        stored
    }

    /// Requests the fake refused on its own, as the real backend would.
    pub fn refused(&self) -> Vec<Request> {
        self.requests()
            .into_iter()
            .filter(|r| r.refused.is_some())
            .collect()
    }

    /// Everything received that `opik.md` says a client must not send.
    /// `api_key`/`workspace`: what the service was configured with.
    pub fn violations(&self, api_key: Option<&str>, workspace: &str) -> Vec<String> {
        let requests = self.requests();
        let mut problems = Vec::new();
        for (i, r) in requests.iter().enumerate() {
            let mut report =
                |p: String| problems.push(format!("request {i} {} {}: {p}", r.method, r.path));
            if let Some(reason) = &r.refused {
                report(format!("refused with {}: {reason}", r.status));
            }
            check_request(r, api_key, workspace, &mut report);
        }
        check_links(&requests, &mut problems);
        problems
    }
}

async fn record(
    axum::extract::State(shared): axum::extract::State<Shared>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = uri
        .path()
        .strip_prefix("/api")
        .unwrap_or(uri.path())
        .to_string();
    let gzipped = headers.get("content-encoding").is_some_and(|v| v == "gzip");
    let raw = if gzipped {
        let mut text = Vec::new();
        flate2::read::GzDecoder::new(&body[..])
            .read_to_end(&mut text)
            .expect("a gzip body inflates");
        text
    } else {
        body.to_vec()
    };
    let body: Value = if raw.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&raw).unwrap_or_else(|e| json!({ "unparsable": e.to_string() }))
    };
    let (answer, refused, mut response) = if path == "/is-alive/ping" {
        let healthy = json!({"message": "Healthy Server", "healthy": true});
        (
            Answer::status(200),
            None,
            axum::Json(healthy).into_response(),
        )
    } else if path == "/v1/session/redirect/projects/" || path == "/v1/session/redirect/projects" {
        let (status, response) = redirect(&shared, uri.query().unwrap_or(""));
        (Answer::status(status), None, response)
    } else if let Some(reason) = duplicate_id(&path, &body) {
        // TracesResource.createTraces / SpansResource: the whole batch is refused.
        let response = (
            StatusCode::UNPROCESSABLE_ENTITY,
            axum::Json(json!({ "errors": [reason.clone()] })),
        )
            .into_response();
        (Answer::status(422), Some(reason), response)
    } else {
        let answer = shared
            .script
            .lock()
            .unwrap()
            .pop_front()
            .unwrap_or(Answer::status(204));
        let response = StatusCode::from_u16(answer.status).unwrap().into_response();
        (answer, None, response)
    };
    shared.requests.lock().unwrap().push(Request {
        method: method.to_string(),
        path: path.clone(),
        headers: headers
            .iter()
            .map(|(k, v)| (k.as_str().to_string(), v.to_str().unwrap_or("").to_string()))
            .collect(),
        body,
        status: answer.status,
        refused,
        at: Instant::now(),
    });
    *response.status_mut() = StatusCode::from_u16(answer.status).unwrap();
    for (name, value) in answer.headers {
        response.headers_mut().insert(name, value.parse().unwrap());
    }
    response
}

/// The backend's check on a trace or span batch: one id at most once.
fn duplicate_id(path: &str, body: &Value) -> Option<String> {
    let (key, kind) = match path {
        "/v1/private/traces/batch" => ("traces", "trace"),
        "/v1/private/spans/batch" => ("spans", "span"),
        _ => return None,
    };
    let mut seen = HashSet::new();
    body[key]
        .as_array()?
        .iter()
        .filter_map(|item| item["id"].as_str())
        .find(|id| !seen.insert(*id))
        .map(|id| format!("Duplicate {kind} id '{id}'"))
}

/// `RedirectService.projectRedirectUrl`: the UI's address is the decoded
/// `path` up to its first `/api`; none is a 500, an unknown trace a 404.
fn redirect(shared: &Shared, query: &str) -> (u16, Response) {
    let params: HashMap<String, String> = url_params(query);
    let Some(trace_id) = params.get("trace_id") else {
        return (400, StatusCode::BAD_REQUEST.into_response());
    };
    let decoded = params
        .get("path")
        .and_then(|p| base64::engine::general_purpose::STANDARD.decode(p).ok())
        .and_then(|b| String::from_utf8(b).ok())
        .unwrap_or_default();
    let Some(cut) = decoded.find("/api") else {
        return (500, StatusCode::INTERNAL_SERVER_ERROR.into_response());
    };
    let requests = shared.requests.lock().unwrap().clone();
    let stored = requests
        .iter()
        .filter(|r| r.accepted() && r.path == "/v1/private/traces/batch")
        .flat_map(|r| {
            let workspace = r.header("comet-workspace").unwrap_or("default").to_string();
            r.body["traces"]
                .as_array()
                .cloned()
                .unwrap_or_default()
                .into_iter()
                .map(move |t| (workspace.clone(), t))
        })
        .find(|(_, t)| t["id"] == trace_id.as_str());
    let Some((workspace, trace)) = stored else {
        return (404, StatusCode::NOT_FOUND.into_response());
    };
    let project = trace["project_name"]
        .as_str()
        .unwrap_or("Default Project")
        .to_string();
    let project_id = *shared
        .projects
        .lock()
        .unwrap()
        .entry(project)
        .or_insert_with(Uuid::now_v7);
    let workspace = params.get("workspace_name").cloned().unwrap_or(workspace);
    let location = format!(
        "{}/{workspace}/projects/{project_id}/traces",
        &decoded[..cut]
    );
    let response = (StatusCode::SEE_OTHER, [("location", location)]).into_response();
    (303, response)
}

/// A query string's parameters, percent-decoded.
fn url_params(query: &str) -> HashMap<String, String> {
    query
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .map(|(k, v)| (percent_decode(k), percent_decode(v)))
        .collect()
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'%', Some(byte)) => {
                out.push(byte);
                i += 3;
            }
            (byte, _) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn check_request(
    r: &Request,
    api_key: Option<&str>,
    workspace: &str,
    report: &mut dyn FnMut(String),
) {
    match api_key {
        Some(key) if r.header("authorization") != Some(key) => report(format!(
            "authorization should be the bare key, got {:?}",
            r.header("authorization")
        )),
        None if r.header("authorization").is_some() => {
            report("authorization sent without a key".into())
        }
        _ => {}
    }
    let wanted_workspace = if api_key.is_some() {
        workspace
    } else {
        "default"
    };
    if r.header("comet-workspace") != Some(wanted_workspace) {
        report(format!(
            "Comet-Workspace {:?}, wanted {wanted_workspace:?}",
            r.header("comet-workspace")
        ));
    }
    let (key, check): (&str, ItemCheck) = match (r.method.as_str(), r.path.as_str()) {
        ("GET", "/is-alive/ping") => return,
        ("GET", path) if path.starts_with("/v1/session/redirect/projects") => return,
        ("POST", "/v1/private/traces/batch") => ("traces", check_trace),
        ("POST", "/v1/private/spans/batch") => ("spans", check_span),
        ("PUT", "/v1/private/traces/feedback-scores") => ("scores", check_score),
        _ => return report("not an Opik endpoint this service should call".into()),
    };
    if !r
        .header("content-type")
        .is_some_and(|t| t.starts_with("application/json"))
    {
        report(format!("content-type {:?}", r.header("content-type")));
    }
    let items = r.body[key].as_array().cloned().unwrap_or_default();
    if items.is_empty() || items.len() > 1000 {
        report(format!("{key}: {} items (1–1000 allowed)", items.len()));
    }
    for item in &items {
        check(item, report);
    }
}

fn non_empty_str(value: &Value) -> bool {
    value.as_str().is_some_and(|s| !s.is_empty())
}

/// Checks one item of a batch, reporting each problem.
type ItemCheck = fn(&Value, &mut dyn FnMut(String));

fn is_v7(value: &Value) -> bool {
    value
        .as_str()
        .and_then(|s| s.parse::<Uuid>().ok())
        .is_some_and(|id| id.get_version_num() == 7)
}

/// RFC 3339, UTC, microseconds, `Z`, as the SDK sends: 2025-06-01T12:00:00.123456Z.
fn is_opik_time(value: &Value) -> bool {
    value.as_str().is_some_and(|s| {
        s.len() == 27
            && s.ends_with('Z')
            && s.as_bytes()[19] == b'.'
            && chrono::DateTime::parse_from_rfc3339(s).is_ok()
    })
}

fn check_common(item: &Value, kind: &str, report: &mut dyn FnMut(String)) {
    if !is_v7(&item["id"]) {
        report(format!("{kind} id {} is not a v7 UUID", item["id"]));
    }
    for key in ["project_name", "name"] {
        if !non_empty_str(&item[key]) {
            report(format!("{kind} without {key}"));
        }
    }
    for key in ["start_time", "last_updated_at"] {
        if !is_opik_time(&item[key]) {
            report(format!(
                "{kind} {key} {} is not UTC with microseconds and Z",
                item[key]
            ));
        }
    }
    if !item["end_time"].is_null() && !is_opik_time(&item["end_time"]) {
        report(format!("{kind} end_time {}", item["end_time"]));
    }
    for key in ["input", "output", "metadata"] {
        if !(item[key].is_null() || item[key].is_object()) {
            report(format!("{kind} {key} is not an object"));
        }
    }
    if item["source"] != "sdk" {
        report(format!(
            "{kind} source {}, the SDK sends \"sdk\"",
            item["source"]
        ));
    }
    let error = &item["error_info"];
    let complete = non_empty_str(&error["exception_type"]) && non_empty_str(&error["traceback"]);
    if !error.is_null() && !complete {
        report(format!(
            "{kind} error_info {error} lacks exception_type or traceback"
        ));
    }
}

fn check_trace(trace: &Value, report: &mut dyn FnMut(String)) {
    check_common(trace, "trace", report);
    for read_only in ["usage", "total_estimated_cost", "project_id"] {
        if !trace[read_only].is_null() {
            report(format!("trace sends read-only {read_only}"));
        }
    }
    let tags: Vec<&str> = trace["tags"]
        .as_array()
        .map(|t| t.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    if tags.iter().collect::<HashSet<_>>().len() != tags.len() {
        report(format!("trace tags not unique: {tags:?}"));
    }
}

fn check_span(span: &Value, report: &mut dyn FnMut(String)) {
    check_common(span, "span", report);
    if !is_v7(&span["trace_id"]) {
        report(format!(
            "span trace_id {} is not a v7 UUID",
            span["trace_id"]
        ));
    }
    if !span["parent_span_id"].is_null() && !is_v7(&span["parent_span_id"]) {
        report(format!(
            "span parent_span_id {} is not a v7 UUID",
            span["parent_span_id"]
        ));
    }
    if !["general", "tool", "llm", "guardrail"].contains(&span["type"].as_str().unwrap_or("")) {
        report(format!("span type {}", span["type"]));
    }
    if span["end_time"].is_null() {
        report("span create without end_time: one full create at the end is expected".into());
    }
    if !span["provider"].is_null()
        && !LLM_PROVIDERS.contains(&span["provider"].as_str().unwrap_or(""))
    {
        report(format!(
            "span provider {} is not one of the SDK's LLMProvider values",
            span["provider"]
        ));
    }
    if let Some(usage) = span["usage"].as_object()
        && usage.values().any(|v| {
            !(v.is_i64() || v.is_u64()) || v.as_i64().is_none_or(|n| n > i64::from(i32::MAX))
        })
    {
        report(format!("span usage not int32: {}", span["usage"]));
    }
}

fn check_score(score: &Value, report: &mut dyn FnMut(String)) {
    if !is_v7(&score["id"]) {
        report(format!("score id {} is not a v7 UUID", score["id"]));
    }
    if !non_empty_str(&score["name"]) || !score["value"].is_number() {
        report(format!("score needs a name and a numeric value: {score}"));
    }
    if !["ui", "sdk", "online_scoring"].contains(&score["source"].as_str().unwrap_or("")) {
        report(format!("score source {}", score["source"]));
    }
    if score["project_name"].as_str().is_none() {
        report("score without the trace's project_name".into());
    }
}

/// Across accepted requests: a span's trace was created no later than the
/// span, its parent is a span of the same trace, each span is created once,
/// a trace's newest record (the one Opik keeps) is its end record and ends
/// no earlier than any of its spans.
fn check_links(requests: &[Request], problems: &mut Vec<String>) {
    let mut traces: HashMap<String, Vec<Value>> = HashMap::new();
    let mut spans: HashMap<String, Value> = HashMap::new();
    let mut span_order = Vec::new();
    for r in requests.iter().filter(|r| r.accepted()) {
        for t in r.body["traces"].as_array().into_iter().flatten() {
            traces
                .entry(t["id"].as_str().unwrap_or("").to_string())
                .or_default()
                .push(t.clone());
        }
        for s in r.body["spans"].as_array().into_iter().flatten() {
            let id = s["id"].as_str().unwrap_or("").to_string();
            let trace = s["trace_id"].as_str().unwrap_or("");
            if !traces.contains_key(trace) {
                problems.push(format!(
                    "span {id} arrived before any create of its trace {trace}"
                ));
            }
            if spans.insert(id.clone(), s.clone()).is_some() {
                problems.push(format!("span {id} created more than once"));
            }
            span_order.push(id);
        }
    }
    for id in &span_order {
        let span = &spans[id];
        if let Some(parent) = span["parent_span_id"].as_str() {
            match spans.get(parent) {
                Some(p) if p["trace_id"] == span["trace_id"] => {}
                Some(_) => problems.push(format!("span {id}'s parent is in another trace")),
                None => problems.push(format!("span {id}'s parent {parent} was never created")),
            }
        }
    }
    let newest = |records: &Vec<Value>| {
        records
            .iter()
            .max_by(|a, b| {
                a["last_updated_at"]
                    .as_str()
                    .cmp(&b["last_updated_at"].as_str())
            })
            .cloned()
    };
    for id in &span_order {
        let span = &spans[id];
        let trace = span["trace_id"].as_str().unwrap_or("");
        let Some(stored) = traces.get(trace).and_then(newest) else {
            continue;
        };
        if let (Some(trace_end), Some(span_end)) =
            (stored["end_time"].as_str(), span["end_time"].as_str())
            && trace_end < span_end
        {
            problems.push(format!(
                "trace {trace} ends at {trace_end}, before its span {} ({id}) ends at {span_end}",
                span["name"]
            ));
        }
    }
    // Opik keeps the record with the newest `last_updated_at`, whatever the
    // order they arrive in: the newest must be the whole story.
    for (id, records) in &traces {
        let Some(stored) = newest(records) else {
            continue;
        };
        if stored["end_time"].is_null() && records.iter().any(|r| !r["end_time"].is_null()) {
            problems.push(format!(
                "trace {id}: a start record is newer than its end record (last_updated_at)"
            ));
        }
        for (i, a) in records.iter().enumerate() {
            for b in &records[i + 1..] {
                if a["last_updated_at"] == b["last_updated_at"] && a != b {
                    problems.push(format!(
                        "trace {id}: two different records with one last_updated_at"
                    ));
                }
            }
        }
        if records
            .iter()
            .any(|r| r["start_time"] != stored["start_time"])
        {
            problems.push(format!("trace {id}: start_time changed between records"));
        }
    }
}
