//! Test support shared by the integration tests: real Redis (the local server
//! or a private one), unique key prefixes, and waiting on conditions with a
//! deadline instead of sleeping.
#![allow(dead_code)]

pub mod app;
pub mod browser;
pub mod fake_llm;
pub mod fake_opik;
pub mod feeds;
pub mod process;
pub mod redis_server;
pub mod sse;

use std::future::Future;
use std::time::Duration;

use uuid::Uuid;

/// The shared Redis the tests use; `.ci/run` makes sure it answers.
pub fn redis_url() -> String {
    std::env::var("TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into())
}

/// A key prefix no other test uses, so tests run in parallel on one Redis.
pub fn unique_prefix() -> String {
    format!("test:{}:", Uuid::new_v4().simple())
}

/// The Redis job store a service started with `REDIS_KEY_PREFIX=prefix`
/// uses, opened on the shared Redis: for tests that submit or inspect jobs
/// from outside the process that runs them.
pub async fn redis_store(prefix: &str) -> lotara::jobs::RedisStore {
    let settings = lotara::jobs::StoreSettings {
        key_prefix: prefix.into(),
        ..Default::default()
    };
    lotara::jobs::RedisStore::connect(&redis_url(), settings)
        .await
        .expect("local Redis answers")
}

/// Every key matching `pattern` in the shared Redis, sorted. SCAN, not KEYS:
/// the shared Redis may hold millions of other keys, and one KEYS call over
/// them outlasts the client's response timeout.
pub async fn scan_keys(pattern: &str) -> Vec<String> {
    let client = redis::Client::open(redis_url()).expect("redis URL");
    let mut conn = client
        .get_multiplexed_async_connection()
        .await
        .expect("Redis answers");
    let mut keys: Vec<String> = Vec::new();
    let mut cursor: u64 = 0;
    loop {
        let (next, batch): (u64, Vec<String>) = redis::cmd("SCAN")
            .arg(cursor)
            .arg("MATCH")
            .arg(pattern)
            .arg("COUNT")
            .arg(10_000)
            .query_async(&mut conn)
            .await
            .expect("SCAN");
        keys.extend(batch);
        if next == 0 {
            break;
        }
        cursor = next;
    }
    keys.sort();
    keys
}

/// Polls `check` until it returns `Some`, failing the test after `limit`.
pub async fn wait_for<T, F, Fut>(what: &str, limit: Duration, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out after {limit:?} waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
