//! The `WatchlistStore` trait: watchlists, the last price seen per route,
//! the per-firing lock and the "already suggested" marks. Both
//! implementations (Redis, memory) pass one conformance suite
//! (`tests/watchlist_store.rs`).

use std::collections::HashMap;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::watchlist::{Invalid, WatchKind, Watchlist};

#[derive(Debug, Clone, thiserror::Error)]
pub enum WatchStoreError {
    /// The backing store did not answer; callers map this to 503.
    #[error("watchlist store unavailable: {0}")]
    Unavailable(String),
    #[error("stored watchlist data is unreadable: {0}")]
    Corrupt(String),
}

#[derive(Debug, Clone, thiserror::Error)]
pub enum UpdateError {
    #[error("watchlist {0} not found")]
    NotFound(Uuid),
    #[error("invalid update")]
    Invalid(Vec<Invalid>),
    #[error(transparent)]
    Store(#[from] WatchStoreError),
}

/// The last fare a price monitor saw on a route.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct SeenPrice {
    pub price_usd: f64,
    pub seen_at: DateTime<Utc>,
}

/// An update: checks and changes the current watchlist, or refuses. It may
/// run more than once (retried on a concurrent write), so no side effects.
pub type Edit<'a> = dyn Fn(&mut Watchlist) -> Result<(), Vec<Invalid>> + Send + Sync + 'a;

#[async_trait]
pub trait WatchlistStore: Send + Sync + 'static {
    /// Writes the watchlist and indexes it by user and by kind, atomically.
    async fn create(&self, watchlist: &Watchlist) -> Result<(), WatchStoreError>;

    async fn get(&self, id: Uuid) -> Result<Option<Watchlist>, WatchStoreError>;

    /// Applies `edit` to the current state; a concurrent update or delete is
    /// never lost or undone (compare-and-set on a version, retried).
    async fn update(&self, id: Uuid, edit: &Edit<'_>) -> Result<Watchlist, UpdateError>;

    /// Removes the watchlist, its indexes and its prices; false if absent.
    async fn delete(&self, id: Uuid) -> Result<bool, WatchStoreError>;

    /// A user's watchlists, oldest first.
    async fn list_user(&self, user_id: &str) -> Result<Vec<Watchlist>, WatchStoreError>;

    /// Every watchlist of one kind, oldest first: what a monitor checks.
    async fn list_kind(&self, kind: WatchKind) -> Result<Vec<Watchlist>, WatchStoreError>;

    /// Last seen prices by route key (`Route::key`).
    async fn prices(&self, id: Uuid) -> Result<HashMap<String, SeenPrice>, WatchStoreError>;

    /// Records a route's price; ignored when the watchlist is gone.
    async fn record_price(
        &self,
        id: Uuid,
        route_key: &str,
        seen: SeenPrice,
    ) -> Result<(), WatchStoreError>;

    /// Claims one firing of a task cluster-wide: true for exactly one caller
    /// per `(task, fire_time)`. The claim expires after `ttl` and is never
    /// released early, so a replica that sees the same fire time late cannot
    /// run it again, and one that died holding it blocks no other fire time.
    async fn claim_firing(
        &self,
        task: &str,
        fire_time: DateTime<Utc>,
        ttl: Duration,
        owner: &str,
    ) -> Result<bool, WatchStoreError>;

    /// Marks a finding as suggested for `cooldown`; false when it already was.
    async fn mark_suggested(
        &self,
        id: Uuid,
        finding: &str,
        cooldown: Duration,
    ) -> Result<bool, WatchStoreError>;

    /// Forgets a mark, so a finding whose job could not be started is tried
    /// again next time.
    async fn unmark_suggested(&self, id: Uuid, finding: &str) -> Result<(), WatchStoreError>;

    /// Which backend this is (`redis` or `memory`).
    fn backend(&self) -> &'static str;
}
