//! `RedisWatchlists`: watchlists shared by every replica.
//!
//! Layout (prefix `REDIS_KEY_PREFIX`):
//! - `watchlist:{<id>}` hash: `state` (the watchlist as JSON), `v` (version)
//! - `watchlist:{<id>}:prices` hash: route key → last seen price (JSON)
//! - `user:{<user>}:watchlists` set of ids (`<user>` through `key_part`); `watchlists:<kind>` set of ids
//! - `lock:<task>:<fire unix seconds>` string, SET NX PX: one firing's claim
//! - `suggested:{<id>}:<finding>` string, SET NX PX: a suggestion's cooldown
//!
//! Writes that touch several keys run as one Lua script; an update checks
//! the version it read, so concurrent updates and deletes are never lost.

use std::collections::HashMap;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use redis::aio::ConnectionManager;
use redis::{Client, Script};
use uuid::Uuid;

use super::store::{Edit, SeenPrice, UpdateError, WatchStoreError, WatchlistStore};
use super::watchlist::{WatchKind, Watchlist};
use crate::jobs::key_part;

/// Bounds pathological contention on one watchlist; each round one writer wins.
const MAX_CONFLICT_RETRIES: usize = 100;

const CREATE: &str = r#"
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], 'state', ARGV[1], 'v', 1)
redis.call('SADD', KEYS[2], ARGV[2])
redis.call('SADD', KEYS[3], ARGV[2])
return 1
"#;

/// `1` written, `0` gone, `-1` the version moved on (re-read and retry).
const UPDATE: &str = r#"
local v = redis.call('HGET', KEYS[1], 'v')
if not v then return 0 end
if v ~= ARGV[1] then return -1 end
redis.call('HSET', KEYS[1], 'state', ARGV[2], 'v', tonumber(v) + 1)
return 1
"#;

const DELETE: &str = r#"
if redis.call('DEL', KEYS[1]) == 0 then return 0 end
redis.call('DEL', KEYS[2])
redis.call('SREM', KEYS[3], ARGV[1])
redis.call('SREM', KEYS[4], ARGV[1])
return 1
"#;

/// A price recorded after a delete would leave an orphan hash: only write
/// while the watchlist exists.
const RECORD_PRICE: &str = r#"
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
return 1
"#;

struct Keys {
    prefix: String,
}

impl Keys {
    fn watchlist(&self, id: Uuid) -> String {
        format!("{}watchlist:{{{id}}}", self.prefix)
    }
    fn prices(&self, id: Uuid) -> String {
        format!("{}watchlist:{{{id}}}:prices", self.prefix)
    }
    fn user(&self, user: &str) -> String {
        format!("{}user:{{{}}}:watchlists", self.prefix, key_part(user))
    }
    fn kind(&self, kind: WatchKind) -> String {
        format!("{}watchlists:{kind}", self.prefix)
    }
    fn lock(&self, task: &str, fire_time: DateTime<Utc>) -> String {
        format!("{}lock:{task}:{}", self.prefix, fire_time.timestamp())
    }
    fn suggested(&self, id: Uuid, finding: &str) -> String {
        format!("{}suggested:{{{id}}}:{}", self.prefix, key_part(finding))
    }
}

pub struct RedisWatchlists {
    conn: ConnectionManager,
    keys: Keys,
    op_timeout: Duration,
    create: Script,
    update: Script,
    delete: Script,
    record_price: Script,
}

fn unavailable(e: redis::RedisError) -> WatchStoreError {
    WatchStoreError::Unavailable(e.to_string())
}

fn corrupt(e: impl std::fmt::Display) -> WatchStoreError {
    WatchStoreError::Corrupt(e.to_string())
}

fn millis(d: Duration) -> u64 {
    (d.as_millis() as u64).max(1)
}

impl RedisWatchlists {
    /// Opens a connection of its own. The response timeout bounds every
    /// command: without it a hung Redis would hang a monitor or a request.
    pub async fn connect(
        url: &str,
        prefix: &str,
        op_timeout: Duration,
    ) -> Result<Self, WatchStoreError> {
        let client = Client::open(url).map_err(unavailable)?;
        let config = redis::aio::ConnectionManagerConfig::new()
            .set_connection_timeout(Some(op_timeout))
            .set_response_timeout(Some(op_timeout))
            .set_number_of_retries(1)
            .set_max_delay(Duration::from_millis(500));
        let conn = tokio::time::timeout(
            op_timeout * 2,
            client.get_connection_manager_with_config(config),
        )
        .await
        .map_err(|_| WatchStoreError::Unavailable(format!("no answer within {op_timeout:?}")))?
        .map_err(unavailable)?;
        Ok(Self {
            conn,
            keys: Keys {
                prefix: prefix.to_string(),
            },
            op_timeout,
            create: Script::new(CREATE),
            update: Script::new(UPDATE),
            delete: Script::new(DELETE),
            record_price: Script::new(RECORD_PRICE),
        })
    }

    async fn timed<T>(
        &self,
        fut: impl Future<Output = redis::RedisResult<T>>,
    ) -> Result<T, WatchStoreError> {
        match tokio::time::timeout(self.op_timeout, fut).await {
            Ok(result) => result.map_err(unavailable),
            Err(_) => Err(WatchStoreError::Unavailable(format!(
                "Redis did not answer within {:?}",
                self.op_timeout
            ))),
        }
    }

    async fn read_versioned(
        &self,
        id: Uuid,
    ) -> Result<Option<(Watchlist, String)>, WatchStoreError> {
        let mut conn = self.conn.clone();
        let cmd = redis::cmd("HMGET")
            .arg(self.keys.watchlist(id))
            .arg("state")
            .arg("v")
            .to_owned();
        let (state, version): (Option<String>, Option<String>) =
            self.timed(cmd.query_async(&mut conn)).await?;
        match (state, version) {
            (Some(state), Some(version)) => Ok(Some((
                serde_json::from_str(&state).map_err(corrupt)?,
                version,
            ))),
            _ => Ok(None),
        }
    }

    /// The watchlists a set names, skipping ids whose watchlist is gone
    /// (deleted between the two reads) or unreadable (logged).
    async fn load_set(&self, set: String) -> Result<Vec<Watchlist>, WatchStoreError> {
        let mut conn = self.conn.clone();
        let ids: Vec<String> = self
            .timed(redis::cmd("SMEMBERS").arg(set).query_async(&mut conn))
            .await?;
        let ids: Vec<Uuid> = ids.iter().filter_map(|s| s.parse().ok()).collect();
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let mut pipe = redis::pipe();
        for id in &ids {
            pipe.cmd("HGET").arg(self.keys.watchlist(*id)).arg("state");
        }
        let states: Vec<Option<String>> = self.timed(pipe.query_async(&mut conn)).await?;
        let mut list: Vec<Watchlist> = states
            .into_iter()
            .flatten()
            .filter_map(|s| match serde_json::from_str(&s) {
                Ok(w) => Some(w),
                Err(e) => {
                    tracing::warn!(error = %e, "skipping an unreadable watchlist");
                    None
                }
            })
            .collect();
        list.sort_by_key(|w: &Watchlist| w.id);
        Ok(list)
    }

    async fn set_nx(
        &self,
        key: String,
        value: &str,
        ttl: Duration,
    ) -> Result<bool, WatchStoreError> {
        let mut conn = self.conn.clone();
        let cmd = redis::cmd("SET")
            .arg(key)
            .arg(value)
            .arg("NX")
            .arg("PX")
            .arg(millis(ttl))
            .to_owned();
        let reply: Option<String> = self.timed(cmd.query_async(&mut conn)).await?;
        Ok(reply.is_some())
    }
}

#[async_trait]
impl WatchlistStore for RedisWatchlists {
    async fn create(&self, watchlist: &Watchlist) -> Result<(), WatchStoreError> {
        let state = serde_json::to_string(watchlist).map_err(corrupt)?;
        let mut call = self.create.prepare_invoke();
        call.key(self.keys.watchlist(watchlist.id))
            .key(self.keys.user(&watchlist.user_id))
            .key(self.keys.kind(watchlist.kind()))
            .arg(state)
            .arg(watchlist.id.to_string());
        let mut conn = self.conn.clone();
        let created: i64 = self.timed(call.invoke_async(&mut conn)).await?;
        match created {
            1 => Ok(()),
            _ => Err(corrupt(format!(
                "watchlist {} already exists",
                watchlist.id
            ))),
        }
    }

    async fn get(&self, id: Uuid) -> Result<Option<Watchlist>, WatchStoreError> {
        Ok(self.read_versioned(id).await?.map(|(w, _)| w))
    }

    async fn update(&self, id: Uuid, edit: &Edit<'_>) -> Result<Watchlist, UpdateError> {
        for _ in 0..MAX_CONFLICT_RETRIES {
            let (mut watchlist, version) = self
                .read_versioned(id)
                .await?
                .ok_or(UpdateError::NotFound(id))?;
            edit(&mut watchlist).map_err(UpdateError::Invalid)?;
            let state = serde_json::to_string(&watchlist).map_err(corrupt)?;
            let mut call = self.update.prepare_invoke();
            call.key(self.keys.watchlist(id)).arg(version).arg(state);
            let mut conn = self.conn.clone();
            let written: i64 = self.timed(call.invoke_async(&mut conn)).await?;
            match written {
                1 => return Ok(watchlist),
                0 => return Err(UpdateError::NotFound(id)),
                _ => tokio::task::yield_now().await,
            }
        }
        Err(
            WatchStoreError::Unavailable(format!("watchlist {id} is contended: not updated"))
                .into(),
        )
    }

    async fn delete(&self, id: Uuid) -> Result<bool, WatchStoreError> {
        // User and kind never change, so the state read here names the
        // right index entries even if an update lands in between.
        let Some(watchlist) = self.get(id).await? else {
            return Ok(false);
        };
        let mut call = self.delete.prepare_invoke();
        call.key(self.keys.watchlist(id))
            .key(self.keys.prices(id))
            .key(self.keys.user(&watchlist.user_id))
            .key(self.keys.kind(watchlist.kind()))
            .arg(id.to_string());
        let mut conn = self.conn.clone();
        let deleted: i64 = self.timed(call.invoke_async(&mut conn)).await?;
        Ok(deleted == 1)
    }

    async fn list_user(&self, user_id: &str) -> Result<Vec<Watchlist>, WatchStoreError> {
        self.load_set(self.keys.user(user_id)).await
    }

    async fn list_kind(&self, kind: WatchKind) -> Result<Vec<Watchlist>, WatchStoreError> {
        self.load_set(self.keys.kind(kind)).await
    }

    async fn prices(&self, id: Uuid) -> Result<HashMap<String, SeenPrice>, WatchStoreError> {
        let mut conn = self.conn.clone();
        let cmd = redis::cmd("HGETALL").arg(self.keys.prices(id)).to_owned();
        let raw: HashMap<String, String> = self.timed(cmd.query_async(&mut conn)).await?;
        raw.into_iter()
            .map(|(route, seen)| Ok((route, serde_json::from_str(&seen).map_err(corrupt)?)))
            .collect()
    }

    async fn record_price(
        &self,
        id: Uuid,
        route_key: &str,
        seen: SeenPrice,
    ) -> Result<(), WatchStoreError> {
        let seen = serde_json::to_string(&seen).map_err(corrupt)?;
        let mut call = self.record_price.prepare_invoke();
        call.key(self.keys.watchlist(id))
            .key(self.keys.prices(id))
            .arg(route_key)
            .arg(seen);
        let mut conn = self.conn.clone();
        let _: i64 = self.timed(call.invoke_async(&mut conn)).await?;
        Ok(())
    }

    async fn claim_firing(
        &self,
        task: &str,
        fire_time: DateTime<Utc>,
        ttl: Duration,
        owner: &str,
    ) -> Result<bool, WatchStoreError> {
        self.set_nx(self.keys.lock(task, fire_time), owner, ttl)
            .await
    }

    async fn mark_suggested(
        &self,
        id: Uuid,
        finding: &str,
        cooldown: Duration,
    ) -> Result<bool, WatchStoreError> {
        self.set_nx(self.keys.suggested(id, finding), "1", cooldown)
            .await
    }

    async fn unmark_suggested(&self, id: Uuid, finding: &str) -> Result<(), WatchStoreError> {
        let mut conn = self.conn.clone();
        let cmd = redis::cmd("DEL")
            .arg(self.keys.suggested(id, finding))
            .to_owned();
        let _: i64 = self.timed(cmd.query_async(&mut conn)).await?;
        Ok(())
    }

    fn backend(&self) -> &'static str {
        "redis"
    }
}
