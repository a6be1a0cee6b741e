//! The proactive monitors over HTTP on real Redis, with a price feed and a
//! calendar feed served locally: what each finds and does not find, dedupe,
//! suggestions as ordinary jobs, and the cron schedule across replicas.
//! Monitors are run with `POST /v1/scheduler/{task}/run` except in the cron
//! tests at the end.

mod support;

use std::collections::{BTreeSet, HashMap};
use std::time::Duration;

use chrono::{Days, NaiveDate, Utc};
use reqwest::StatusCode;
use serde_json::{Value, json};
use support::app::{TestApp, spawn_app, spawn_app_with, test_vars};
use support::feeds::{IcsFeed, PriceFeed, all_day_calendar};
use support::process::LotaraProcess;
use support::sse::SseReader;

const NO_CRON: (&str, &str) = ("SCHEDULER_ENABLED", "false");
const NO_WORKERS: (&str, &str) = ("WORKER_CONCURRENCY", "0");
/// The calendar feeds here are served on 127.0.0.1, which the service
/// fetches only when the allow-list names it.
const LOCAL_FEEDS: (&str, &str) = ("OUTBOUND_ALLOW_PRIVATE", "127.0.0.1");
const WAIT: Duration = Duration::from_secs(12);

fn today() -> NaiveDate {
    Utc::now().date_naive()
}

fn day(offset: u64) -> NaiveDate {
    today() + Days::new(offset)
}

async fn create(app: &TestApp, body: Value) -> String {
    let response = app.post_json("/v1/watchlists", &body).await;
    let status = response.status();
    let body: Value = response.json().await.unwrap();
    assert_eq!(status, StatusCode::CREATED, "{body}");
    body["watchlist_id"].as_str().unwrap().to_string()
}

/// The jobs a run started.
fn started(report: &Value) -> Vec<Value> {
    report["jobs"].as_array().unwrap().clone()
}

async fn user_jobs(app: &TestApp, user: &str) -> Vec<Value> {
    let list: Value = app
        .get(&format!("/v1/jobs?user_id={user}&limit=100"))
        .await
        .json()
        .await
        .unwrap();
    list["jobs"].as_array().unwrap().clone()
}

fn price_watch(user: &str, target: Option<f64>) -> Value {
    json!({
        "user_id": user, "kind": "price", "target_price_usd": target,
        "routes": [{"origin": "LAX", "destination": "Tokyo", "departure_date": day(40).to_string()}]
    })
}

async fn app_with_feed(feed: &PriceFeed, extra: &[(&str, &str)]) -> TestApp {
    let mut vars = vec![NO_CRON, NO_WORKERS, ("PRICE_FEED_URL", feed.url.as_str())];
    vars.extend_from_slice(extra);
    spawn_app(&vars).await
}

#[tokio::test]
async fn a_drop_past_the_threshold_starts_a_price_drop_job_and_a_rise_does_not() {
    let feed = PriceFeed::start(850.0).await;
    let app = app_with_feed(&feed, &[]).await;
    let id = create(&app, price_watch("ann", None)).await;

    assert!(
        started(&app.run_scheduler_task("price_check").await).is_empty(),
        "first sighting"
    );
    let watchlist: Value = app
        .get(&format!("/v1/watchlists/{id}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(watchlist["routes"][0]["last_price_usd"], 850.0);
    let query = &feed.requests()[0];
    assert_eq!(
        (query["origin"].as_str(), query["destination"].as_str()),
        ("LAX", "NRT")
    );
    assert_eq!(query["date"], day(40).to_string());

    feed.set_price(650.0);
    let jobs = started(&app.run_scheduler_task("price_check").await);
    assert_eq!(jobs.len(), 1);
    let context = &jobs[0]["context"];
    assert_eq!(jobs[0]["trigger_type"], "price_drop");
    assert_eq!(jobs[0]["watchlist_id"], id.as_str());
    assert_eq!(context["route"], "LAX->NRT");
    assert_eq!(
        (context["old_price"].as_f64(), context["new_price"].as_f64()),
        (Some(850.0), Some(650.0))
    );
    assert_eq!(context["savings"], 200.0);
    assert_eq!(context["departure_date"], day(40).to_string());
    assert_eq!(context["watchlist_id"], id.as_str());

    feed.set_price(900.0);
    assert!(
        started(&app.run_scheduler_task("price_check").await).is_empty(),
        "a rise is no finding"
    );
    feed.set_price(800.0);
    assert!(
        started(&app.run_scheduler_task("price_check").await).is_empty(),
        "an 11% drop is under 15%"
    );

    let listed = user_jobs(&app, "ann").await;
    assert_eq!(listed.len(), 1);
    assert_eq!(
        (
            listed[0]["mode"].as_str(),
            listed[0]["trigger_type"].as_str()
        ),
        (Some("proactive"), Some("price_drop"))
    );
}

#[tokio::test]
async fn a_failing_price_feed_skips_the_route_and_says_so() {
    let feed = PriceFeed::start(850.0).await;
    let app = app_with_feed(&feed, &[]).await;
    let id = create(&app, price_watch("ann", Some(900.0))).await;
    feed.fail(true);
    let report = app.run_scheduler_task("price_check").await;
    assert!(started(&report).is_empty());
    assert_eq!(report["skipped"][0]["watchlist_id"], id.as_str());
    assert!(
        report["skipped"][0]["reason"]
            .as_str()
            .unwrap()
            .contains("LAX->NRT"),
        "{report}"
    );
    feed.fail(false);
    assert_eq!(
        started(&app.run_scheduler_task("price_check").await).len(),
        1,
        "the next run works again"
    );
}

#[tokio::test]
async fn without_a_feed_fares_come_from_the_knowledge_estimator() {
    let app = spawn_app(&[NO_CRON, NO_WORKERS]).await;
    create(&app, price_watch("ann", Some(100_000.0))).await;
    let jobs = started(&app.run_scheduler_task("price_check").await);
    assert_eq!(jobs.len(), 1);
    let context = &jobs[0]["context"];
    assert_eq!(context["fare_source"], "knowledge");
    assert_eq!(context["reason"], "target");
    assert!(context["new_price"].as_f64().unwrap() > 100.0, "{context}");
    assert!(
        started(&app.run_scheduler_task("price_check").await).is_empty(),
        "same day, same fare"
    );
}

#[tokio::test]
async fn a_finding_is_suggested_once_until_it_changes() {
    let feed = PriceFeed::start(500.0).await;
    let app = app_with_feed(&feed, &[]).await;
    create(&app, price_watch("ann", Some(600.0))).await;
    assert_eq!(
        started(&app.run_scheduler_task("price_check").await).len(),
        1
    );
    assert!(
        started(&app.run_scheduler_task("price_check").await).is_empty(),
        "already suggested"
    );
    feed.set_price(450.0);
    let jobs = started(&app.run_scheduler_task("price_check").await);
    assert_eq!(jobs.len(), 1, "a lower fare is a new finding");
    assert_eq!(jobs[0]["context"]["new_price"], 450.0);
    assert!(started(&app.run_scheduler_task("price_check").await).is_empty());
    assert_eq!(user_jobs(&app, "ann").await.len(), 2);
}

#[tokio::test]
async fn a_zero_cooldown_suggests_every_finding() {
    let feed = PriceFeed::start(500.0).await;
    let app = app_with_feed(&feed, &[("SUGGESTION_COOLDOWN_SECS", "0")]).await;
    create(&app, price_watch("ann", Some(600.0))).await;
    for _ in 0..3 {
        assert_eq!(
            started(&app.run_scheduler_task("price_check").await).len(),
            1
        );
    }
}

fn calendar_watch(user: &str, ics_url: &str) -> Value {
    json!({
        "user_id": user, "kind": "calendar", "ics_url": ics_url,
        "min_gap_days": 5, "horizon_days": 14,
        "preferences": {"interests": ["beach"], "departure_city": "SGN"}
    })
}

#[tokio::test]
async fn a_calendar_with_a_five_day_gap_starts_a_calendar_gap_job() {
    let ics = IcsFeed::start(all_day_calendar(&[(day(1), day(3)), (day(9), day(20))])).await;
    let app = spawn_app(&[NO_CRON, NO_WORKERS, LOCAL_FEEDS]).await;
    let id = create(&app, calendar_watch("cal", &ics.url)).await;
    let jobs = started(&app.run_scheduler_task("calendar_check").await);
    assert_eq!(jobs.len(), 1);
    let context = &jobs[0]["context"];
    assert_eq!(jobs[0]["trigger_type"], "calendar_gap");
    assert_eq!(context["gap_start"], day(4).to_string());
    assert_eq!(context["gap_end"], day(8).to_string());
    assert_eq!(context["gap_days"], 5);
    assert_eq!(context["preferences"]["interests"], json!(["beach"]));
    assert_eq!(context["watchlist_id"], id.as_str());
    assert!(
        started(&app.run_scheduler_task("calendar_check").await).is_empty(),
        "already suggested"
    );
}

#[tokio::test]
async fn a_calendar_without_a_long_enough_gap_starts_nothing() {
    // Busy every weekday, recurring: no five free days in a row anywhere.
    let ics = IcsFeed::start(format!(
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\nDTSTART:{}T090000Z\r\nDTEND:{}T170000Z\r\nRRULE:FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n",
        day(0).format("%Y%m%d"),
        day(0).format("%Y%m%d"),
    ))
    .await;
    let app = spawn_app(&[NO_CRON, NO_WORKERS, LOCAL_FEEDS]).await;
    create(&app, calendar_watch("cal", &ics.url)).await;
    let report = app.run_scheduler_task("calendar_check").await;
    assert!(started(&report).is_empty(), "{report}");
    assert_eq!(report["watchlists_checked"], 1);
    assert!(report["skipped"].as_array().unwrap().is_empty());
}

#[tokio::test]
async fn the_best_window_not_yet_suggested_comes_next() {
    let app = spawn_app(&[NO_CRON, NO_WORKERS]).await;
    let busy = |a: u64, b: u64| json!({"start": day(a).to_string(), "end": day(b).to_string()});
    create(
        &app,
        json!({
            "user_id": "cal", "kind": "calendar", "min_gap_days": 3, "horizon_days": 20,
            "busy": [busy(1, 2), busy(8, 10), busy(14, 20)]
        }),
    )
    .await;
    let first = started(&app.run_scheduler_task("calendar_check").await);
    assert_eq!(
        first[0]["context"]["gap_start"],
        day(3).to_string(),
        "the longest first"
    );
    let second = started(&app.run_scheduler_task("calendar_check").await);
    assert_eq!(second[0]["context"]["gap_start"], day(11).to_string());
    assert_eq!(second[0]["context"]["gap_end"], day(13).to_string());
    assert!(started(&app.run_scheduler_task("calendar_check").await).is_empty());
}

#[tokio::test]
async fn an_oversized_calendar_feed_is_skipped_not_trusted() {
    let padding = format!("X-PAD:{}\r\n", "x".repeat(4000));
    let ics = IcsFeed::start(format!("BEGIN:VCALENDAR\r\n{padding}END:VCALENDAR\r\n")).await;
    let app = spawn_app(&[NO_CRON, NO_WORKERS, LOCAL_FEEDS, ("ICS_MAX_BYTES", "2000")]).await;
    create(&app, calendar_watch("cal", &ics.url)).await;
    let report = app.run_scheduler_task("calendar_check").await;
    assert!(
        started(&report).is_empty(),
        "an unread calendar has no known free time"
    );
    assert!(
        report["skipped"][0]["reason"]
            .as_str()
            .unwrap()
            .contains("ICS_MAX_BYTES"),
        "{report}"
    );
    ics.set(all_day_calendar(&[]));
    assert_eq!(
        started(&app.run_scheduler_task("calendar_check").await).len(),
        1
    );
}

#[tokio::test]
async fn a_budget_with_a_surplus_starts_a_budget_surplus_job_and_one_without_does_not() {
    let app = spawn_app(&[NO_CRON, NO_WORKERS]).await;
    let id = create(&app, json!({
        "user_id": "bud", "kind": "budget", "budget_usd": 2000, "spent_usd": 1500, "period": "2027-03",
        "preferences": {"interests": ["food"]}
    }))
    .await;
    create(
        &app,
        json!({"user_id": "tight", "kind": "budget", "budget_usd": 1000, "spent_usd": 900}),
    )
    .await;
    let jobs = started(&app.run_scheduler_task("budget_check").await);
    assert_eq!(
        jobs.len(),
        1,
        "only the budget with a surplus of at least $200"
    );
    assert_eq!(jobs[0]["user_id"], "bud");
    assert_eq!(jobs[0]["trigger_type"], "budget_surplus");
    assert_eq!(jobs[0]["context"]["surplus_usd"], 500.0);
    assert_eq!(
        jobs[0]["context"]["preferences"]["interests"],
        json!(["food"])
    );
    assert!(
        started(&app.run_scheduler_task("budget_check").await).is_empty(),
        "already suggested"
    );

    let path = format!("/v1/watchlists/{id}");
    let patch = |spent: f64| {
        app.client
            .patch(app.url(&path))
            .json(&json!({ "spent_usd": spent }))
            .send()
    };
    assert_eq!(patch(1900.0).await.unwrap().status(), StatusCode::OK);
    assert!(
        started(&app.run_scheduler_task("budget_check").await).is_empty(),
        "a $100 surplus is too small"
    );
    patch(1000.0).await.unwrap();
    let jobs = started(&app.run_scheduler_task("budget_check").await);
    assert_eq!(
        jobs[0]["context"]["surplus_usd"], 1000.0,
        "the surplus changed"
    );
}

#[tokio::test]
async fn paused_watchlists_are_not_checked_and_unknown_tasks_are_refused() {
    let app = spawn_app(&[NO_CRON, NO_WORKERS]).await;
    create(
        &app,
        json!({"user_id": "u", "kind": "budget", "budget_usd": 5000, "active": false}),
    )
    .await;
    let report = app.run_scheduler_task("budget_check").await;
    assert_eq!(report["watchlists_checked"], 0);
    let response = app
        .post_json("/v1/scheduler/tea_time/run", &json!({}))
        .await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["details"]["errors"][0]["field"], "task");
    assert_eq!(body["details"]["errors"][0]["location"], "path");
}

#[tokio::test]
async fn a_suggestion_runs_and_streams_like_any_other_job() {
    let feed = PriceFeed::start(500.0).await;
    let app = spawn_app(&[NO_CRON, ("PRICE_FEED_URL", feed.url.as_str())]).await;
    create(&app, price_watch("ann", Some(600.0))).await;
    let jobs = started(&app.run_scheduler_task("price_check").await);
    let id = jobs[0]["job_id"].as_str().unwrap();
    let frames = SseReader::open(app.client.get(app.url(&format!("/v1/stream/{id}"))))
        .await
        .events_until_closed(Duration::from_secs(20))
        .await;
    let last = frames.last().unwrap();
    assert_eq!(last.event(), "complete", "{frames:?}");
    let status: Value = app
        .get(&format!("/v1/status/{id}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        (status["status"].as_str(), status["mode"].as_str()),
        (Some("completed"), Some("proactive"))
    );
}

// ---- the schedule ----

/// Fire times of the user's jobs (RFC 3339), with how many jobs each has.
async fn jobs_per_fire_time(app: &TestApp, user: &str) -> HashMap<String, usize> {
    let mut counts = HashMap::new();
    for summary in user_jobs(app, user).await {
        let id = summary["job_id"].as_str().unwrap();
        let job = app.store.get(id.parse().unwrap()).await.unwrap().unwrap();
        let context = job.request.context.unwrap_or_default();
        let fire = context["fire_time"]
            .as_str()
            .expect("a scheduled job names its fire time");
        *counts.entry(fire.to_string()).or_default() += 1;
    }
    counts
}

fn every_second(prefix: &str, feed: &PriceFeed) -> HashMap<String, String> {
    test_vars(
        prefix,
        &[
            NO_WORKERS,
            ("PRICE_CHECK_CRON", "* * * * * *"),
            ("SUGGESTION_COOLDOWN_SECS", "0"),
            ("PRICE_FEED_URL", feed.url.as_str()),
        ],
    )
}

#[tokio::test]
async fn two_replicas_on_one_redis_run_each_firing_exactly_once() {
    let feed = PriceFeed::start(500.0).await;
    let prefix = support::unique_prefix();
    let ops = spawn_app_with(test_vars(&prefix, &[NO_CRON, NO_WORKERS])).await;
    let one = spawn_app_with(every_second(&prefix, &feed)).await;
    let two = spawn_app_with(every_second(&prefix, &feed)).await;
    create(&ops, price_watch("twins", Some(600.0))).await;

    support::wait_for("ten firings", Duration::from_secs(14), || async {
        (jobs_per_fire_time(&ops, "twins").await.len() >= 10).then_some(())
    })
    .await;
    one.stop().await;
    two.stop().await;

    let counts = jobs_per_fire_time(&ops, "twins").await;
    let twice: Vec<_> = counts.iter().filter(|(_, n)| **n > 1).collect();
    assert!(twice.is_empty(), "fire times run more than once: {twice:?}");
    assert!(counts.len() >= 10);
    let seconds: BTreeSet<i64> = counts
        .keys()
        .map(|t| chrono::DateTime::parse_from_rfc3339(t).unwrap().timestamp())
        .collect();
    let span = seconds.last().unwrap() - seconds.first().unwrap() + 1;
    assert!(
        span as usize <= counts.len() + 2,
        "firings were missed: {seconds:?}"
    );
    assert_eq!(feed.served(), counts.len(), "one fare lookup per firing");
}

#[tokio::test]
async fn a_lock_left_by_a_killed_instance_does_not_stop_later_firings() {
    let feed = PriceFeed::start(500.0).await;
    let prefix = support::unique_prefix();
    let ops = spawn_app_with(test_vars(&prefix, &[NO_CRON, NO_WORKERS])).await;
    create(&ops, price_watch("crash", Some(600.0))).await;

    // The doomed replica claims firings and hangs mid-run on the feed.
    feed.hang(true);
    let vars = every_second(&prefix, &feed);
    let vars: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let mut child = LotaraProcess::start("worker", &vars);
    support::wait_for("the child to be stuck mid-run", WAIT, || async {
        (feed.requests().len() >= 2).then_some(())
    })
    .await;
    child.kill();
    let killed_at = Utc::now();

    let held = support::scan_keys(&format!("{prefix}lock:price_check:*")).await;
    assert!(
        held.len() >= 2,
        "the dead replica left its claims: {held:?}"
    );
    assert!(jobs_per_fire_time(&ops, "crash").await.is_empty());

    feed.hang(false);
    let survivor = spawn_app_with(every_second(&prefix, &feed)).await;
    let counts = support::wait_for("firings after the crash", WAIT, || async {
        let counts = jobs_per_fire_time(&ops, "crash").await;
        (counts.len() >= 3).then_some(counts)
    })
    .await;
    survivor.stop().await;
    for (fire_time, n) in &counts {
        let at = chrono::DateTime::parse_from_rfc3339(fire_time).unwrap();
        assert!(
            at > killed_at - chrono::Duration::seconds(1),
            "{fire_time} ran after the crash"
        );
        assert_eq!(*n, 1, "{fire_time}");
    }
}
