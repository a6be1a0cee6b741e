//! Where a job's state lives: the job model, the `JobStore` trait with its
//! Redis and in-memory implementations, and the event hub. Nothing here knows
//! about HTTP or agents.

mod follow;
mod hub;
pub mod listing;
mod memory_store;
mod model;
mod redis_store;
mod store;
pub mod transitions;

use std::sync::Arc;
use std::time::Duration;

pub use follow::follow;
pub use hub::{EventHub, JobWatch, Subscription};
pub use listing::JobFilter;
pub use memory_store::MemoryStore;
pub use model::*;
pub use redis_store::{RedisStore, key_part};
pub use store::{
    Applied, ApplyError, Change, Created, Deadline, JobBackend, JobPage, JobStore, Lease,
    RateLimiter, Refusal, StoreError, StoreHealth, Transition, VersionPage, WorkQueue,
};

/// Store settings that do not depend on the backend.
#[derive(Debug, Clone)]
pub struct StoreSettings {
    pub key_prefix: String,
    pub job_ttl: Duration,
    /// Events kept per job; older ones are trimmed.
    pub event_log_cap: usize,
    /// Upper bound on any one store operation.
    pub op_timeout: Duration,
    /// How long one claim waits for new work.
    pub claim_block: Duration,
}

impl Default for StoreSettings {
    fn default() -> Self {
        Self {
            key_prefix: "lotara:".into(),
            job_ttl: Duration::from_secs(86_400),
            event_log_cap: 10_000,
            op_timeout: Duration::from_secs(2),
            claim_block: Duration::from_secs(2),
        }
    }
}

/// Accepts a new job: state, first event and queue entry in one atomic write.
/// The one path every job takes, from the API and from the scheduler alike.
pub async fn submit(store: &dyn JobStore, job: Job) -> Result<Job, StoreError> {
    store.create(&job, job.created_event()).await?;
    metrics::counter!("lotara_jobs_created_total", "mode" => job.mode.as_str()).increment(1);
    tracing::info!(job_id = %job.id, user_id = %job.user_id, mode = job.mode.as_str(), "job accepted");
    Ok(job)
}

/// `submit` for a caller that may retry: the first request with `key`
/// creates the job, a repeat returns that job (`false`: nothing new).
pub async fn submit_once(
    store: &dyn JobStore,
    job: Job,
    key: &str,
) -> Result<(Job, bool), StoreError> {
    match store.create_once(&job, job.created_event(), key).await? {
        Created::New(_) => {
            metrics::counter!("lotara_jobs_created_total", "mode" => job.mode.as_str())
                .increment(1);
            tracing::info!(job_id = %job.id, user_id = %job.user_id, mode = job.mode.as_str(), "job accepted");
            Ok((job, true))
        }
        Created::Existing(id) => match store.get(id).await? {
            Some(existing) => Ok((existing, false)),
            // The earlier job expired with its key's TTL racing: treat as new.
            None => Box::pin(submit_once(store, job, &format!("{key}#{id}"))).await,
        },
    }
}

/// Opens the store the configuration names: Redis when a URL is given,
/// otherwise the embedded memory store.
pub async fn open_store(
    redis_url: Option<&str>,
    settings: StoreSettings,
) -> Result<Arc<dyn JobBackend>, StoreError> {
    Ok(match redis_url {
        Some(url) => Arc::new(RedisStore::connect(url, settings).await?),
        None => Arc::new(MemoryStore::new(settings)),
    })
}
