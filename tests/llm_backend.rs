//! The LLM backend against a local OpenAI-compatible server that checks each
//! request and answers from a script: good answers, bad JSON (repaired),
//! 429 with Retry-After, 5xx, hangs, token budgets, servers without
//! json_schema, and cancellation of in-flight calls.

mod support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{Value, json};
use support::app::{TestApp, spawn_app};
use support::fake_llm::{FakeLlm, Reply};
use tokio::sync::Notify;

const WAIT: Duration = Duration::from_secs(20);

async fn app_with(llm: &FakeLlm, extra: &[(&str, &str)]) -> TestApp {
    let mut vars = vec![
        ("LLM_BASE_URL", llm.url.as_str()),
        ("LLM_API_KEY", "test-key"),
        ("LLM_MODEL", "fake-model-x"),
        ("LLM_TIMEOUT_SECS", "5"),
        ("LLM_MAX_RETRIES", "2"),
    ];
    vars.extend_from_slice(extra);
    spawn_app(&vars).await
}

fn tokyo() -> Value {
    json!({"user_id": "u1", "query": "Five days eating my way through Tokyo with my partner, flying from Los Angeles"})
}

#[tokio::test]
async fn each_agent_makes_one_grounded_structured_call() {
    let llm = FakeLlm::start().await;
    let app = app_with(&llm, &[]).await;
    let id = app.start_job("/v1/plan", tokyo()).await;
    let status = app.wait_finished(&id).await;
    assert_eq!(status["status"], "completed", "{status}");

    let requests = llm.requests();
    let schemas: Vec<String> = requests
        .iter()
        .map(|r| {
            r["response_format"]["json_schema"]["name"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    let mut sorted = schemas.clone();
    sorted.sort();
    assert_eq!(
        sorted,
        [
            "activity_agent",
            "cost_agent",
            "flight_agent",
            "hotel_agent",
            "pretrip_agent",
            "trip_request"
        ]
    );
    assert_eq!(schemas[0], "trip_request", "intake runs first");
    for request in &requests {
        assert_eq!(request["model"], "fake-model-x");
        assert_eq!(request["authorization"], "Bearer test-key");
        assert_eq!(request["response_format"]["type"], "json_schema");
        assert!(request["response_format"]["json_schema"]["schema"]["type"].is_string());
        assert_eq!(request["messages"][0]["role"], "system");
        assert_eq!(request["messages"][1]["role"], "user");
    }
    let hotels = &llm.requests_for("hotel_agent")[0];
    let prompt = hotels["messages"][1]["content"].as_str().unwrap();
    assert!(
        prompt.contains("Facts from our travel dataset") && prompt.contains("Shinjuku"),
        "grounded in the dataset"
    );
    // The model's reading of the free text was used: 2 travellers from LAX.
    let plan = &status["final_result"];
    assert_eq!(plan["travelers"], 2);
    assert_eq!(plan["origin"]["iata"], "LAX");
    let job = app.store.get(id.parse().unwrap()).await.unwrap().unwrap();
    assert_eq!(job.usage.calls, 6);
    assert_eq!(job.usage.total_tokens, 6 * 200);
    let health: Value = app.get("/health").await.json().await.unwrap();
    assert_eq!(health["services"]["llm"], "healthy");
}

#[tokio::test]
async fn an_invalid_answer_gets_one_repair_attempt() {
    let llm = FakeLlm::start().await;
    llm.script([Reply::Content(
        "Sure! Here is your trip: Tokyo, 5 days".into(),
    )]);
    let app = app_with(&llm, &[]).await;
    let id = app.start_job("/v1/plan", tokyo()).await;
    assert_eq!(app.wait_finished(&id).await["status"], "completed");
    let intake = llm.requests_for("trip_request");
    assert_eq!(intake.len(), 2);
    let repair = intake[1]["messages"].as_array().unwrap();
    assert_eq!(repair[2]["role"], "assistant");
    assert_eq!(
        repair[2]["content"],
        "Sure! Here is your trip: Tokyo, 5 days"
    );
    assert!(repair[3]["content"].as_str().unwrap().contains("invalid"));
    let tasks = &app
        .get(&format!("/v1/status/{id}"))
        .await
        .json::<Value>()
        .await
        .unwrap()["tasks"];
    let intake_task = tasks
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["agent"] == "intake_agent")
        .unwrap();
    assert!(
        intake_task["confidence_score"].as_f64().unwrap() < 0.9,
        "a repaired answer is less certain"
    );
}

#[tokio::test]
async fn an_answer_still_invalid_after_repair_fails_the_job_clearly() {
    let llm = FakeLlm::start().await;
    let nowhere = json!([{"city": "Narnia", "area": "Cair Paravel", "tier": "mid", "nights": 4,
        "rooms": 1, "price_per_night_usd": 100, "total_usd": 400, "estimated": true}])
    .to_string();
    llm.script_for(
        "hotel_agent",
        [Reply::Content(nowhere.clone()), Reply::Content(nowhere)],
    );
    let app = app_with(&llm, &[]).await;
    let id = app.start_job("/v1/plan", tokyo()).await;
    let status = app.wait_finished(&id).await;
    assert_eq!(status["status"], "failed");
    assert_eq!(status["error"]["code"], "llm_failed");
    let message = status["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("Tokyo") && message.contains("after a repair attempt"),
        "{message}"
    );
}

#[tokio::test]
async fn rate_limits_are_retried_after_the_server_says() {
    let llm = FakeLlm::start().await;
    llm.script([Reply::Status(429, Some(1))]);
    let app = app_with(&llm, &[]).await;
    let id = app.start_job("/v1/plan", tokyo()).await;
    assert_eq!(app.wait_finished(&id).await["status"], "completed");
    let intake = llm.requests_for("trip_request");
    assert_eq!(intake.len(), 2);
    let gap =
        intake[1]["received_ms"].as_i64().unwrap() - intake[0]["received_ms"].as_i64().unwrap();
    assert!(gap >= 1000, "waited for Retry-After: {gap} ms");
}

#[tokio::test]
async fn server_errors_are_retried_with_backoff() {
    let llm = FakeLlm::start().await;
    llm.script([Reply::Status(500, None), Reply::Status(503, None)]);
    let app = app_with(&llm, &[]).await;
    let id = app.start_job("/v1/plan", tokyo()).await;
    assert_eq!(app.wait_finished(&id).await["status"], "completed");
    assert_eq!(llm.requests_for("trip_request").len(), 3);

    let failing = FakeLlm::start().await;
    failing.script_for(
        "cost_agent",
        [
            Reply::Status(500, None),
            Reply::Status(500, None),
            Reply::Status(500, None),
        ],
    );
    let app = app_with(&failing, &[]).await;
    let id = app.start_job("/v1/plan", tokyo()).await;
    let status = app.wait_finished(&id).await;
    assert_eq!(status["error"]["code"], "llm_failed");
    assert!(status["error"]["message"].as_str().unwrap().contains("500"));
}

#[tokio::test]
async fn a_call_that_hangs_times_out_and_fails_the_job() {
    let llm = FakeLlm::start().await;
    llm.script_for(
        "flight_agent",
        [
            Reply::Hang(Duration::from_secs(30)),
            Reply::Hang(Duration::from_secs(30)),
        ],
    );
    let app = app_with(&llm, &[("LLM_TIMEOUT_SECS", "1"), ("LLM_MAX_RETRIES", "1")]).await;
    let started = Instant::now();
    let id = app.start_job("/v1/plan", tokyo()).await;
    let status = app.wait_finished(&id).await;
    assert_eq!(status["status"], "failed");
    assert!(
        status["error"]["message"]
            .as_str()
            .unwrap()
            .contains("did not answer within 1s"),
        "{status}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(8),
        "bounded by timeout × attempts"
    );
}

#[tokio::test]
async fn the_job_token_budget_is_enforced() {
    let llm = FakeLlm::start().await;
    let app = app_with(&llm, &[]).await;
    let id = app.start_job("/v1/plan", json!({"user_id": "u1", "query": "Tokyo for 5 days", "constraints": {"budget_tokens": 500}})).await;
    let status = app.wait_finished(&id).await;
    assert_eq!(status["status"], "failed");
    assert_eq!(status["error"]["code"], "token_budget_exceeded");
    assert!(
        status["error"]["message"]
            .as_str()
            .unwrap()
            .contains("500 tokens")
    );
    assert!(
        llm.requests_for("pretrip_agent").is_empty(),
        "no call once the budget is spent"
    );
}

#[tokio::test]
async fn servers_without_json_schema_get_json_object() {
    let llm = FakeLlm::start().await;
    llm.reject_json_schema();
    let app = app_with(&llm, &[]).await;
    let id = app.start_job("/v1/plan", tokyo()).await;
    assert_eq!(app.wait_finished(&id).await["status"], "completed");
    let requests = llm.requests();
    assert_eq!(requests[0]["response_format"]["type"], "json_schema");
    assert!(
        requests[1..]
            .iter()
            .all(|r| r["response_format"]["type"] == "json_object")
    );
}

#[tokio::test]
async fn cancelling_a_job_stops_its_in_flight_calls_and_frees_the_worker() {
    let llm = FakeLlm::start().await;
    let held = Arc::new(Notify::new());
    llm.script([
        Reply::Cooperate,
        Reply::Hold(held.clone()),
        Reply::Hold(held.clone()),
        Reply::Hold(held.clone()),
    ]);
    let app = app_with(&llm, &[("WORKER_CONCURRENCY", "1")]).await;
    let id = app.start_job("/v1/plan", tokyo()).await;
    support::wait_for("three agent calls in flight", WAIT, || async {
        (llm.requests().len() >= 4).then_some(())
    })
    .await;
    // Cancelled through another replica's API: the worker learns of it over Redis.
    let other = support::app::spawn_app_with(support::app::test_vars(
        &app.prefix,
        &[("WORKER_CONCURRENCY", "0")],
    ))
    .await;
    let cancel = other
        .client
        .post(other.url(&format!("/v1/jobs/{id}/cancel")))
        .send()
        .await
        .unwrap();
    assert_eq!(cancel.status(), StatusCode::OK);
    // The only worker slot is free again although the held calls never answered.
    let next = app.start_job("/v1/plan", tokyo()).await;
    assert_eq!(app.wait_finished(&next).await["status"], "completed");
    let status: Value = app
        .get(&format!("/v1/status/{id}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(status["status"], "cancelled");
    assert!(status["final_result"].is_null());
}
