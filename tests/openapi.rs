//! The served OpenAPI document stays valid 3.1 for typed-client generators
//! (every response has a description, every operation a unique id) and says
//! what the server does: optional fields, the bounds it enforces, the
//! answers of its layers, and the payload of every SSE event. `.ci/clients`
//! generates Python and TypeScript clients from it.

mod support;

use std::collections::HashSet;
use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};
use support::app::{TestApp, spawn_app};
use support::sse::SseReader;
use uuid::Uuid;

#[tokio::test]
async fn every_response_is_described_and_every_operation_id_is_unique() {
    let app = spawn_app(&[]).await;
    let doc: Value = app
        .get("/api/openapi.json")
        .await
        .json()
        .await
        .expect("JSON");
    app.stop().await;
    assert!(
        doc["openapi"]
            .as_str()
            .is_some_and(|v| v.starts_with("3.1"))
    );
    let mut ids = HashSet::new();
    let mut undescribed = Vec::new();
    for (path, ops) in doc["paths"].as_object().expect("paths") {
        for (method, op) in ops.as_object().expect("operations") {
            let id = op["operationId"].as_str().unwrap_or_default().to_string();
            assert!(ids.insert(id.clone()), "operationId {id} is used twice");
            for (code, response) in op["responses"].as_object().expect("responses") {
                if response["description"].as_str().is_none_or(str::is_empty) {
                    undescribed.push(format!("{method} {path} {code}"));
                }
            }
        }
    }
    assert!(
        undescribed.is_empty(),
        "responses without a description: {undescribed:?}"
    );
    let mut dangling = Vec::new();
    every_ref(&doc, &mut |reference| {
        let name = reference.trim_start_matches("#/components/schemas/");
        if doc["components"]["schemas"].get(name).is_none() {
            dangling.push(reference.to_string());
        }
    });
    assert!(dangling.is_empty(), "references to no schema: {dangling:?}");
}

fn every_ref(value: &Value, found: &mut dyn FnMut(&str)) {
    match value {
        Value::Object(object) => {
            if let Some(reference) = object.get("$ref").and_then(Value::as_str) {
                found(reference);
            }
            object.values().for_each(|v| every_ref(v, found));
        }
        Value::Array(items) => items.iter().for_each(|v| every_ref(v, found)),
        _ => {}
    }
}

const NO_WORKERS: (&str, &str) = ("WORKER_CONCURRENCY", "0");
const WAIT: Duration = Duration::from_secs(30);

async fn document(app: &TestApp) -> Value {
    app.get("/api/openapi.json")
        .await
        .json()
        .await
        .expect("JSON")
}

/// The schema a `$ref` names, or the schema itself.
fn resolve<'a>(doc: &'a Value, schema: &'a Value) -> &'a Value {
    match schema["$ref"].as_str() {
        Some(reference) => {
            let name = reference.trim_start_matches("#/components/schemas/");
            resolve(doc, &doc["components"]["schemas"][name])
        }
        None => schema,
    }
}

/// A nullable reference (`oneOf: [{type: null}, {$ref}]`) as the schema it names.
fn non_null<'a>(doc: &'a Value, schema: &'a Value) -> &'a Value {
    let schema = resolve(doc, schema);
    match schema["oneOf"].as_array() {
        Some(options) if options.iter().any(|o| o["type"] == "null") => options
            .iter()
            .find(|o| o["type"] != "null")
            .map_or(schema, |o| resolve(doc, o)),
        _ => schema,
    }
}

fn types(schema: &Value) -> Vec<&str> {
    match &schema["type"] {
        Value::String(t) => vec![t.as_str()],
        Value::Array(ts) => ts.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    }
}

fn request_schema<'a>(doc: &'a Value, path: &str, method: &str) -> &'a Value {
    resolve(
        doc,
        &doc["paths"][path][method]["requestBody"]["content"]["application/json"]["schema"],
    )
}

#[tokio::test]
async fn plan_constraints_are_optional_in_the_document_as_at_the_door() {
    let app = spawn_app(&[NO_WORKERS]).await;
    let doc = document(&app).await;
    let plan = request_schema(&doc, "/v1/plan", "post");
    let required: Vec<&str> = plan["required"]
        .as_array()
        .expect("required")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert_eq!(required, ["user_id", "query"], "{plan}");
    for body in [
        json!({"user_id": "optional", "query": "3 days in Hanoi"}),
        json!({"user_id": "optional", "query": "3 days in Hanoi", "constraints": null}),
    ] {
        let response = app.post_json("/v1/plan", &body).await;
        assert_eq!(response.status(), StatusCode::ACCEPTED, "{body}");
    }
    app.stop().await;
}

/// One step of a path into a request body.
#[derive(Clone, Debug)]
enum Step {
    Key(String),
    Item,
}

/// The field name the server reports for a path: `routes[0].origin`; a
/// bound on an array's items is reported on the array.
fn field_name(path: &[Step]) -> String {
    let end = path
        .iter()
        .rposition(|s| matches!(s, Step::Key(_)))
        .map_or(0, |i| i + 1);
    let mut name = String::new();
    for step in &path[..end] {
        match step {
            Step::Key(key) if name.is_empty() => name.push_str(key),
            Step::Key(key) => {
                name.push('.');
                name.push_str(key);
            }
            Step::Item => name.push_str("[0]"),
        }
    }
    name
}

/// Every schema in a request body that states a bound, with its path.
fn bounded_fields(doc: &Value, schema: &Value, path: Vec<Step>, out: &mut Vec<(Vec<Step>, Value)>) {
    let schema = non_null(doc, schema);
    const BOUNDS: [&str; 7] = [
        "minimum",
        "maximum",
        "exclusiveMinimum",
        "minLength",
        "maxLength",
        "minItems",
        "maxItems",
    ];
    if BOUNDS.iter().any(|b| schema.get(*b).is_some()) {
        out.push((path.clone(), schema.clone()));
    }
    if let Some(properties) = schema["properties"].as_object() {
        for (key, property) in properties {
            let mut inner = path.clone();
            inner.push(Step::Key(key.clone()));
            bounded_fields(doc, property, inner, out);
        }
    }
    if schema.get("items").is_some() {
        let mut inner = path;
        inner.push(Step::Item);
        bounded_fields(doc, &schema["items"], inner, out);
    }
}

/// `body` with `value` at `path`; intermediate objects and arrays are made
/// (or their first item replaced) as needed.
fn with_value(body: &Value, path: &[Step], value: Value) -> Value {
    let Some((first, rest)) = path.split_first() else {
        return value;
    };
    match first {
        Step::Key(key) => {
            let mut object = body.as_object().cloned().unwrap_or_default();
            let inner = with_value(object.get(key).unwrap_or(&Value::Null), rest, value);
            object.insert(key.clone(), inner);
            Value::Object(object)
        }
        Step::Item => {
            let first = body.get(0).cloned().unwrap_or(Value::Null);
            json!([with_value(&first, rest, value)])
        }
    }
}

/// A value of `schema`'s kind at the given size (characters or items); an
/// array repeats the item the base body already has there.
fn sized(schema: &Value, current: &Value, size: usize) -> Value {
    if types(schema).contains(&"array") {
        let item = current.get(0).cloned().unwrap_or_else(|| json!("a"));
        Value::Array(vec![item; size])
    } else if schema["format"] == "date" && size == 10 {
        json!("2099-01-01")
    } else {
        Value::String("a".repeat(size))
    }
}

fn lookup<'a>(body: &'a Value, path: &[Step]) -> &'a Value {
    path.iter().fold(body, |value, step| match step {
        Step::Key(key) => &value[key.as_str()],
        Step::Item => &value[0],
    })
}

/// Values at each documented bound (accepted) and just past it (refused).
fn boundary_values(schema: &Value, current: &Value) -> Vec<(Value, bool)> {
    let number = |key: &str| schema.get(key).and_then(Value::as_f64);
    let size = |key: &str| schema.get(key).and_then(Value::as_u64).map(|n| n as usize);
    let integer = types(schema).contains(&"integer");
    let step = if integer { 1.0 } else { 0.5 };
    let as_json = |n: f64| if integer { json!(n as i64) } else { json!(n) };
    let mut values = Vec::new();
    if let Some(min) = number("minimum") {
        values.push((as_json(min), true));
        values.push((as_json(min - step), false));
    }
    if let Some(max) = number("maximum") {
        values.push((as_json(max), true));
        values.push((as_json(max + step), false));
    }
    if let Some(min) = number("exclusiveMinimum") {
        values.push((as_json(min + if integer { 1.0 } else { 0.01 }), true));
        values.push((as_json(min), false));
    }
    for (min, max) in [("minLength", "maxLength"), ("minItems", "maxItems")] {
        if let Some(min) = size(min) {
            values.push((sized(schema, current, min), true));
            if min > 0 {
                values.push((sized(schema, current, min - 1), false));
            }
        }
        if let Some(max) = size(max) {
            values.push((sized(schema, current, max), true));
            values.push((sized(schema, current, max + 1), false));
        }
    }
    values
}

/// Fields whose value must also name something real (a known airport, a
/// reachable feed, a date): a filler at the maximum length is refused for
/// that, so only the refusal past the bound is checked.
fn checked_beyond_length(field: &str) -> bool {
    [
        "routes[0].origin",
        "routes[0].destination",
        "preferences.departure_city",
        "ics_url",
        "busy[0].start",
        "busy[0].end",
    ]
    .contains(&field)
}

/// The fields a 422 names (`location` `field`), or none for another status.
async fn refused_fields(response: reqwest::Response) -> Vec<String> {
    if response.status() != StatusCode::UNPROCESSABLE_ENTITY {
        return Vec::new();
    }
    let body: Value = response.json().await.expect("ErrorResponse");
    body["details"]["errors"]
        .as_array()
        .expect("details.errors")
        .iter()
        .map(|e| {
            format!(
                "{} {}",
                e["location"].as_str().unwrap_or(""),
                e["field"].as_str().unwrap_or("")
            )
        })
        .collect()
}

fn names(fields: &[String], location: &str, field: &str) -> bool {
    let wanted = format!("{location} {field}");
    fields.iter().any(|f| {
        *f == wanted || f.starts_with(&format!("{wanted}[")) || f.starts_with(&format!("{wanted}."))
    })
}

/// Request bodies the door accepts, per operation: every documented bound
/// is tried on them. A watchlist's fields apply to one kind, so each is
/// tried on a watchlist of each kind.
fn valid_bodies() -> Vec<(&'static str, &'static str, Vec<Value>)> {
    let job = Uuid::now_v7().to_string();
    vec![
        (
            "post",
            "/v1/plan",
            vec![json!({"user_id": "bounds", "query": "3 days in Hanoi"})],
        ),
        (
            "post",
            "/v1/suggest",
            vec![
                json!({"user_id": "bounds", "trigger_type": "price_drop", "context": {"route": "LAX->NRT"}}),
            ],
        ),
        (
            "post",
            "/v1/approve",
            vec![json!({"job_id": job, "approved": false})],
        ),
        (
            "post",
            "/v1/feedback",
            vec![json!({"job_id": job, "rating": 4})],
        ),
        (
            "post",
            "/v1/watchlists",
            vec![
                json!({"user_id": "bounds", "kind": "price", "routes": [{"origin": "LAX", "destination": "NRT"}]}),
                // min_gap_days may not exceed horizon_days: both bounds are open to each.
                json!({"user_id": "bounds", "kind": "calendar", "busy": [{"start": "2099-01-01", "end": "2099-01-02"}],
                    "min_gap_days": 1, "horizon_days": 365}),
                json!({"user_id": "bounds", "kind": "budget", "budget_usd": 1000, "spent_usd": 100}),
            ],
        ),
        (
            "patch",
            "/v1/watchlists/{id}",
            vec![
                json!({"routes": [{"origin": "LAX", "destination": "NRT"}], "busy": [{"start": "2099-01-01", "end": "2099-01-02"}]}),
            ],
        ),
    ]
}

#[tokio::test]
async fn every_documented_body_bound_is_the_one_the_server_enforces() {
    let app = spawn_app(&[NO_WORKERS]).await;
    let doc = document(&app).await;
    let mut checked = 0;
    for (method, path, bases) in valid_bodies() {
        let url = path.replace("{id}", &Uuid::now_v7().to_string());
        let mut fields = Vec::new();
        bounded_fields(
            &doc,
            request_schema(&doc, path, method),
            Vec::new(),
            &mut fields,
        );
        assert!(!fields.is_empty(), "{method} {path} documents no bound");
        for (field_path, schema) in fields {
            let field = field_name(&field_path);
            for (value, allowed) in boundary_values(&schema, lookup(&bases[0], &field_path)) {
                if allowed && checked_beyond_length(&field) && value.is_string() {
                    continue;
                }
                let mut refusals = Vec::new();
                for base in &bases {
                    let current = lookup(base, &field_path);
                    let value = match &value {
                        // Arrays repeat the item of their own base body.
                        Value::Array(items) => sized(&schema, current, items.len()),
                        other => other.clone(),
                    };
                    let body = with_value(base, &field_path, value);
                    let request = app
                        .client
                        .request(method.to_uppercase().parse().unwrap(), app.url(&url))
                        .json(&body);
                    let response = request.send().await.expect("sent");
                    refusals.push(names(&refused_fields(response).await, "body", &field));
                }
                let value = short(&value);
                if allowed {
                    assert!(
                        refusals.contains(&false),
                        "{method} {path}: {field} = {value} is within the documented {schema} but refused"
                    );
                } else {
                    assert!(
                        !refusals.contains(&false),
                        "{method} {path}: {field} = {value} is past the documented {schema} but accepted"
                    );
                }
                checked += 1;
            }
        }
    }
    assert!(checked > 60, "only {checked} boundary values tried");
    app.stop().await;
}

#[tokio::test]
async fn every_documented_parameter_bound_is_the_one_the_server_enforces() {
    let app = spawn_app(&[NO_WORKERS]).await;
    let doc = document(&app).await;
    let bodies = valid_bodies();
    let mut checked = Vec::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for (method, operation) in item.as_object().expect("operations") {
            for parameter in operation["parameters"].as_array().into_iter().flatten() {
                let (name, location) = (
                    parameter["name"].as_str().expect("name"),
                    parameter["in"].as_str().expect("in"),
                );
                let schema = non_null(&doc, &parameter["schema"]);
                for (value, allowed) in boundary_values(schema, &Value::Null) {
                    let raw = match &value {
                        Value::String(s) => s.clone(),
                        other => other.to_string(),
                    };
                    let mut url = reqwest::Url::parse(
                        &app.url(&path.replace("{job_id}", &Uuid::now_v7().to_string())),
                    )
                    .expect("URL");
                    if location == "query" {
                        let mut query = url.query_pairs_mut();
                        if name != "user_id" {
                            query.append_pair("user_id", "bounds");
                        }
                        query.append_pair(name, &raw);
                    }
                    let request = app
                        .client
                        .request(method.to_uppercase().parse().unwrap(), url);
                    let request = match location {
                        "query" => request,
                        "header" => {
                            let (.., body) =
                                bodies.iter().find(|(_, p, _)| p == path).expect("a body");
                            request.header(name, raw.as_str()).json(&body[0])
                        }
                        other => panic!("{method} {path}: a bound on a {other} parameter"),
                    };
                    let response = request.send().await.expect("sent");
                    let refused = names(&refused_fields(response).await, location, name);
                    assert_eq!(
                        refused, !allowed,
                        "{method} {path}: {location} {name} = {raw:?} against the documented {schema}"
                    );
                    checked.push(format!("{method} {path} {name}"));
                }
            }
        }
    }
    checked.dedup();
    for wanted in [
        "get /v1/jobs limit",
        "get /v1/jobs user_id",
        "get /v1/operator/jobs limit",
        "get /v1/destinations month",
        "get /v1/destinations limit",
        "get /v1/status/{job_id} wait",
        "get /v1/watchlists user_id",
        "post /v1/plan Idempotency-Key",
    ] {
        assert!(
            checked.iter().any(|c| c == wanted),
            "{wanted} has no documented bound"
        );
    }
    app.stop().await;
}

#[tokio::test]
async fn every_route_that_reads_json_documents_and_answers_415() {
    let app = spawn_app(&[NO_WORKERS]).await;
    let doc = document(&app).await;
    let mut with_body = Vec::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for (method, operation) in item.as_object().expect("operations") {
            let documented = operation["responses"].get("415").is_some();
            if operation.get("requestBody").is_none() {
                assert!(
                    !documented,
                    "{method} {path} reads no body but documents 415"
                );
                continue;
            }
            assert!(
                documented,
                "{method} {path} takes JSON but does not document 415"
            );
            let url = path
                .replace("{id}", &Uuid::now_v7().to_string())
                .replace("{job_id}", &Uuid::now_v7().to_string());
            let response = app
                .client
                .request(method.to_uppercase().parse().unwrap(), app.url(&url))
                .header("content-type", "text/plain")
                .body(r#"{"user_id": "u"}"#)
                .send()
                .await
                .expect("sent");
            assert_eq!(
                response.status(),
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "{method} {path}"
            );
            let body: Value = response.json().await.expect("ErrorResponse");
            assert_eq!(body["error"], "UnsupportedMediaType");
            with_body.push(format!("{method} {path}"));
        }
    }
    with_body.sort();
    assert_eq!(
        with_body,
        [
            "patch /v1/watchlists/{id}",
            "post /v1/approve",
            "post /v1/feedback",
            "post /v1/plan",
            "post /v1/suggest",
            "post /v1/watchlists",
        ]
    );
    app.stop().await;
}

#[tokio::test]
async fn every_request_field_with_a_server_limit_documents_it() {
    let app = spawn_app(&[NO_WORKERS]).await;
    let doc = document(&app).await;
    let mut unbounded = Vec::new();
    for (method, path, _) in valid_bodies() {
        let mut fields = Vec::new();
        every_field(
            &doc,
            request_schema(&doc, path, method),
            Vec::new(),
            &mut fields,
        );
        for (field_path, schema) in fields {
            let has = |key: &str| schema.get(key).is_some();
            let kinds = types(&schema);
            let bounded = if schema.get("enum").is_some() || kinds.contains(&"boolean") {
                true
            } else if kinds.contains(&"string") {
                has("maxLength")
            } else if kinds.contains(&"integer") {
                has("minimum") && has("maximum")
            } else if kinds.contains(&"number") {
                has("minimum") || has("exclusiveMinimum")
            } else if kinds.contains(&"array") {
                has("maxItems")
            } else {
                // Objects: their fields are checked one by one; free-form
                // ones are bounded by depth and body size.
                true
            };
            if !bounded {
                unbounded.push(format!("{method} {path} {}", field_name(&field_path)));
            }
        }
    }
    assert!(
        unbounded.is_empty(),
        "fields the server limits, documented without a bound: {unbounded:?}"
    );
    app.stop().await;
}

/// Every field schema of a request body, with its path.
fn every_field(doc: &Value, schema: &Value, path: Vec<Step>, out: &mut Vec<(Vec<Step>, Value)>) {
    let schema = non_null(doc, schema);
    if !path.is_empty() {
        out.push((path.clone(), schema.clone()));
    }
    for (key, property) in schema["properties"].as_object().into_iter().flatten() {
        let mut inner = path.clone();
        inner.push(Step::Key(key.clone()));
        every_field(doc, property, inner, out);
    }
    if schema.get("items").is_some() {
        let mut inner = path;
        inner.push(Step::Item);
        every_field(doc, &schema["items"], inner, out);
    }
}

/// Where `value` departs from `schema`: wrong types, missing required keys,
/// and keys the schema does not list (the documented payloads are closed).
fn departures(doc: &Value, schema: &Value, value: &Value, at: &str, out: &mut Vec<String>) {
    let schema = resolve(doc, schema);
    if let Some(options) = schema["oneOf"].as_array() {
        let fits = options.iter().any(|option| {
            let mut inner = Vec::new();
            departures(doc, option, value, at, &mut inner);
            inner.is_empty()
        });
        if !fits {
            out.push(format!("{at}: {value} fits none of {schema}"));
        }
        return;
    }
    let kinds = types(schema);
    let kind = match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_f64() => "number",
        Value::Number(_) => "integer",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    };
    let allowed = kinds.is_empty()
        || kinds.contains(&kind)
        || (kind == "integer" && kinds.contains(&"number"));
    if !allowed {
        out.push(format!("{at}: {value} is not {kinds:?}"));
        return;
    }
    if let Some(options) = schema["enum"].as_array()
        && !options.contains(value)
    {
        out.push(format!("{at}: {value} is not one of {options:?}"));
    }
    match value {
        Value::Object(object) => {
            for key in schema["required"].as_array().into_iter().flatten() {
                let key = key.as_str().unwrap_or_default();
                if !object.contains_key(key) {
                    out.push(format!("{at}: {key} is missing"));
                }
            }
            let properties = schema["properties"].as_object();
            for (key, inner) in object {
                match properties.and_then(|p| p.get(key)) {
                    Some(property) => departures(doc, property, inner, &format!("{at}.{key}"), out),
                    None if properties.is_some()
                        && schema.get("additionalProperties").is_none() =>
                    {
                        out.push(format!("{at}.{key} is not documented"))
                    }
                    None => {}
                }
            }
        }
        Value::Array(items) if schema.get("items").is_some() => {
            for (i, item) in items.iter().enumerate() {
                departures(doc, &schema["items"], item, &format!("{at}[{i}]"), out);
            }
        }
        _ => {}
    }
}

async fn streamed(app: &TestApp, id: &str) -> Vec<support::sse::Frame> {
    let mut reader = SseReader::open(app.client.get(app.url(&format!("/v1/stream/{id}")))).await;
    reader.events_until_closed(WAIT).await
}

#[tokio::test]
async fn every_streamed_event_fits_its_documented_payload() {
    let app = spawn_app(&[]).await;
    let doc = document(&app).await;
    let payloads = &doc["components"]["schemas"]["StreamEvents"];
    // agent_progress comes from a model writing: no fake model streams here.
    assert_eq!(
        payloads["properties"]["agent_progress"]["$ref"],
        "#/components/schemas/AgentProgressEvent"
    );
    let user = "sse-schema";
    let completed = app
        .start_job(
            "/v1/plan",
            json!({"user_id": user, "query": "3 days in Hanoi from Ho Chi Minh City"}),
        )
        .await;
    let failed = app
        .start_job(
            "/v1/plan",
            json!({"user_id": user, "query": "Plan me a trip please"}),
        )
        .await;
    let paused = app
        .start_job(
            "/v1/plan",
            json!({"user_id": user, "query": "5 days in Tokyo from LAX", "constraints": {"budget_usd": 100}}),
        )
        .await;
    app.wait_status(&completed, "completed").await;
    app.wait_status(&failed, "failed").await;
    app.wait_status(&paused, "waiting_approval").await;

    // A client joining the paused job: its first frame carries approval_data.
    let mut reader =
        SseReader::open(app.client.get(app.url(&format!("/v1/stream/{paused}")))).await;
    let mut frames = vec![reader.next(WAIT).await.expect("first frame")];
    assert!(
        frames[0].json().get("approval_data").is_some(),
        "{:?}",
        frames[0]
    );
    drop(reader);
    let cancelled = app.post_empty(&format!("/v1/jobs/{paused}/cancel")).await;
    assert_eq!(cancelled.status(), StatusCode::OK);

    for id in [&completed, &failed, &paused] {
        frames.extend(streamed(&app, id).await);
    }
    let mut seen = HashSet::new();
    let mut problems = Vec::new();
    for frame in &frames {
        let schema = &payloads["properties"][frame.event()];
        assert!(
            schema.is_object(),
            "event {} has no documented payload",
            frame.event()
        );
        departures(&doc, schema, &frame.json(), frame.event(), &mut problems);
        seen.insert(frame.event().to_string());
    }
    assert!(
        problems.is_empty(),
        "events that depart from their documented payload: {problems:#?}"
    );
    for event in [
        "state_change",
        "task_start",
        "task_complete",
        "agent_output",
        "validation_result",
        "error",
        "complete",
    ] {
        assert!(seen.contains(event), "no {event} event was streamed");
    }
    app.stop().await;
}

/// A value as a failure message shows it: long strings and lists cut short.
fn short(value: &Value) -> String {
    let text = value.to_string();
    if text.len() > 80 {
        format!("{}… ({} bytes)", &text[..60], text.len())
    } else {
        text
    }
}

#[tokio::test]
async fn the_agent_progress_event_payload_is_documented() {
    let app = spawn_app(&[]).await;
    let doc: Value = app
        .get("/api/openapi.json")
        .await
        .json()
        .await
        .expect("JSON");
    app.stop().await;
    let schema = &doc["components"]["schemas"]["AgentProgressEvent"];
    let properties = schema["properties"].as_object().expect("properties");
    let mut names: Vec<&str> = properties.keys().map(String::as_str).collect();
    names.sort();
    assert_eq!(names, ["agent", "text", "tokens"]);
    let required: Vec<&str> = schema["required"]
        .as_array()
        .expect("required")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert!(
        required.contains(&"agent") && required.contains(&"tokens") && !required.contains(&"text")
    );
    let stream = doc["paths"]["/v1/stream/{job_id}"]["get"]["responses"]["200"]["description"]
        .as_str()
        .unwrap_or_default();
    assert!(stream.contains("agent_progress"), "{stream}");
}
