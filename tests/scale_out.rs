//! Three replicas on one Redis: jobs created on one are streamed from another
//! and approved on a third; the replica running jobs is killed with SIGKILL
//! mid-run, and every job still completes on the other two, while every
//! client stream (reconnecting with Last-Event-ID) sees each event once.

mod support;

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use futures::StreamExt;
use serde_json::{Value, json};
use support::fake_llm::{FakeLlm, Reply};
use support::process::LotaraProcess;
use tokio::sync::Notify;

const JOBS: usize = 6;

/// XPENDING's summary: count, lowest id, highest id, entries per consumer.
type PendingSummary = (u64, Option<String>, Option<String>, Vec<(String, String)>);
const WAIT: Duration = Duration::from_secs(60);

struct Replica {
    url: String,
    process: LotaraProcess,
    alive: bool,
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// An SSE client that, like a browser's EventSource, reconnects after a
/// dropped connection with the last id it saw — to the next live replica.
async fn follow_to_the_end(
    urls: Vec<String>,
    alive: Arc<std::sync::Mutex<Vec<bool>>>,
    job: String,
    start: usize,
    opened: Arc<AtomicUsize>,
) -> (Vec<(String, String)>, usize) {
    let client = reqwest::Client::new();
    let mut seen: Vec<(String, String)> = Vec::new();
    let mut replica = start;
    let mut reconnects = 0;
    let deadline = tokio::time::Instant::now() + WAIT;
    while tokio::time::Instant::now() < deadline {
        if !alive.lock().unwrap()[replica] {
            replica = (replica + 1) % urls.len();
            continue;
        }
        let mut request = client.get(format!("{}/v1/stream/{job}", urls[replica]));
        if let Some((id, _)) = seen.last() {
            request = request.header("Last-Event-ID", id);
        }
        let Ok(response) = request.send().await else {
            replica = (replica + 1) % urls.len();
            continue;
        };
        if reconnects == 0 {
            opened.fetch_add(1, Ordering::SeqCst);
        }
        let mut body = response.bytes_stream();
        let mut buffer = String::new();
        while let Some(Ok(chunk)) = body.next().await {
            buffer.push_str(&String::from_utf8_lossy(&chunk));
            while let Some(end) = buffer.find("\n\n") {
                let frame: String = buffer.drain(..end + 2).collect();
                let field = |name: &str| {
                    frame
                        .lines()
                        .find_map(|l| l.strip_prefix(name))
                        .map(str::to_string)
                };
                if let (Some(id), Some(event)) = (field("id: "), field("event: ")) {
                    seen.push((id, event));
                }
            }
        }
        if seen.last().is_some_and(|(_, event)| event == "complete") {
            return (seen, reconnects);
        }
        // Dropped before the end (replica killed): reconnect elsewhere.
        reconnects += 1;
        replica = (replica + 1) % urls.len();
    }
    panic!("stream of {job} did not reach `complete`: {seen:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn three_replicas_survive_losing_the_one_running_jobs() {
    let llm = FakeLlm::start().await;
    let held = Arc::new(Notify::new());
    llm.script((0..JOBS).map(|_| Reply::Hold(held.clone())));
    let prefix = support::unique_prefix();
    let redis = support::redis_url();
    // Replica 0 creates and approves (no workers); 1 and 2 run jobs and serve streams.
    let mut replicas: Vec<Replica> = (0..3)
        .map(|i| {
            let port = free_port().to_string();
            let workers = if i == 0 { "0" } else { "4" };
            let vars = [
                ("HOST", "127.0.0.1"),
                ("PORT", port.as_str()),
                ("REDIS_URL", redis.as_str()),
                ("REDIS_KEY_PREFIX", prefix.as_str()),
                ("LLM_BASE_URL", llm.url.as_str()),
                ("JOB_LEASE_SECS", "1"),
                ("WORKER_CONCURRENCY", workers),
                ("RUST_LOG", "warn"),
            ];
            Replica {
                url: format!("http://127.0.0.1:{port}"),
                process: LotaraProcess::start("serve", &vars),
                alive: true,
            }
        })
        .collect();
    let client = reqwest::Client::new();
    for replica in &replicas {
        support::wait_for("a replica to answer", WAIT, || async {
            client
                .get(format!("{}/health", replica.url))
                .send()
                .await
                .ok()
                .filter(|r| r.status() == 200)
        })
        .await;
    }

    // Created on replica 0; every job is over budget, so it will pause for approval.
    let mut jobs = Vec::new();
    for _ in 0..JOBS {
        let body = json!({"user_id": "scale", "query": "5 days in Tokyo", "constraints": {"budget_usd": 100}});
        let created: Value = client
            .post(format!("{}/v1/plan", replicas[0].url))
            .json(&body)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        jobs.push(created["job_id"].as_str().unwrap().to_string());
    }
    // Streamed from replicas 1 and 2 (reconnecting elsewhere when needed).
    let urls: Vec<String> = replicas.iter().map(|r| r.url.clone()).collect();
    let alive = Arc::new(std::sync::Mutex::new(vec![true; 3]));
    let opened = Arc::new(AtomicUsize::new(0));
    let streams: Vec<_> = jobs
        .iter()
        .enumerate()
        .map(|(i, job)| {
            tokio::spawn(follow_to_the_end(
                urls.clone(),
                alive.clone(),
                job.clone(),
                1 + i % 2,
                opened.clone(),
            ))
        })
        .collect();

    // Every job's first LLM call is in flight and held: find who runs most of them.
    // Every stream is open before the kill, so the ones on the victim must
    // reconnect elsewhere.
    support::wait_for("every stream open", WAIT, || async {
        (opened.load(Ordering::SeqCst) >= JOBS).then_some(())
    })
    .await;
    support::wait_for("every job running", WAIT, || async {
        (llm.requests().len() >= JOBS).then_some(())
    })
    .await;
    let mut redis_conn = redis::Client::open(redis.as_str())
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap();
    let pending: PendingSummary = redis::cmd("XPENDING")
        .arg(format!("{prefix}queue"))
        .arg("workers")
        .query_async(&mut redis_conn)
        .await
        .unwrap();
    let owners: HashMap<String, u64> = pending
        .3
        .into_iter()
        .map(|(c, n)| (c, n.parse().unwrap()))
        .collect();
    let (busiest, running) = owners
        .iter()
        .max_by_key(|(_, n)| **n)
        .map(|(c, n)| (c.clone(), *n))
        .unwrap();
    assert!(running > 0, "the replica to kill is running jobs");
    let pid: u32 = busiest.split('-').rev().nth(1).unwrap().parse().unwrap();
    let victim = replicas
        .iter()
        .position(|r| r.process.pid() == pid)
        .expect("the busiest consumer is one of ours");
    replicas[victim].process.kill();
    replicas[victim].alive = false;
    alive.lock().unwrap()[victim] = false;
    held.notify_waiters();

    // Approved on replica 0, which neither runs nor streams them.
    let approver = 0;
    for job in &jobs {
        support::wait_for("the job to pause for approval", WAIT, || async {
            let s: Value = client
                .get(format!("{}/v1/status/{job}", replicas[approver].url))
                .send()
                .await
                .ok()?
                .json()
                .await
                .ok()?;
            (s["status"] == "waiting_approval").then_some(())
        })
        .await;
        let approved = client
            .post(format!("{}/v1/approve", replicas[approver].url))
            .json(&json!({"job_id": job, "approved": true}))
            .send()
            .await
            .unwrap();
        assert_eq!(approved.status(), 200);
    }

    let store = support::redis_store(&prefix).await;
    use lotara::jobs::JobStore;
    let mut total_reconnects = 0;
    for (job, stream) in jobs.iter().zip(streams) {
        let (seen, reconnects) = stream.await.unwrap();
        total_reconnects += reconnects;
        let logged: Vec<(String, String)> = store
            .events_after(job.parse().unwrap(), None)
            .await
            .unwrap()
            .iter()
            .map(|e| (e.id.to_string(), e.kind.as_str().to_string()))
            .collect();
        assert_eq!(seen, logged, "job {job}: each event exactly once, in order");
        let status = store.get(job.parse().unwrap()).await.unwrap().unwrap();
        assert_eq!(status.status, lotara::jobs::JobStatus::Completed);
    }
    assert!(
        total_reconnects > 0,
        "streams on the killed replica reconnected elsewhere"
    );
}
