//! Issue 15: what fuzzing, a real browser and a typed-client generator found.
//! Each test states one hardened behaviour, over HTTP against the real app
//! and the local Redis.

mod support;

use std::time::Duration;

use chrono::Utc;
use lotara::jobs::{Approval, Change, EventKind, Job, JobStatus, NewEvent, Stage, transitions};
use reqwest::StatusCode;
use serde_json::{Value, json};
use support::app::{TestApp, spawn_app};
use support::sse::SseReader;
use uuid::Uuid;

const NO_WORKERS: (&str, &str) = ("WORKER_CONCURRENCY", "0");
const WAIT: Duration = Duration::from_secs(10);

async fn app() -> TestApp {
    spawn_app(&[NO_WORKERS]).await
}

fn nested(levels: usize) -> Value {
    let mut value = json!(1);
    for _ in 0..levels {
        value = json!({ "a": value });
    }
    value
}

fn fields(body: &Value) -> Vec<String> {
    body["details"]["errors"]
        .as_array()
        .map(|d| {
            d.iter()
                .map(|e| e["field"].as_str().unwrap_or("").to_string())
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test]
async fn deeply_nested_fields_are_refused_at_the_door_and_accepted_ones_stay_readable() {
    let app = app().await;
    for levels in [40, 126] {
        let response = app
            .post_json(
                "/v1/plan",
                &json!({"user_id": "deep", "query": "Tokyo", "constraints": nested(levels)}),
            )
            .await;
        assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let body: Value = response.json().await.unwrap();
        assert_eq!(fields(&body), ["constraints"], "{body}");

        let response = app
            .post_json(
                "/v1/suggest",
                &json!({"user_id": "deep", "trigger_type": "price_drop", "context": nested(levels)}),
            )
            .await;
        assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let body: Value = response.json().await.unwrap();
        assert_eq!(fields(&body), ["context"], "{body}");
    }

    // As deep as the door allows: status, listing and cancel all read it.
    let mut constraints = nested(31);
    constraints["budget_usd"] = json!(2000);
    let id = app
        .start_job(
            "/v1/plan",
            json!({"user_id": "deep", "query": "Tokyo", "constraints": constraints}),
        )
        .await;
    assert_eq!(
        app.get(&format!("/v1/status/{id}")).await.status(),
        StatusCode::OK
    );
    let listed: Value = app.get("/v1/jobs?user_id=deep").await.json().await.unwrap();
    assert_eq!(listed["jobs"][0]["job_id"], json!(id));
    let cancel = app
        .client
        .post(app.url(&format!("/v1/jobs/{id}/cancel")))
        .send()
        .await
        .unwrap();
    assert_eq!(cancel.status(), StatusCode::OK);
    app.stop().await;
}

#[tokio::test]
async fn user_ids_and_idempotency_keys_cannot_name_each_others_keys() {
    let app = app().await;
    let first = app
        .start_job(
            "/v1/plan",
            json!({"user_id": "a}:idem:y", "query": "Tokyo"}),
        )
        .await;
    let response = app
        .client
        .post(app.url("/v1/plan"))
        .header("Idempotency-Key", "y}:jobs")
        .json(&json!({"user_id": "a", "query": "Tokyo"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    let second: Value = response.json().await.unwrap();

    for (user, id) in [
        ("a%7D%3Aidem%3Ay", &first),
        ("a", &second["job_id"].as_str().unwrap().to_string()),
    ] {
        let listed: Value = app
            .get(&format!("/v1/jobs?user_id={user}"))
            .await
            .json()
            .await
            .unwrap();
        let ids: Vec<&str> = listed["jobs"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|j| j["job_id"].as_str())
            .collect();
        assert_eq!(ids, [id.as_str()], "{user}: {listed}");
    }
    app.stop().await;
}

#[tokio::test]
async fn a_user_id_is_trimmed_once_so_its_jobs_are_listed() {
    let app = app().await;
    let id = app
        .start_job("/v1/plan", json!({"user_id": " sp ", "query": "Tokyo"}))
        .await;
    assert_eq!(app.status(&id).await["user_id"], "sp");
    for query in ["sp", "%20sp%20"] {
        let listed: Value = app
            .get(&format!("/v1/jobs?user_id={query}"))
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(listed["jobs"][0]["job_id"], json!(id), "{query}");
    }
    let response = app
        .post_json("/v1/plan", &json!({"user_id": "a\u{7}b", "query": "Tokyo"}))
        .await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    app.stop().await;
}

#[tokio::test]
async fn impossible_constraints_are_refused_at_the_door_naming_the_field() {
    let app = app().await;
    let yesterday = (chrono::Utc::now().date_naive() - chrono::Duration::days(1)).to_string();
    let cases = [
        (json!({"budget_usd": 0}), "constraints.budget_usd"),
        (json!({"budget_usd": -0.0}), "constraints.budget_usd"),
        (json!({"start_date": yesterday}), "constraints.start_date"),
        (
            json!({"start_date": "2027-02-30"}),
            "constraints.start_date",
        ),
        (json!({"duration_days": 45}), "constraints.duration_days"),
    ];
    for (constraints, field) in cases {
        for (path, body) in [
            (
                "/v1/plan",
                json!({"user_id": "u", "query": "Tokyo", "constraints": constraints}),
            ),
            (
                "/v1/suggest",
                json!({"user_id": "u", "trigger_type": "price_drop", "context": {}, "constraints": constraints}),
            ),
        ] {
            let response = app.post_json(path, &body).await;
            assert_eq!(
                response.status(),
                StatusCode::UNPROCESSABLE_ENTITY,
                "{path} {constraints}"
            );
            let body: Value = response.json().await.unwrap();
            assert_eq!(fields(&body), [field], "{body}");
        }
    }
    let tomorrow = (chrono::Utc::now().date_naive() + chrono::Duration::days(1)).to_string();
    app.start_job(
        "/v1/plan",
        json!({"user_id": "u", "query": "Tokyo", "constraints": {"budget_usd": 0.5, "start_date": tomorrow, "duration_days": 30}}),
    )
    .await;
    app.stop().await;
}

async fn create_plan(app: &TestApp) -> Uuid {
    app.start_job("/v1/plan", json!({"user_id": "streamer", "query": "Tokyo"}))
        .await
        .parse()
        .unwrap()
}

async fn complete(app: &TestApp, id: Uuid) {
    app.store
        .apply(id, &|job: &mut Job| {
            job.status = JobStatus::Completed;
            job.completed_at = Some(Utc::now());
            job.final_result = Some(json!({"summary": "done"}));
            Ok(Change::events(vec![
                transitions::status_event(job),
                NewEvent::new(EventKind::Complete, json!({"result": {"summary": "done"}})),
            ]))
        })
        .await
        .unwrap();
}

fn stream(app: &TestApp, id: Uuid, last: &str) -> reqwest::RequestBuilder {
    app.client
        .get(app.url(&format!("/v1/stream/{id}")))
        .header("Last-Event-ID", last)
}

#[tokio::test]
async fn a_last_event_id_past_the_log_still_closes_at_the_terminal_event() {
    let app = app().await;
    for future in [
        "99999999999999-0",
        "18446744073709551615-18446744073709551615",
    ] {
        let id = create_plan(&app).await;
        let mut live = SseReader::open(stream(&app, id, future)).await;
        assert_eq!(live.status, StatusCode::OK);
        let first = live.next(WAIT).await.expect("snapshot");
        assert_eq!(first.event(), "state_change");
        complete(&app, id).await;
        let frames = live.events_until_closed(WAIT).await;
        assert_eq!(
            frames.last().map(|f| f.event()),
            Some("complete"),
            "{future}"
        );
    }
    app.stop().await;
}

#[tokio::test]
async fn malformed_or_out_of_range_ids_never_get_a_5xx() {
    let app = app().await;
    let id = create_plan(&app).await;
    complete(&app, id).await;
    for (last, wanted) in [
        (
            "18446744073709551615-18446744073709551615",
            StatusCode::NO_CONTENT,
        ),
        ("18446744073709551615-0", StatusCode::NO_CONTENT),
        (
            "99999999999999999999999-0",
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        ("abc", StatusCode::UNPROCESSABLE_ENTITY),
        ("0-0", StatusCode::OK),
    ] {
        let response = stream(&app, id, last).send().await.unwrap();
        assert_eq!(response.status(), wanted, "{last}");
        if wanted == StatusCode::UNPROCESSABLE_ENTITY {
            let body: Value = response.json().await.unwrap();
            assert_eq!(body["error"], "ValidationError");
        }
    }
    app.stop().await;
}

#[tokio::test]
async fn a_reconnect_at_or_past_the_terminal_event_gets_204_and_earlier_ones_replay() {
    let app = app().await;
    let id = create_plan(&app).await;
    complete(&app, id).await;
    let mut full = SseReader::open(app.client.get(app.url(&format!("/v1/stream/{id}")))).await;
    let frames = full.events_until_closed(WAIT).await;
    let ids: Vec<String> = frames.iter().filter_map(|f| f.id.clone()).collect();
    let terminal = ids.last().unwrap().clone();
    assert_eq!(
        stream(&app, id, &terminal).send().await.unwrap().status(),
        StatusCode::NO_CONTENT
    );
    let by_query = app
        .client
        .get(app.url(&format!("/v1/stream/{id}?last_event_id={terminal}")))
        .send()
        .await
        .unwrap();
    assert_eq!(by_query.status(), StatusCode::NO_CONTENT);
    // Every earlier id still replays what followed it.
    let mut earlier = SseReader::open(stream(&app, id, &ids[0])).await;
    let replayed = earlier.events_until_closed(WAIT).await;
    let replayed_ids: Vec<String> = replayed.iter().filter_map(|f| f.id.clone()).collect();
    assert_eq!(replayed_ids, ids[1..]);
    app.stop().await;
}

#[tokio::test]
async fn the_first_frame_carries_approval_data_while_waiting_for_approval() {
    let app = app().await;
    let id = create_plan(&app).await;
    app.store
        .apply(id, &|job: &mut Job| {
            job.status = JobStatus::WaitingApproval;
            job.stage = Some(Stage::Approval);
            job.approval = Some(Approval {
                requested_at: Utc::now(),
                data: json!({"reason": "budget_override", "overage_usd": 120}),
                decision: None,
            });
            Ok(Change::none())
        })
        .await
        .unwrap();
    let mut live = SseReader::open(app.client.get(app.url(&format!("/v1/stream/{id}")))).await;
    let first = live.next(WAIT).await.expect("snapshot").json();
    assert_eq!(first["status"], "waiting_approval");
    assert_eq!(first["approval_data"]["overage_usd"], 120, "{first}");
    app.stop().await;
}

#[tokio::test]
async fn cors_star_allows_any_origin_without_credentials_and_origins_are_normalised() {
    let any = spawn_app(&[NO_WORKERS, ("CORS_ORIGINS", "*")]).await;
    let response = any
        .client
        .get(any.url("/health"))
        .header("Origin", "https://anywhere.example")
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["access-control-allow-origin"], "*");
    assert!(
        !response
            .headers()
            .contains_key("access-control-allow-credentials")
    );
    any.stop().await;

    let listed = spawn_app(&[NO_WORKERS, ("CORS_ORIGINS", "https://App.Example.com/")]).await;
    let response = listed
        .client
        .get(listed.url("/health"))
        .header("Origin", "https://app.example.com")
        .send()
        .await
        .unwrap();
    assert_eq!(
        response.headers()["access-control-allow-origin"],
        "https://app.example.com"
    );
    listed.stop().await;
}

#[tokio::test]
async fn framework_rejections_are_the_json_error_response() {
    let app = app().await;
    let cases = [
        ("GET", "/v1/status/%FF"),
        ("GET", "/v1/stream/%FF"),
        ("POST", "/v1/jobs/%FF/cancel"),
        ("GET", "/v1/watchlists/%FF"),
        ("DELETE", "/v1/watchlists/%FF"),
        ("POST", "/v1/scheduler/%FF/run"),
        (
            "GET",
            "/v1/stream/0193a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b?last_event_id=1-0&last_event_id=2-0",
        ),
    ];
    for (method, path) in cases {
        let response = app
            .client
            .request(method.parse().unwrap(), app.url(path))
            .send()
            .await
            .unwrap();
        assert!(response.status().is_client_error(), "{method} {path}");
        let body: Value = response
            .json()
            .await
            .unwrap_or_else(|e| panic!("{method} {path}: not JSON: {e}"));
        assert_eq!(body["error"], "BadRequest", "{method} {path}: {body}");
        assert!(body["message"].as_str().is_some_and(|m| !m.is_empty()));
        assert!(body["timestamp"].is_string());
    }
    app.stop().await;
}

async fn closed_within(stream: &mut tokio::net::TcpStream, limit: Duration) -> bool {
    use tokio::io::AsyncReadExt;
    let mut buf = [0u8; 1024];
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        match tokio::time::timeout_at(deadline, stream.read(&mut buf)).await {
            Err(_) => return false,
            Ok(Ok(0)) | Ok(Err(_)) => return true,
            Ok(Ok(_)) => {}
        }
    }
}

#[tokio::test]
async fn slow_heads_and_idle_connections_are_closed_and_slow_bodies_get_408() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let app = spawn_app(&[
        NO_WORKERS,
        ("HEADER_READ_TIMEOUT_SECS", "1"),
        ("REQUEST_TIMEOUT_SECS", "1"),
    ])
    .await;
    let address = app.address.trim_start_matches("http://").to_string();

    let mut idle = tokio::net::TcpStream::connect(&address).await.unwrap();
    assert!(
        closed_within(&mut idle, Duration::from_secs(5)).await,
        "idle socket kept"
    );

    let mut slow_head = tokio::net::TcpStream::connect(&address).await.unwrap();
    slow_head
        .write_all(b"GET /health HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();
    assert!(
        closed_within(&mut slow_head, Duration::from_secs(5)).await,
        "slow head kept"
    );

    let mut slow_body = tokio::net::TcpStream::connect(&address).await.unwrap();
    slow_body
        .write_all(
            b"POST /v1/plan HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"user_id\"",
        )
        .await
        .unwrap();
    let mut answer = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(10), slow_body.read_to_end(&mut answer)).await;
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains("\"RequestTimeout\""), "{answer}");

    // Requests that arrive in time are served as before.
    assert_eq!(app.get("/health").await.status(), StatusCode::OK);
    app.stop().await;
}

#[tokio::test]
async fn the_open_file_limit_is_raised_to_the_hard_limit_at_start() {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit/setrlimit only read and write the struct passed.
    // The soft limit is lowered a little first (harmless to tests running
    // beside this one), so the start has something to raise.
    unsafe {
        assert_eq!(libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit), 0);
        let lowered = libc::rlimit {
            rlim_cur: limit.rlim_max - 1,
            rlim_max: limit.rlim_max,
        };
        assert_eq!(libc::setrlimit(libc::RLIMIT_NOFILE, &lowered), 0);
    }
    let app = app().await;
    // SAFETY: as above.
    assert_eq!(
        unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) },
        0
    );
    assert_eq!(limit.rlim_cur, limit.rlim_max);
    app.stop().await;
}

#[tokio::test]
async fn metrics_export_every_series_from_the_start() {
    let app = app().await;
    let text = app.get("/metrics").await.text().await.unwrap();
    for series in [
        r#"lotara_jobs_created_total{mode="proactive"}"#,
        r#"lotara_llm_calls_total{outcome="failed"}"#,
        "lotara_llm_tokens_total",
        "lotara_feedback_total",
        r#"lotara_monitor_runs_total{task="budget_check"}"#,
        r#"lotara_suggestions_total{trigger="calendar_gap"}"#,
        r#"lotara_opik_dropped_items_total{reason="queue_full"}"#,
        "lotara_opik_sent_items_total",
        "lotara_opik_outages_total",
        "lotara_opik_unsent_items",
        "lotara_sse_streams_open",
        "lotara_hub_subscribers",
        "lotara_queue_depth",
    ] {
        assert!(
            text.lines().any(|l| l.starts_with(series)),
            "{series} missing from /metrics:\n{text}"
        );
    }
    app.stop().await;
}

#[tokio::test]
async fn the_docs_and_the_served_document_describe_this_service_as_it_is() {
    let root = env!("CARGO_MANIFEST_DIR");
    let mut texts: Vec<(String, String)> = ["README.md", "INTEGRATION.md"]
        .iter()
        .map(|f| {
            (
                f.to_string(),
                std::fs::read_to_string(format!("{root}/{f}")).unwrap(),
            )
        })
        .collect();
    let app = app().await;
    texts.push((
        "/api/openapi.json".into(),
        app.get("/api/openapi.json").await.text().await.unwrap(),
    ));
    app.stop().await;
    for (name, text) in &texts {
        for stale in [
            "beyond the original",
            "another branch",
            "not in this version",
            "opik.md",
            "API.md",
        ] {
            assert!(
                !text.to_lowercase().contains(&stale.to_lowercase()),
                "{name} still says {stale:?}"
            );
        }
    }
}

/// Sends `request` on a new connection and reads the answer to its end
/// (`Connection: close`): the status, the head and the body.
async fn raw_exchange(app: &TestApp, request: &[u8]) -> (u16, String, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let address = app.address.trim_start_matches("http://");
    let mut stream = tokio::net::TcpStream::connect(address).await.unwrap();
    stream.write_all(request).await.unwrap();
    let mut answer = Vec::new();
    tokio::time::timeout(WAIT, stream.read_to_end(&mut answer))
        .await
        .expect("answered within the deadline")
        .unwrap();
    let answer = String::from_utf8_lossy(&answer).into_owned();
    let (head, body) = answer.split_once("\r\n\r\n").unwrap_or((&answer, ""));
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status line: {answer}"));
    (status, head.to_ascii_lowercase(), body.to_string())
}

#[tokio::test]
async fn oversized_uris_and_headers_get_the_json_error_response() {
    let app = app().await;
    let long_uri = format!(
        "GET /health?pad={} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        "a".repeat(20_000)
    );
    let one_big_header = format!(
        "GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\nX-Pad: {}\r\n\r\n",
        "b".repeat(100_000)
    );
    let many_headers = format!(
        "GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n{}\r\n",
        (0..200)
            .map(|i| format!("X-Pad-{i}: {}\r\n", "c".repeat(500)))
            .collect::<String>()
    );
    for (request, status, code) in [
        (long_uri, 414, "UriTooLong"),
        (one_big_header, 431, "HeadersTooLarge"),
        (many_headers, 431, "HeadersTooLarge"),
    ] {
        let (got, head, body) = raw_exchange(&app, request.as_bytes()).await;
        assert_eq!(got, status, "{head}\n{body}");
        assert!(head.contains("content-type: application/json"), "{head}");
        let body: Value = serde_json::from_str(&body).unwrap_or_else(|e| panic!("{e}: {body}"));
        assert_eq!(body["error"], code, "{body}");
        assert!(body["message"].as_str().is_some_and(|m| !m.is_empty()));
        assert!(body["timestamp"].is_string() && body["details"].is_null());
    }

    // Heads within the limits are served as before.
    let fine = format!(
        "GET /health?pad={} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n{}\r\n",
        "a".repeat(6_000),
        (0..50)
            .map(|i| format!("X-Pad-{i}: {}\r\n", "c".repeat(200)))
            .collect::<String>()
    );
    let (status, head, _) = raw_exchange(&app, fine.as_bytes()).await;
    assert_eq!(status, 200, "{head}");
    app.stop().await;
}

#[tokio::test]
async fn the_start_up_line_names_the_url_docs_store_planner_and_opik() {
    let embedded = support::process::LotaraProcess::start_logged(
        "serve",
        &[
            ("HOST", "127.0.0.1"),
            ("PORT", "0"),
            ("WORKER_CONCURRENCY", "0"),
            ("SCHEDULER_ENABLED", "false"),
        ],
    );
    let line = embedded.log_line("lotara started", 20, Duration::from_secs(60));
    for expected in [
        "embedded in-memory store — forgets everything on restart",
        "embedded knowledge planner",
        "opik=\"off\"",
    ] {
        assert!(line.contains(expected), "{expected:?} missing: {line}");
    }
    // The URL it names answers, and so does the docs link.
    let url: String = line
        .split("url=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap_or_else(|| panic!("no url in {line}"))
        .to_string();
    assert!(url.starts_with("http://127.0.0.1:"), "{line}");
    assert!(line.contains(&format!("docs=\"{url}/api/docs\"")), "{line}");
    let client = reqwest::Client::new();
    for path in ["/health", "/api/docs/"] {
        let response = client.get(format!("{url}{path}")).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{path}");
    }
    drop(embedded);

    // With Redis, an LLM and Opik configured (JSON logs): each is named
    // (that a password is not is a unit test in app.rs).
    let redis = support::redis_url();
    let prefix = support::unique_prefix();
    let configured = support::process::LotaraProcess::start_logged(
        "serve",
        &[
            ("HOST", "127.0.0.1"),
            ("PORT", "0"),
            ("WORKER_CONCURRENCY", "0"),
            ("SCHEDULER_ENABLED", "false"),
            ("LOG_FORMAT", "json"),
            ("REDIS_URL", &redis),
            ("REDIS_KEY_PREFIX", &prefix),
            ("LLM_BASE_URL", "http://127.0.0.1:9/v1"),
            ("LLM_MODEL", "qwen2.5:7b"),
            ("OPIK_URL_OVERRIDE", "http://127.0.0.1:9/api"),
        ],
    );
    let line = configured.log_line("lotara started", 20, Duration::from_secs(60));
    let fields = serde_json::from_str::<Value>(&line).unwrap()["fields"].clone();
    assert!(
        fields["store"]
            .as_str()
            .is_some_and(|s| s.starts_with(&format!("Redis at {redis}")) && s.contains(&prefix)),
        "{fields}"
    );
    assert_eq!(fields["planner"], "LLM qwen2.5:7b at http://127.0.0.1:9/v1");
    assert_eq!(
        fields["opik"],
        "on: http://127.0.0.1:9/api (project travel-lotara)"
    );
    assert!(
        fields["url"]
            .as_str()
            .unwrap()
            .starts_with("http://127.0.0.1:")
    );
}

#[test]
fn the_quick_start_says_how_long_the_first_build_takes_and_waits_for_the_service() {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let start = readme
        .find("## Quick start")
        .expect("a Quick start section");
    let section = &readme[start..];
    let section = &section[..section[3..].find("\n## ").map_or(section.len(), |i| i + 3)];
    let (prose, script) = section.split_once("```sh").expect("a shell block");
    assert!(
        prose.contains("first `cargo build --release`")
            && prose.contains("minutes")
            && prose.contains("2-core"),
        "the first build's time, measured on a named machine size: {prose}"
    );
    // The first request goes to /health, in a loop with a bound, before anything else.
    let first_curl = script.lines().find(|l| l.contains("curl")).unwrap();
    assert!(
        first_curl.contains("/health") && first_curl.trim_start().starts_with("for _ in $(seq"),
        "{first_curl}"
    );
}
