//! A worker that dies mid-job (SIGKILL, no hand-back) leaves its lease to
//! expire; another instance takes the job over and finishes it from its
//! checkpoints, without re-running the tasks that were done.

mod support;

use std::sync::Arc;
use std::time::Duration;

use lotara::jobs::{self, EventKind, Job, JobRequest, WorkflowMode};
use serde_json::{Map, Value, json};
use support::fake_llm::{FakeLlm, Reply};
use support::process::LotaraProcess;
use tokio::sync::Notify;

#[tokio::test]
async fn a_job_whose_worker_died_is_finished_by_another_without_redoing_finished_tasks() {
    let llm = FakeLlm::start().await;
    let held = Arc::new(Notify::new());
    // Intake answers; the three parallel agents' calls are held: the worker dies mid-run.
    llm.script([
        Reply::Cooperate,
        Reply::Hold(held.clone()),
        Reply::Hold(held.clone()),
        Reply::Hold(held.clone()),
    ]);
    let prefix = support::unique_prefix();
    let redis = support::redis_url();
    let shared = [
        ("REDIS_URL", redis.as_str()),
        ("REDIS_KEY_PREFIX", prefix.as_str()),
        ("LLM_BASE_URL", llm.url.as_str()),
        ("LLM_MODEL", "fake-model"),
        ("JOB_LEASE_SECS", "1"),
        ("WORKER_CONCURRENCY", "2"),
        ("RUST_LOG", "warn"),
    ];
    let mut doomed = LotaraProcess::start("worker", &shared);

    let store = support::redis_store(&prefix).await;
    let mut constraints = Map::new();
    constraints.insert("departure_city".into(), json!("LAX"));
    let request = JobRequest {
        query: Some("5 days in Tokyo".into()),
        constraints,
        ..JobRequest::default()
    };
    let job = jobs::submit(
        &store,
        Job::new("u1".into(), WorkflowMode::Reactive, request),
    )
    .await
    .unwrap();

    support::wait_for(
        "intake done and three calls in flight",
        Duration::from_secs(20),
        || async { (llm.requests().len() >= 4).then_some(()) },
    )
    .await;
    doomed.kill();
    held.notify_waiters();

    let survivor = support::app::spawn_app_with(support::app::test_vars(
        &prefix,
        &[
            ("LLM_BASE_URL", llm.url.as_str()),
            ("LLM_MODEL", "fake-model"),
            ("JOB_LEASE_SECS", "1"),
        ],
    ))
    .await;
    let done = support::wait_for(
        "the survivor to finish the job",
        Duration::from_secs(30),
        || async {
            let s: Value = survivor
                .get(&format!("/v1/status/{}", job.id))
                .await
                .json()
                .await
                .ok()?;
            (s["status"] == "completed").then_some(s)
        },
    )
    .await;
    assert!(
        done["final_result"]["days"]
            .as_array()
            .is_some_and(|d| d.len() == 5)
    );

    assert_eq!(
        llm.requests_for("trip_request").len(),
        1,
        "intake was checkpointed, not re-run"
    );
    let events = survivor.store.events_after(job.id, None).await.unwrap();
    let intake_starts = events
        .iter()
        .filter(|e| e.kind == EventKind::TaskStart && e.data.contains("\"intake_agent\""))
        .count();
    assert_eq!(intake_starts, 1);
    let stored = survivor.store.get(job.id).await.unwrap().unwrap();
    assert_eq!(stored.attempts, 2, "one run per owner");
}

#[tokio::test]
async fn a_job_abandoned_past_the_attempt_limit_fails_instead_of_retrying_forever() {
    let llm = FakeLlm::start().await;
    let held = Arc::new(Notify::new());
    llm.script([Reply::Hold(held.clone())]);
    let prefix = support::unique_prefix();
    let redis = support::redis_url();
    let shared = [
        ("REDIS_URL", redis.as_str()),
        ("REDIS_KEY_PREFIX", prefix.as_str()),
        ("LLM_BASE_URL", llm.url.as_str()),
        ("JOB_LEASE_SECS", "1"),
        ("JOB_MAX_ATTEMPTS", "1"),
    ];
    let mut doomed = LotaraProcess::start("worker", &shared);
    let store = support::redis_store(&prefix).await;
    let request = JobRequest {
        query: Some("5 days in Tokyo".into()),
        ..JobRequest::default()
    };
    let job = jobs::submit(
        &store,
        Job::new("u1".into(), WorkflowMode::Reactive, request),
    )
    .await
    .unwrap();
    support::wait_for(
        "the first run to call the LLM",
        Duration::from_secs(20),
        || async { (!llm.requests().is_empty()).then_some(()) },
    )
    .await;
    doomed.kill();
    held.notify_waiters();

    let survivor = support::app::spawn_app_with(support::app::test_vars(
        &prefix,
        &[
            ("LLM_BASE_URL", llm.url.as_str()),
            ("JOB_LEASE_SECS", "1"),
            ("JOB_MAX_ATTEMPTS", "1"),
        ],
    ))
    .await;
    let failed = support::wait_for("the job to fail", Duration::from_secs(20), || async {
        let s: Value = survivor
            .get(&format!("/v1/status/{}", job.id))
            .await
            .json()
            .await
            .ok()?;
        (s["status"] == "failed").then_some(s)
    })
    .await;
    assert_eq!(failed["error"]["code"], "attempts_exhausted");
    assert!(
        failed["error"]["message"]
            .as_str()
            .unwrap()
            .contains("1 times")
    );
    assert_eq!(llm.requests().len(), 1, "not run again");
}

#[tokio::test]
async fn graceful_shutdown_hands_running_jobs_back_at_once() {
    let llm = FakeLlm::start().await;
    let held = Arc::new(Notify::new());
    llm.script([Reply::Hold(held.clone())]);
    let prefix = support::unique_prefix();
    // A 60 s lease: only a hand-back lets the second instance start within the test.
    let vars = [("LLM_BASE_URL", llm.url.as_str()), ("JOB_LEASE_SECS", "60")];
    let first = support::app::spawn_app_with(support::app::test_vars(&prefix, &vars)).await;
    let response = first
        .post_json(
            "/v1/plan",
            &json!({"user_id": "u1", "query": "5 days in Tokyo"}),
        )
        .await;
    let id = response.json::<Value>().await.unwrap()["job_id"]
        .as_str()
        .unwrap()
        .to_string();
    support::wait_for(
        "the first run to call the LLM",
        Duration::from_secs(20),
        || async { (!llm.requests().is_empty()).then_some(()) },
    )
    .await;
    first.stop().await;
    held.notify_waiters();

    let second = support::app::spawn_app_with(support::app::test_vars(&prefix, &vars)).await;
    let done = support::wait_for(
        "the second instance to finish the job",
        Duration::from_secs(20),
        || async {
            let s: Value = second
                .get(&format!("/v1/status/{id}"))
                .await
                .json()
                .await
                .ok()?;
            (s["status"] == "completed").then_some(s)
        },
    )
    .await;
    assert_eq!(done["status"], "completed");
    let job = second
        .store
        .get(id.parse().unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        job.attempts, 1,
        "a hand-back does not count as a failed attempt"
    );
}
