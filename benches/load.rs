//! Load harness for a running Lotara service. It starts nothing hidden: it
//! takes the service URL, and `fake-llm` is a separate subcommand the
//! operator starts and points the service at (`LLM_BASE_URL`).
//!
//! cargo bench --bench load -- create  --url http://127.0.0.1:8000 --concurrency 64 --seconds 10
//! cargo bench --bench load -- status  --url … --concurrency 64 --seconds 10 [--job completed|paused|started] [--revalidate true]
//! cargo bench --bench load -- list    --url … --concurrency 64 --seconds 10 [--revalidate true]
//! cargo bench --bench load -- health  --url … --concurrency 64 --seconds 10
//! cargo bench --bench load -- fake-llm --port 9100 --latency-ms 2000
//! cargo bench --bench load -- jobs    --url … --count 2000 [--pid <service pid>]
//! cargo bench --bench load -- fanout  --url … --streams 10000 --jobs 100 [--pid <service pid>]
//! cargo bench --bench load -- redis-memory --url … --redis redis://127.0.0.1:6379 --count 500
//! cargo bench --bench load -- plan-to-complete --url … --count 100
//!
//! Figures and commands are in BENCHMARKS.md.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use futures::StreamExt;
use serde_json::{Value, json};

type Error = Box<dyn std::error::Error + Send + Sync>;

struct Args(HashMap<String, String>);

impl Args {
    fn parse() -> (String, Self) {
        let mut argv = std::env::args().skip(1).filter(|a| a != "--bench");
        let scenario = argv.next().unwrap_or_else(|| "help".into());
        let mut map = HashMap::new();
        let rest: Vec<String> = argv.collect();
        for pair in rest.chunks(2) {
            if let [k, v] = pair {
                map.insert(k.trim_start_matches("--").to_string(), v.clone());
            }
        }
        (scenario, Self(map))
    }
    fn get<T: std::str::FromStr>(&self, key: &str, default: T) -> T {
        self.0
            .get(key)
            .and_then(|v| v.parse().ok())
            .unwrap_or(default)
    }
    fn url(&self) -> String {
        self.0
            .get("url")
            .cloned()
            .unwrap_or_else(|| "http://127.0.0.1:8000".into())
    }
}

/// Latency summary in milliseconds.
fn summary(mut micros: Vec<u64>) -> Value {
    if micros.is_empty() {
        return json!({"count": 0});
    }
    micros.sort_unstable();
    let pick =
        |q: f64| micros[((micros.len() as f64 * q) as usize).min(micros.len() - 1)] as f64 / 1000.0;
    json!({"count": micros.len(), "p50_ms": pick(0.50), "p90_ms": pick(0.90), "p99_ms": pick(0.99),
           "max_ms": *micros.last().unwrap_or(&0) as f64 / 1000.0})
}

fn client(pool: usize) -> reqwest::Client {
    reqwest::Client::builder()
        .pool_max_idle_per_host(pool)
        .timeout(Duration::from_secs(30))
        .build()
        .expect("http client")
}

async fn create_job(client: &reqwest::Client, url: &str, n: u64) -> Result<String, Error> {
    create_with(client, url, n, json!({"departure_city": "LAX"})).await
}

const DEFAULT_QUERY: &str = "5 days in Tokyo for 2, food and temples";

async fn create_with(
    client: &reqwest::Client,
    url: &str,
    n: u64,
    constraints: Value,
) -> Result<String, Error> {
    create_query(client, url, n, DEFAULT_QUERY, constraints).await
}

async fn create_query(
    client: &reqwest::Client,
    url: &str,
    n: u64,
    query: &str,
    constraints: Value,
) -> Result<String, Error> {
    let body = json!({"user_id": format!("load-{}", n % 1000), "query": query,
                      "constraints": constraints});
    let response = client
        .post(format!("{url}/v1/plan"))
        .json(&body)
        .send()
        .await?;
    if response.status() != 202 {
        return Err(format!("POST /v1/plan answered {}", response.status()).into());
    }
    let created: Value = response.json().await?;
    Ok(created["job_id"].as_str().unwrap_or_default().to_string())
}

/// A GET answered 200 with its whole body read.
async fn fetch_ok(client: &reqwest::Client, url: String) -> bool {
    match client.get(url).send().await {
        Ok(response) if response.status() == 200 => response.bytes().await.is_ok(),
        _ => false,
    }
}

/// A GET as a browser sends it (gzip accepted, optionally revalidating):
/// whether it succeeded, the body bytes on the wire, whether it was a 304.
async fn fetch_read(client: &reqwest::Client, url: &str, etag: Option<&str>) -> (bool, u64, bool) {
    let mut request = client.get(url).header("accept-encoding", "gzip");
    if let Some(etag) = etag {
        request = request.header("if-none-match", etag);
    }
    match request.send().await {
        Ok(response) if response.status() == 304 => (true, 0, true),
        Ok(response) if response.status() == 200 => match response.bytes().await {
            Ok(body) => (true, body.len() as u64, false),
            Err(_) => (false, 0, false),
        },
        _ => (false, 0, false),
    }
}

/// What a `status` or `list` run reads: a completed plan (default), a job
/// paused mid-run with its partial outputs (`paused`), or one that never
/// runs (`started`, the service started with WORKER_CONCURRENCY=0); the
/// list is the page of that job's user.
async fn read_target(
    args: &Args,
    client: &reqwest::Client,
    url: &str,
    kind: &str,
) -> Result<String, Error> {
    let which: String = args.get("job", "completed".to_string());
    let (constraints, wanted) = match which.as_str() {
        "paused" => (json!({"budget_usd": 50}), Some("waiting_approval")),
        "started" => (json!({"departure_city": "LAX"}), None),
        _ => (json!({"departure_city": "LAX"}), Some("completed")),
    };
    let job = create_with(client, url, 0, constraints).await?;
    if let Some(wanted) = wanted {
        wait_for_status(client, url, std::slice::from_ref(&job), wanted).await?;
    }
    Ok(match kind {
        "list" => format!("{url}/v1/jobs?user_id=load-0&limit=20"),
        _ => format!("{url}/v1/status/{job}"),
    })
}

/// Fixed concurrency for a fixed time: every worker sends requests back to back.
async fn closed_loop(args: &Args, kind: &str) -> Result<Value, Error> {
    let url = args.url();
    let concurrency: usize = args.get("concurrency", 64);
    let seconds: u64 = args.get("seconds", 10);
    let client = client(concurrency);
    let read_url = match kind {
        "status" | "list" => read_target(args, &client, &url, kind).await?,
        _ => String::new(),
    };
    // With --revalidate, every read sends the ETag of the first answer.
    let etag = match args.get("revalidate", false) {
        true => client
            .get(&read_url)
            .send()
            .await?
            .headers()
            .get("etag")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string),
        false => None,
    };
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let errors = Arc::new(AtomicU64::new(0));
    let bytes = Arc::new(AtomicU64::new(0));
    let not_modified = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let workers = (0..concurrency).map(|w| {
        let (client, url, read_url, etag, kind) = (
            client.clone(),
            url.clone(),
            read_url.clone(),
            etag.clone(),
            kind.to_string(),
        );
        let (errors, bytes, not_modified) = (errors.clone(), bytes.clone(), not_modified.clone());
        tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut n = w as u64;
            while Instant::now() < deadline {
                let t = Instant::now();
                let ok = match kind.as_str() {
                    "create" => create_job(&client, &url, n).await.is_ok(),
                    "status" | "list" => {
                        let (ok, size, cached) =
                            fetch_read(&client, &read_url, etag.as_deref()).await;
                        bytes.fetch_add(size, Ordering::Relaxed);
                        not_modified.fetch_add(u64::from(cached), Ordering::Relaxed);
                        ok
                    }
                    _ => fetch_ok(&client, format!("{url}/health")).await,
                };
                latencies.push(t.elapsed().as_micros() as u64);
                if !ok {
                    errors.fetch_add(1, Ordering::Relaxed);
                }
                n += concurrency as u64;
            }
            latencies
        })
    });
    let mut all = Vec::new();
    for worker in futures::future::join_all(workers).await {
        all.extend(worker?);
    }
    let elapsed = started.elapsed().as_secs_f64();
    Ok(
        json!({"scenario": kind, "concurrency": concurrency, "seconds": elapsed,
              "requests_per_sec": all.len() as f64 / elapsed, "errors": errors.load(Ordering::Relaxed),
              "response_bytes_avg": bytes.load(Ordering::Relaxed) as f64 / all.len().max(1) as f64,
              "not_modified": not_modified.load(Ordering::Relaxed),
              "latency": summary(all)}),
    )
}

/// Peak resident memory (VmHWM) and current (VmRSS) of a process, in KiB.
fn memory_kib(pid: Option<u32>) -> Option<(u64, u64)> {
    let status = std::fs::read_to_string(format!("/proc/{}/status", pid?)).ok()?;
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))?
            .split_whitespace()
            .nth(1)?
            .parse::<u64>()
            .ok()
    };
    Some((field("VmHWM:")?, field("VmRSS:")?))
}

async fn wait_all_terminal(
    client: &reqwest::Client,
    url: &str,
    ids: &[String],
    limit: Duration,
) -> HashMap<String, usize> {
    let deadline = Instant::now() + limit;
    let mut pending: Vec<String> = ids.to_vec();
    let mut outcome: HashMap<String, usize> = HashMap::new();
    while !pending.is_empty() && Instant::now() < deadline {
        let mut still = Vec::new();
        for chunk in pending.chunks(200) {
            let checks = chunk.iter().map(|id| async move {
                let s: Value = client
                    .get(format!("{url}/v1/status/{id}"))
                    .send()
                    .await
                    .ok()?
                    .json()
                    .await
                    .ok()?;
                Some((id.clone(), s["status"].as_str()?.to_string()))
            });
            for (id, result) in chunk.iter().zip(futures::future::join_all(checks).await) {
                match result {
                    Some((_, s)) if ["completed", "failed", "cancelled"].contains(&s.as_str()) => {
                        *outcome.entry(s).or_default() += 1;
                    }
                    _ => still.push(id.clone()),
                }
            }
        }
        pending = still;
        if !pending.is_empty() {
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }
    outcome.insert("unfinished".into(), pending.len());
    outcome
}

/// N jobs submitted at once; time until all are terminal.
async fn jobs_in_flight(args: &Args) -> Result<Value, Error> {
    let url = args.url();
    let count: u64 = args.get("count", 2000);
    let pid: Option<u32> = args.0.get("pid").and_then(|p| p.parse().ok());
    let client = client(256);
    let before = memory_kib(pid);
    let started = Instant::now();
    let submits = (0..count).map(|n| {
        let (client, url) = (client.clone(), url.clone());
        async move { create_job(&client, &url, n).await }
    });
    let results = futures::stream::iter(submits)
        .buffer_unordered(256)
        .collect::<Vec<_>>()
        .await;
    let submit_secs = started.elapsed().as_secs_f64();
    let ids: Vec<String> = results
        .iter()
        .filter_map(|r| r.as_ref().ok().cloned())
        .collect();
    let outcome = wait_all_terminal(&client, &url, &ids, Duration::from_secs(600)).await;
    let total = started.elapsed().as_secs_f64();
    Ok(
        json!({"scenario": "jobs", "submitted": count, "accepted": ids.len(), "submit_seconds": submit_secs,
              "seconds_until_all_terminal": total, "outcome": outcome,
              "service_rss_kib_before": before.map(|m| m.1), "service_peak_rss_kib": memory_kib(pid).map(|m| m.0)}),
    )
}

/// Milliseconds since the Unix epoch on this host (event ids carry the
/// Redis server's time, on the same host).
fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// Lets this process open as many sockets as its hard limit allows.
fn raise_fd_limit() -> u64 {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit/setrlimit only read and write the struct passed.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) == 0 {
            limit.rlim_cur = limit.rlim_max;
            libc::setrlimit(libc::RLIMIT_NOFILE, &limit);
        }
    }
    limit.rlim_cur
}

/// N SSE streams spread over M jobs, then the jobs produce events: they
/// are parked for approval (over budget) while the streams open, then all
/// approved, so the real pipeline writes the events the streams receive.
async fn fanout(args: &Args) -> Result<Value, Error> {
    let url = args.url();
    let streams: usize = args.get("streams", 1000);
    let jobs: usize = args.get("jobs", 100);
    let pid: Option<u32> = args.0.get("pid").and_then(|p| p.parse().ok());
    let fd_limit = raise_fd_limit();
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .build()?;
    let api = self::client(64);
    let mut ids = Vec::new();
    for n in 0..jobs {
        ids.push(create_with(&api, &url, n as u64, json!({"budget_usd": 50})).await?);
    }
    wait_for_status(&api, &url, &ids, "waiting_approval").await?;
    let idle = memory_kib(pid);
    let connected = Arc::new(AtomicU64::new(0));
    let caught_up = Arc::new(AtomicU64::new(0));
    let failed = Arc::new(AtomicU64::new(0));
    // Events with ids stamped at or after this ms are the live ones timed.
    let live_from = Arc::new(AtomicU64::new(u64::MAX));
    let readers: Vec<_> = (0..streams)
        .map(|i| {
            let (client, url, id) = (client.clone(), url.clone(), ids[i % jobs].clone());
            let counters = (
                connected.clone(),
                caught_up.clone(),
                failed.clone(),
                live_from.clone(),
            );
            tokio::spawn(read_stream(client, url, id, counters))
        })
        .collect();
    let deadline = Instant::now() + Duration::from_secs(180);
    // Every stream has its replay (up to the pause) before any job moves on.
    while (caught_up.load(Ordering::Relaxed) + failed.load(Ordering::Relaxed)) < streams as u64
        && Instant::now() < deadline
    {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let open_mem = memory_kib(pid);
    live_from.store(now_ms(), Ordering::Relaxed);
    let approvals = ids.iter().map(|id| {
        let (api, url) = (api.clone(), url.clone());
        async move {
            api.post(format!("{url}/v1/approve"))
                .json(&json!({"job_id": id, "approved": true}))
                .send()
                .await
        }
    });
    futures::stream::iter(approvals)
        .buffer_unordered(32)
        .collect::<Vec<_>>()
        .await;
    let mut delays = Vec::new();
    let mut closed = 0;
    for reader in readers {
        if let Ok(Ok((d, ended))) = tokio::time::timeout(Duration::from_secs(120), reader).await {
            delays.extend(d);
            closed += usize::from(ended);
        }
    }
    let per_stream = match (idle, open_mem) {
        (Some(a), Some(b)) => Some((b.1.saturating_sub(a.1)) as f64 / streams as f64),
        _ => None,
    };
    Ok(
        json!({"scenario": "fanout", "streams": streams, "jobs": jobs, "fd_limit": fd_limit,
              "connected": connected.load(Ordering::Relaxed), "caught_up": caught_up.load(Ordering::Relaxed),
              "failed": failed.load(Ordering::Relaxed),
              "closed_after_complete": closed, "live_events_received": delays.len(), "delivery": summary(delays),
              "service_rss_kib_idle": idle.map(|m| m.1), "service_rss_kib_open": open_mem.map(|m| m.1),
              "service_kib_per_stream": per_stream}),
    )
}

/// Reads one stream to its end; returns each live event's delivery delay
/// (receive time − the ms in its id, which Redis stamped when writing it)
/// and whether the stream ended with `complete`.
async fn read_stream(
    client: reqwest::Client,
    url: String,
    id: String,
    (connected, caught_up, failed, live_from): (
        Arc<AtomicU64>,
        Arc<AtomicU64>,
        Arc<AtomicU64>,
        Arc<AtomicU64>,
    ),
) -> (Vec<u64>, bool) {
    let mut delays = Vec::new();
    let response = match client.get(format!("{url}/v1/stream/{id}")).send().await {
        Ok(r) if r.status() == 200 => r,
        _ => {
            failed.fetch_add(1, Ordering::Relaxed);
            return (delays, false);
        }
    };
    connected.fetch_add(1, Ordering::Relaxed);
    let mut body = response.bytes_stream();
    let mut buffer = String::new();
    let mut completed = false;
    while let Some(Ok(chunk)) = body.next().await {
        let received = now_ms();
        buffer.push_str(&String::from_utf8_lossy(&chunk));
        while let Some(end) = buffer.find("\n\n") {
            let frame: String = buffer.drain(..end + 2).collect();
            completed |= frame.contains("event: complete");
            if frame.contains("\"approval_data\"") {
                caught_up.fetch_add(1, Ordering::Relaxed);
            }
            let id_ms = frame
                .lines()
                .find_map(|l| l.strip_prefix("id: "))
                .and_then(|id| id.split('-').next()?.parse::<u64>().ok());
            if let Some(ms) = id_ms.filter(|ms| *ms >= live_from.load(Ordering::Relaxed)) {
                delays.push(received.saturating_sub(ms) * 1000);
            }
        }
    }
    (delays, completed)
}

async fn wait_for_status(
    client: &reqwest::Client,
    url: &str,
    ids: &[String],
    wanted: &str,
) -> Result<(), Error> {
    let deadline = Instant::now() + Duration::from_secs(120);
    for id in ids {
        loop {
            let s: Value = client
                .get(format!("{url}/v1/status/{id}"))
                .send()
                .await?
                .json()
                .await?;
            if s["status"] == wanted {
                break;
            }
            if Instant::now() > deadline {
                return Err(format!("job {id} is {} , not {wanted}", s["status"]).into());
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    Ok(())
}

async fn redis_memory(args: &Args) -> Result<Value, Error> {
    let url = args.url();
    let count: u64 = args.get("count", 500);
    let redis_url = args
        .0
        .get("redis")
        .cloned()
        .unwrap_or_else(|| "redis://127.0.0.1:6379".into());
    let mut redis = redis::Client::open(redis_url)?
        .get_multiplexed_async_connection()
        .await?;
    let used = |info: String| {
        info.lines()
            .find_map(|l| l.strip_prefix("used_memory:")?.trim().parse::<u64>().ok())
            .unwrap_or(0)
    };
    let before = used(
        redis::cmd("INFO")
            .arg("memory")
            .query_async(&mut redis)
            .await?,
    );
    let client = client(64);
    let submits = (0..count).map(|n| {
        let (client, url) = (client.clone(), url.clone());
        async move { create_job(&client, &url, n).await }
    });
    let ids: Vec<String> = futures::stream::iter(submits)
        .buffer_unordered(64)
        .filter_map(|r| async move { r.ok() })
        .collect()
        .await;
    let outcome = wait_all_terminal(&client, &url, &ids, Duration::from_secs(600)).await;
    let after = used(
        redis::cmd("INFO")
            .arg("memory")
            .query_async(&mut redis)
            .await?,
    );
    Ok(
        json!({"scenario": "redis-memory", "jobs": ids.len(), "outcome": outcome, "used_memory_before": before,
              "used_memory_after": after, "bytes_per_job": (after.saturating_sub(before)) as f64 / ids.len().max(1) as f64}),
    )
}

/// One plan at a time: the time from `POST /v1/plan` until its stream
/// delivers `complete` (the stream is opened right after the POST).
/// `--query` sends another request (a vague wish exercises the inspiration
/// ranking; Vietnamese text the multilingual grammar); `--origin` its departure city.
async fn plan_to_complete(args: &Args) -> Result<Value, Error> {
    let url = args.url();
    let count: u64 = args.get("count", 100);
    let query: String = args.get("query", DEFAULT_QUERY.to_string());
    let origin: String = args.get("origin", "LAX".to_string());
    let client = client(4);
    let mut times = Vec::new();
    for n in 0..count {
        let started = Instant::now();
        let id = create_query(&client, &url, n, &query, json!({"departure_city": origin})).await?;
        let body = client
            .get(format!("{url}/v1/stream/{id}"))
            .send()
            .await?
            .text()
            .await?;
        if !body.contains("event: complete") {
            return Err(format!("job {id} did not complete").into());
        }
        times.push(started.elapsed().as_micros() as u64);
    }
    Ok(json!({"scenario": "plan-to-complete", "plans": count, "latency": summary(times)}))
}

/// A fake OpenAI-compatible server: echoes each agent's draft (or reads the
/// trip from the message) after a fixed latency, like a slow model would.
async fn fake_llm(args: &Args) -> Result<Value, Error> {
    use axum::{
        Json, Router,
        routing::{get, post},
    };
    let port: u16 = args.get("port", 9100);
    let latency = Duration::from_millis(args.get("latency-ms", 2000));
    let app = Router::new()
        .route("/v1/models", get(|| async { Json(json!({"data": [{"id": "fake"}]})) }))
        .route(
            "/v1/chat/completions",
            post(move |Json(request): Json<Value>| async move {
                tokio::time::sleep(latency).await;
                let prompt_chars: usize = request["messages"].as_array().map_or(0, |m| {
                    m.iter().map(|m| m["content"].as_str().map_or(0, str::len)).sum()
                });
                let name = request["response_format"]["json_schema"]["name"].as_str().unwrap_or("");
                let user = request["messages"][1]["content"].as_str().unwrap_or("");
                let content = if name == "trip_request" {
                    json!({"destinations": ["Tokyo"], "origin": "LAX", "start_date": null, "days": 5, "travelers": 2,
                           "budget_usd": null, "interests": ["food"], "tier": null}).to_string()
                } else {
                    user.split_once("(keep its shape):\n").map(|(_, d)| d.to_string()).unwrap_or_default()
                };
                // One line per call: what a real model would be charged for.
                eprintln!("call agent={name} prompt_chars={prompt_chars} reply_chars={}", content.len());
                Json(json!({"choices": [{"message": {"role": "assistant", "content": content}}],
                            "usage": {"prompt_tokens": 900, "completion_tokens": 300, "total_tokens": 1200}}))
            }),
        );
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
    eprintln!("fake LLM on http://127.0.0.1:{port}/v1 with {latency:?} per call; Ctrl-C to stop");
    axum::serve(listener, app).await?;
    Ok(json!({}))
}

#[tokio::main]
async fn main() {
    let (scenario, args) = Args::parse();
    let result = match scenario.as_str() {
        "create" | "status" | "list" | "health" => closed_loop(&args, &scenario).await,
        "jobs" => jobs_in_flight(&args).await,
        "fanout" => fanout(&args).await,
        "redis-memory" => redis_memory(&args).await,
        "plan-to-complete" => plan_to_complete(&args).await,
        "fake-llm" => fake_llm(&args).await,
        _ => {
            eprintln!(
                "scenarios: create | status | list | health | jobs | fanout | redis-memory | plan-to-complete | fake-llm (see the file's header)"
            );
            std::process::exit(2);
        }
    };
    match result {
        Ok(report) => println!(
            "{}",
            serde_json::to_string_pretty(&report).unwrap_or_default()
        ),
        Err(e) => {
            eprintln!("{scenario} failed: {e}");
            std::process::exit(1);
        }
    }
}
