//! The HTTP contract of API.md, black-box over HTTP against the real app on
//! port 0 and the local Redis. Workers are off here (`WORKER_CONCURRENCY=0`):
//! tests move jobs through the store as a worker would.

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

async fn create_plan(app: &TestApp) -> Uuid {
    let response = app
        .post_json(
            "/v1/plan",
            &json!({"user_id": "user-1", "query": "5 days in Tokyo under $3000"}),
        )
        .await;
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    let body: Value = response.json().await.unwrap();
    body["job_id"].as_str().unwrap().parse().unwrap()
}

async fn pause_for_approval(app: &TestApp, id: Uuid) {
    app.store
        .apply(id, &|job: &mut Job| {
            job.status = JobStatus::WaitingApproval;
            job.stage = Some(Stage::Approval);
            job.approval = Some(Approval {
                requested_at: Utc::now(),
                data: json!({"reason": "budget_override"}),
                decision: None,
            });
            Ok(Change::none())
        })
        .await
        .unwrap();
}

async fn emit(app: &TestApp, id: Uuid, n: usize) {
    app.store
        .apply(id, &move |_: &mut Job| {
            Ok(Change::event(NewEvent::new(
                EventKind::AgentOutput,
                json!({"key": "n", "value": n}),
            )))
        })
        .await
        .unwrap();
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

fn assert_error(body: &Value, code: &str) {
    assert_eq!(body["error"], code, "{body}");
    assert!(
        body["message"].as_str().is_some_and(|m| !m.is_empty()),
        "{body}"
    );
    assert!(
        body["timestamp"].as_str().is_some_and(|t| t.ends_with('Z')),
        "{body}"
    );
    assert!(
        body.get("job_id").is_some() && body.get("details").is_some(),
        "{body}"
    );
}

#[tokio::test]
async fn plan_is_accepted_with_the_original_job_response() {
    let app = app().await;
    let response = app
        .post_json("/v1/plan", &json!({
            "user_id": "user-1",
            "query": "Plan a 5-day trip to Tokyo for under $3000",
            "constraints": {"budget_usd": 3000, "interests": ["food"], "my_custom_key": {"x": 1}},
            "session_id": "s-1"
        }))
        .await;
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["user_id"], "user-1");
    assert_eq!(body["status"], "started");
    assert!(body["result"].is_null());
    assert!(body["message"].is_string());
    let created = body["created_at"].as_str().unwrap();
    assert!(
        created.ends_with('Z') && created.len() == 24,
        "RFC 3339 with ms and Z: {created}"
    );
    let id: Uuid = body["job_id"].as_str().unwrap().parse().unwrap();
    let job = app.store.get(id).await.unwrap().unwrap();
    assert_eq!(
        job.request.constraints["my_custom_key"],
        json!({"x": 1}),
        "unknown keys are kept"
    );
    assert_eq!(job.request.session_id.as_deref(), Some("s-1"));
}

#[tokio::test]
async fn suggest_is_accepted_as_a_proactive_job() {
    let app = app().await;
    let response = app
        .post_json(
            "/v1/suggest",
            &json!({
                "user_id": "user-1", "trigger_type": "price_drop",
                "context": {"route": "LAX->NRT", "old_price": 850, "new_price": 650, "savings": 200}
            }),
        )
        .await;
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    let body: Value = response.json().await.unwrap();
    let status: Value = app
        .get(&format!("/v1/status/{}", body["job_id"].as_str().unwrap()))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(status["mode"], "proactive");
    assert_eq!(status["status"], "started");
}

#[tokio::test]
async fn status_reports_the_job_and_404s_an_unknown_one() {
    let app = app().await;
    let id = create_plan(&app).await;
    let response = app.get(&format!("/v1/status/{id}")).await;
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    for key in [
        "job_id",
        "status",
        "mode",
        "created_at",
        "updated_at",
        "completed_at",
        "progress",
        "current_output",
        "final_result",
        "error",
        "tasks",
        "opik_trace_url",
    ] {
        assert!(body.get(key).is_some(), "missing {key}: {body}");
    }
    assert_eq!(body["mode"], "reactive");
    assert!(body["progress"].is_null(), "no tasks yet → null progress");
    assert_eq!(body["tasks"], json!([]));

    for unknown in [Uuid::now_v7().to_string(), "not-a-uuid".to_string()] {
        let response = app.get(&format!("/v1/status/{unknown}")).await;
        assert_eq!(response.status(), StatusCode::NOT_FOUND);
        assert_error(&response.json().await.unwrap(), "NotFound");
    }
}

#[tokio::test]
async fn invalid_bodies_get_422_naming_every_bad_field() {
    let app = app().await;
    let response = app
        .post_json(
            "/v1/plan",
            &json!({"query": "", "constraints": {"budget_usd": "lots", "travelers": 0}}),
        )
        .await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body: Value = response.json().await.unwrap();
    assert_error(&body, "ValidationError");
    let fields: Vec<&str> = body["details"]["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(
        fields,
        [
            "user_id",
            "query",
            "constraints.budget_usd",
            "constraints.travelers"
        ]
    );
    assert!(
        body["details"]["errors"]
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["location"] == "body" && e["reason"].is_string())
    );

    let long = "x".repeat(2001);
    let response = app
        .post_json("/v1/plan", &json!({"user_id": "u", "query": long}))
        .await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);

    let malformed = app
        .post_raw("/v1/plan", "application/json", "{\"user_id\": ")
        .await;
    assert_eq!(malformed.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_error(&malformed.json().await.unwrap(), "ValidationError");

    let feedback = app
        .post_json(
            "/v1/feedback",
            &json!({"job_id": Uuid::now_v7(), "rating": 6}),
        )
        .await;
    assert_eq!(feedback.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let approve = app
        .post_json(
            "/v1/approve",
            &json!({"job_id": "x", "approved": "yes", "notes": "n".repeat(501)}),
        )
        .await;
    let body: Value = approve.json().await.unwrap();
    let fields: Vec<&str> = body["details"]["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["approved", "notes"]);
    let suggest = app
        .post_json(
            "/v1/suggest",
            &json!({"user_id": "u", "trigger_type": "price_drop", "context": [1]}),
        )
        .await;
    assert_eq!(suggest.status(), StatusCode::UNPROCESSABLE_ENTITY);
}

#[tokio::test]
async fn transport_errors_are_json_with_stable_codes() {
    let app = spawn_app(&[NO_WORKERS, ("MAX_BODY_BYTES", "2048")]).await;
    let text = app.post_raw("/v1/plan", "text/plain", "{}").await;
    assert_eq!(text.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert_error(&text.json().await.unwrap(), "UnsupportedMediaType");

    let big = json!({"user_id": "u", "query": "q", "constraints": {"pad": "x".repeat(4096)}});
    let too_large = app.post_json("/v1/plan", &big).await;
    assert_eq!(too_large.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert_error(&too_large.json().await.unwrap(), "PayloadTooLarge");

    let unknown = app.get("/v1/nothing-here").await;
    assert_eq!(unknown.status(), StatusCode::NOT_FOUND);
    assert_error(&unknown.json().await.unwrap(), "NotFound");

    let wrong_method = app.client.delete(app.url("/v1/plan")).send().await.unwrap();
    assert_eq!(wrong_method.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert_error(&wrong_method.json().await.unwrap(), "MethodNotAllowed");
    assert!(
        app.store
            .list_user_jobs("u", 10, None)
            .await
            .unwrap()
            .jobs
            .is_empty(),
        "nothing was created"
    );
}

#[tokio::test]
async fn approval_resumes_or_cancels_a_paused_job_only() {
    let app = app().await;
    let unknown = app
        .post_json(
            "/v1/approve",
            &json!({"job_id": Uuid::now_v7(), "approved": true}),
        )
        .await;
    assert_eq!(unknown.status(), StatusCode::NOT_FOUND);

    let id = create_plan(&app).await;
    let early = app
        .post_json("/v1/approve", &json!({"job_id": id, "approved": true}))
        .await;
    assert_eq!(early.status(), StatusCode::BAD_REQUEST);
    let body: Value = early.json().await.unwrap();
    assert_error(&body, "BadRequest");
    assert_eq!(body["message"], "Job is not awaiting approval");
    assert_eq!(body["job_id"], id.to_string());

    pause_for_approval(&app, id).await;
    let depth_before = app.store.queue_depth().await.unwrap();
    let ok = app
        .post_json(
            "/v1/approve",
            &json!({"job_id": id, "approved": true, "notes": "fine"}),
        )
        .await;
    assert_eq!(ok.status(), StatusCode::OK);
    assert_eq!(
        ok.json::<Value>().await.unwrap(),
        json!({"message": "Approval granted, workflow resuming"})
    );
    let job = app.store.get(id).await.unwrap().unwrap();
    assert_eq!(job.status, JobStatus::Executing);
    let decision = job.approval.unwrap().decision.unwrap();
    assert!(decision.approved);
    assert_eq!(decision.notes.as_deref(), Some("fine"));
    assert_eq!(
        app.store.queue_depth().await.unwrap(),
        depth_before + 1,
        "re-queued"
    );

    let other = create_plan(&app).await;
    pause_for_approval(&app, other).await;
    let no = app
        .post_json("/v1/approve", &json!({"job_id": other, "approved": false}))
        .await;
    assert_eq!(
        no.json::<Value>().await.unwrap(),
        json!({"message": "Approval denied, workflow cancelled"})
    );
    let status: Value = app
        .get(&format!("/v1/status/{other}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(status["status"], "cancelled");
    assert!(status["completed_at"].is_string());
    assert_eq!(status["approval"]["approved"], false);
}

#[tokio::test]
async fn feedback_is_kept_on_the_job_in_any_status() {
    let app = app().await;
    let id = create_plan(&app).await;
    for rating in [5, 2] {
        let response = app
            .post_json("/v1/feedback", &json!({"job_id": id, "rating": rating, "comment": "ok", "helpful_aspects": ["hotels"]}))
            .await;
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(
            response.json::<Value>().await.unwrap(),
            json!({"message": "Feedback submitted successfully"})
        );
    }
    let job = app.store.get(id).await.unwrap().unwrap();
    assert_eq!(
        job.feedback.iter().map(|f| f.rating).collect::<Vec<_>>(),
        vec![5, 2]
    );
    assert_eq!(
        job.feedback[0].helpful_aspects.as_deref(),
        Some(&["hotels".to_string()][..])
    );
    let unknown = app
        .post_json(
            "/v1/feedback",
            &json!({"job_id": Uuid::now_v7(), "rating": 3}),
        )
        .await;
    assert_eq!(unknown.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn jobs_list_newest_first_and_cancel_conflicts_once_finished() {
    let app = app().await;
    let ids = [
        create_plan(&app).await,
        create_plan(&app).await,
        create_plan(&app).await,
    ];
    let page: Value = app
        .get("/v1/jobs?user_id=user-1&limit=2")
        .await
        .json()
        .await
        .unwrap();
    let listed: Vec<&str> = page["jobs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|j| j["job_id"].as_str().unwrap())
        .collect();
    assert_eq!(listed, [ids[2].to_string(), ids[1].to_string()]);
    let cursor = page["next_cursor"].as_str().unwrap();
    let rest: Value = app
        .get(&format!("/v1/jobs?user_id=user-1&limit=2&cursor={cursor}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(rest["jobs"][0]["job_id"], ids[0].to_string());
    assert!(rest["next_cursor"].is_null());
    let bad = app.get("/v1/jobs?limit=0").await;
    assert_eq!(bad.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body: Value = bad.json().await.unwrap();
    assert_eq!(
        body["details"]["errors"].as_array().unwrap().len(),
        2,
        "user_id and limit: {body}"
    );

    let cancel = app.post_empty(&format!("/v1/jobs/{}/cancel", ids[0])).await;
    assert_eq!(cancel.status(), StatusCode::OK);
    assert_eq!(cancel.json::<Value>().await.unwrap()["status"], "cancelled");
    let again = app.post_empty(&format!("/v1/jobs/{}/cancel", ids[0])).await;
    assert_eq!(again.status(), StatusCode::CONFLICT);
    assert_error(&again.json().await.unwrap(), "Conflict");
    let missing = app
        .post_empty(&format!("/v1/jobs/{}/cancel", Uuid::now_v7()))
        .await;
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn stream_sends_snapshot_then_ids_then_closes_after_completion() {
    let app = app().await;
    let id = create_plan(&app).await;
    let mut stream = SseReader::open(app.client.get(app.url(&format!("/v1/stream/{id}")))).await;
    assert_eq!(stream.status, StatusCode::OK);
    assert_eq!(stream.headers["content-type"], "text/event-stream");
    assert_eq!(stream.headers["cache-control"], "no-cache");
    assert_eq!(stream.headers["x-accel-buffering"], "no");
    let snapshot = stream.next(WAIT).await.unwrap();
    assert_eq!(snapshot.event(), "state_change");
    assert_eq!(snapshot.id, None, "the snapshot has no id");
    assert!(snapshot.retry.is_some(), "retry is sent once, first");
    assert_eq!(
        snapshot.json(),
        json!({"status": "started", "current_state": "intake"})
    );

    let created = stream.next(WAIT).await.unwrap();
    assert_eq!(
        created.json(),
        json!({"status": "started", "mode": "reactive"})
    );
    for n in 0..3 {
        emit(&app, id, n).await;
    }
    complete(&app, id).await;
    let rest = stream.events_until_closed(WAIT).await;
    let kinds: Vec<&str> = rest.iter().map(|f| f.event()).collect();
    assert_eq!(
        kinds,
        [
            "agent_output",
            "agent_output",
            "agent_output",
            "state_change",
            "complete"
        ]
    );
    assert!(rest.iter().all(|f| f.id.is_some() && f.retry.is_none()));
    assert_eq!(rest[4].json(), json!({"result": {"summary": "done"}}));
}

#[tokio::test]
async fn stream_resumes_after_last_event_id_without_loss_or_repeats() {
    let app = app().await;
    let id = create_plan(&app).await;
    for n in 0..5 {
        emit(&app, id, n).await;
    }
    let logged = app.store.events_after(id, None).await.unwrap();
    let after = logged[2].id.to_string();
    let mut by_header = SseReader::open(
        app.client
            .get(app.url(&format!("/v1/stream/{id}")))
            .header("Last-Event-ID", &after),
    )
    .await;
    let mut by_query = SseReader::open(
        app.client
            .get(app.url(&format!("/v1/stream/{id}?last_event_id={after}"))),
    )
    .await;
    emit(&app, id, 5).await;
    complete(&app, id).await;
    let expected: Vec<String> = app
        .store
        .events_after(id, Some(logged[2].id))
        .await
        .unwrap()
        .iter()
        .map(|e| e.id.to_string())
        .collect();
    for stream in [&mut by_header, &mut by_query] {
        let frames = stream.events_until_closed(WAIT).await;
        assert!(frames[0].id.is_none(), "snapshot first");
        let ids: Vec<String> = frames[1..].iter().map(|f| f.id.clone().unwrap()).collect();
        assert_eq!(ids, expected);
    }
    let bad = app
        .client
        .get(app.url(&format!("/v1/stream/{id}")))
        .header("Last-Event-ID", "nope")
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), StatusCode::UNPROCESSABLE_ENTITY);
}

#[tokio::test]
async fn stream_of_a_finished_job_replays_and_closes() {
    let app = app().await;
    let id = create_plan(&app).await;
    app.store
        .apply(id, &|job: &mut Job| {
            transitions::fail(
                job,
                lotara::jobs::JobError {
                    message: "boom".into(),
                    code: "x".into(),
                },
            )
        })
        .await
        .unwrap();
    let mut stream = SseReader::open(app.client.get(app.url(&format!("/v1/stream/{id}")))).await;
    let frames = stream.events_until_closed(WAIT).await;
    let kinds: Vec<&str> = frames.iter().map(|f| f.event()).collect();
    assert_eq!(
        kinds,
        ["state_change", "state_change", "state_change", "error"]
    );
    assert_eq!(frames[0].json()["status"], "failed");
    assert_eq!(frames[3].json()["message"], "boom");
    // Reconnecting after the last event: 204, which stops an EventSource.
    let last = frames[3].id.clone().unwrap();
    let again = app
        .client
        .get(app.url(&format!("/v1/stream/{id}")))
        .header("Last-Event-ID", last)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), StatusCode::NO_CONTENT);

    let cancelled = create_plan(&app).await;
    let mut live =
        SseReader::open(app.client.get(app.url(&format!("/v1/stream/{cancelled}")))).await;
    app.post_empty(&format!("/v1/jobs/{cancelled}/cancel"))
        .await;
    let frames = live.events_until_closed(WAIT).await;
    assert_eq!(frames.last().unwrap().json()["status"], "cancelled");

    let unknown = app.get(&format!("/v1/stream/{}", Uuid::now_v7())).await;
    assert_eq!(unknown.status(), StatusCode::NOT_FOUND);
    assert_error(&unknown.json().await.unwrap(), "NotFound");
}

#[tokio::test]
async fn idle_streams_get_keep_alive_comments() {
    let app = spawn_app(&[NO_WORKERS, ("SSE_KEEPALIVE_SECS", "1")]).await;
    let id = create_plan(&app).await;
    let mut stream = SseReader::open(app.client.get(app.url(&format!("/v1/stream/{id}")))).await;
    stream.next(WAIT).await.unwrap();
    stream.next(WAIT).await.unwrap();
    let idle = stream.next(Duration::from_secs(3)).await.unwrap();
    assert_eq!(idle.comments, ["keep-alive"]);
    assert!(idle.event.is_none());
}

#[tokio::test]
async fn a_stalled_reader_does_not_hold_up_another() {
    let app = app().await;
    let id = create_plan(&app).await;
    let _stalled = SseReader::open(app.client.get(app.url(&format!("/v1/stream/{id}")))).await;
    let mut reader = SseReader::open(app.client.get(app.url(&format!("/v1/stream/{id}")))).await;
    reader.next(WAIT).await.unwrap();
    // Far more than one subscriber buffer while the first client reads nothing.
    let writer = {
        let store = app.store.clone();
        tokio::spawn(async move {
            for n in 0..500 {
                store
                    .apply(id, &move |_: &mut Job| {
                        Ok(Change::event(NewEvent::new(
                            EventKind::AgentOutput,
                            json!({"key": "n", "value": n}),
                        )))
                    })
                    .await
                    .unwrap();
            }
        })
    };
    writer.await.unwrap();
    complete(&app, id).await;
    let frames = reader.events_until_closed(WAIT).await;
    assert_eq!(
        frames.len(),
        1 + 500 + 2,
        "created + 500 + completion, each once"
    );
    let values: Vec<i64> = frames[1..501]
        .iter()
        .map(|f| f.json()["value"].as_i64().unwrap())
        .collect();
    assert_eq!(values, (0..500).collect::<Vec<_>>());
}

#[tokio::test]
async fn cors_allows_configured_origins_only() {
    let app = app().await;
    let allowed = app
        .client
        .get(app.url("/health"))
        .header("Origin", "http://localhost:3000")
        .send()
        .await
        .unwrap();
    assert_eq!(
        allowed.headers()["access-control-allow-origin"],
        "http://localhost:3000"
    );
    assert_eq!(
        allowed.headers()["access-control-allow-credentials"],
        "true"
    );
    let refused = app
        .client
        .get(app.url("/health"))
        .header("Origin", "https://evil.example")
        .send()
        .await
        .unwrap();
    assert!(
        refused
            .headers()
            .get("access-control-allow-origin")
            .is_none()
    );
    let preflight = app
        .client
        .request(reqwest::Method::OPTIONS, app.url("/v1/plan"))
        .header("Origin", "http://localhost:5173")
        .header("Access-Control-Request-Method", "POST")
        .header("Access-Control-Request-Headers", "content-type,x-api-key")
        .send()
        .await
        .unwrap();
    assert!(preflight.status().is_success());
    assert_eq!(
        preflight.headers()["access-control-allow-origin"],
        "http://localhost:5173"
    );
    assert_eq!(preflight.headers()["access-control-allow-methods"], "POST");
    assert_eq!(
        preflight.headers()["access-control-allow-headers"],
        "content-type,x-api-key"
    );
}

#[tokio::test]
async fn large_responses_are_gzipped_but_small_ones_and_streams_are_not() {
    let app = app().await;
    let gz = |path: &str| {
        app.client
            .get(app.url(path))
            .header("Accept-Encoding", "gzip")
    };
    let large = gz("/api/openapi.json").send().await.unwrap();
    assert_eq!(large.headers()["content-encoding"], "gzip");
    let small = gz("/").send().await.unwrap();
    assert!(small.headers().get("content-encoding").is_none());
    let id = create_plan(&app).await;
    let stream = SseReader::open(gz(&format!("/v1/stream/{id}"))).await;
    assert!(stream.headers.get("content-encoding").is_none());
}

#[tokio::test]
async fn every_response_carries_a_request_id() {
    let app = app().await;
    let fresh = app.get("/health").await;
    let id = fresh.headers()["x-request-id"].to_str().unwrap();
    assert!(Uuid::parse_str(id).is_ok());
    let given = app
        .client
        .get(app.url("/nope"))
        .header("x-request-id", "trace-me-42")
        .send()
        .await
        .unwrap();
    assert_eq!(given.headers()["x-request-id"], "trace-me-42");
}

#[tokio::test]
async fn api_keys_guard_v1_routes_but_not_the_stream() {
    let app = spawn_app(&[NO_WORKERS, ("API_KEYS", "key-one, key-two")]).await;
    let body = json!({"user_id": "u", "query": "Hanoi for 3 days"});
    let anonymous = app.post_json("/v1/plan", &body).await;
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
    assert_error(&anonymous.json().await.unwrap(), "Unauthorized");
    let wrong = app
        .post_json_with("/v1/plan", &body, &[("authorization", "Bearer key-three")])
        .await;
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    let bearer = app
        .post_json_with("/v1/plan", &body, &[("authorization", "Bearer key-two")])
        .await;
    assert_eq!(bearer.status(), StatusCode::ACCEPTED);
    let id = bearer.json::<Value>().await.unwrap()["job_id"]
        .as_str()
        .unwrap()
        .to_string();
    let header = app
        .client
        .get(app.url(&format!("/v1/status/{id}")))
        .header("X-API-Key", "key-one")
        .send()
        .await
        .unwrap();
    assert_eq!(header.status(), StatusCode::OK);
    let stream = SseReader::open(app.client.get(app.url(&format!("/v1/stream/{id}")))).await;
    assert_eq!(
        stream.status,
        StatusCode::OK,
        "EventSource cannot send headers"
    );
    assert_eq!(app.get("/health").await.status(), StatusCode::OK);
}

#[tokio::test]
async fn root_health_docs_and_metrics_answer() {
    let app = app().await;
    let root: Value = app.get("/").await.json().await.unwrap();
    assert_eq!(root["message"], "Travel Lotara AI Backend");
    assert_eq!(root["docs"], "/api/docs");
    let health: Value = app.get("/health").await.json().await.unwrap();
    assert_eq!(health["status"], "healthy");
    assert_eq!(health["services"]["redis"], "healthy");
    let docs = app.get("/api/docs/").await;
    assert_eq!(docs.status(), StatusCode::OK);
    assert!(docs.text().await.unwrap().contains("swagger"));
    let spec: Value = app.get("/api/openapi.json").await.json().await.unwrap();
    assert!(spec["openapi"].as_str().unwrap().starts_with("3."));
    for path in [
        "/v1/plan",
        "/v1/suggest",
        "/v1/status/{job_id}",
        "/v1/stream/{job_id}",
        "/v1/approve",
        "/v1/feedback",
        "/health",
        "/",
    ] {
        assert!(spec["paths"].get(path).is_some(), "{path} documented");
    }
    let plan = &spec["components"]["schemas"]["TripPlan"]["properties"];
    for field in [
        "summary",
        "origin",
        "destinations",
        "dates",
        "travelers",
        "flights",
        "hotels",
        "days",
        "budget",
        "pre_trip",
        "warnings",
        "estimate_note",
    ] {
        assert!(plan.get(field).is_some(), "TripPlan documents {field}");
    }
    create_plan(&app).await;
    let metrics = app.get("/metrics").await.text().await.unwrap();
    assert!(
        metrics.contains("lotara_jobs_created_total{mode=\"reactive\"}"),
        "{metrics}"
    );
    assert!(metrics.contains("lotara_http_requests_total"));
    assert!(metrics.contains("lotara_http_request_duration_seconds_bucket"));
    assert!(metrics.contains("lotara_queue_depth"));
}

#[tokio::test]
async fn redis_down_means_503_and_degraded_health_until_it_returns() {
    let mut redis = support::redis_server::RedisServer::start().await;
    let prefix = support::unique_prefix();
    let url = redis.url();
    let vars = support::app::test_vars(
        &prefix,
        &[
            NO_WORKERS,
            ("REDIS_URL", url.as_str()),
            ("REDIS_TIMEOUT_MS", "500"),
        ],
    );
    let app = support::app::spawn_app_with(vars).await;
    create_plan(&app).await;

    redis.kill();
    let started = std::time::Instant::now();
    let response = app
        .post_json("/v1/plan", &json!({"user_id": "u", "query": "Hanoi"}))
        .await;
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(response.headers().contains_key("retry-after"));
    assert_error(&response.json().await.unwrap(), "ServiceUnavailable");
    let status = app.get(&format!("/v1/status/{}", Uuid::now_v7())).await;
    assert_eq!(status.status(), StatusCode::SERVICE_UNAVAILABLE);
    let health: Value = app.get("/health").await.json().await.unwrap();
    assert_eq!(health["status"], "degraded");
    assert!(
        health["services"]["redis"]
            .as_str()
            .unwrap()
            .starts_with("unhealthy")
    );
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "answers fast while Redis is down"
    );

    redis.restart().await;
    support::wait_for("the API to recover", WAIT, || async {
        let r = app
            .post_json("/v1/plan", &json!({"user_id": "u", "query": "Hanoi"}))
            .await;
        (r.status() == StatusCode::ACCEPTED).then_some(())
    })
    .await;
    let health: Value = app.get("/health").await.json().await.unwrap();
    assert_eq!(health["status"], "healthy");
}

#[tokio::test]
async fn shutdown_ends_open_streams_cleanly() {
    let app = app().await;
    let id = create_plan(&app).await;
    let mut stream = SseReader::open(app.client.get(app.url(&format!("/v1/stream/{id}")))).await;
    stream.next(WAIT).await.unwrap();
    app.shutdown.cancel();
    let rest = stream.events_until_closed(WAIT).await;
    assert!(rest.len() <= 1, "stream closed on shutdown: {rest:?}");
    assert!(app.stopped.await.unwrap().is_ok());
}

#[tokio::test]
async fn an_idempotency_key_makes_a_retried_plan_return_the_first_job() {
    let app = app().await;
    let body = json!({"user_id": "user-9", "query": "3 days in Hue"});
    let app = &app;
    let send = |body: Value, key: &'static str| async move {
        app.post_json_with("/v1/plan", &body, &[("Idempotency-Key", key)])
            .await
    };
    let first = send(body.clone(), "retry-42").await;
    assert_eq!(first.status(), StatusCode::ACCEPTED);
    assert!(first.headers().get("idempotent-replayed").is_none());
    let first: Value = first.json().await.unwrap();
    let again = send(body.clone(), "retry-42").await;
    assert_eq!(again.status(), StatusCode::ACCEPTED);
    assert_eq!(again.headers()["idempotent-replayed"], "true");
    let again: Value = again.json().await.unwrap();
    assert_eq!(again["job_id"], first["job_id"]);
    assert_eq!(again["created_at"], first["created_at"]);
    let listed: Value = app
        .get("/v1/jobs?user_id=user-9")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        listed["jobs"].as_array().unwrap().len(),
        1,
        "no duplicate job"
    );

    let different = send(
        json!({"user_id": "user-9", "query": "3 days in Hanoi"}),
        "retry-42",
    )
    .await;
    assert_eq!(different.status(), StatusCode::CONFLICT);
    assert_error(&different.json().await.unwrap(), "Conflict");
    let bad = app
        .post_json_with("/v1/plan", &body, &[("Idempotency-Key", "")])
        .await;
    assert_eq!(bad.status(), StatusCode::UNPROCESSABLE_ENTITY);
}

#[tokio::test]
async fn clients_over_the_rate_limit_get_429_with_retry_after_on_every_replica() {
    let app = spawn_app(&[
        NO_WORKERS,
        ("RATE_LIMIT_PER_MINUTE", "5"),
        ("API_KEYS", "k1,k2"),
    ])
    .await;
    let other = support::app::spawn_app_with(support::app::test_vars(
        &app.prefix,
        &[
            NO_WORKERS,
            ("RATE_LIMIT_PER_MINUTE", "5"),
            ("API_KEYS", "k1,k2"),
        ],
    ))
    .await;
    let get = |target: &TestApp, key: &str| {
        target
            .client
            .get(target.url("/v1/jobs?user_id=u"))
            .bearer_auth(key)
            .send()
    };
    for n in 0..5 {
        let target = if n % 2 == 0 { &app } else { &other };
        assert_eq!(get(target, "k1").await.unwrap().status(), StatusCode::OK);
    }
    let limited = get(&other, "k1").await.unwrap();
    assert_eq!(
        limited.status(),
        StatusCode::TOO_MANY_REQUESTS,
        "the limit is shared by replicas"
    );
    let retry_after: u64 = limited.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&retry_after));
    assert_error(&limited.json().await.unwrap(), "RateLimited");
    assert_eq!(
        get(&app, "k2").await.unwrap().status(),
        StatusCode::OK,
        "each client has its own window"
    );
    assert_eq!(
        app.get("/health").await.status(),
        StatusCode::OK,
        "service endpoints are not limited"
    );
}

#[tokio::test]
async fn an_unreadable_job_is_a_500_that_leaks_nothing() {
    let app = app().await;
    let id = create_plan(&app).await;
    let client = redis::Client::open(support::redis_url()).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    let _: () = redis::cmd("HSET")
        .arg(format!("{}job:{{{id}}}", app.prefix))
        .arg("state")
        .arg("{not json")
        .query_async(&mut conn)
        .await
        .unwrap();
    let response = app.get(&format!("/v1/status/{id}")).await;
    assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
    let body: Value = response.json().await.unwrap();
    assert_error(&body, "InternalServerError");
    assert_eq!(body["message"], "Internal server error");
    assert!(
        !body.to_string().contains("json") && !body.to_string().contains("redis"),
        "{body}"
    );
}
