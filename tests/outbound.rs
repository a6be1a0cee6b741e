//! Issue 15, point 11: what a user points the service at — a calendar's
//! `ics_url`, and wherever a feed redirects — is fetched only from public
//! addresses unless `OUTBOUND_ALLOW_PRIVATE` allows the range: a literal
//! address is refused at the door, a name after it resolves (nothing is
//! sent), and every redirect hop is checked again. The feeds here run on
//! loopback, 127.0.0.1 and 127.0.0.2, which stand in for a private network.

mod support;

use chrono::{Days, Utc};
use reqwest::StatusCode;
use serde_json::{Value, json};
use support::app::{TestApp, spawn_app};
use support::feeds::{IcsFeed, PriceFeed, Redirector, all_day_calendar};

const NO_CRON: (&str, &str) = ("SCHEDULER_ENABLED", "false");
const NO_WORKERS: (&str, &str) = ("WORKER_CONCURRENCY", "0");

fn calendar(user: &str, ics_url: &str) -> Value {
    json!({
        "user_id": user, "kind": "calendar", "ics_url": ics_url,
        "min_gap_days": 3, "horizon_days": 14
    })
}

async fn send(
    app: &TestApp,
    method: reqwest::Method,
    path: &str,
    body: Value,
) -> (StatusCode, Value) {
    let response = app
        .client
        .request(method, app.url(path))
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = response.status();
    (status, response.json().await.unwrap_or(Value::Null))
}

async fn create(app: &TestApp, body: Value) -> String {
    let (status, body) = send(app, reqwest::Method::POST, "/v1/watchlists", body).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    body["watchlist_id"].as_str().unwrap().to_string()
}

async fn set_feed(app: &TestApp, id: &str, ics_url: &str) {
    let path = format!("/v1/watchlists/{id}");
    let (status, body) = send(
        app,
        reqwest::Method::PATCH,
        &path,
        json!({"ics_url": ics_url}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

/// The one reason a run skipped its one watchlist; no job was started.
fn refusal(report: &Value) -> String {
    assert_eq!(report["jobs"], json!([]), "{report}");
    let skipped = report["skipped"].as_array().unwrap();
    assert_eq!(skipped.len(), 1, "{report}");
    skipped[0]["reason"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn feed_urls_at_non_public_literal_addresses_are_refused_at_the_door_and_nothing_is_stored() {
    let app = spawn_app(&[NO_CRON, NO_WORKERS]).await;
    for url in [
        "http://127.0.0.1:8080/calendar.ics",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]/calendar.ics",
        "http://10.0.0.5/calendar.ics",
        "https://192.168.1.10/cal.ics",
        "http://100.64.0.1/cal.ics",
        "http://[::ffff:127.0.0.1]/calendar.ics",
        "http://[fe80::1]/calendar.ics",
        "http://[fd00::1]/calendar.ics",
        "http://0.0.0.0:6379/",
        "http://0x7f.1/calendar.ics",
    ] {
        let (status, body) = send(
            &app,
            reqwest::Method::POST,
            "/v1/watchlists",
            calendar("ssrf", url),
        )
        .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{url}: {body}");
        let errors = &body["details"]["errors"];
        assert_eq!(errors[0]["field"], "ics_url", "{url}: {body}");
        assert_eq!(errors.as_array().unwrap().len(), 1, "{body}");
        let reason = errors[0]["reason"].as_str().unwrap();
        assert!(
            reason.contains("address") && reason.contains("OUTBOUND_ALLOW_PRIVATE"),
            "{url}: {reason}"
        );
    }
    let listed: Value = app
        .get("/v1/watchlists?user_id=ssrf")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(listed["watchlists"], json!([]), "nothing stored");

    // An update cannot point a stored calendar there either.
    let tomorrow = (Utc::now().date_naive() + Days::new(1)).to_string();
    let id = create(
        &app,
        json!({"user_id": "ssrf", "kind": "calendar", "busy": [{"start": tomorrow, "end": tomorrow}]}),
    )
    .await;
    let path = format!("/v1/watchlists/{id}");
    let (status, body) = send(
        &app,
        reqwest::Method::PATCH,
        &path,
        json!({"ics_url": "http://169.254.169.254/latest/meta-data/"}),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["details"]["errors"][0]["field"], "ics_url");
    let stored: Value = app.get(&path).await.json().await.unwrap();
    assert!(stored["ics_url"].is_null(), "{stored}");
    app.stop().await;
}

#[tokio::test]
async fn a_host_name_resolving_to_loopback_is_refused_when_fetched_and_never_contacted() {
    let feed = IcsFeed::start(all_day_calendar(&[])).await;
    let app = spawn_app(&[NO_CRON, NO_WORKERS]).await;
    // A name passes the door: what it resolves to is known only when fetched.
    let url = format!("http://localhost:{}/calendar.ics", feed.port);
    create(&app, calendar("named", &url)).await;

    let reason = refusal(&app.run_scheduler_task("calendar_check").await);
    assert!(
        reason.contains("localhost resolves only to non-public addresses")
            && reason.contains("127.0.0.1 loopback")
            && reason.contains("OUTBOUND_ALLOW_PRIVATE"),
        "{reason}"
    );
    assert_eq!(feed.requests(), 0, "the feed saw no request");
    app.stop().await;
}

#[tokio::test]
async fn a_redirect_from_an_allowed_feed_to_a_non_public_address_is_refused() {
    // Only 127.0.0.2, where the redirector runs, is allowed; the feed it
    // points at runs on 127.0.0.1.
    let feed = IcsFeed::start(all_day_calendar(&[])).await;
    let hop = Redirector::start_on("127.0.0.2").await;
    let app = spawn_app(&[NO_CRON, NO_WORKERS, ("OUTBOUND_ALLOW_PRIVATE", "127.0.0.2")]).await;
    let cases = [
        (feed.url.clone(), "127.0.0.1 is a loopback address"),
        (
            format!("http://localhost:{}/calendar.ics", feed.port),
            "localhost resolves only to non-public addresses",
        ),
        (
            "http://169.254.169.254/latest/meta-data/".to_string(),
            "169.254.169.254 is a link-local address",
        ),
        (
            "http://[::ffff:10.0.0.1]/calendar.ics".to_string(),
            "is a private address",
        ),
    ];
    let id = create(&app, calendar("hops", &hop.to(&cases[0].0))).await;
    for (i, (target, expected)) in cases.iter().enumerate() {
        set_feed(&app, &id, &hop.to(target)).await;
        let reason = refusal(&app.run_scheduler_task("calendar_check").await);
        assert!(reason.contains(expected), "{target}: {reason}");
        assert_eq!(hop.requests(), i + 1, "the allowed hop is fetched");
    }
    assert_eq!(feed.requests(), 0, "no redirect reached the feed");
    app.stop().await;

    // Where the allow-list covers the target, the same redirect is followed.
    let open = spawn_app(&[
        NO_CRON,
        NO_WORKERS,
        ("OUTBOUND_ALLOW_PRIVATE", "127.0.0.0/8"),
    ])
    .await;
    create(&open, calendar("hops", &hop.to(&feed.url))).await;
    let report = open.run_scheduler_task("calendar_check").await;
    assert_eq!(report["jobs"].as_array().unwrap().len(), 1, "{report}");
    assert_eq!(feed.requests(), 1);
    open.stop().await;
}

#[tokio::test]
async fn the_price_feed_is_trusted_but_its_redirects_to_other_private_addresses_are_not() {
    // PRICE_FEED_URL's own host is trusted (the operator named it; a user's
    // route fills only the query string): no allow-list needed for it.
    let feed = PriceFeed::start(850.0).await;
    let elsewhere = PriceFeed::start_on("127.0.0.2", 400.0).await;
    let app = spawn_app(&[NO_CRON, NO_WORKERS, ("PRICE_FEED_URL", feed.url.as_str())]).await;
    let departure = (Utc::now().date_naive() + Days::new(40)).to_string();
    create(
        &app,
        json!({
            "user_id": "fares", "kind": "price",
            "routes": [{"origin": "LAX", "destination": "NRT", "departure_date": departure}]
        }),
    )
    .await;
    let report = app.run_scheduler_task("price_check").await;
    assert_eq!(report["skipped"], json!([]), "{report}");
    assert_eq!(feed.served(), 1);

    feed.redirect_to(&elsewhere.url);
    let reason = refusal(&app.run_scheduler_task("price_check").await);
    assert!(
        reason.contains("127.0.0.2 is a loopback address"),
        "{reason}"
    );
    assert!(
        elsewhere.requests().is_empty(),
        "the redirect was not followed"
    );
    app.stop().await;
}
