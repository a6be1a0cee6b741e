//! Jobs traced to Opik, against a local fake Opik that checks every request
//! against `docs/opik.md`: the trace and span tree of a job, the trace link
//! on the status, feedback scores, retries, an Opik that is down, the flush
//! on shutdown, and a trace continued across an approval pause.

mod support;

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

use base64::Engine;
use reqwest::StatusCode;
use serde_json::{Value, json};
use support::app::{TestApp, spawn_app};
use support::fake_llm::{FakeLlm, Reply};
use support::fake_opik::{Answer, FakeOpik};
use support::wait_for;

const WAIT: Duration = Duration::from_secs(20);
const PROJECT: &str = "lotara-test";

async fn traced_app(opik: &FakeOpik, extra: &[(&str, &str)]) -> TestApp {
    let mut vars = vec![
        ("OPIK_URL_OVERRIDE", opik.url.as_str()),
        ("OPIK_PROJECT_NAME", PROJECT),
        ("OPIK_FLUSH_INTERVAL_MS", "100"),
    ];
    vars.extend_from_slice(extra);
    spawn_app(&vars).await
}

fn trace_id_of(status: &Value) -> String {
    let url = status["opik_trace_url"].as_str().expect("opik_trace_url");
    let (_, rest) = url.split_once("trace_id=").expect("a trace_id parameter");
    rest.split('&').next().unwrap().to_string()
}

/// Waits until Opik has the trace's record with `status` in its output and
/// the span of the stage the run ended in. That span is queued just before
/// the record, after every other span of the run, so all of them are in.
async fn wait_trace_at(opik: &FakeOpik, trace_id: &str, job_status: &str) -> Value {
    let last_stage = match job_status {
        "waiting_approval" => "approval",
        _ => "finalizing",
    };
    wait_for(
        &format!("trace {trace_id} to reach {job_status}"),
        WAIT,
        || async {
            let last = opik.final_trace(trace_id)?;
            let stage_in = opik
                .spans()
                .iter()
                .any(|s| s["trace_id"] == trace_id && s["name"] == last_stage);
            (last["output"]["status"] == job_status && stage_in).then_some(last)
        },
    )
    .await
}

fn spans_named<'a>(spans: &'a [Value], name: &str) -> Vec<&'a Value> {
    spans.iter().filter(|s| s["name"] == name).collect()
}

fn assert_valid(opik: &FakeOpik, api_key: Option<&str>, workspace: &str) {
    let problems = opik.violations(api_key, workspace);
    assert!(
        problems.is_empty(),
        "against opik.md:\n{}",
        problems.join("\n")
    );
}

/// The SDK's link (opik 2.2.122 `get_project_url_by_trace_id`) for an API
/// base that is the UI's `…/api`.
fn expected_url(base: &str, trace_id: &str) -> String {
    let path = base64::engine::general_purpose::STANDARD.encode(base);
    format!(
        "{base}/v1/session/redirect/projects/?trace_id={trace_id}&path={}",
        path.replace('+', "%2B")
    )
}

#[tokio::test]
async fn a_job_becomes_a_trace_with_a_span_per_stage_agent_and_llm_call() {
    let opik = FakeOpik::start().await;
    let llm = FakeLlm::start().await;
    let app = traced_app(
        &opik,
        &[("LLM_BASE_URL", &llm.url), ("LLM_MODEL", "fake-model")],
    )
    .await;
    let id = app
        .start_job(
            "/v1/plan",
            json!({
                "user_id": "u1", "session_id": "chat-42",
                "query": "Plan a 5-day trip to Tokyo for 2 people, we love food",
                "constraints": {"departure_city": "LAX"}
            }),
        )
        .await;
    let done = app.wait_status(&id, "completed").await;
    let trace_id = trace_id_of(&done);
    let trace = wait_trace_at(&opik, &trace_id, "completed").await;

    assert_eq!(done["opik_trace_url"], expected_url(&opik.url, &trace_id));
    assert_eq!(trace["name"], "workflow_reactive");
    assert_eq!(trace["project_name"], PROJECT);
    assert_eq!(trace["thread_id"], "chat-42");
    assert_eq!(trace["tags"], json!(["reactive"]));
    assert_eq!(
        trace["input"]["query"],
        "Plan a 5-day trip to Tokyo for 2 people, we love food"
    );
    assert_eq!(trace["input"]["constraints"]["departure_city"], "LAX");
    assert_eq!(
        trace["metadata"],
        json!({"job_id": id, "user_id": "u1", "mode": "reactive"})
    );
    assert!(
        trace["output"]["summary"]
            .as_str()
            .unwrap()
            .contains("Tokyo")
    );

    let spans = opik.spans();
    assert!(spans.iter().all(|s| s["trace_id"] == trace_id.as_str()));
    let by_id: HashMap<&str, &Value> = spans
        .iter()
        .map(|s| (s["id"].as_str().unwrap(), s))
        .collect();
    let parent_name = |s: &Value| by_id[s["parent_span_id"].as_str().unwrap()]["name"].clone();
    for stage in [
        "intake",
        "planning",
        "execution",
        "validation",
        "finalizing",
    ] {
        let found = spans_named(&spans, stage);
        assert_eq!(found.len(), 1, "one {stage} span");
        assert_eq!(found[0]["type"], "general");
        assert!(
            found[0]["parent_span_id"].is_null(),
            "stages are root spans"
        );
    }
    let agents = [
        ("intake_agent", "intake"),
        ("flight_agent", "execution"),
        ("hotel_agent", "execution"),
        ("activity_agent", "execution"),
        ("cost_agent", "validation"),
        ("pretrip_agent", "finalizing"),
    ];
    for (agent, stage) in agents {
        let found = spans_named(&spans, agent);
        assert_eq!(found.len(), 1, "one {agent} span");
        assert_eq!(found[0]["type"], "tool");
        assert_eq!(parent_name(found[0]), stage, "{agent} runs in {stage}");
        assert!(found[0]["output"].is_object() && found[0]["error_info"].is_null());
    }
    let llm_spans: Vec<&Value> = spans.iter().filter(|s| s["type"] == "llm").collect();
    assert_eq!(
        llm_spans.len(),
        llm.requests().len(),
        "one span per LLM call"
    );
    for span in &llm_spans {
        assert_eq!(span["model"], "fake-model");
        assert!(
            span["provider"].is_null(),
            "a local server has no LLMProvider name"
        );
        assert_eq!(span["source"], "sdk");
        assert!(span["error_info"].is_null());
        assert_eq!(
            span["usage"],
            json!({"prompt_tokens": 120, "completion_tokens": 80, "total_tokens": 200})
        );
        assert!(span["input"]["messages"].is_array());
        assert!(
            agents.iter().any(|(a, _)| parent_name(span) == *a),
            "an LLM call hangs under its agent"
        );
    }
    for (agent, _) in agents {
        assert!(
            llm_spans.iter().any(|s| parent_name(s) == agent),
            "{agent} made an LLM call"
        );
    }
    assert_valid(&opik, None, "default");
}

#[tokio::test]
async fn with_a_key_requests_carry_it_bare_and_the_knowledge_backend_makes_no_llm_spans() {
    let opik = FakeOpik::start().await;
    let app = traced_app(
        &opik,
        &[
            ("OPIK_API_KEY", "secret-key"),
            ("OPIK_WORKSPACE", "team-ws"),
        ],
    )
    .await;
    let id = app
        .start_job(
            "/v1/plan",
            json!({"user_id": "u1", "query": "A week in Lisbon for two"}),
        )
        .await;
    let trace_id = trace_id_of(&app.wait_status(&id, "completed").await);
    wait_trace_at(&opik, &trace_id, "completed").await;

    let spans = opik.spans();
    assert_eq!(spans.len(), 5 + 6, "five stages and six agents");
    assert!(spans.iter().all(|s| s["type"] != "llm"));
    assert!(
        opik.requests()
            .iter()
            .all(|r| r.header("authorization") == Some("secret-key"))
    );
    assert_valid(&opik, Some("secret-key"), "team-ws");
}

#[tokio::test]
async fn the_status_links_the_trace_as_soon_as_the_job_runs() {
    let opik = FakeOpik::start().await;
    let llm = FakeLlm::start().await;
    let release = std::sync::Arc::new(tokio::sync::Notify::new());
    llm.script([Reply::Hold(release.clone())]);
    let app = traced_app(&opik, &[("LLM_BASE_URL", &llm.url)]).await;
    let id = app
        .start_job(
            "/v1/plan",
            json!({"user_id": "u1", "query": "5 days in Tokyo"}),
        )
        .await;

    let running = wait_for("the trace link", WAIT, || async {
        let s = app.status(&id).await;
        s["opik_trace_url"].is_string().then_some(s)
    })
    .await;
    assert_ne!(running["status"], "completed");
    let trace_id = trace_id_of(&running);
    assert_eq!(
        running["opik_trace_url"],
        expected_url(&opik.url, &trace_id)
    );
    let started = wait_for("the trace's start record", WAIT, || async {
        opik.traces()
            .into_iter()
            .find(|t| t["id"] == trace_id.as_str())
    })
    .await;
    assert!(started["end_time"].is_null() && started["output"].is_null());
    assert_eq!(
        app.status(&id).await["status"],
        "planning",
        "still held in intake"
    );

    release.notify_one();
    app.wait_status(&id, "completed").await;
    wait_trace_at(&opik, &trace_id, "completed").await;
    assert_valid(&opik, None, "default");
}

#[tokio::test]
async fn feedback_is_stored_on_the_job_and_sent_as_a_user_rating_score() {
    let opik = FakeOpik::start().await;
    let app = traced_app(&opik, &[]).await;
    let id = app
        .start_job(
            "/v1/plan",
            json!({"user_id": "u1", "query": "A week in Lisbon for two"}),
        )
        .await;
    let trace_id = trace_id_of(&app.wait_status(&id, "completed").await);

    for (rating, comment) in [(4, "great hotels"), (2, "too pricey")] {
        let response = app
            .post_json(
                "/v1/feedback",
                &json!({"job_id": id, "rating": rating, "comment": comment}),
            )
            .await;
        assert_eq!(response.status(), StatusCode::OK);
    }
    let scores = wait_for("both scores", WAIT, || async {
        let scores = opik.scores();
        (scores.len() == 2).then_some(scores)
    })
    .await;
    for (score, (value, reason)) in scores
        .iter()
        .zip([(0.8, "great hotels"), (0.4, "too pricey")])
    {
        assert_eq!(score["id"], trace_id.as_str());
        assert_eq!(score["name"], "user_rating");
        assert_eq!(score["value"], value);
        assert_eq!(score["reason"], reason);
        assert_eq!(score["source"], "sdk");
        assert_eq!(score["project_name"], PROJECT);
    }
    let job = app.store.get(id.parse().unwrap()).await.unwrap().unwrap();
    assert_eq!(
        job.feedback.iter().map(|f| f.rating).collect::<Vec<_>>(),
        [4, 2]
    );
    assert_valid(&opik, None, "default");
}

#[tokio::test]
async fn a_batch_answered_500_is_sent_again_and_nothing_is_lost() {
    let opik = FakeOpik::start().await;
    opik.script([Answer::status(500), Answer::status(503)]);
    let app = traced_app(&opik, &[]).await;
    let id = app
        .start_job(
            "/v1/plan",
            json!({"user_id": "u1", "query": "A week in Lisbon for two"}),
        )
        .await;
    let trace_id = trace_id_of(&app.wait_status(&id, "completed").await);
    wait_trace_at(&opik, &trace_id, "completed").await;
    let spans = wait_for("every span", WAIT, || async {
        let spans = opik.spans();
        (spans.len() == 11).then_some(spans)
    })
    .await;

    let requests = opik.requests();
    assert_eq!(requests[0].status, 500);
    assert_eq!(requests[1].status, 503);
    assert_eq!(
        requests[2].body, requests[0].body,
        "the same batch, sent again"
    );
    assert!(requests[2].accepted());
    let ids: HashSet<&str> = spans.iter().map(|s| s["id"].as_str().unwrap()).collect();
    assert_eq!(ids.len(), 11);
    assert_valid(&opik, None, "default");
}

#[tokio::test]
async fn a_429_waits_for_ratelimit_reset_before_sending_again() {
    let opik = FakeOpik::start().await;
    opik.script([Answer {
        status: 429,
        headers: vec![("ratelimit-reset", "1".into())],
    }]);
    let app = traced_app(&opik, &[]).await;
    let id = app
        .start_job(
            "/v1/plan",
            json!({"user_id": "u1", "query": "A week in Lisbon for two"}),
        )
        .await;
    let trace_id = trace_id_of(&app.wait_status(&id, "completed").await);
    wait_trace_at(&opik, &trace_id, "completed").await;

    let requests = opik.requests();
    assert_eq!(requests[0].status, 429);
    let waited = requests[1].at - requests[0].at;
    assert!(
        waited >= Duration::from_millis(950),
        "waited only {waited:?}"
    );
    assert_eq!(requests[1].body, requests[0].body);
    assert_valid(&opik, None, "default");
}

/// The job's time from submission to its `complete` event.
async fn time_a_job(app: &TestApp) -> Duration {
    let started = Instant::now();
    let id = app
        .start_job(
            "/v1/plan",
            json!({"user_id": "u1", "query": "A week in Lisbon for two"}),
        )
        .await;
    app.wait_status(&id, "completed").await;
    started.elapsed()
}

fn dropped_for_full_queue(metrics: &str) -> f64 {
    metrics
        .lines()
        .filter(|l| l.starts_with("lotara_opik_dropped_items_total{reason=\"queue_full\"}"))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

#[tokio::test]
async fn with_opik_down_jobs_complete_at_normal_speed_and_drops_are_counted() {
    let untraced = spawn_app(&[]).await;
    time_a_job(&untraced).await; // warm-up
    let baseline = time_a_job(&untraced).await;

    let opik = FakeOpik::down().await;
    let app = traced_app(&opik, &[("OPIK_QUEUE_CAPACITY", "3")]).await;
    let before = dropped_for_full_queue(&app.get("/metrics").await.text().await.unwrap());
    let down = time_a_job(&app).await;
    assert!(
        down < baseline * 2 + Duration::from_millis(500),
        "with Opik down a job took {down:?}, without Opik {baseline:?}"
    );

    let dropped = wait_for("drops to be counted", WAIT, || async {
        let now = dropped_for_full_queue(&app.get("/metrics").await.text().await.unwrap());
        (now > before).then_some(now - before)
    })
    .await;
    assert!(dropped >= 1.0);

    let asked = Instant::now();
    let health = app.get("/health").await;
    assert_eq!(health.status(), StatusCode::OK);
    let health: Value = health.json().await.unwrap();
    assert!(
        asked.elapsed() < Duration::from_millis(1500),
        "health answers fast"
    );
    assert_eq!(health["status"], "degraded");
    assert!(
        health["services"]["opik"]
            .as_str()
            .unwrap()
            .starts_with("unhealthy: "),
        "{health}"
    );
    assert_eq!(health["services"]["redis"], "healthy");

    let id = app
        .start_job(
            "/v1/plan",
            json!({"user_id": "u1", "query": "A week in Lisbon for two"}),
        )
        .await;
    app.wait_status(&id, "completed").await;
    let feedback = app
        .post_json("/v1/feedback", &json!({"job_id": id, "rating": 5}))
        .await;
    assert_eq!(
        feedback.status(),
        StatusCode::OK,
        "feedback does not need Opik"
    );
    let job = app.store.get(id.parse().unwrap()).await.unwrap().unwrap();
    assert_eq!(job.feedback.len(), 1);
}

#[tokio::test]
async fn health_reports_opik_healthy_or_not_configured() {
    let opik = FakeOpik::start().await;
    let app = traced_app(&opik, &[]).await;
    let health: Value = app.get("/health").await.json().await.unwrap();
    assert_eq!(health["services"]["opik"], "healthy");
    assert_eq!(health["status"], "healthy");
    assert!(
        opik.requests()
            .iter()
            .any(|r| r.path == "/is-alive/ping" && r.method == "GET")
    );

    let untraced = spawn_app(&[]).await;
    let health: Value = untraced.get("/health").await.json().await.unwrap();
    assert_eq!(health["services"]["opik"], "not_configured");
    assert_eq!(health["status"], "healthy");
    let id = untraced
        .start_job(
            "/v1/plan",
            json!({"user_id": "u1", "query": "A week in Lisbon for two"}),
        )
        .await;
    assert!(untraced.wait_status(&id, "completed").await["opik_trace_url"].is_null());
}

#[tokio::test]
async fn graceful_shutdown_sends_what_is_still_queued() {
    let opik = FakeOpik::start().await;
    // No timed flush during the test: only shutdown can send.
    let app = traced_app(&opik, &[("OPIK_FLUSH_INTERVAL_MS", "600000")]).await;
    let id = app
        .start_job(
            "/v1/plan",
            json!({"user_id": "u1", "query": "A week in Lisbon for two"}),
        )
        .await;
    let trace_id = trace_id_of(&app.wait_status(&id, "completed").await);
    let feedback = app
        .post_json("/v1/feedback", &json!({"job_id": id, "rating": 3}))
        .await;
    assert_eq!(feedback.status(), StatusCode::OK);
    assert!(opik.traces().is_empty(), "nothing sent before shutdown");

    app.stop().await;
    assert!(
        opik.final_trace(&trace_id)
            .is_some_and(|t| t["output"]["status"] == "completed")
    );
    assert_eq!(opik.spans().len(), 11);
    assert_eq!(opik.scores().len(), 1);
    assert_valid(&opik, None, "default");
}

#[tokio::test]
async fn batches_hold_at_most_1000_items() {
    let opik = FakeOpik::start().await;
    let app = traced_app(&opik, &[("OPIK_FLUSH_INTERVAL_MS", "600000")]).await;
    let id = app
        .start_job(
            "/v1/plan",
            json!({"user_id": "u1", "query": "A week in Lisbon for two"}),
        )
        .await;
    app.wait_status(&id, "completed").await;
    for _ in 0..1001 {
        let response = app
            .post_json("/v1/feedback", &json!({"job_id": id, "rating": 5}))
            .await;
        assert_eq!(response.status(), StatusCode::OK);
    }
    app.stop().await;

    let sizes: Vec<usize> = opik
        .requests()
        .iter()
        .filter(|r| r.path == "/v1/private/traces/feedback-scores")
        .map(|r| r.body["scores"].as_array().unwrap().len())
        .collect();
    assert_eq!(sizes, [1000, 1]);
    assert_valid(&opik, None, "default");
}

#[tokio::test]
async fn a_run_resumed_after_approval_continues_the_same_trace() {
    let opik = FakeOpik::start().await;
    let app = traced_app(&opik, &[]).await;
    let id = app
        .start_job(
            "/v1/plan",
            json!({"user_id": "u1", "query": "5 days in Tokyo under $100"}),
        )
        .await;
    let paused = app.wait_status(&id, "waiting_approval").await;
    let trace_id = trace_id_of(&paused);
    let parked = wait_trace_at(&opik, &trace_id, "waiting_approval").await;
    assert_eq!(
        parked["output"]["approval_data"]["reason"],
        "budget_override"
    );
    assert_eq!(spans_named(&opik.spans(), "approval").len(), 1);

    let approve = app
        .post_json("/v1/approve", &json!({"job_id": id, "approved": true}))
        .await;
    assert_eq!(approve.status(), StatusCode::OK);
    let done = app.wait_status(&id, "completed").await;
    assert_eq!(trace_id_of(&done), trace_id, "the link does not change");
    let last = wait_trace_at(&opik, &trace_id, "completed").await;
    assert!(
        last["output"]["summary"]
            .as_str()
            .unwrap()
            .contains("Tokyo")
    );

    let traces: HashSet<String> = opik
        .traces()
        .iter()
        .map(|t| t["id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        traces,
        HashSet::from([trace_id.clone()]),
        "one trace for the job"
    );
    let spans = opik.spans();
    assert!(spans.iter().all(|s| s["trace_id"] == trace_id.as_str()));
    assert_eq!(
        spans_named(&spans, "pretrip_agent").len(),
        1,
        "the resumed run's agent"
    );
    assert_eq!(spans_named(&spans, "finalizing").len(), 1);
    for stage in ["intake", "execution", "validation"] {
        assert_eq!(
            spans_named(&spans, stage).len(),
            1,
            "{stage} is not traced again on resume"
        );
    }
    assert_valid(&opik, None, "default");
}

#[tokio::test]
async fn a_job_taken_over_after_its_worker_died_continues_the_same_trace() {
    let opik = FakeOpik::start().await;
    let llm = FakeLlm::start().await;
    let held = std::sync::Arc::new(tokio::sync::Notify::new());
    // Intake answers; the three parallel agents' calls hang: the worker dies
    // mid-run. The request names the origin the fake model reads (LAX), so
    // the flight agent has a leg to ask about.
    llm.script([
        Reply::Cooperate,
        Reply::Hold(held.clone()),
        Reply::Hold(held.clone()),
        Reply::Hold(held.clone()),
    ]);
    let prefix = support::unique_prefix();
    let redis = support::redis_url();
    let traced = [
        ("LLM_BASE_URL", llm.url.as_str()),
        ("LLM_MODEL", "fake-model"),
        ("JOB_LEASE_SECS", "1"),
        ("OPIK_URL_OVERRIDE", opik.url.as_str()),
        ("OPIK_PROJECT_NAME", PROJECT),
        ("OPIK_FLUSH_INTERVAL_MS", "100"),
    ];
    let mut worker_vars = vec![
        ("REDIS_URL", redis.as_str()),
        ("REDIS_KEY_PREFIX", prefix.as_str()),
        ("RUST_LOG", "warn"),
    ];
    worker_vars.extend_from_slice(&traced);
    let mut doomed = support::process::LotaraProcess::start("worker", &worker_vars);

    let store = support::redis_store(&prefix).await;
    let request = lotara::jobs::JobRequest {
        query: Some("5 days in Tokyo from Los Angeles".into()),
        ..Default::default()
    };
    let job = lotara::jobs::Job::new("u1".into(), lotara::jobs::WorkflowMode::Reactive, request);
    let job = lotara::jobs::submit(&store, job).await.unwrap();
    let first_spans = wait_for("the first worker's intake span", WAIT, || async {
        let spans = opik.spans();
        let intake = spans.iter().any(|s| s["name"] == "intake_agent");
        (intake && llm.requests().len() >= 4).then_some(spans)
    })
    .await;
    doomed.kill();
    held.notify_waiters();

    let survivor = support::app::spawn_app_with(support::app::test_vars(&prefix, &traced)).await;
    let done = survivor.wait_status(&job.id.to_string(), "completed").await;
    let trace_id = trace_id_of(&done);
    assert_eq!(
        first_spans[0]["trace_id"],
        trace_id.as_str(),
        "the survivor kept the trace"
    );
    wait_trace_at(&opik, &trace_id, "completed").await;

    let traces: HashSet<String> = opik
        .traces()
        .iter()
        .map(|t| t["id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(traces, HashSet::from([trace_id.clone()]));
    let spans = opik.spans();
    assert!(spans.iter().all(|s| s["trace_id"] == trace_id.as_str()));
    assert_eq!(
        spans_named(&spans, "intake_agent").len(),
        1,
        "intake is not traced twice"
    );
    for agent in [
        "flight_agent",
        "hotel_agent",
        "activity_agent",
        "pretrip_agent",
    ] {
        assert_eq!(
            spans_named(&spans, agent).len(),
            1,
            "{agent}, run by the survivor"
        );
    }
    assert_valid(&opik, None, "default");
}

#[tokio::test]
async fn the_fake_opik_flags_what_opik_md_forbids() {
    let opik = FakeOpik::start().await;
    let client = reqwest::Client::new();
    let trace = uuid::Uuid::now_v7().to_string();
    let bad_span = json!({"spans": [{
        "id": uuid::Uuid::new_v4(), "project_name": "p", "trace_id": trace, "name": "s",
        "type": "llm", "start_time": "2026-01-20T10:00:00.123Z",
        "last_updated_at": "2026-01-20T10:00:00.123456Z", "usage": {"total_tokens": 1.5}
    }]});
    client
        .post(format!("{}/v1/private/spans/batch", opik.url))
        .header("authorization", "Bearer k")
        .json(&bad_span)
        .send()
        .await
        .unwrap();
    let problems = opik.violations(Some("k"), "ws").join("\n");
    for expected in [
        "authorization should be the bare key",
        "Comet-Workspace",
        "not a v7 UUID",
        "microseconds",
        "without end_time",
        "usage not int32",
        "before any create of its trace",
    ] {
        assert!(
            problems.contains(expected),
            "{expected:?} missing from:\n{problems}"
        );
    }
}

/// The trace batches Opik accepted, in arrival order.
fn trace_batches(opik: &FakeOpik) -> Vec<Vec<Value>> {
    opik.requests()
        .into_iter()
        .filter(|r| r.accepted() && r.path == "/v1/private/traces/batch")
        .map(|r| r.body["traces"].as_array().cloned().unwrap_or_default())
        .collect()
}

fn assert_nothing_refused(opik: &FakeOpik) {
    let refused: Vec<String> = opik
        .refused()
        .iter()
        .map(|r| format!("{} {}: {:?}", r.method, r.path, r.refused))
        .collect();
    assert!(refused.is_empty(), "Opik refused:\n{}", refused.join("\n"));
}

/// The failure: a job's start record and its end record in one
/// flush made a batch that repeats a trace id, which Opik refuses whole
/// (422), losing every trace of the flush. No timed flush runs here (the
/// interval outlasts the test), so the flush on shutdown sends both jobs'
/// start and end records at once.
#[tokio::test]
async fn two_jobs_finishing_inside_one_flush_are_sent_as_one_record_each() {
    let opik = FakeOpik::start().await;
    let app = traced_app(&opik, &[("OPIK_FLUSH_INTERVAL_MS", "600000")]).await;
    let mut traces = HashSet::new();
    for query in ["A week in Lisbon for two", "4 days in Hanoi"] {
        let id = app
            .start_job("/v1/plan", json!({"user_id": "u1", "query": query}))
            .await;
        traces.insert(trace_id_of(&app.wait_status(&id, "completed").await));
    }
    assert!(opik.traces().is_empty(), "nothing sent before the flush");
    app.stop().await;

    assert_nothing_refused(&opik);
    let batches = trace_batches(&opik);
    assert_eq!(batches.len(), 1, "one flush, one trace batch");
    let sent: Vec<String> = batches[0]
        .iter()
        .map(|t| t["id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(sent.len(), 2, "the newest record of each trace: {sent:?}");
    assert_eq!(sent.iter().cloned().collect::<HashSet<_>>(), traces);
    for trace in &batches[0] {
        assert_eq!(trace["output"]["status"], "completed");
        assert!(trace["end_time"].is_string());
    }
    assert_eq!(opik.spans().len(), 2 * 11);
    assert_valid(&opik, None, "default");
}

/// An approval job whose park and resume fall in one flush: its start,
/// parked and final records merge into the final one; the spans of both
/// runs arrive once each.
#[tokio::test]
async fn an_approval_job_parked_and_resumed_inside_one_flush_is_one_whole_trace() {
    let opik = FakeOpik::start().await;
    let app = traced_app(&opik, &[("OPIK_FLUSH_INTERVAL_MS", "600000")]).await;
    let id = app
        .start_job(
            "/v1/plan",
            json!({"user_id": "u1", "query": "5 days in Tokyo under $100"}),
        )
        .await;
    let trace_id = trace_id_of(&app.wait_status(&id, "waiting_approval").await);
    let approve = app
        .post_json("/v1/approve", &json!({"job_id": id, "approved": true}))
        .await;
    assert_eq!(approve.status(), StatusCode::OK);
    app.wait_status(&id, "completed").await;
    app.stop().await;

    assert_nothing_refused(&opik);
    let traces = opik.traces();
    assert_eq!(traces.len(), 1, "start, parked and final record merged");
    assert_eq!(traces[0]["id"], trace_id.as_str());
    assert_eq!(traces[0]["output"]["status"], "completed");
    let spans = opik.spans();
    for name in ["approval", "finalizing", "pretrip_agent", "intake"] {
        assert_eq!(spans_named(&spans, name).len(), 1, "{name}");
    }
    assert_valid(&opik, None, "default");
}

/// Waits until Opik has the failed job's final record and its validation span.
async fn wait_failed_trace(opik: &FakeOpik, trace_id: &str) -> Value {
    wait_for(&format!("failed trace {trace_id}"), WAIT, || async {
        let last = opik.final_trace(trace_id)?;
        let stage_in = opik
            .spans()
            .iter()
            .any(|s| s["trace_id"] == trace_id && s["name"] == "validation");
        (last["output"]["status"] == "failed" && stage_in).then_some(last)
    })
    .await
}

fn spans_of<'a>(spans: &'a [Value], trace_id: &str) -> Vec<&'a Value> {
    spans.iter().filter(|s| s["trace_id"] == trace_id).collect()
}

#[tokio::test]
async fn failed_llm_calls_are_traced_with_their_error_model_and_usage() {
    let opik = FakeOpik::start().await;
    let llm = FakeLlm::start().await;
    let app = traced_app(
        &opik,
        &[
            ("LLM_BASE_URL", &llm.url),
            ("LLM_MODEL", "fake-model"),
            ("LLM_MAX_RETRIES", "0"),
        ],
    )
    .await;

    // The model answers the cost agent twice with what is not JSON: both
    // calls spent tokens, and the job fails. (Intake would fall back to the
    // built-in parser instead.)
    llm.script_for(
        "cost_agent",
        [
            Reply::Content("not json".into()),
            Reply::Content("still not json".into()),
        ],
    );
    let refused = app
        .start_job(
            "/v1/plan",
            json!({"user_id": "u1", "query": "5 days in Tokyo"}),
        )
        .await;
    let refused_trace = trace_id_of(&app.wait_status(&refused, "failed").await);
    let trace = wait_failed_trace(&opik, &refused_trace).await;
    assert_eq!(trace["error_info"]["exception_type"], "llm_failed");
    let spans = opik.spans();
    let spans = spans_of(&spans, &refused_trace);
    let agent = spans.iter().find(|s| s["name"] == "cost_agent").unwrap();
    assert_eq!(agent["error_info"]["exception_type"], "llm_failed");
    let calls: Vec<&&Value> = spans
        .iter()
        .filter(|s| s["type"] == "llm" && s["parent_span_id"] == agent["id"])
        .collect();
    assert_eq!(calls.len(), 2, "the call and its repair");
    for call in &calls {
        assert_eq!(call["parent_span_id"], agent["id"]);
        assert_eq!(call["model"], "fake-model");
        assert_eq!(call["error_info"]["exception_type"], "invalid_answer");
        assert_eq!(
            call["usage"],
            json!({"prompt_tokens": 120, "completion_tokens": 80, "total_tokens": 200}),
            "the tokens the provider reported"
        );
        assert!(call["output"]["content"].is_string());
    }

    // The server fails the call: no answer, so no usage, but the span is there.
    llm.script_for("cost_agent", [Reply::Status(500, None)]);
    let unavailable = app
        .start_job(
            "/v1/plan",
            json!({"user_id": "u1", "query": "5 days in Tokyo"}),
        )
        .await;
    let unavailable_trace = trace_id_of(&app.wait_status(&unavailable, "failed").await);
    wait_failed_trace(&opik, &unavailable_trace).await;
    let spans = opik.spans();
    let spans = spans_of(&spans, &unavailable_trace);
    let agent = spans.iter().find(|s| s["name"] == "cost_agent").unwrap();
    let calls: Vec<&&Value> = spans
        .iter()
        .filter(|s| s["type"] == "llm" && s["parent_span_id"] == agent["id"])
        .collect();
    assert_eq!(calls.len(), 1);
    assert_eq!(calls[0]["model"], "fake-model");
    assert_eq!(calls[0]["error_info"]["exception_type"], "unavailable");
    assert!(
        calls[0]["error_info"]["message"]
            .as_str()
            .unwrap()
            .contains("500")
    );
    assert!(calls[0]["usage"].is_null() && calls[0]["output"].is_null());

    // A failed job's trace ends with its last span, not before (the job's
    // failure is stored before the run closes its stage span).
    for trace_id in [&refused_trace, &unavailable_trace] {
        let trace = opik.final_trace(trace_id).unwrap();
        let spans = opik.spans();
        let last_stage = spans_of(&spans, trace_id)
            .into_iter()
            .find(|s| s["name"] == "validation")
            .unwrap();
        assert!(
            trace["end_time"].as_str() >= last_stage["end_time"].as_str(),
            "trace ends {} before validation {}",
            trace["end_time"],
            last_stage["end_time"]
        );
    }
    assert_valid(&opik, None, "default");
}

/// Opik down for 30 s, then back: every trace, span and score arrives, and
/// exactly once. Simulated at a tenth of the time: the fake closes its port
/// (connections are refused, as with a crashed Opik) for at least 3 s while
/// the exporter flushes every 100 ms and pings every 200 ms, so the outage
/// spans 30 flushes and 15 pings or more (30 s at the SDK's 10 s ping spans 3).
/// One job's trace starts before the outage and ends during it; two more
/// jobs and two scores happen entirely during it.
#[tokio::test]
async fn an_opik_outage_loses_nothing_and_everything_arrives_once_when_it_is_back() {
    const OUTAGE: Duration = Duration::from_secs(3);
    let opik = FakeOpik::start().await;
    let llm = FakeLlm::start().await;
    let release = std::sync::Arc::new(tokio::sync::Notify::new());
    llm.script([Reply::Hold(release.clone())]);
    let app = traced_app(
        &opik,
        &[
            ("LLM_BASE_URL", &llm.url),
            ("LLM_MODEL", "fake-model"),
            ("OPIK_PING_INTERVAL_MS", "200"),
        ],
    )
    .await;
    let first = app
        .start_job(
            "/v1/plan",
            json!({"user_id": "u1", "query": "5 days in Tokyo"}),
        )
        .await;
    let running = wait_for("the first trace link", WAIT, || async {
        let s = app.status(&first).await;
        s["opik_trace_url"].is_string().then_some(s)
    })
    .await;
    let first_trace = trace_id_of(&running);
    wait_for("the first trace's start record", WAIT, || async {
        opik.traces()
            .iter()
            .any(|t| t["id"] == first_trace.as_str())
            .then_some(())
    })
    .await;

    opik.go_down().await;
    let down_at = Instant::now();
    release.notify_one();
    app.wait_status(&first, "completed").await;
    let mut traces = vec![first_trace];
    let mut jobs = vec![first];
    for query in ["A week in Lisbon for two", "4 days in Hanoi"] {
        let id = app
            .start_job("/v1/plan", json!({"user_id": "u1", "query": query}))
            .await;
        traces.push(trace_id_of(&app.wait_status(&id, "completed").await));
        jobs.push(id);
    }
    for id in &jobs[..2] {
        let response = app
            .post_json("/v1/feedback", &json!({"job_id": id, "rating": 4}))
            .await;
        assert_eq!(response.status(), StatusCode::OK);
    }
    // The outage lasts at least OUTAGE and until the jobs and scores above
    // are done, however slow a loaded machine makes them: they all happen
    // while Opik is down.
    tokio::time::sleep_until((down_at + OUTAGE).into()).await;
    let before_outage = opik.requests().len();
    opik.come_back().await;
    let back_at = Instant::now();

    for trace_id in &traces {
        wait_trace_at(&opik, trace_id, "completed").await;
    }
    let expected_spans = 3 * 11 + llm.requests().len();
    wait_for("every span and score", WAIT, || async {
        (opik.spans().len() >= expected_spans && opik.scores().len() >= 2).then_some(())
    })
    .await;
    // Stopping sends anything still queued, so a duplicate would show now.
    app.stop().await;

    let requests = opik.requests();
    assert!(
        requests[..before_outage].iter().all(|r| r.at < down_at),
        "the fake took nothing while it was down"
    );
    assert!(
        requests[before_outage..]
            .iter()
            .any(|r| r.path == "/is-alive/ping"),
        "sending resumed after a ping"
    );
    assert!(requests[before_outage..].iter().all(|r| r.at >= back_at));
    assert_nothing_refused(&opik);
    let spans = opik.spans();
    assert_eq!(spans.len(), expected_spans, "every span, once");
    let span_ids: HashSet<&str> = spans.iter().map(|s| s["id"].as_str().unwrap()).collect();
    assert_eq!(span_ids.len(), spans.len());
    let scores = opik.scores();
    assert_eq!(scores.len(), 2, "every score, once");
    let scored: HashSet<&str> = scores.iter().map(|s| s["id"].as_str().unwrap()).collect();
    assert_eq!(scored, traces[..2].iter().map(String::as_str).collect());
    let records: Vec<(String, String)> = opik
        .traces()
        .iter()
        .map(|t| {
            (
                t["id"].as_str().unwrap().to_string(),
                t["last_updated_at"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let unique: HashSet<&(String, String)> = records.iter().collect();
    assert_eq!(unique.len(), records.len(), "no record sent twice");
    let stored = opik.stored_traces();
    assert_eq!(stored.len(), 3);
    assert!(
        stored
            .values()
            .all(|t| t["output"]["status"] == "completed")
    );
    assert_valid(&opik, None, "default");
}

/// The link works for both self-hosted set-ups: API calls through the UI's
/// proxy (`…:5173/api`), or to the backend directly (`…:8080`, no `/api`)
/// with `OPIK_UI_URL`. Opik's redirect answers 303 to the trace's project
/// in the UI; a link whose `path` lacks `/api` gets a 500.
#[tokio::test]
async fn the_trace_link_redirects_to_the_ui_in_both_self_hosted_setups() {
    let opik = FakeOpik::start().await;
    let browser = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let setups = [
        vec![("OPIK_URL_OVERRIDE", opik.url.as_str())],
        vec![
            ("OPIK_URL_OVERRIDE", opik.backend_url.as_str()),
            ("OPIK_UI_URL", opik.ui_url.as_str()),
        ],
    ];
    for setup in setups {
        let mut vars = setup.clone();
        vars.extend([
            ("OPIK_PROJECT_NAME", PROJECT),
            ("OPIK_FLUSH_INTERVAL_MS", "100"),
        ]);
        let app = spawn_app(&vars).await;
        let id = app
            .start_job(
                "/v1/plan",
                json!({"user_id": "u1", "query": "4 days in Hanoi"}),
            )
            .await;
        let done = app.wait_status(&id, "completed").await;
        let trace_id = trace_id_of(&done);
        assert_eq!(
            done["opik_trace_url"],
            expected_url(&opik.url, &trace_id),
            "{setup:?}"
        );
        wait_trace_at(&opik, &trace_id, "completed").await;
        let link = done["opik_trace_url"].as_str().unwrap();
        let response = browser.get(link).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::SEE_OTHER, "{setup:?}");
        let location = response.headers()["location"].to_str().unwrap();
        let project_page = format!("{}/default/projects/", opik.ui_url);
        assert!(
            location.starts_with(&project_page) && location.ends_with("/traces"),
            "{location}"
        );
        app.stop().await;
    }

    // A link built from the backend's own base, as before OPIK_UI_URL.
    let trace_id = opik.traces()[0]["id"].as_str().unwrap().to_string();
    let path = base64::engine::general_purpose::STANDARD.encode(&opik.backend_url);
    let broken = format!(
        "{}/v1/session/redirect/projects/?trace_id={trace_id}&path={path}",
        opik.backend_url
    );
    let response = browser.get(&broken).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Kind {
    Completed,
    Approved,
    Rejected,
    Failed,
    Proactive,
}

/// Twenty mixed jobs with the production flush interval (2 s), so a job's
/// records often share a flush: every job reaches Opik as one whole trace
/// in its final state, and Opik refuses no batch. Prints the figures.
#[tokio::test]
async fn twenty_mixed_jobs_reach_opik_whole_and_no_batch_is_refused() {
    use Kind::*;
    let opik = FakeOpik::start().await;
    let app = spawn_app(&[
        ("OPIK_URL_OVERRIDE", opik.url.as_str()),
        ("OPIK_PROJECT_NAME", PROJECT),
    ])
    .await;
    let kinds = [
        Completed, Approved, Rejected, Failed, Proactive, Completed, Approved, Completed, Rejected,
        Failed, Proactive, Completed, Approved, Rejected, Failed, Proactive, Completed, Approved,
        Proactive, Completed,
    ];
    const QUERIES: [&str; 3] = [
        "A week in Lisbon for two",
        "4 days in Hanoi",
        "5 days in Da Nang",
    ];
    let mut jobs = Vec::new();
    for (i, kind) in kinds.iter().enumerate() {
        let (path, body) = match kind {
            Completed => (
                "/v1/plan",
                json!({"user_id": "u20", "query": QUERIES[i % QUERIES.len()]}),
            ),
            Approved | Rejected => (
                "/v1/plan",
                json!({"user_id": "u20", "query": "5 days in Tokyo under $100"}),
            ),
            Failed => (
                "/v1/plan",
                json!({"user_id": "u20", "query": "Plan me a trip please"}),
            ),
            Proactive => (
                "/v1/suggest",
                json!({"user_id": "u20", "trigger_type": "price_drop",
                       "context": {"route": "LAX->NRT", "old_price": 850, "new_price": 650, "savings": 200}}),
            ),
        };
        jobs.push((app.start_job(path, body).await, *kind));
    }
    for (id, kind) in &jobs {
        if matches!(kind, Approved | Rejected) {
            app.wait_status(id, "waiting_approval").await;
            let decision = app
                .post_json(
                    "/v1/approve",
                    &json!({"job_id": id, "approved": *kind == Approved}),
                )
                .await;
            assert_eq!(decision.status(), StatusCode::OK);
        }
    }
    let mut expected = HashMap::new();
    let mut scored = 0;
    for (id, kind) in &jobs {
        let status = app.wait_finished(id).await;
        let wanted = match kind {
            Completed | Approved | Proactive => "completed",
            Rejected => "cancelled",
            Failed => "failed",
        };
        assert_eq!(status["status"], wanted, "{kind:?}");
        if wanted == "completed" {
            let rating = app
                .post_json("/v1/feedback", &json!({"job_id": id, "rating": 5}))
                .await;
            assert_eq!(rating.status(), StatusCode::OK);
            scored += 1;
        }
        expected.insert(trace_id_of(&status), wanted);
    }
    wait_for(
        "every job's final trace and score",
        Duration::from_secs(30),
        || async {
            let stored = opik.stored_traces();
            let all = expected.iter().all(|(id, wanted)| {
                stored
                    .get(id)
                    .is_some_and(|t| t["output"]["status"] == *wanted)
            });
            (all && opik.scores().len() >= scored).then_some(())
        },
    )
    .await;
    app.stop().await;

    let stored = opik.stored_traces();
    let records = opik.traces();
    let spans = opik.spans();
    let scores = opik.scores();
    let batches = trace_batches(&opik);
    let refused = opik.refused();
    let single_record = expected
        .keys()
        .filter(|id| records.iter().filter(|t| t["id"] == id.as_str()).count() == 1)
        .count();
    eprintln!(
        "20 mixed jobs (6 completed, 4 approved, 3 rejected, 3 failed, 4 proactive): \
         traces stored {} for {} jobs ({} trace records in {} batches; {} traces sent as a \
         single merged record), spans {}, scores {}, refused batches {}",
        stored.len(),
        jobs.len(),
        records.len(),
        batches.len(),
        single_record,
        spans.len(),
        scores.len(),
        refused.len(),
    );
    assert_nothing_refused(&opik);
    assert_eq!(stored.len(), jobs.len(), "one trace per job");
    for (id, wanted) in &expected {
        assert_eq!(stored[id]["output"]["status"], *wanted);
        assert!(stored[id]["end_time"].is_string());
    }
    assert_eq!(scores.len(), scored);
    assert!(
        spans
            .iter()
            .all(|s| expected.contains_key(s["trace_id"].as_str().unwrap()))
    );
    assert_valid(&opik, None, "default");
}

/// The bound holds during an outage: what fits is kept and arrives once
/// Opik is back; only what exceeds it is dropped, and counted.
#[tokio::test]
async fn an_outage_past_the_bound_drops_only_the_excess_and_counts_it() {
    let opik = FakeOpik::start().await;
    // One worker: the second job starts only once the first job's run has
    // pushed its last record.
    let app = traced_app(
        &opik,
        &[
            ("OPIK_QUEUE_CAPACITY", "5"),
            ("OPIK_PING_INTERVAL_MS", "200"),
            ("WORKER_CONCURRENCY", "1"),
        ],
    )
    .await;
    let before = dropped_for_full_queue(&app.get("/metrics").await.text().await.unwrap());
    opik.go_down().await;
    let id = app
        .start_job(
            "/v1/plan",
            json!({"user_id": "u1", "query": "A week in Lisbon for two"}),
        )
        .await;
    let trace_id = trace_id_of(&app.wait_status(&id, "completed").await);
    let barrier = app
        .start_job(
            "/v1/plan",
            json!({"user_id": "u1", "query": "Plan me a trip please"}),
        )
        .await;
    app.wait_status(&barrier, "failed").await;
    // The first job pushed two trace records and eleven spans; five fit.
    let dropped = dropped_for_full_queue(&app.get("/metrics").await.text().await.unwrap()) - before;
    assert!(dropped >= 8.0, "dropped {dropped}");

    opik.come_back().await;
    let ours = || {
        let traces = opik.traces();
        let spans = opik.spans();
        let traces: Vec<Value> = traces
            .into_iter()
            .filter(|t| t["id"] == trace_id.as_str())
            .collect();
        let spans = spans
            .into_iter()
            .filter(|s| s["trace_id"] == trace_id.as_str())
            .count();
        (traces, spans)
    };
    wait_for("the kept records", WAIT, || async {
        let (traces, spans) = ours();
        (traces.len() + spans >= 5).then_some(())
    })
    .await;
    app.stop().await;
    let (traces, spans) = ours();
    assert_eq!(traces.len() + spans, 5, "the five kept records, each once");
    assert_eq!(traces.len(), 1, "the start record was kept");
    assert!(traces[0]["end_time"].is_null());
    assert_nothing_refused(&opik);
}
