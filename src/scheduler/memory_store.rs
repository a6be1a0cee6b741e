//! `MemoryWatchlists`: the embedded store when `REDIS_URL` is unset. Same
//! semantics as `RedisWatchlists` within one process; lost on exit.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::store::{Edit, SeenPrice, UpdateError, WatchStoreError, WatchlistStore};
use super::watchlist::{WatchKind, Watchlist};

#[derive(Default)]
pub struct MemoryWatchlists {
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    watchlists: HashMap<Uuid, Watchlist>,
    prices: HashMap<Uuid, HashMap<String, SeenPrice>>,
    /// Firing claims and suggestion marks, by key, with their expiry.
    expiring: HashMap<String, Instant>,
}

impl State {
    /// SET NX with an expiry: true when the key was free (or had expired).
    fn claim(&mut self, key: String, ttl: Duration) -> bool {
        let now = Instant::now();
        self.expiring.retain(|_, expires| *expires > now);
        if self.expiring.contains_key(&key) {
            return false;
        }
        self.expiring.insert(key, now + ttl);
        true
    }
}

impl MemoryWatchlists {
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn sorted(mut list: Vec<Watchlist>) -> Vec<Watchlist> {
        list.sort_by_key(|w| w.id);
        list
    }
}

#[async_trait]
impl WatchlistStore for MemoryWatchlists {
    async fn create(&self, watchlist: &Watchlist) -> Result<(), WatchStoreError> {
        self.lock()
            .watchlists
            .insert(watchlist.id, watchlist.clone());
        Ok(())
    }

    async fn get(&self, id: Uuid) -> Result<Option<Watchlist>, WatchStoreError> {
        Ok(self.lock().watchlists.get(&id).cloned())
    }

    async fn update(&self, id: Uuid, edit: &Edit<'_>) -> Result<Watchlist, UpdateError> {
        let mut state = self.lock();
        let current = state.watchlists.get(&id).ok_or(UpdateError::NotFound(id))?;
        let mut next = current.clone();
        edit(&mut next).map_err(UpdateError::Invalid)?;
        state.watchlists.insert(id, next.clone());
        Ok(next)
    }

    async fn delete(&self, id: Uuid) -> Result<bool, WatchStoreError> {
        let mut state = self.lock();
        state.prices.remove(&id);
        Ok(state.watchlists.remove(&id).is_some())
    }

    async fn list_user(&self, user_id: &str) -> Result<Vec<Watchlist>, WatchStoreError> {
        let state = self.lock();
        let mine = state.watchlists.values().filter(|w| w.user_id == user_id);
        Ok(Self::sorted(mine.cloned().collect()))
    }

    async fn list_kind(&self, kind: WatchKind) -> Result<Vec<Watchlist>, WatchStoreError> {
        let state = self.lock();
        let of_kind = state.watchlists.values().filter(|w| w.kind() == kind);
        Ok(Self::sorted(of_kind.cloned().collect()))
    }

    async fn prices(&self, id: Uuid) -> Result<HashMap<String, SeenPrice>, WatchStoreError> {
        Ok(self.lock().prices.get(&id).cloned().unwrap_or_default())
    }

    async fn record_price(
        &self,
        id: Uuid,
        route_key: &str,
        seen: SeenPrice,
    ) -> Result<(), WatchStoreError> {
        let mut state = self.lock();
        if state.watchlists.contains_key(&id) {
            state
                .prices
                .entry(id)
                .or_default()
                .insert(route_key.to_string(), seen);
        }
        Ok(())
    }

    async fn claim_firing(
        &self,
        task: &str,
        fire_time: DateTime<Utc>,
        ttl: Duration,
        _owner: &str,
    ) -> Result<bool, WatchStoreError> {
        let key = format!("lock:{task}:{}", fire_time.timestamp());
        Ok(self.lock().claim(key, ttl))
    }

    async fn mark_suggested(
        &self,
        id: Uuid,
        finding: &str,
        cooldown: Duration,
    ) -> Result<bool, WatchStoreError> {
        Ok(self
            .lock()
            .claim(format!("suggested:{id}:{finding}"), cooldown))
    }

    async fn unmark_suggested(&self, id: Uuid, finding: &str) -> Result<(), WatchStoreError> {
        self.lock()
            .expiring
            .remove(&format!("suggested:{id}:{finding}"));
        Ok(())
    }

    fn backend(&self) -> &'static str {
        "memory"
    }
}
