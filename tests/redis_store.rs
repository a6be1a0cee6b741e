//! What only the Redis store can show: key layout with TTLs, and surviving a
//! Redis restart without restarting our process.

mod support;

use std::time::{Duration, Instant};

use lotara::jobs::{
    Change, Job, JobRequest, JobStore, RedisStore, StoreError, StoreSettings, WorkQueue,
    WorkflowMode,
};
use support::redis_server::RedisServer;

fn settings(prefix: &str) -> StoreSettings {
    StoreSettings {
        key_prefix: prefix.into(),
        op_timeout: Duration::from_millis(500),
        claim_block: Duration::from_millis(200),
        ..StoreSettings::default()
    }
}

#[tokio::test]
async fn every_job_key_carries_the_job_ttl() {
    let prefix = support::unique_prefix();
    let store = RedisStore::connect(&support::redis_url(), settings(&prefix))
        .await
        .unwrap();
    let job = Job::new(
        "carol".into(),
        WorkflowMode::Reactive,
        JobRequest::default(),
    );
    store
        .create_once(&job, job.created_event(), "k-1")
        .await
        .unwrap();
    store
        .apply(job.id, &|_: &mut Job| Ok(Change::none()))
        .await
        .unwrap();

    let client = redis::Client::open(support::redis_url()).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    for key in [
        format!("{prefix}job:{{{}}}", job.id),
        format!("{prefix}job:{{{}}}:events", job.id),
        format!("{prefix}user:{{carol}}:jobs"),
        format!("{prefix}user:{{carol}}:idem:k-1"),
    ] {
        let ttl: i64 = redis::cmd("PTTL")
            .arg(&key)
            .query_async(&mut conn)
            .await
            .unwrap();
        assert!(
            ttl > 86_000_000 && ttl <= 86_400_000,
            "{key} has TTL {ttl} ms"
        );
    }
}

#[tokio::test]
async fn operations_fail_typed_while_redis_is_down_and_recover_after() {
    let mut server = RedisServer::start().await;
    let store = RedisStore::connect(&server.url(), settings("lotara:"))
        .await
        .unwrap();
    let job = Job::new("dave".into(), WorkflowMode::Reactive, JobRequest::default());
    store.create(&job, job.created_event()).await.unwrap();

    server.kill();
    let started = Instant::now();
    let err = store.get(job.id).await.unwrap_err();
    assert!(matches!(err, StoreError::Unavailable(_)), "{err:?}");
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "failed fast, not hung"
    );
    let other = Job::new("dave".into(), WorkflowMode::Reactive, JobRequest::default());
    assert!(matches!(
        store.create(&other, other.created_event()).await,
        Err(StoreError::Unavailable(_))
    ));

    server.restart().await;
    // No persistence: the job is gone, but the same store works again.
    let recovered = support::wait_for(
        "the store to reconnect",
        Duration::from_secs(15),
        || async { store.create(&other, other.created_event()).await.ok() },
    )
    .await;
    assert_eq!(recovered.job_id, other.id);
    assert_eq!(store.get(other.id).await.unwrap().unwrap().id, other.id);
    // The queue's consumer group is recreated after the restart wiped it.
    let leases = support::wait_for("a claim after restart", Duration::from_secs(10), || async {
        store
            .claim("w", 1, Duration::from_millis(100))
            .await
            .ok()
            .filter(|l| !l.is_empty())
    })
    .await;
    assert_eq!(leases[0].job_id, other.id);
}

#[tokio::test]
async fn live_events_reach_subscribers_through_the_process_feed() {
    let store = RedisStore::connect(&support::redis_url(), settings(&support::unique_prefix()))
        .await
        .unwrap();
    let job = Job::new("erin".into(), WorkflowMode::Reactive, JobRequest::default());
    store.create(&job, job.created_event()).await.unwrap();
    let mut subscription = store.subscribe(job.id);
    let written = write_marker(&store, &job).await;
    let marker = written.events[0].id;
    // The feed is asynchronous: the `created` event written before the
    // subscription may still be on its way and arrive first. Subscribers skip
    // ids they have seen (see `JobStore::subscribe`); what matters is that the
    // live write arrives, and nothing newer than it before it.
    let received = tokio::time::timeout(Duration::from_secs(5), async {
        loop {
            let event = subscription.recv().await.expect("subscription open");
            assert!(
                event.id <= marker,
                "an event after the marker arrived first"
            );
            if event.id == marker {
                break event;
            }
        }
    })
    .await
    .expect("live event within 5 s");
    assert_eq!(received.id, marker);
}

#[tokio::test]
async fn follow_delivers_live_events_after_the_replay() {
    use futures::StreamExt;
    let store: std::sync::Arc<dyn JobStore> = std::sync::Arc::new(
        RedisStore::connect(&support::redis_url(), settings(&support::unique_prefix()))
            .await
            .unwrap(),
    );
    let job = Job::new("erin".into(), WorkflowMode::Reactive, JobRequest::default());
    store.create(&job, job.created_event()).await.unwrap();
    let mut events = Box::pin(lotara::jobs::follow(store.clone(), job.id, None));
    let first = events.next().await.unwrap().unwrap();
    let written = write_marker(&*store, &job).await;
    let live = tokio::time::timeout(Duration::from_secs(5), events.next())
        .await
        .expect("live event within 5 s")
        .unwrap()
        .unwrap();
    assert!(first.id < live.id);
    assert_eq!(live.id, written.events[0].id);
}

/// Writes one `agent_output` event on the job; returns what was written.
async fn write_marker(store: &dyn JobStore, job: &Job) -> lotara::jobs::Applied {
    let marker = lotara::jobs::NewEvent::new(
        lotara::jobs::EventKind::AgentOutput,
        serde_json::json!({"key": "k", "value": 1}),
    );
    store
        .apply(job.id, &move |_: &mut Job| {
            Ok(Change::event(marker.clone()))
        })
        .await
        .unwrap()
}
