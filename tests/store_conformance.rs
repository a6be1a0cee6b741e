//! One conformance suite for both job stores: every test runs against Redis
//! (the local server, a unique key prefix per test) and against the embedded
//! memory store.

mod support;

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use futures::StreamExt;
use lotara::jobs::{
    self, Approval, Change, Created, EventKind, Job, JobBackend, JobRequest, JobStatus,
    MemoryStore, NewEvent, RedisStore, StoreSettings, WorkflowMode, transitions,
};
use serde_json::json;

#[derive(Clone, Copy, Debug)]
enum Backend {
    Redis,
    Memory,
}

impl Backend {
    async fn open(self, settings: StoreSettings) -> Arc<dyn JobBackend> {
        match self {
            Backend::Redis => Arc::new(
                RedisStore::connect(&support::redis_url(), settings)
                    .await
                    .expect("local Redis answers (start it as the README says)"),
            ),
            Backend::Memory => Arc::new(MemoryStore::new(settings)),
        }
    }

    async fn store(self) -> Arc<dyn JobBackend> {
        self.open(settings()).await
    }
}

fn settings() -> StoreSettings {
    StoreSettings {
        key_prefix: support::unique_prefix(),
        claim_block: Duration::from_millis(200),
        ..StoreSettings::default()
    }
}

async fn new_job(store: &Arc<dyn JobBackend>, user: &str) -> Job {
    let job = Job::new(user.into(), WorkflowMode::Reactive, JobRequest::default());
    store
        .create(&job, job.created_event())
        .await
        .expect("create");
    job
}

fn marker(n: usize) -> NewEvent {
    NewEvent::new(EventKind::AgentOutput, json!({ "key": "n", "value": n }))
}

macro_rules! conformance {
    ($($name:ident),* $(,)?) => {
        mod redis {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $name() {
                    super::$name(super::Backend::Redis).await;
                }
            )*
        }
        mod memory {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $name() {
                    super::$name(super::Backend::Memory).await;
                }
            )*
        }
    };
}

conformance!(
    concurrent_updates_are_never_lost,
    only_one_of_two_concurrent_approvals_succeeds,
    events_read_back_in_order_with_increasing_ids,
    replay_after_an_id_returns_exactly_the_later_events,
    a_follower_started_mid_write_sees_every_event_once_in_order,
    queue_hands_each_job_to_one_consumer,
    an_expired_lease_is_reclaimed_by_another_consumer,
    a_released_job_is_claimable_at_once,
    jobs_expire_after_their_ttl,
    user_jobs_list_newest_first_with_a_cursor,
    approval_deadlines_become_due,
    a_refused_transition_writes_nothing,
    an_idempotency_key_creates_one_job_however_often_it_is_sent,
    requests_are_counted_per_client_in_a_window,
    every_write_moves_the_version_and_wakes_watchers,
    an_announced_event_reaches_followers_but_is_never_logged,
);

async fn concurrent_updates_are_never_lost(backend: Backend) {
    let store = backend.store().await;
    let job = new_job(&store, "u1").await;
    let writers = (0..20).map(|task| {
        let store = store.clone();
        tokio::spawn(async move {
            for i in 0..50 {
                store
                    .apply(job.id, &|job: &mut Job| {
                        job.current_output.insert(format!("{task}-{i}"), json!(i));
                        Ok(Change::event(marker(task * 50 + i)))
                    })
                    .await
                    .expect("apply");
            }
        })
    });
    for writer in futures::future::join_all(writers).await {
        writer.expect("writer task");
    }
    let stored = store.get(job.id).await.unwrap().unwrap();
    assert_eq!(
        stored.current_output.len(),
        1000,
        "every update is in the state"
    );
    let events = store.events_after(job.id, None).await.unwrap();
    assert_eq!(events.len(), 1001, "every update's event is logged once");
}

async fn only_one_of_two_concurrent_approvals_succeeds(backend: Backend) {
    let store = backend.store().await;
    let job = new_job(&store, "u1").await;
    store
        .apply(job.id, &|job: &mut Job| {
            job.status = JobStatus::WaitingApproval;
            job.approval = Some(Approval {
                requested_at: Utc::now(),
                data: json!({}),
                decision: None,
            });
            Ok(Change::none())
        })
        .await
        .unwrap();
    let approve = |approved: bool| {
        let store = store.clone();
        tokio::spawn(async move {
            store
                .apply(job.id, &move |job: &mut Job| {
                    transitions::decide_approval(job, approved, None)
                })
                .await
        })
    };
    let (a, b) = tokio::join!(approve(true), approve(false));
    let results = [a.unwrap(), b.unwrap()];
    let won: Vec<_> = results.iter().filter(|r| r.is_ok()).collect();
    assert_eq!(won.len(), 1, "exactly one decision wins: {results:?}");
    let refused = results.iter().find_map(|r| r.as_ref().err()).unwrap();
    assert_eq!(refused.to_string(), "Job is not awaiting approval");
    let stored = store.get(job.id).await.unwrap().unwrap();
    let decision = stored.approval.unwrap().decision.unwrap();
    let expected = if decision.approved {
        JobStatus::Executing
    } else {
        JobStatus::Cancelled
    };
    assert_eq!(stored.status, expected);
}

async fn events_read_back_in_order_with_increasing_ids(backend: Backend) {
    let store = backend.store().await;
    let job = new_job(&store, "u1").await;
    for n in 0..100 {
        store
            .apply(job.id, &move |_: &mut Job| Ok(Change::event(marker(n))))
            .await
            .unwrap();
    }
    let events = store.events_after(job.id, None).await.unwrap();
    assert_eq!(events.len(), 101);
    assert_eq!(events[0].kind, EventKind::StateChange);
    assert!(
        events.windows(2).all(|w| w[0].id < w[1].id),
        "ids strictly increase"
    );
    for (n, event) in events[1..].iter().enumerate() {
        assert_eq!(event.data, json!({ "key": "n", "value": n }).to_string());
    }
}

async fn replay_after_an_id_returns_exactly_the_later_events(backend: Backend) {
    let store = backend.store().await;
    let job = new_job(&store, "u1").await;
    for n in 0..10 {
        store
            .apply(job.id, &move |_: &mut Job| Ok(Change::event(marker(n))))
            .await
            .unwrap();
    }
    let all = store.events_after(job.id, None).await.unwrap();
    let after = store.events_after(job.id, Some(all[4].id)).await.unwrap();
    assert_eq!(after, all[5..].to_vec());
    let none = store.events_after(job.id, Some(all[10].id)).await.unwrap();
    assert!(none.is_empty());
}

async fn a_follower_started_mid_write_sees_every_event_once_in_order(backend: Backend) {
    let store = backend.store().await;
    let job = new_job(&store, "u1").await;
    let writer = {
        let store = store.clone();
        tokio::spawn(async move {
            for n in 0..1000 {
                store
                    .apply(job.id, &move |_: &mut Job| Ok(Change::event(marker(n))))
                    .await
                    .unwrap();
            }
        })
    };
    // Start following once writing is under way.
    support::wait_for("the first writes", Duration::from_secs(10), || {
        let store = store.clone();
        async move { (store.events_after(job.id, None).await.unwrap().len() > 20).then_some(()) }
    })
    .await;
    let seen: Vec<_> = jobs::follow(store.clone(), job.id, None)
        .take(1001)
        .map(|e| e.expect("store readable"))
        .collect()
        .await;
    writer.await.unwrap();
    assert_eq!(seen.len(), 1001);
    assert!(
        seen.windows(2).all(|w| w[0].id < w[1].id),
        "in order, no repeats"
    );
    for (n, event) in seen[1..].iter().enumerate() {
        assert_eq!(
            event.data,
            json!({ "key": "n", "value": n }).to_string(),
            "event {n}"
        );
    }
}

async fn an_announced_event_reaches_followers_but_is_never_logged(backend: Backend) {
    let store = backend.store().await;
    let job = new_job(&store, "u1").await;
    let mut follower = Box::pin(jobs::follow(store.clone(), job.id, None));
    // The first event comes from the log, read after subscribing.
    let created = follower.next().await.unwrap().unwrap();
    let version = store.version(job.id).await.unwrap();
    let progress = NewEvent::new(
        EventKind::AgentProgress,
        json!({"agent": "hotel_agent", "tokens": 7}),
    );
    store.announce(job.id, progress.clone()).await.unwrap();
    store
        .apply(job.id, &|_: &mut Job| Ok(Change::event(marker(1))))
        .await
        .unwrap();
    let heard = tokio::time::timeout(Duration::from_secs(5), follower.next())
        .await
        .expect("the announcement arrives")
        .unwrap()
        .unwrap();
    assert_eq!(
        (heard.kind, heard.data.as_str()),
        (progress.kind, progress.data.as_str())
    );
    let next = follower.next().await.unwrap().unwrap();
    assert_eq!(
        next.kind,
        EventKind::AgentOutput,
        "logged events still follow, once"
    );
    assert!(next.id > created.id);
    let logged = store.events_after(job.id, None).await.unwrap();
    assert_eq!(logged.len(), 2, "created and the marker only");
    assert!(logged.iter().all(|e| e.kind != EventKind::AgentProgress));
    assert_eq!(
        store.version(job.id).await.unwrap(),
        version.map(|v| v + 1),
        "only the marker wrote the job"
    );
}

async fn queue_hands_each_job_to_one_consumer(backend: Backend) {
    let store = backend.store().await;
    let first = new_job(&store, "u1").await;
    let second = new_job(&store, "u1").await;
    let wait = Duration::from_millis(200);
    let a = store.claim("a", 1, wait).await.unwrap();
    let b = store.claim("b", 10, wait).await.unwrap();
    assert_eq!(
        a.iter().map(|l| l.job_id).collect::<Vec<_>>(),
        vec![first.id]
    );
    assert_eq!(
        b.iter().map(|l| l.job_id).collect::<Vec<_>>(),
        vec![second.id]
    );
    assert!(
        store.claim("c", 10, wait).await.unwrap().is_empty(),
        "nothing left"
    );
    assert_eq!(store.queue_depth().await.unwrap(), 2, "both still pending");
    // Only the owner can acknowledge.
    store.ack("b", &a[0]).await.unwrap();
    assert_eq!(store.queue_depth().await.unwrap(), 2);
    store.ack("a", &a[0]).await.unwrap();
    store.ack("b", &b[0]).await.unwrap();
    assert_eq!(store.queue_depth().await.unwrap(), 0);
}

async fn an_expired_lease_is_reclaimed_by_another_consumer(backend: Backend) {
    let store = backend.store().await;
    let job = new_job(&store, "u1").await;
    let lease = store
        .claim("a", 1, Duration::from_millis(200))
        .await
        .unwrap()
        .remove(0);
    let idle = Duration::from_millis(300);
    assert!(
        store.reclaim("b", idle, 10).await.unwrap().is_empty(),
        "lease still fresh"
    );
    // A renewing owner keeps its lease however long it runs.
    for _ in 0..3 {
        tokio::time::sleep(Duration::from_millis(150)).await;
        assert_eq!(
            store
                .renew("a", std::slice::from_ref(&lease))
                .await
                .unwrap()
                .len(),
            1
        );
        assert!(store.reclaim("b", idle, 10).await.unwrap().is_empty());
    }
    // The owner stops renewing: another consumer takes over.
    let reclaimed = support::wait_for("the lease to expire", Duration::from_secs(5), || {
        let store = store.clone();
        async move { Some(store.reclaim("b", idle, 10).await.unwrap()).filter(|l| !l.is_empty()) }
    })
    .await;
    assert_eq!(reclaimed, vec![lease.clone()]);
    assert!(
        store
            .renew("a", std::slice::from_ref(&lease))
            .await
            .unwrap()
            .is_empty(),
        "old owner lost it"
    );
    assert_eq!(
        store
            .renew("b", std::slice::from_ref(&lease))
            .await
            .unwrap()
            .len(),
        1
    );
    assert_eq!(reclaimed[0].job_id, job.id);
}

async fn a_released_job_is_claimable_at_once(backend: Backend) {
    let store = backend.store().await;
    let job = new_job(&store, "u1").await;
    let lease = store
        .claim("a", 1, Duration::from_millis(200))
        .await
        .unwrap()
        .remove(0);
    store.release("a", &lease).await.unwrap();
    let again = store
        .claim("b", 1, Duration::from_millis(500))
        .await
        .unwrap();
    assert_eq!(again.len(), 1);
    assert_eq!(again[0].job_id, job.id);
    assert_eq!(store.queue_depth().await.unwrap(), 1);
}

async fn jobs_expire_after_their_ttl(backend: Backend) {
    let store = backend
        .open(StoreSettings {
            job_ttl: Duration::from_secs(1),
            ..settings()
        })
        .await;
    let job = new_job(&store, "u1").await;
    assert!(store.get(job.id).await.unwrap().is_some());
    support::wait_for("the job to expire", Duration::from_secs(5), || {
        let store = store.clone();
        async move { store.get(job.id).await.unwrap().is_none().then_some(()) }
    })
    .await;
    assert!(
        store.events_after(job.id, None).await.unwrap().is_empty(),
        "events expire with the job"
    );
    assert!(
        store
            .list_user_jobs("u1", 10, None)
            .await
            .unwrap()
            .jobs
            .is_empty()
    );
}

async fn user_jobs_list_newest_first_with_a_cursor(backend: Backend) {
    let store = backend.store().await;
    let mut ids = Vec::new();
    for _ in 0..5 {
        ids.push(new_job(&store, "alice").await.id);
    }
    new_job(&store, "bob").await;
    ids.reverse();
    let first = store.list_user_jobs("alice", 2, None).await.unwrap();
    assert_eq!(
        first.jobs.iter().map(|j| j.id).collect::<Vec<_>>(),
        ids[..2]
    );
    let second = store
        .list_user_jobs("alice", 2, first.next_cursor)
        .await
        .unwrap();
    assert_eq!(
        second.jobs.iter().map(|j| j.id).collect::<Vec<_>>(),
        ids[2..4]
    );
    let last = store
        .list_user_jobs("alice", 2, second.next_cursor)
        .await
        .unwrap();
    assert_eq!(last.jobs.iter().map(|j| j.id).collect::<Vec<_>>(), ids[4..]);
    assert!(last.next_cursor.is_none());
    assert!(
        store
            .list_user_jobs("nobody", 2, None)
            .await
            .unwrap()
            .jobs
            .is_empty()
    );
}

async fn approval_deadlines_become_due(backend: Backend) {
    let store = backend.store().await;
    let soon = new_job(&store, "u1").await;
    let later = new_job(&store, "u1").await;
    let set = |at| {
        move |_: &mut Job| {
            Ok(Change {
                deadline: jobs::Deadline::Set(at),
                ..Change::none()
            })
        }
    };
    store.apply(soon.id, &set(Utc::now())).await.unwrap();
    store
        .apply(later.id, &set(Utc::now() + chrono::Duration::hours(1)))
        .await
        .unwrap();
    assert_eq!(
        store.due_deadlines(Utc::now(), 10).await.unwrap(),
        vec![soon.id]
    );
    store
        .apply(soon.id, &|_: &mut Job| {
            Ok(Change {
                deadline: jobs::Deadline::Clear,
                ..Change::none()
            })
        })
        .await
        .unwrap();
    assert!(
        store
            .due_deadlines(Utc::now(), 10)
            .await
            .unwrap()
            .is_empty()
    );
}

async fn a_refused_transition_writes_nothing(backend: Backend) {
    let store = backend.store().await;
    let job = new_job(&store, "u1").await;
    store
        .apply(job.id, &|job: &mut Job| {
            transitions::cancel(job, "stop", "cancelled")
        })
        .await
        .unwrap();
    let before = store.get(job.id).await.unwrap().unwrap();
    let events_before = store.events_after(job.id, None).await.unwrap().len();
    let err = store
        .apply(job.id, &|job: &mut Job| {
            transitions::cancel(job, "again", "cancelled")
        })
        .await
        .unwrap_err();
    assert_eq!(err.to_string(), "Job is already cancelled");
    assert_eq!(store.get(job.id).await.unwrap().unwrap(), before);
    assert_eq!(
        store.events_after(job.id, None).await.unwrap().len(),
        events_before
    );
    let missing = store
        .apply(uuid::Uuid::now_v7(), &|_: &mut Job| Ok(Change::none()))
        .await;
    assert!(matches!(missing, Err(jobs::ApplyError::NotFound(_))));
}

async fn an_idempotency_key_creates_one_job_however_often_it_is_sent(backend: Backend) {
    let store = backend.store().await;
    let attempts = (0..10).map(|_| {
        let store = store.clone();
        tokio::spawn(async move {
            let job = Job::new("ivy".into(), WorkflowMode::Reactive, JobRequest::default());
            store
                .create_once(&job, job.created_event(), "key-1")
                .await
                .unwrap()
        })
    });
    let results: Vec<Created> = futures::future::join_all(attempts)
        .await
        .into_iter()
        .map(|r| r.unwrap())
        .collect();
    let created: Vec<_> = results
        .iter()
        .filter_map(|r| match r {
            Created::New(e) => Some(e.job_id),
            _ => None,
        })
        .collect();
    assert_eq!(created.len(), 1, "exactly one request creates the job");
    assert!(results.iter().all(|r| match r {
        Created::Existing(id) => *id == created[0],
        Created::New(_) => true,
    }));
    assert_eq!(
        store
            .list_user_jobs("ivy", 20, None)
            .await
            .unwrap()
            .jobs
            .len(),
        1
    );
    assert_eq!(store.queue_depth().await.unwrap(), 1, "queued once");
    // Keys are per user.
    let other = Job::new("jon".into(), WorkflowMode::Reactive, JobRequest::default());
    assert!(matches!(
        store
            .create_once(&other, other.created_event(), "key-1")
            .await
            .unwrap(),
        Created::New(_)
    ));
}

async fn requests_are_counted_per_client_in_a_window(backend: Backend) {
    let store = backend.store().await;
    let window = Duration::from_millis(400);
    for expected in 1..=3 {
        let (count, left) = store.count_request("ip:1.2.3.4", window).await.unwrap();
        assert_eq!(count, expected);
        assert!(left <= window);
    }
    assert_eq!(
        store.count_request("ip:5.6.7.8", window).await.unwrap().0,
        1,
        "per client"
    );
    support::wait_for("a new window", Duration::from_secs(5), || {
        let store = store.clone();
        async move { (store.count_request("ip:1.2.3.4", window).await.unwrap().0 == 1).then_some(()) }
    })
    .await;
}

/// The read path's contract: a version per write (also writes without an
/// event), read alone, with the state, or for a list page; and a watcher
/// woken by each write, which on Redis comes through the pub/sub feed.
async fn every_write_moves_the_version_and_wakes_watchers(backend: Backend) {
    let store = backend.store().await;
    let job = new_job(&store, "carol").await;
    let newer = new_job(&store, "carol").await;
    assert_eq!(store.version(job.id).await.unwrap(), Some(1));
    let mut watch = store.watch(job.id);
    let wake = Duration::from_secs(5);

    store
        .apply(job.id, &|_: &mut Job| Ok(Change::event(marker(1))))
        .await
        .unwrap();
    tokio::time::timeout(wake, watch.changed())
        .await
        .expect("an event wakes the watcher");
    assert_eq!(store.version(job.id).await.unwrap(), Some(2));

    store
        .apply(job.id, &|j: &mut Job| {
            j.attempts += 1;
            Ok(Change::none())
        })
        .await
        .unwrap();
    tokio::time::timeout(wake, watch.changed())
        .await
        .expect("a write without an event wakes the watcher too");
    let (read, version) = store.get_versioned(job.id).await.unwrap().unwrap();
    assert_eq!((read.attempts, version), (1, 3));

    let page = store.list_user_versions("carol", 10, None).await.unwrap();
    assert_eq!(page.entries, vec![(newer.id, 1), (job.id, 3)]);
    assert_eq!(page.next_cursor, None);
    let first = store.list_user_versions("carol", 1, None).await.unwrap();
    assert_eq!(first.entries, vec![(newer.id, 1)]);
    assert_eq!(first.next_cursor, Some(newer.id));
    let many = store
        .get_many_versioned(&[job.id, uuid::Uuid::now_v7(), newer.id])
        .await
        .unwrap();
    assert_eq!(
        many.iter().map(|(j, v)| (j.id, *v)).collect::<Vec<_>>(),
        vec![(job.id, 3), (newer.id, 1)]
    );
    assert_eq!(store.version(uuid::Uuid::now_v7()).await.unwrap(), None);
}
