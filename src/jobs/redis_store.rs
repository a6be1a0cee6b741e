//! `RedisStore`: the production store, and how replicas cooperate.
//!
//! Layout (prefix `REDIS_KEY_PREFIX`, default `lotara:`; a job's keys share a
//! `{id}` hash tag):
//! - `job:{<id>}` hash: `state` (the job as deflated JSON) and `v` (its version)
//! - `job:{<id>}:events` stream: one entry per event (`k` kind, `d` data);
//!   the entry id is the SSE `id:`; capped, expires with the job
//! - `queue` stream with consumer group `workers`: one entry per runnable job
//! - `user:{<user>}:jobs` sorted set of job ids (all score 0, v7 ids sort by
//!   creation), trimmed to the TTL window on every create
//! - `jobs` sorted set of every job id, like a user's, for operator listings
//! - `user:{<user>}:idem:<key>`: the job an idempotency key created (job TTL)
//!
//! User-supplied parts (`<user>`, `<key>`) go through `key_part`.
//! - `deadlines` sorted set: parked jobs by approval deadline (ms)
//! - `events` pub/sub channel: every event, as `job\nid\nkind\ndata`, and a
//!   bare `job` for a write without events (watchers wake on every write);
//!   progress reports go there only, with the id `0-0` (`announce`)
//!
//! Every write of state goes through a Lua script that checks the version,
//! writes the state, appends and publishes the events, and touches the queue
//! in one atomic step: there is no read-modify-write window.

use std::time::Duration;

use std::io::{Read, Write};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use flate2::Compression;
use flate2::read::DeflateDecoder;
use flate2::write::DeflateEncoder;
use futures::StreamExt;
use redis::aio::ConnectionManager;
use redis::{AsyncCommands, Client, Script, Value};
use uuid::Uuid;

use super::StoreSettings;
use super::hub::{EventHub, JobWatch, Subscription};
use super::listing::{self, JobFilter};
use super::model::NewEvent;
use super::model::{Event, EventId, EventKind, Job};
use super::store::{
    Applied, ApplyError, Change, Created, Deadline, JobPage, JobStore, Lease, RateLimiter,
    StoreError, StoreHealth, Transition, VersionPage, WorkQueue,
};

const GROUP: &str = "workers";
/// Concurrent writers on one job retry on a version conflict; each round one
/// of them wins, so this bounds only pathological contention.
const MAX_CONFLICT_RETRIES: usize = 1_000;

/// Returns `{1, event id}` when written; with an idempotency key (ARGV[9],
/// KEYS[5]) already used, writes nothing and returns `{0, that job's id}`.
const CREATE: &str = r#"
if ARGV[9] ~= '' then
  local existing = redis.call('GET', KEYS[5])
  if existing then return {0, existing} end
end
if redis.call('EXISTS', KEYS[1]) == 1 then return redis.error_reply('DUPLICATE job') end
redis.call('HSET', KEYS[1], 'state', ARGV[1], 'v', 1)
redis.call('PEXPIRE', KEYS[1], ARGV[2])
local id = redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[5], '*', 'k', ARGV[3], 'd', ARGV[4])
redis.call('PEXPIRE', KEYS[2], ARGV[2])
redis.call('XADD', KEYS[3], '*', 'job', ARGV[6])
redis.call('ZADD', KEYS[4], 0, ARGV[6])
redis.call('ZREMRANGEBYLEX', KEYS[4], '-', '(' .. ARGV[8])
redis.call('PEXPIRE', KEYS[4], ARGV[2])
redis.call('ZADD', KEYS[6], 0, ARGV[6])
redis.call('ZREMRANGEBYLEX', KEYS[6], '-', '(' .. ARGV[8])
redis.call('PEXPIRE', KEYS[6], ARGV[2])
if ARGV[9] ~= '' then redis.call('SET', KEYS[5], ARGV[6], 'PX', ARGV[2]) end
redis.call('PUBLISH', ARGV[7], ARGV[6] .. '\n' .. id .. '\n' .. ARGV[3] .. '\n' .. ARGV[4])
return {1, id}
"#;

/// Returns `{1, id...}` when written, `{0}` when the job is gone, `{-1}` when
/// the version moved on (the caller re-reads and retries).
const APPLY: &str = r#"
local v = redis.call('HGET', KEYS[1], 'v')
if not v then return {0} end
if v ~= ARGV[1] then return {-1} end
redis.call('HSET', KEYS[1], 'state', ARGV[2], 'v', tonumber(v) + 1)
redis.call('PEXPIRE', KEYS[1], ARGV[3])
local out = {1}
for i = 9, #ARGV, 2 do
  local id = redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[4], '*', 'k', ARGV[i], 'd', ARGV[i + 1])
  out[#out + 1] = id
  redis.call('PUBLISH', ARGV[6], ARGV[5] .. '\n' .. id .. '\n' .. ARGV[i] .. '\n' .. ARGV[i + 1])
end
redis.call('PEXPIRE', KEYS[2], ARGV[3])
if #ARGV < 9 then redis.call('PUBLISH', ARGV[6], ARGV[5]) end
if ARGV[7] == '1' then redis.call('XADD', KEYS[3], '*', 'job', ARGV[5]) end
if ARGV[8] == 'clear' then redis.call('ZREM', KEYS[4], ARGV[5])
elseif ARGV[8] ~= 'keep' then redis.call('ZADD', KEYS[4], ARGV[8], ARGV[5]) end
return out
"#;

/// Refreshes (idle time reset) the entries the consumer still owns; an entry
/// reclaimed by someone else is left alone. Returns the owned ids.
const RENEW: &str = r#"
local owned = {}
for i = 3, #ARGV do
  local p = redis.call('XPENDING', KEYS[1], ARGV[1], ARGV[i], ARGV[i], 1)
  if p[1] and p[1][2] == ARGV[2] then
    redis.call('XCLAIM', KEYS[1], ARGV[1], ARGV[2], 0, ARGV[i], 'JUSTID')
    owned[#owned + 1] = ARGV[i]
  end
end
return owned
"#;

/// Acknowledges and deletes an owned entry; with ARGV[4] set, also re-adds
/// the job at the end of the queue (a hand-back).
const FINISH: &str = r#"
local p = redis.call('XPENDING', KEYS[1], ARGV[1], ARGV[3], ARGV[3], 1)
if not (p[1] and p[1][2] == ARGV[2]) then return 0 end
redis.call('XACK', KEYS[1], ARGV[1], ARGV[3])
redis.call('XDEL', KEYS[1], ARGV[3])
if ARGV[4] ~= '' then redis.call('XADD', KEYS[1], '*', 'job', ARGV[4]) end
return 1
"#;

pub struct RedisStore {
    conn: ConnectionManager,
    /// XREADGROUP BLOCK stalls a multiplexed connection, so claims get their own.
    blocking: ConnectionManager,
    hub: EventHub,
    keys: Keys,
    settings: StoreSettings,
    create: Script,
    apply: Script,
    renew: Script,
    finish: Script,
    feed: tokio::task::JoinHandle<()>,
}

#[derive(Clone)]
struct Keys {
    prefix: String,
}

impl Keys {
    fn job(&self, id: Uuid) -> String {
        format!("{}job:{{{id}}}", self.prefix)
    }
    fn events(&self, id: Uuid) -> String {
        format!("{}job:{{{id}}}:events", self.prefix)
    }
    fn user(&self, user: &str) -> String {
        format!("{}user:{{{}}}:jobs", self.prefix, key_part(user))
    }
    fn all_jobs(&self) -> String {
        format!("{}jobs", self.prefix)
    }
    fn queue(&self) -> String {
        format!("{}queue", self.prefix)
    }
    fn idempotency(&self, user: &str, key: &str) -> String {
        format!(
            "{}user:{{{}}}:idem:{}",
            self.prefix,
            key_part(user),
            key_part(key)
        )
    }
    fn deadlines(&self) -> String {
        format!("{}deadlines", self.prefix)
    }
    fn channel(&self) -> String {
        format!("{}events", self.prefix)
    }
}

/// A user-supplied part of a key (a user id, an idempotency key, a client
/// name), percent-encoded wherever it could end a hash tag or a segment:
/// `{`, `}`, `:`, `%`, space and controls. Injective, so no two inputs name
/// the same key, and ordinary ids (`user-123`) are unchanged.
pub fn key_part(raw: &str) -> std::borrow::Cow<'_, str> {
    let special = |c: char| matches!(c, '{' | '}' | ':' | '%' | ' ') || c.is_control();
    if !raw.contains(special) {
        return std::borrow::Cow::Borrowed(raw);
    }
    let mut encoded = String::with_capacity(raw.len() + 8);
    for c in raw.chars() {
        if special(c) {
            let mut buf = [0u8; 4];
            for byte in c.encode_utf8(&mut buf).bytes() {
                encoded.push_str(&format!("%{byte:02X}"));
            }
        } else {
            encoded.push(c);
        }
    }
    std::borrow::Cow::Owned(encoded)
}

fn unavailable(e: redis::RedisError) -> StoreError {
    StoreError::Unavailable(e.to_string())
}

fn corrupt(what: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(what.to_string())
}

impl RedisStore {
    /// Connects (bounded by the operation timeout) and starts the event feed.
    pub async fn connect(url: &str, settings: StoreSettings) -> Result<Self, StoreError> {
        let client = Client::open(url).map_err(unavailable)?;
        let op = settings.op_timeout;
        let config = redis::aio::ConnectionManagerConfig::new()
            .set_connection_timeout(Some(op))
            .set_response_timeout(Some(op))
            .set_number_of_retries(1)
            .set_max_delay(Duration::from_millis(500));
        let blocking_config = config
            .clone()
            .set_response_timeout(Some(op + settings.claim_block));
        let connect = async {
            let conn = client.get_connection_manager_with_config(config).await?;
            let blocking = client
                .get_connection_manager_with_config(blocking_config)
                .await?;
            Ok::<_, redis::RedisError>((conn, blocking))
        };
        let (conn, blocking) = tokio::time::timeout(op * 2, connect)
            .await
            .map_err(|_| StoreError::Unavailable(format!("no answer from Redis within {op:?}")))?
            .map_err(unavailable)?;
        let keys = Keys {
            prefix: settings.key_prefix.clone(),
        };
        let hub = EventHub::new();
        let (live_tx, mut live_rx) = tokio::sync::watch::channel(false);
        let feed = tokio::spawn(run_feed(client, keys.channel(), hub.clone(), op, live_tx));
        // Subscribers registered before the feed's first SUBSCRIBE would be
        // dropped by it (and have to re-read the log): the store is ready
        // only once the feed is live.
        let live = tokio::time::timeout(op * 2, live_rx.wait_for(|live| *live)).await;
        if !matches!(live, Ok(Ok(_))) {
            feed.abort();
            return Err(StoreError::Unavailable(format!(
                "event feed not subscribed within {:?}",
                op * 2
            )));
        }
        let store = Self {
            conn,
            blocking,
            hub,
            keys,
            settings,
            create: Script::new(CREATE),
            apply: Script::new(APPLY),
            renew: Script::new(RENEW),
            finish: Script::new(FINISH),
            feed,
        };
        store.ensure_group().await?;
        Ok(store)
    }

    /// Bounds every operation: a Redis that hangs becomes a typed error.
    async fn timed<T>(
        &self,
        fut: impl Future<Output = redis::RedisResult<T>>,
    ) -> Result<T, StoreError> {
        match tokio::time::timeout(self.settings.op_timeout, fut).await {
            Ok(result) => result.map_err(unavailable),
            Err(_) => Err(StoreError::Unavailable(format!(
                "Redis did not answer within {:?}",
                self.settings.op_timeout
            ))),
        }
    }

    /// Creates the consumer group (and the queue stream) if missing. Redis
    /// without persistence loses both on restart, so claims call this again
    /// when Redis says NOGROUP.
    async fn ensure_group(&self) -> Result<(), StoreError> {
        let mut conn = self.conn.clone();
        let queue = self.keys.queue();
        let created: redis::RedisResult<()> = self
            .timed(async move {
                Ok(redis::cmd("XGROUP")
                    .arg("CREATE")
                    .arg(queue)
                    .arg(GROUP)
                    .arg("0")
                    .arg("MKSTREAM")
                    .query_async(&mut conn)
                    .await)
            })
            .await?;
        match created {
            Err(e) if e.code() != Some("BUSYGROUP") => Err(unavailable(e)),
            _ => Ok(()),
        }
    }

    /// Up to `count` ids of `index`, newest first, below `ceiling` and at or
    /// above `floor`.
    async fn index_range(
        &self,
        index: &str,
        ceiling: Option<Uuid>,
        floor: Option<Uuid>,
        count: usize,
    ) -> Result<Vec<Uuid>, StoreError> {
        let max = ceiling.map_or_else(|| "+".to_string(), |c| format!("({c}"));
        let min = floor.map_or_else(|| "-".to_string(), |f| format!("[{f}"));
        let mut conn = self.conn.clone();
        let index = index.to_string();
        let ids: Vec<String> = self
            .timed(async move {
                redis::cmd("ZREVRANGEBYLEX")
                    .arg(index)
                    .arg(max)
                    .arg(min)
                    .arg("LIMIT")
                    .arg(0)
                    .arg(count)
                    .query_async(&mut conn)
                    .await
            })
            .await?;
        Ok(ids.iter().filter_map(|s| s.parse().ok()).collect())
    }

    /// The states of `ids`, in order; `None` for a job that expired.
    async fn read_states(&self, ids: &[Uuid]) -> Result<Vec<Option<Job>>, StoreError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let mut pipe = redis::pipe();
        for id in ids {
            pipe.hget(self.keys.job(*id), "state");
        }
        let mut conn = self.conn.clone();
        let states: Vec<Option<Vec<u8>>> = self
            .timed(async move { pipe.query_async(&mut conn).await })
            .await?;
        states
            .into_iter()
            .map(|s| s.map(|s| decode_state(&s)).transpose())
            .collect()
    }

    fn ttl_ms(&self) -> u64 {
        self.settings.job_ttl.as_millis() as u64
    }

    async fn read_versioned(&self, id: Uuid) -> Result<Option<(Job, String)>, StoreError> {
        let mut conn = self.conn.clone();
        let key = self.keys.job(id);
        let (state, version): (Option<Vec<u8>>, Option<String>) = self
            .timed(async move {
                redis::cmd("HMGET")
                    .arg(key)
                    .arg("state")
                    .arg("v")
                    .query_async(&mut conn)
                    .await
            })
            .await?;
        match (state, version) {
            (Some(state), Some(version)) => {
                let job = decode_state(&state)?;
                Ok(Some((job, version)))
            }
            _ => Ok(None),
        }
    }

    fn apply_invocation(
        &self,
        job: &Job,
        version: &str,
        change: &Change,
    ) -> Result<redis::ScriptInvocation<'_>, StoreError> {
        let state = encode_state(job)?;
        let deadline = match change.deadline {
            Deadline::Keep => "keep".to_string(),
            Deadline::Clear => "clear".to_string(),
            Deadline::Set(at) => at.timestamp_millis().to_string(),
        };
        let mut call = self.apply.prepare_invoke();
        call.key(self.keys.job(job.id))
            .key(self.keys.events(job.id))
            .key(self.keys.queue())
            .key(self.keys.deadlines())
            .arg(version)
            .arg(state)
            .arg(self.ttl_ms())
            .arg(self.settings.event_log_cap)
            .arg(job.id.to_string())
            .arg(self.keys.channel())
            .arg(if change.enqueue { "1" } else { "0" })
            .arg(deadline);
        for event in &change.events {
            call.arg(event.kind.as_str()).arg(&event.data);
        }
        Ok(call)
    }

    async fn create_with(
        &self,
        job: &Job,
        first_event: NewEvent,
        key: Option<&str>,
    ) -> Result<Created, StoreError> {
        let state = encode_state(job)?;
        // Index entries older than the TTL point at expired jobs: trim them.
        let floor_ms = (Utc::now() - self.settings.job_ttl)
            .timestamp_millis()
            .max(0) as u64;
        let floor = Uuid::new_v7(uuid::Timestamp::from_unix_time(
            floor_ms / 1000,
            ((floor_ms % 1000) * 1_000_000) as u32,
            0,
            0,
        ));
        let mut call = self.create.prepare_invoke();
        call.key(self.keys.job(job.id))
            .key(self.keys.events(job.id))
            .key(self.keys.queue())
            .key(self.keys.user(&job.user_id))
            .key(self.keys.idempotency(&job.user_id, key.unwrap_or("")))
            .key(self.keys.all_jobs())
            .arg(state)
            .arg(self.ttl_ms())
            .arg(first_event.kind.as_str())
            .arg(&first_event.data)
            .arg(self.settings.event_log_cap)
            .arg(job.id.to_string())
            .arg(self.keys.channel())
            .arg(floor.to_string())
            .arg(key.unwrap_or(""));
        let mut conn = self.conn.clone();
        let (written, value): (i64, String) = match tokio::time::timeout(
            self.settings.op_timeout,
            call.invoke_async(&mut conn),
        )
        .await
        {
            Ok(Ok(reply)) => reply,
            Ok(Err(e)) if e.code() == Some("DUPLICATE") => {
                return Err(StoreError::Duplicate(job.id));
            }
            Ok(Err(e)) => return Err(unavailable(e)),
            Err(_) => {
                return Err(StoreError::Unavailable(
                    "Redis did not answer in time".into(),
                ));
            }
        };
        if written == 0 {
            return Ok(Created::Existing(value.parse().map_err(corrupt)?));
        }
        Ok(Created::New(Event {
            id: value.parse().map_err(corrupt)?,
            job_id: job.id,
            kind: first_event.kind,
            data: first_event.data,
            frame: Default::default(),
        }))
    }

    async fn finish_entry(
        &self,
        consumer: &str,
        lease: &Lease,
        requeue: bool,
    ) -> Result<(), StoreError> {
        let mut conn = self.conn.clone();
        let mut call = self.finish.prepare_invoke();
        call.key(self.keys.queue())
            .arg(GROUP)
            .arg(consumer)
            .arg(&lease.entry_id)
            .arg(if requeue {
                lease.job_id.to_string()
            } else {
                String::new()
            });
        let _: i64 = self.timed(call.invoke_async(&mut conn)).await?;
        Ok(())
    }
}

impl Drop for RedisStore {
    fn drop(&mut self) {
        self.feed.abort();
    }
}

/// States at least this large (a finished plan) are deflated.
const COMPRESS_ABOVE: usize = 4096;

/// serde_json's recursion limit when reading.
const READABLE_DEPTH: usize = 128;

/// The deepest bracket nesting of serialised JSON, skipping strings.
fn nesting(json: &[u8]) -> usize {
    let (mut level, mut deepest, mut in_string, mut escaped) = (0usize, 0usize, false, false);
    for &byte in json {
        if in_string {
            match byte {
                _ if escaped => escaped = false,
                b'\\' => escaped = true,
                b'"' => in_string = false,
                _ => {}
            }
            continue;
        }
        match byte {
            b'"' => in_string = true,
            b'{' | b'[' => {
                level += 1;
                deepest = deepest.max(level);
            }
            b'}' | b']' => level = level.saturating_sub(1),
            _ => {}
        }
    }
    deepest
}

/// The job as stored: deflated JSON. A finished job's state is mostly its
/// plan, which deflates about 4×, and Redis memory per job is what bounds
/// how many jobs one Redis keeps for a day.
fn encode_state(job: &Job) -> Result<Vec<u8>, StoreError> {
    let json = serde_json::to_vec(job).map_err(corrupt)?;
    // serde_json writes any depth but reads at most 128 levels: a state
    // the reader would refuse is never written (the job would answer 500
    // until it expired, and its queue entry would be redelivered forever).
    if nesting(&json) >= READABLE_DEPTH {
        return Err(corrupt(format!(
            "job {} nests deeper than {READABLE_DEPTH} levels; not written",
            job.id
        )));
    }
    // A small state (a job in progress) is not worth an encoder per write.
    if json.len() < COMPRESS_ABOVE {
        return Ok(json);
    }
    let mut encoder = DeflateEncoder::new(Vec::with_capacity(json.len() / 3), Compression::fast());
    encoder.write_all(&json).map_err(corrupt)?;
    encoder.finish().map_err(corrupt)
}

/// Reads deflated state, or plain JSON as written before compression.
fn decode_state(bytes: &[u8]) -> Result<Job, StoreError> {
    if bytes.first() == Some(&b'{') {
        return serde_json::from_slice(bytes).map_err(corrupt);
    }
    // Inflate first: serde_json parses a slice several times faster than a reader.
    let mut json = Vec::with_capacity(bytes.len() * 4);
    DeflateDecoder::new(bytes)
        .read_to_end(&mut json)
        .map_err(corrupt)?;
    serde_json::from_slice(&json).map_err(corrupt)
}

fn parse_lease(entry_id: String, fields: &[String]) -> Option<Lease> {
    let job = fields
        .chunks(2)
        .find(|kv| kv[0] == "job")
        .and_then(|kv| kv.get(1))?;
    Some(Lease {
        entry_id,
        job_id: job.parse().ok()?,
    })
}

fn parse_event(job_id: Uuid, id: &str, fields: &[String]) -> Result<Event, StoreError> {
    let field = |name: &str| {
        fields
            .chunks(2)
            .find(|kv| kv[0] == name)
            .and_then(|kv| kv.get(1))
            .ok_or_else(|| corrupt(format!("event {id} of job {job_id} has no {name:?}")))
    };
    Ok(Event {
        id: id.parse().map_err(corrupt)?,
        job_id,
        kind: field("k")?.parse().map_err(corrupt)?,
        data: field("d")?.clone(),
        frame: Default::default(),
    })
}

/// What the feed carries: an event, or a write that logged none.
enum Published {
    Event(Event),
    Touched(Uuid),
}

/// Parses a published `job\nid\nkind\ndata` message, or a bare `job`.
fn parse_published(payload: &str) -> Option<Published> {
    if !payload.contains('\n') {
        return payload.parse().ok().map(Published::Touched);
    }
    let mut parts = payload.splitn(4, '\n');
    let job_id = parts.next()?.parse().ok()?;
    let id: EventId = parts.next()?.parse().ok()?;
    let kind: EventKind = parts.next()?.parse().ok()?;
    Some(Published::Event(Event {
        id,
        job_id,
        kind,
        data: parts.next()?.to_string(),
        frame: Default::default(),
    }))
}

/// The process's one subscription: forwards every published event to the
/// hub, reconnecting after failures. After each (re)subscribe the hub drops
/// its subscribers so they re-read the log and miss nothing from the gap.
async fn run_feed(
    client: Client,
    channel: String,
    hub: EventHub,
    op_timeout: Duration,
    live: tokio::sync::watch::Sender<bool>,
) {
    let mut backoff = Duration::from_millis(100);
    loop {
        let connected = tokio::time::timeout(op_timeout, async {
            let mut pubsub = client.get_async_pubsub().await?;
            pubsub.subscribe(&channel).await?;
            Ok::<_, redis::RedisError>(pubsub)
        })
        .await;
        match connected {
            Ok(Ok(pubsub)) => {
                backoff = Duration::from_millis(100);
                hub.resync_all();
                live.send_replace(true);
                tracing::debug!(%channel, "event feed subscribed");
                // Keep the sink: dropping it ends the connection's driver.
                let (_sink, mut messages) = pubsub.split();
                while let Some(msg) = messages.next().await {
                    match msg
                        .get_payload::<String>()
                        .ok()
                        .and_then(|p| parse_published(&p))
                    {
                        Some(Published::Event(event)) => hub.dispatch(event),
                        Some(Published::Touched(job_id)) => hub.touch(job_id),
                        None => tracing::warn!("unreadable event on {channel}"),
                    }
                }
                tracing::warn!(%channel, "event feed lost its Redis subscription; reconnecting");
                hub.resync_all();
            }
            Ok(Err(e)) => tracing::warn!(error = %e, "event feed cannot subscribe; retrying"),
            Err(_) => tracing::warn!("event feed: Redis did not answer; retrying"),
        }
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(Duration::from_secs(2));
    }
}

#[async_trait]
impl JobStore for RedisStore {
    async fn create(&self, job: &Job, first_event: NewEvent) -> Result<Event, StoreError> {
        match self.create_with(job, first_event, None).await? {
            Created::New(event) => Ok(event),
            Created::Existing(_) => Err(StoreError::Duplicate(job.id)),
        }
    }

    async fn create_once(
        &self,
        job: &Job,
        first_event: NewEvent,
        key: &str,
    ) -> Result<Created, StoreError> {
        self.create_with(job, first_event, Some(key)).await
    }

    async fn get(&self, id: Uuid) -> Result<Option<Job>, StoreError> {
        let mut conn = self.conn.clone();
        let key = self.keys.job(id);
        let state: Option<Vec<u8>> = self
            .timed(async move { conn.hget(key, "state").await })
            .await?;
        state.map(|s| decode_state(&s)).transpose()
    }

    async fn version(&self, id: Uuid) -> Result<Option<u64>, StoreError> {
        let mut conn = self.conn.clone();
        let key = self.keys.job(id);
        self.timed(async move { conn.hget(key, "v").await }).await
    }

    async fn get_versioned(&self, id: Uuid) -> Result<Option<(Job, u64)>, StoreError> {
        Ok(self.get_many_versioned(&[id]).await?.pop())
    }

    async fn get_many_versioned(&self, ids: &[Uuid]) -> Result<Vec<(Job, u64)>, StoreError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let mut pipe = redis::pipe();
        for id in ids {
            pipe.cmd("HMGET")
                .arg(self.keys.job(*id))
                .arg("state")
                .arg("v");
        }
        let mut conn = self.conn.clone();
        let rows: Vec<(Option<Vec<u8>>, Option<u64>)> = self
            .timed(async move { pipe.query_async(&mut conn).await })
            .await?;
        rows.into_iter()
            .filter_map(|row| match row {
                (Some(state), Some(version)) => Some((state, version)),
                _ => None,
            })
            .map(|(state, version)| Ok((decode_state(&state)?, version)))
            .collect()
    }

    async fn list_user_versions(
        &self,
        user_id: &str,
        limit: usize,
        cursor: Option<Uuid>,
    ) -> Result<VersionPage, StoreError> {
        let mut ids = self
            .index_range(&self.keys.user(user_id), cursor, None, limit + 1)
            .await?;
        let more = ids.len() > limit;
        ids.truncate(limit);
        if ids.is_empty() {
            return Ok(VersionPage::default());
        }
        let mut pipe = redis::pipe();
        for id in &ids {
            pipe.hget(self.keys.job(*id), "v");
        }
        let mut conn = self.conn.clone();
        let versions: Vec<Option<u64>> = self
            .timed(async move { pipe.query_async(&mut conn).await })
            .await?;
        let next_cursor = if more { ids.last().copied() } else { None };
        let entries = ids
            .into_iter()
            .zip(versions)
            .filter_map(|(id, v)| v.map(|v| (id, v)))
            .collect();
        Ok(VersionPage {
            entries,
            next_cursor,
        })
    }

    async fn apply(&self, id: Uuid, transition: &Transition<'_>) -> Result<Applied, ApplyError> {
        for _ in 0..MAX_CONFLICT_RETRIES {
            let (mut job, version) = self
                .read_versioned(id)
                .await?
                .ok_or(ApplyError::NotFound(id))?;
            let change = transition(&mut job)?;
            job.updated_at = Utc::now();
            let call = self.apply_invocation(&job, &version, &change)?;
            let mut conn = self.conn.clone();
            let reply: Vec<Value> = self.timed(call.invoke_async(&mut conn)).await?;
            let status = reply
                .first()
                .and_then(|v| redis::from_redis_value_ref::<i64>(v).ok());
            match status {
                Some(1) => {
                    let events = reply[1..]
                        .iter()
                        .zip(change.events)
                        .map(|(id_value, new)| {
                            let event_id: String =
                                redis::from_redis_value_ref(id_value).map_err(corrupt)?;
                            Ok(Event {
                                id: event_id.parse().map_err(corrupt)?,
                                job_id: id,
                                kind: new.kind,
                                data: new.data,
                                frame: Default::default(),
                            })
                        })
                        .collect::<Result<Vec<_>, StoreError>>()?;
                    return Ok(Applied { job, events });
                }
                Some(0) => return Err(ApplyError::NotFound(id)),
                // Someone else wrote first: yield, then re-read and retry.
                _ => tokio::task::yield_now().await,
            }
        }
        Err(StoreError::Unavailable(format!("job {id} is contended: update not applied")).into())
    }

    async fn list_user_jobs(
        &self,
        user_id: &str,
        limit: usize,
        cursor: Option<Uuid>,
    ) -> Result<JobPage, StoreError> {
        let index = self.keys.user(user_id);
        let max = cursor.map_or_else(|| "+".to_string(), |c| format!("({c}"));
        let mut conn = self.conn.clone();
        let ids: Vec<String> = {
            let index = index.clone();
            self.timed(async move {
                redis::cmd("ZREVRANGEBYLEX")
                    .arg(index)
                    .arg(max)
                    .arg("-")
                    .arg("LIMIT")
                    .arg(0)
                    .arg(limit + 1)
                    .query_async(&mut conn)
                    .await
            })
            .await?
        };
        let more = ids.len() > limit;
        let ids: Vec<Uuid> = ids
            .iter()
            .take(limit)
            .filter_map(|s| s.parse().ok())
            .collect();
        if ids.is_empty() {
            return Ok(JobPage {
                jobs: Vec::new(),
                next_cursor: None,
            });
        }
        let mut pipe = redis::pipe();
        for id in &ids {
            pipe.hget(self.keys.job(*id), "state");
        }
        let mut conn = self.conn.clone();
        let states: Vec<Option<Vec<u8>>> = self
            .timed(async move { pipe.query_async(&mut conn).await })
            .await?;
        let jobs = states
            .into_iter()
            .flatten()
            .map(|s| decode_state(&s))
            .collect::<Result<Vec<Job>, _>>()?;
        let next_cursor = if more { ids.last().copied() } else { None };
        Ok(JobPage { jobs, next_cursor })
    }

    async fn list_jobs(
        &self,
        filter: &JobFilter,
        limit: usize,
        cursor: Option<Uuid>,
    ) -> Result<JobPage, StoreError> {
        const BATCH: usize = 200;
        let index = match &filter.user_id {
            Some(user) => self.keys.user(user),
            None => self.keys.all_jobs(),
        };
        let floor = filter.lowest_id();
        let mut ceiling = filter.id_ceiling(cursor);
        let mut jobs = Vec::new();
        let mut scanned = 0;
        loop {
            let ids = self.index_range(&index, ceiling, floor, BATCH).await?;
            let exhausted = ids.len() < BATCH;
            let states = self.read_states(&ids).await?;
            for (i, job) in states.into_iter().enumerate() {
                let Some(job) = job.filter(|j| filter.matches(j)) else {
                    continue;
                };
                jobs.push(job);
                if jobs.len() == limit {
                    let more = i + 1 < ids.len() || !exhausted;
                    let next_cursor = more.then(|| jobs.last().map(|j| j.id)).flatten();
                    return Ok(JobPage { jobs, next_cursor });
                }
            }
            scanned += ids.len();
            let Some(last) = ids.last().copied().filter(|_| !exhausted) else {
                return Ok(JobPage {
                    jobs,
                    next_cursor: None,
                });
            };
            if scanned >= listing::MAX_SCANNED {
                return Ok(JobPage {
                    jobs,
                    next_cursor: Some(last),
                });
            }
            ceiling = Some(last);
        }
    }

    async fn events_after(
        &self,
        id: Uuid,
        after: Option<EventId>,
    ) -> Result<Vec<Event>, StoreError> {
        // The first id after `after`, inclusive: Redis refuses `(` before
        // the largest id, and a client may send any id.
        let start = match after {
            None => "-".to_string(),
            Some(a) => match (a.seq.checked_add(1), a.ms.checked_add(1)) {
                (Some(seq), _) => format!("{}-{seq}", a.ms),
                (None, Some(ms)) => format!("{ms}-0"),
                (None, None) => return Ok(Vec::new()),
            },
        };
        let key = self.keys.events(id);
        let mut conn = self.conn.clone();
        let entries: Vec<(String, Vec<String>)> = self
            .timed(async move {
                redis::cmd("XRANGE")
                    .arg(key)
                    .arg(start)
                    .arg("+")
                    .query_async(&mut conn)
                    .await
            })
            .await?;
        entries
            .iter()
            .map(|(event_id, fields)| parse_event(id, event_id, fields))
            .collect()
    }

    /// PUBLISH only, in the feed's format with the zero id: every replica's
    /// hub hands it to its live subscribers; nothing is stored.
    async fn announce(&self, id: Uuid, event: NewEvent) -> Result<(), StoreError> {
        let message = format!(
            "{id}\n{}\n{}\n{}",
            EventId::ZERO,
            event.kind.as_str(),
            event.data
        );
        let mut conn = self.conn.clone();
        let channel = self.keys.channel();
        let _: i64 = self
            .timed(async move { conn.publish(channel, message).await })
            .await?;
        Ok(())
    }

    fn subscribe(&self, id: Uuid) -> Subscription {
        self.hub.subscribe(id)
    }

    fn watch(&self, id: Uuid) -> JobWatch {
        self.hub.watch(id)
    }
}

#[async_trait]
impl WorkQueue for RedisStore {
    async fn claim(
        &self,
        consumer: &str,
        max: usize,
        wait: Duration,
    ) -> Result<Vec<Lease>, StoreError> {
        let mut conn = self.blocking.clone();
        let read = redis::cmd("XREADGROUP")
            .arg("GROUP")
            .arg(GROUP)
            .arg(consumer)
            .arg("COUNT")
            .arg(max)
            .arg("BLOCK")
            .arg(wait.as_millis() as u64)
            .arg("STREAMS")
            .arg(self.keys.queue())
            .arg(">")
            .to_owned();
        let reply: redis::RedisResult<Option<Vec<(String, Vec<(String, Vec<String>)>)>>> =
            match tokio::time::timeout(self.settings.op_timeout + wait, read.query_async(&mut conn))
                .await
            {
                Ok(reply) => reply,
                Err(_) => {
                    return Err(StoreError::Unavailable(
                        "Redis did not answer XREADGROUP in time".into(),
                    ));
                }
            };
        let streams = match reply {
            Ok(streams) => streams.unwrap_or_default(),
            Err(e) if e.code() == Some("NOGROUP") => {
                self.ensure_group().await?;
                return Ok(Vec::new());
            }
            Err(e) => return Err(unavailable(e)),
        };
        Ok(streams
            .into_iter()
            .flat_map(|(_, entries)| entries)
            .filter_map(|(entry_id, fields)| parse_lease(entry_id, &fields))
            .collect())
    }

    async fn renew(&self, consumer: &str, leases: &[Lease]) -> Result<Vec<Lease>, StoreError> {
        if leases.is_empty() {
            return Ok(Vec::new());
        }
        let mut call = self.renew.prepare_invoke();
        call.key(self.keys.queue()).arg(GROUP).arg(consumer);
        for lease in leases {
            call.arg(&lease.entry_id);
        }
        let mut conn = self.conn.clone();
        let owned: Vec<String> = self.timed(call.invoke_async(&mut conn)).await?;
        Ok(leases
            .iter()
            .filter(|l| owned.contains(&l.entry_id))
            .cloned()
            .collect())
    }

    async fn ack(&self, consumer: &str, lease: &Lease) -> Result<(), StoreError> {
        self.finish_entry(consumer, lease, false).await
    }

    async fn release(&self, consumer: &str, lease: &Lease) -> Result<(), StoreError> {
        self.finish_entry(consumer, lease, true).await
    }

    async fn reclaim(
        &self,
        consumer: &str,
        min_idle: Duration,
        max: usize,
    ) -> Result<Vec<Lease>, StoreError> {
        let mut leases = Vec::new();
        let mut cursor = "0-0".to_string();
        loop {
            let mut conn = self.conn.clone();
            let cmd = redis::cmd("XAUTOCLAIM")
                .arg(self.keys.queue())
                .arg(GROUP)
                .arg(consumer)
                .arg(min_idle.as_millis() as u64)
                .arg(&cursor)
                .arg("COUNT")
                .arg(max - leases.len())
                .to_owned();
            let reply: redis::RedisResult<(String, Vec<(String, Vec<String>)>, Vec<String>)> = self
                .timed(async move { Ok(cmd.query_async(&mut conn).await) })
                .await?;
            let (next, entries, _deleted) = match reply {
                Ok(reply) => reply,
                Err(e) if e.code() == Some("NOGROUP") => {
                    self.ensure_group().await?;
                    return Ok(leases);
                }
                Err(e) => return Err(unavailable(e)),
            };
            leases.extend(
                entries
                    .into_iter()
                    .filter_map(|(entry_id, fields)| parse_lease(entry_id, &fields)),
            );
            if next == "0-0" || leases.len() >= max {
                return Ok(leases);
            }
            cursor = next;
        }
    }

    async fn due_deadlines(&self, now: DateTime<Utc>, max: usize) -> Result<Vec<Uuid>, StoreError> {
        let mut conn = self.conn.clone();
        let key = self.keys.deadlines();
        let ids: Vec<String> = self
            .timed(async move {
                redis::cmd("ZRANGEBYSCORE")
                    .arg(key)
                    .arg("-inf")
                    .arg(now.timestamp_millis())
                    .arg("LIMIT")
                    .arg(0)
                    .arg(max)
                    .query_async(&mut conn)
                    .await
            })
            .await?;
        Ok(ids.iter().filter_map(|s| s.parse().ok()).collect())
    }
}

#[async_trait]
impl RateLimiter for RedisStore {
    async fn count_request(
        &self,
        client: &str,
        window: Duration,
    ) -> Result<(u64, Duration), StoreError> {
        let key = format!("{}rate:{}", self.keys.prefix, key_part(client));
        let mut conn = self.conn.clone();
        let window_ms = window.as_millis() as u64;
        // INCR then a TTL only on the first hit: a fixed window per client.
        let (count, ttl): (u64, i64) = self
            .timed(async move {
                redis::pipe()
                    .atomic()
                    .incr(&key, 1)
                    .cmd("PEXPIRE")
                    .arg(&key)
                    .arg(window_ms)
                    .arg("NX")
                    .ignore()
                    .pttl(&key)
                    .query_async(&mut conn)
                    .await
            })
            .await?;
        Ok((count, Duration::from_millis(ttl.max(0) as u64)))
    }
}

#[async_trait]
impl StoreHealth for RedisStore {
    async fn queue_depth(&self) -> Result<u64, StoreError> {
        let mut conn = self.conn.clone();
        let queue = self.keys.queue();
        self.timed(async move { conn.xlen(queue).await }).await
    }

    async fn ping(&self) -> Result<(), StoreError> {
        let mut conn = self.conn.clone();
        let _: String = self
            .timed(async move { redis::cmd("PING").query_async(&mut conn).await })
            .await?;
        Ok(())
    }

    fn backend(&self) -> &'static str {
        "redis"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_parts_cannot_close_a_hash_tag_or_collide() {
        assert_eq!(key_part("user-123"), "user-123");
        assert_eq!(key_part("a}:idem:y"), "a%7D%3Aidem%3Ay");
        assert_ne!(key_part("a%7D"), key_part("a}"));
        let keys = Keys {
            prefix: "p:".into(),
        };
        assert_ne!(
            keys.idempotency("a}:idem:y", "x"),
            keys.idempotency("a", "y}:jobs")
        );
        assert_ne!(keys.idempotency("a", "y}:jobs"), keys.user("a}:idem:y"));
    }

    #[test]
    fn nesting_counts_brackets_outside_strings() {
        assert_eq!(nesting(br#"{"a":[1,{"b":"[[[{"}]}"#), 3);
        assert_eq!(nesting(br#"{"a":"\"}"#), 1);
    }
}
