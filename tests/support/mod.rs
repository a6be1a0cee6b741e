//! Test support shared by the integration tests: real Redis (the local server
//! or a private one), unique key prefixes, and waiting on conditions with a
//! deadline instead of sleeping.
#![allow(dead_code)]

pub mod app;
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
