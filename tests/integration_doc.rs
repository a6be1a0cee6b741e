//! INTEGRATION.md's JSON examples, checked against the running service (real
//! Redis, the knowledge backend), so the guide cannot drift from the API.
//!
//! # Markers
//!
//! Every ```` ```json ```` block in the guide must follow, on the line right
//! above it, an HTML comment that says what the block is:
//!
//! | marker | the block is | checked by |
//! | --- | --- | --- |
//! | `<!-- check: request POST /v1/plan -->` | a request body | sending it to that path; expects a 2xx |
//! | `<!-- check: request POST /v1/approve expect 400 -->` | a request body | sending it; expects exactly 400 |
//! | `<!-- check: request POST /v1/plan header Idempotency-Key=k-1 -->` | a request body | sending it with that header (`header` may repeat, after or instead of `expect`) |
//! | `<!-- check: response GET /v1/status/{job_id} -->` | a 2xx answer | comparing it with a real 2xx answer |
//! | `<!-- check: error 409 POST /v1/jobs/{job_id}/cancel -->` | an `ErrorResponse` | comparing it with a real answer of that status; the `error` codes must be equal |
//! | `<!-- check: event state_change -->` | an SSE `data:` payload | comparing it with the real frames of that event type |
//!
//! A `response` or `error` block is answered by sending the body of the
//! nearest `request` block above it with the same method and path that
//! expects the same status (2xx for `response`), with that block's headers;
//! with no such block the request goes without a body (GET, cancel).
//!
//! # Placeholders
//!
//! In marker paths and in request bodies (whole or part of a string), these
//! stand for real job ids; every other `{name}` is an error:
//!
//! - `{job_id}`: a completed plan (one, shared by all blocks);
//! - `{paused_job_id}`: a job waiting for approval, new for every block (so
//!   approving or cancelling it in one block does not affect another);
//! - `{failed_job_id}`: a plan that failed (no destination recognised);
//! - `{unknown_job_id}`: an id no job has.
//!
//! Every fixture job belongs to `user-123`, the user of the guide's examples.
//!
//! # Comparison
//!
//! The example must have exactly the real answer's set of keys, recursively
//! for objects; for arrays the first elements are compared (when both have
//! one). Non-null values must have the same JSON type (numbers are one type).
//! A `null` on either side matches anything: the example may show a nullable
//! field set or unset. An `event` example passes when any real frame of its
//! type matches: the frames come from complete streams of a completed, a
//! failed, an approved and a cancelled job, snapshots included.

mod support;

use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::{Map, Value, json};
use support::app::{TestApp, spawn_app};
use support::sse::SseReader;
use uuid::Uuid;

const WAIT: Duration = Duration::from_secs(20);
const USER: &str = "user-123";
const EVENT_TYPES: [&str; 7] = [
    "state_change",
    "task_start",
    "task_complete",
    "agent_output",
    "validation_result",
    "error",
    "complete",
];
const PLACEHOLDERS: [&str; 4] = ["job_id", "paused_job_id", "failed_job_id", "unknown_job_id"];

/// Headers a request block is sent with, in order.
type Headers = Vec<(String, String)>;

#[derive(Debug, Clone, PartialEq)]
enum Kind {
    Request {
        method: Method,
        path: String,
        expect: Option<u16>,
        /// Sent with the body, and with the `response`/`error` blocks it answers.
        headers: Headers,
    },
    Response {
        method: Method,
        path: String,
    },
    Error {
        status: u16,
        method: Method,
        path: String,
    },
    Event {
        name: String,
    },
}

impl Kind {
    fn label(&self) -> &'static str {
        match self {
            Self::Request { .. } => "request",
            Self::Response { .. } => "response",
            Self::Error { .. } => "error",
            Self::Event { .. } => "event",
        }
    }
}

#[derive(Debug)]
struct Block {
    /// 1-based line of the marker in INTEGRATION.md.
    line: usize,
    marker: String,
    kind: Kind,
    json: Value,
}

fn parse_method(raw: &str) -> Result<Method, String> {
    match raw {
        "GET" | "POST" | "PATCH" | "PUT" | "DELETE" => Ok(raw.parse().unwrap()),
        other => Err(format!("unknown method {other:?}")),
    }
}

fn parse_status(raw: &str) -> Result<u16, String> {
    raw.parse::<u16>()
        .ok()
        .filter(|s| (100..600).contains(s))
        .ok_or_else(|| format!("{raw:?} is not an HTTP status"))
}

fn check_path(path: &str) -> Result<String, String> {
    if !path.starts_with('/') {
        return Err(format!("path {path:?} must start with /"));
    }
    placeholders_in(path)?;
    Ok(path.to_string())
}

/// `[expect STATUS] [header NAME=VALUE]…` after a request marker's path.
fn parse_request_options(mut words: &[&str]) -> Result<(Option<u16>, Headers), String> {
    let mut expect = None;
    let mut headers = Vec::new();
    loop {
        match words {
            [] => return Ok((expect, headers)),
            ["expect", status, rest @ ..] if expect.is_none() => {
                expect = Some(parse_status(status)?);
                words = rest;
            }
            ["header", pair, rest @ ..] => {
                let (name, value) = pair
                    .split_once('=')
                    .filter(|(n, v)| !n.is_empty() && !v.is_empty())
                    .ok_or_else(|| format!("a header is `header Name=value`, not {pair:?}"))?;
                headers.push((name.to_string(), value.to_string()));
                words = rest;
            }
            other => return Err(format!("cannot read {:?} after the path", other.join(" "))),
        }
    }
}

/// `<!-- check: … -->` → what the next block is.
fn parse_marker(line: &str) -> Result<Kind, String> {
    let inner = line
        .strip_prefix("<!-- check:")
        .and_then(|rest| rest.strip_suffix("-->"))
        .ok_or("a marker is `<!-- check: … -->` on a line of its own")?;
    let words: Vec<&str> = inner.split_whitespace().collect();
    match words.as_slice() {
        ["request", method, path, options @ ..] => {
            let (expect, headers) = parse_request_options(options)?;
            Ok(Kind::Request {
                method: parse_method(method)?,
                path: check_path(path)?,
                expect,
                headers,
            })
        }
        ["response", method, path] => Ok(Kind::Response {
            method: parse_method(method)?,
            path: check_path(path)?,
        }),
        ["error", status, method, path] => Ok(Kind::Error {
            status: parse_status(status)?,
            method: parse_method(method)?,
            path: check_path(path)?,
        }),
        ["event", name] if EVENT_TYPES.contains(name) => Ok(Kind::Event {
            name: name.to_string(),
        }),
        ["event", name] => Err(format!("unknown event type {name:?}")),
        _ => Err(format!("cannot read marker {inner:?}")),
    }
}

/// The marked ```json blocks of the guide, and every problem found reading
/// it: a ```json block without a marker, a marker without a block, a block
/// that is not JSON.
fn parse_guide(text: &str) -> (Vec<Block>, Vec<String>) {
    let lines: Vec<&str> = text.lines().collect();
    let mut blocks = Vec::new();
    let mut problems = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i].trim();
        if line.starts_with("<!-- check") {
            let next = lines.get(i + 1).map(|l| l.trim());
            if next != Some("```json") {
                problems.push(format!(
                    "INTEGRATION.md:{}: marker not followed by a ```json block",
                    i + 1
                ));
            }
            if let Err(e) = parse_marker(line) {
                problems.push(format!("INTEGRATION.md:{}: {e}", i + 1));
            }
            i += 1;
            continue;
        }
        let Some(lang) = line.strip_prefix("```") else {
            i += 1;
            continue;
        };
        // A fenced block: find its end; only ```json blocks are checked.
        let end = (i + 1..lines.len())
            .find(|&j| lines[j].trim() == "```")
            .unwrap_or(lines.len());
        if lang.trim() == "json" {
            let marker = i.checked_sub(1).map(|m| lines[m].trim()).unwrap_or("");
            let body = lines[i + 1..end].join("\n");
            if !marker.starts_with("<!-- check") {
                problems.push(format!(
                    "INTEGRATION.md:{}: ```json block without a `<!-- check: … -->` marker",
                    i + 1
                ));
            } else if let Ok(kind) = parse_marker(marker) {
                let json = serde_json::from_str::<Value>(&body)
                    .map_err(|e| format!("not JSON: {e}"))
                    .and_then(|json| match (&kind, unknown_placeholder(&json)) {
                        (Kind::Request { .. }, Some(e)) => Err(e),
                        _ => Ok(json),
                    });
                // `i` is the marker's 1-based line.
                match json {
                    Ok(json) => blocks.push(Block {
                        line: i,
                        marker: marker.to_string(),
                        kind,
                        json,
                    }),
                    Err(e) => problems.push(format!("INTEGRATION.md:{i} `{marker}`: {e}")),
                }
            }
        }
        i = end + 1;
    }
    (blocks, problems)
}

/// The `{name}` placeholders in a string; an unknown name is an error.
fn placeholders_in(text: &str) -> Result<Vec<String>, String> {
    let mut found = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find('{') {
        let Some(len) = rest[start..].find('}') else {
            break;
        };
        let name = &rest[start + 1..start + len];
        if !PLACEHOLDERS.contains(&name) {
            return Err(format!(
                "unknown placeholder {{{name}}} (known: {PLACEHOLDERS:?})"
            ));
        }
        found.push(name.to_string());
        rest = &rest[start + len + 1..];
    }
    Ok(found)
}

/// The first unknown placeholder in a request body, as an error message.
fn unknown_placeholder(body: &Value) -> Option<String> {
    let mut texts = Vec::new();
    strings_in(body, &mut texts);
    texts.iter().find_map(|t| placeholders_in(t).err())
}

fn strings_in(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::String(s) => out.push(s.clone()),
        Value::Array(items) => items.iter().for_each(|v| strings_in(v, out)),
        Value::Object(map) => map.values().for_each(|v| strings_in(v, out)),
        _ => {}
    }
}

fn substitute_str(text: &str, ids: &HashMap<String, String>) -> String {
    ids.iter().fold(text.to_string(), |s, (name, id)| {
        s.replace(&format!("{{{name}}}"), id)
    })
}

fn substitute(value: &Value, ids: &HashMap<String, String>) -> Value {
    match value {
        Value::String(s) => Value::String(substitute_str(s, ids)),
        Value::Array(items) => Value::Array(items.iter().map(|v| substitute(v, ids)).collect()),
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| (k.clone(), substitute(v, ids)))
                .collect::<Map<_, _>>(),
        ),
        other => other.clone(),
    }
}

fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Where `example` and `real` differ in keys or types (see the module docs).
fn shape_mismatches(example: &Value, real: &Value, at: &str, out: &mut Vec<String>) {
    match (example, real) {
        (Value::Null, _) | (_, Value::Null) => {}
        (Value::Object(e), Value::Object(r)) => {
            for key in e.keys().filter(|k| !r.contains_key(*k)) {
                out.push(format!(
                    "{at}.{key} is in the example but not in the answer"
                ));
            }
            for key in r.keys().filter(|k| !e.contains_key(*k)) {
                out.push(format!(
                    "{at}.{key} is in the answer but not in the example"
                ));
            }
            for (key, value) in e {
                if let Some(actual) = r.get(key) {
                    shape_mismatches(value, actual, &format!("{at}.{key}"), out);
                }
            }
        }
        (Value::Array(e), Value::Array(r)) => {
            if let (Some(first), Some(actual)) = (e.first(), r.first()) {
                shape_mismatches(first, actual, &format!("{at}[0]"), out);
            }
        }
        _ if type_name(example) == type_name(real) => {}
        _ => out.push(format!(
            "{at}: the example has {}, the answer {}",
            type_name(example),
            type_name(real)
        )),
    }
}

fn shape_of(example: &Value, real: &Value) -> Vec<String> {
    let mut out = Vec::new();
    shape_mismatches(example, real, "$", &mut out);
    out
}

async fn start_job(app: &TestApp, body: Value) -> String {
    let response = app.post_json("/v1/plan", &body).await;
    assert_eq!(
        response.status(),
        StatusCode::ACCEPTED,
        "fixture job: {body}"
    );
    response.json::<Value>().await.unwrap()["job_id"]
        .as_str()
        .unwrap()
        .to_string()
}

async fn wait_status(app: &TestApp, id: &str, wanted: &str) {
    support::wait_for(&format!("job {id} to be {wanted}"), WAIT, || async {
        let status: Value = app
            .get(&format!("/v1/status/{id}"))
            .await
            .json()
            .await
            .ok()?;
        (status["status"] == wanted).then_some(())
    })
    .await;
}

/// A two-day trip from Hanoi; with a $100 budget it pauses for approval.
fn hoi_an(budget: Option<f64>) -> Value {
    let mut constraints = json!({"departure_city": "HAN", "duration_days": 2});
    if let Some(budget) = budget {
        constraints["budget_usd"] = json!(budget);
    }
    json!({"user_id": USER, "query": "A weekend in Hoi An", "constraints": constraints})
}

struct Fixtures {
    app: TestApp,
    completed: String,
    failed: String,
}

impl Fixtures {
    async fn start() -> Self {
        let app = spawn_app(&[]).await;
        let completed = start_job(&app, hoi_an(None)).await;
        let failed = start_job(
            &app,
            json!({"user_id": USER, "query": "Plan me a trip please"}),
        )
        .await;
        wait_status(&app, &completed, "completed").await;
        wait_status(&app, &failed, "failed").await;
        Self {
            app,
            completed,
            failed,
        }
    }

    async fn paused(&self) -> String {
        let id = start_job(&self.app, hoi_an(Some(100.0))).await;
        wait_status(&self.app, &id, "waiting_approval").await;
        id
    }

    async fn resolve(&self, name: &str) -> String {
        match name {
            "job_id" => self.completed.clone(),
            "failed_job_id" => self.failed.clone(),
            "paused_job_id" => self.paused().await,
            "unknown_job_id" => Uuid::now_v7().to_string(),
            other => unreachable!("placeholder {other} was checked when parsing"),
        }
    }

    /// Real ids for every placeholder in `path` and `body`.
    async fn ids_for(&self, path: &str, body: Option<&Value>) -> HashMap<String, String> {
        let mut texts = vec![path.to_string()];
        if let Some(body) = body {
            strings_in(body, &mut texts);
        }
        let mut ids = HashMap::new();
        for text in texts {
            for name in placeholders_in(&text).unwrap_or_default() {
                if let Entry::Vacant(slot) = ids.entry(name) {
                    let id = self.resolve(slot.key()).await;
                    slot.insert(id);
                }
            }
        }
        ids
    }

    /// Sends a request with real ids in place of the placeholders: its
    /// status and its body (JSON, or the text when it is not).
    async fn send(
        &self,
        method: &Method,
        path: &str,
        body: Option<&Value>,
        headers: &[(String, String)],
    ) -> (StatusCode, Result<Value, String>) {
        let ids = self.ids_for(path, body).await;
        let mut request = self
            .app
            .client
            .request(method.clone(), self.app.url(&substitute_str(path, &ids)));
        for (name, value) in headers {
            request = request.header(name, value);
        }
        if let Some(body) = body {
            request = request.json(&substitute(body, &ids));
        }
        let response = request.send().await.expect("request sent");
        let status = response.status();
        let text = response.text().await.unwrap_or_default();
        (status, serde_json::from_str(&text).map_err(|_| text))
    }

    /// Every frame (snapshots included) of the complete streams of a
    /// completed, a failed, an approved and a cancelled job, by event type.
    async fn real_frames(&self) -> HashMap<String, Vec<Value>> {
        let app = &self.app;
        let approved = self.paused().await;
        let approve = app
            .post_json(
                "/v1/approve",
                &json!({"job_id": approved, "approved": true}),
            )
            .await;
        assert_eq!(approve.status(), StatusCode::OK);
        let cancelled = self.paused().await;
        let cancel = app
            .client
            .post(app.url(&format!("/v1/jobs/{cancelled}/cancel")))
            .send()
            .await
            .unwrap();
        assert_eq!(cancel.status(), StatusCode::OK);
        wait_status(app, &approved, "completed").await;

        let mut frames: HashMap<String, Vec<Value>> = HashMap::new();
        for id in [&self.completed, &self.failed, &approved, &cancelled] {
            let mut stream =
                SseReader::open(app.client.get(app.url(&format!("/v1/stream/{id}")))).await;
            assert_eq!(stream.status, StatusCode::OK);
            for frame in stream.events_until_closed(WAIT).await {
                frames
                    .entry(frame.event().to_string())
                    .or_default()
                    .push(frame.json());
            }
        }
        frames
    }
}

/// What a `response` or `error` block is answered with: the body and
/// headers of the nearest request block above it for the same method and
/// path expecting the same status (`None`: 2xx); none for a GET or a cancel.
fn request_for<'a>(
    blocks: &'a [Block],
    index: usize,
    method: &Method,
    path: &str,
    status: Option<u16>,
) -> (Option<&'a Value>, &'a [(String, String)]) {
    let found = blocks[..index].iter().rev().find_map(|b| match &b.kind {
        Kind::Request {
            method: m,
            path: p,
            expect,
            headers,
        } if m == method
            && p == path
            && (expect == &status || (status.is_none() && expect.is_some_and(|s| s < 300))) =>
        {
            Some((&b.json, headers.as_slice()))
        }
        _ => None,
    });
    match found {
        Some((body, headers)) => (Some(body), headers),
        None => (None, &[]),
    }
}

async fn check_block(
    fixtures: &Fixtures,
    blocks: &[Block],
    index: usize,
    frames: &HashMap<String, Vec<Value>>,
) -> Result<(), String> {
    let block = &blocks[index];
    match &block.kind {
        Kind::Request {
            method,
            path,
            expect,
            headers,
        } => {
            let (status, body) = fixtures
                .send(method, path, Some(&block.json), headers)
                .await;
            let ok = match expect {
                Some(wanted) => status.as_u16() == *wanted,
                None => status.is_success(),
            };
            if ok {
                Ok(())
            } else {
                Err(format!(
                    "expected {}, got {status}: {}",
                    expect.map_or("a 2xx".to_string(), |s| s.to_string()),
                    body.map_or_else(|t| t, |v| v.to_string())
                ))
            }
        }
        Kind::Response { method, path } => {
            let (request, headers) = request_for(blocks, index, method, path, None);
            let (status, body) = fixtures.send(method, path, request, headers).await;
            let real = body.map_err(|text| format!("{status}, not JSON: {text}"))?;
            if !status.is_success() {
                return Err(format!("expected a 2xx, got {status}: {real}"));
            }
            match shape_of(&block.json, &real) {
                m if m.is_empty() => Ok(()),
                m => Err(format!("{}\n      real answer: {real}", m.join("; "))),
            }
        }
        Kind::Error {
            status: wanted,
            method,
            path,
        } => {
            let (request, headers) = request_for(blocks, index, method, path, Some(*wanted));
            let (status, body) = fixtures.send(method, path, request, headers).await;
            let real = body.map_err(|text| format!("{status}, not JSON: {text}"))?;
            if status.as_u16() != *wanted {
                return Err(format!("expected {wanted}, got {status}: {real}"));
            }
            let mut mismatches = shape_of(&block.json, &real);
            if block.json["error"] != real["error"] {
                mismatches.push(format!(
                    "error code {} in the example, {} in the answer",
                    block.json["error"], real["error"]
                ));
            }
            match mismatches {
                m if m.is_empty() => Ok(()),
                m => Err(format!("{}\n      real answer: {real}", m.join("; "))),
            }
        }
        Kind::Event { name } => {
            let candidates = frames.get(name).map(Vec::as_slice).unwrap_or_default();
            let closest = candidates
                .iter()
                .map(|frame| (shape_of(&block.json, frame), frame))
                .min_by_key(|(m, _)| m.len());
            match closest {
                None => Err(format!("the real streams had no {name} frame")),
                Some((m, _)) if m.is_empty() => Ok(()),
                Some((m, frame)) => Err(format!(
                    "no {name} frame has this shape; closest differs: {}\n      closest frame: {frame}",
                    m.join("; ")
                )),
            }
        }
    }
}

#[test]
fn the_marker_parser_reads_every_kind_and_rejects_unmarked_json() {
    let guide = "\
<!-- check: request POST /v1/approve expect 400 header X-Trace=t-1 -->
```json
{\"job_id\": \"{job_id}\", \"approved\": true}
```
<!-- check: event state_change -->
```json
{\"workflow_state\": \"planning\"}
```
```json
{\"unmarked\": true}
```
```ts
// <!-- check: inside code is not a marker -->
```
<!-- check: event nonsense -->
```json
{}
```
";
    let (blocks, problems) = parse_guide(guide);
    let kinds: Vec<&str> = blocks.iter().map(|b| b.kind.label()).collect();
    assert_eq!(kinds, ["request", "event"]);
    assert_eq!(
        blocks[0].kind,
        Kind::Request {
            method: Method::POST,
            path: "/v1/approve".into(),
            expect: Some(400),
            headers: vec![("X-Trace".into(), "t-1".into())]
        }
    );
    assert_eq!(problems.len(), 2, "{problems:?}");
    assert!(problems[0].contains("without a"), "{problems:?}");
    assert!(problems[1].contains("unknown event type"), "{problems:?}");
    assert!(placeholders_in("/v1/status/{jobid}").is_err());
    assert!(parse_marker("<!-- check: request POST /v1/plan header Idempotency-Key -->").is_err());
    let (blocks, problems) = parse_guide(
        "<!-- check: request POST /v1/feedback -->\n```json\n{\"job_id\": \"{jobid}\"}\n```\n",
    );
    assert!(blocks.is_empty());
    assert!(problems[0].contains("unknown placeholder"), "{problems:?}");
}

#[test]
fn shapes_compare_keys_recursively_and_types_of_non_null_values() {
    let real = json!({"a": 1.5, "b": {"c": "x", "d": [{"e": true}]}, "n": null});
    assert!(
        shape_of(
            &json!({"a": 2, "b": {"c": "y", "d": [{"e": false}]}, "n": "s"}),
            &real
        )
        .is_empty()
    );
    assert!(shape_of(&json!({"a": 2, "b": null, "n": null}), &real).is_empty());
    assert_eq!(
        shape_of(&json!({"a": "2", "b": null, "n": null}), &real).len(),
        1
    );
    assert_eq!(
        shape_of(
            &json!({"a": 2, "b": {"c": "y", "d": [{}]}, "n": null}),
            &real
        )
        .len(),
        1
    );
    assert_eq!(shape_of(&json!({"a": 2, "b": null}), &real).len(), 1);
    assert_eq!(
        shape_of(&json!({"a": 2, "b": null, "n": 1, "x": 0}), &real).len(),
        1
    );
}

#[tokio::test]
async fn every_json_example_in_integration_md_matches_the_service() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/INTEGRATION.md");
    let guide = std::fs::read_to_string(path).expect("INTEGRATION.md at the repository root");
    let (blocks, mut failures) = parse_guide(&guide);

    let mut counts: Vec<(&str, usize)> = ["request", "response", "error", "event"]
        .into_iter()
        .map(|kind| (kind, 0))
        .collect();
    for block in &blocks {
        if let Some(entry) = counts.iter_mut().find(|(k, _)| *k == block.kind.label()) {
            entry.1 += 1;
        }
    }
    let summary = counts
        .iter()
        .map(|(kind, n)| format!("{n} {kind}"))
        .collect::<Vec<_>>()
        .join(", ");
    assert!(
        !blocks.is_empty(),
        "INTEGRATION.md has no checked blocks ({summary}): the parser matched nothing"
    );
    for (kind, n) in &counts {
        assert!(*n > 0, "INTEGRATION.md has no `{kind}` blocks ({summary})");
    }

    let fixtures = Fixtures::start().await;
    let frames = fixtures.real_frames().await;
    for index in 0..blocks.len() {
        if let Err(reason) = check_block(&fixtures, &blocks, index, &frames).await {
            let block = &blocks[index];
            failures.push(format!(
                "INTEGRATION.md:{} `{}`: {reason}",
                block.line, block.marker
            ));
        }
    }
    fixtures.app.stop().await;

    println!(
        "INTEGRATION.md: checked {} blocks ({summary})",
        blocks.len()
    );
    assert!(
        failures.is_empty(),
        "INTEGRATION.md: {} of {} checked blocks ({summary}) do not match the service, or the guide has problems:\n  {}",
        failures.len(),
        blocks.len(),
        failures.join("\n  ")
    );
}
