//! The read path: ETags and 304s on status and list pages, gzip served from
//! the rendered bytes, and `?wait=` answering on a change (also one made on
//! another replica) or with 304 at the timeout.

mod support;

use std::io::Read;
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{Value, json};
use support::app::{TestApp, spawn_app, spawn_app_with, test_vars};

/// Jobs stay as created: nothing runs them unless a test says so.
const IDLE: &[(&str, &str)] = &[("WORKER_CONCURRENCY", "0")];

async fn plan(app: &TestApp, user: &str) -> String {
    app.start_job(
        "/v1/plan",
        json!({"user_id": user, "query": "5 days in Tokyo for $3000"}),
    )
    .await
}

async fn get_with(app: &TestApp, path: &str, headers: &[(&str, &str)]) -> reqwest::Response {
    let mut request = app.client.get(app.url(path));
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    request.send().await.expect("request sent")
}

fn etag(response: &reqwest::Response) -> String {
    response.headers()["etag"].to_str().unwrap().to_string()
}

#[tokio::test]
async fn status_carries_the_version_as_etag_and_if_none_match_gets_304_without_body() {
    let app = spawn_app(IDLE).await;
    let id = plan(&app, "etag-user").await;
    let path = format!("/v1/status/{id}");

    let first = app.get(&path).await;
    assert_eq!(first.status(), StatusCode::OK);
    assert_eq!(etag(&first), "W/\"1\"");
    assert_eq!(first.headers()["cache-control"], "no-cache");

    for sent in ["W/\"1\"", "\"1\"", "\"0\", W/\"1\""] {
        let again = get_with(&app, &path, &[("if-none-match", sent)]).await;
        assert_eq!(again.status(), StatusCode::NOT_MODIFIED, "{sent}");
        assert_eq!(etag(&again), "W/\"1\"");
        assert_eq!(again.headers()["cache-control"], "no-cache");
        assert!(again.bytes().await.unwrap().is_empty());
    }
    let stale = get_with(&app, &path, &[("if-none-match", "W/\"0\"")]).await;
    assert_eq!(stale.status(), StatusCode::OK);
    let unknown = format!("/v1/status/{}", uuid::Uuid::now_v7());
    assert_eq!(
        get_with(&app, &unknown, &[("if-none-match", "*")])
            .await
            .status(),
        StatusCode::NOT_FOUND
    );
    app.stop().await;
}

#[tokio::test]
async fn the_etag_changes_on_every_write_also_those_without_an_event() {
    let app = spawn_app(IDLE).await;
    let id = plan(&app, "etag-writes").await;
    let path = format!("/v1/status/{id}");
    let mut seen = vec![etag(&app.get(&path).await)];

    // Feedback is kept with the job but announces no event.
    let feedback = app
        .post_json("/v1/feedback", &json!({"job_id": id, "rating": 4}))
        .await;
    assert_eq!(feedback.status(), StatusCode::OK);
    seen.push(etag(&app.get(&path).await));

    let cancelled = app
        .post_json(&format!("/v1/jobs/{id}/cancel"), &json!({}))
        .await;
    assert_eq!(cancelled.status(), StatusCode::OK);
    let now = app.get(&path).await;
    seen.push(etag(&now));
    assert_eq!(now.json::<Value>().await.unwrap()["status"], "cancelled");

    assert_eq!(seen, ["W/\"1\"", "W/\"2\"", "W/\"3\""]);
    let old = get_with(&app, &path, &[("if-none-match", &seen[1])]).await;
    assert_eq!(old.status(), StatusCode::OK);
    app.stop().await;
}

#[tokio::test]
async fn a_completed_plan_is_served_gzipped_when_accepted_and_plain_otherwise() {
    let app = spawn_app(&[]).await;
    let id = plan(&app, "gzip-user").await;
    let done = app.wait_finished(&id).await;
    assert_eq!(done["status"], "completed", "{done}");
    let path = format!("/v1/status/{id}");

    let plain = get_with(&app, &path, &[("accept-encoding", "identity")]).await;
    assert!(plain.headers().get("content-encoding").is_none());
    let tag = etag(&plain);
    let plain: Value = plain.json().await.unwrap();
    assert!(plain["final_result"].is_object());

    for _ in 0..2 {
        let zipped = get_with(&app, &path, &[("accept-encoding", "gzip, br")]).await;
        assert_eq!(zipped.headers()["content-encoding"], "gzip");
        assert_eq!(zipped.headers()["vary"], "accept-encoding");
        assert_eq!(etag(&zipped), tag);
        let bytes = zipped.bytes().await.unwrap();
        let mut json = String::new();
        flate2::read::GzDecoder::new(&bytes[..])
            .read_to_string(&mut json)
            .unwrap();
        assert_eq!(serde_json::from_str::<Value>(&json).unwrap(), plain);
        assert!(bytes.len() * 2 < json.len(), "gzip pays off on a plan");
    }
    app.stop().await;
}

#[tokio::test]
async fn a_list_page_has_an_etag_that_changes_when_a_listed_job_changes_or_joins() {
    let app = spawn_app(IDLE).await;
    let first = plan(&app, "lister").await;
    plan(&app, "lister").await;
    let path = "/v1/jobs?user_id=lister&limit=10";

    let page = app.get(path).await;
    assert_eq!(page.status(), StatusCode::OK);
    assert_eq!(page.headers()["cache-control"], "no-cache");
    let tag = etag(&page);
    assert_eq!(
        page.json::<Value>().await.unwrap()["jobs"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    let same = get_with(&app, path, &[("if-none-match", &tag)]).await;
    assert_eq!(same.status(), StatusCode::NOT_MODIFIED);
    assert!(same.bytes().await.unwrap().is_empty());

    app.post_json(&format!("/v1/jobs/{first}/cancel"), &json!({}))
        .await;
    let changed = get_with(&app, path, &[("if-none-match", &tag)]).await;
    assert_eq!(changed.status(), StatusCode::OK);
    let after_cancel = etag(&changed);
    assert_ne!(after_cancel, tag);
    let jobs: Value = changed.json().await.unwrap();
    assert_eq!(jobs["jobs"][1]["status"], "cancelled");

    plan(&app, "lister").await;
    let grown = get_with(&app, path, &[("if-none-match", &after_cancel)]).await;
    assert_eq!(grown.status(), StatusCode::OK);
    assert_eq!(
        grown.json::<Value>().await.unwrap()["jobs"]
            .as_array()
            .unwrap()
            .len(),
        3
    );
    app.stop().await;
}

#[tokio::test]
async fn a_wait_answers_as_soon_as_the_job_changes() {
    let app = spawn_app(IDLE).await;
    let id = plan(&app, "waiter").await;
    let path = format!("/v1/status/{id}?wait=20");
    let started = Instant::now();
    let waiting = {
        let request = app
            .client
            .get(app.url(&path))
            .header("if-none-match", "W/\"1\"");
        tokio::spawn(request.send())
    };
    // Whether the cancel lands before or after the wait begins, the answer
    // is the cancelled job: the caller's ETag is out of date either way.
    app.post_json(&format!("/v1/jobs/{id}/cancel"), &json!({}))
        .await;
    let answer = waiting.await.unwrap().unwrap();
    assert_eq!(answer.status(), StatusCode::OK);
    assert_eq!(etag(&answer), "W/\"2\"");
    assert_eq!(answer.json::<Value>().await.unwrap()["status"], "cancelled");
    assert!(started.elapsed() < Duration::from_secs(10));
    app.stop().await;
}

#[tokio::test]
async fn a_wait_with_nothing_changing_ends_with_304_at_the_timeout() {
    let app = spawn_app(IDLE).await;
    let id = plan(&app, "patient").await;
    let started = Instant::now();
    let answer = get_with(
        &app,
        &format!("/v1/status/{id}?wait=1"),
        &[("if-none-match", "W/\"1\"")],
    )
    .await;
    assert_eq!(answer.status(), StatusCode::NOT_MODIFIED);
    assert_eq!(etag(&answer), "W/\"1\"");
    assert!(started.elapsed() >= Duration::from_secs(1));

    // Without a current ETag there is nothing to wait past.
    let at_once = get_with(&app, &format!("/v1/status/{id}?wait=30"), &[]).await;
    assert_eq!(at_once.status(), StatusCode::OK);
    assert!(started.elapsed() < Duration::from_secs(10));
    app.stop().await;
}

#[tokio::test]
async fn a_wait_on_one_replica_wakes_on_a_write_made_through_another() {
    let prefix = support::unique_prefix();
    let writer = spawn_app_with(test_vars(&prefix, IDLE)).await;
    let reader = spawn_app_with(test_vars(&prefix, IDLE)).await;
    let id = plan(&writer, "two-replicas").await;
    let started = Instant::now();

    // A write without an event (feedback) wakes the waiter too.
    let waiting = tokio::spawn(
        reader
            .client
            .get(reader.url(&format!("/v1/status/{id}?wait=20")))
            .header("if-none-match", "W/\"1\"")
            .send(),
    );
    writer
        .post_json("/v1/feedback", &json!({"job_id": id, "rating": 5}))
        .await;
    let answer = waiting.await.unwrap().unwrap();
    assert_eq!(answer.status(), StatusCode::OK);
    assert_eq!(etag(&answer), "W/\"2\"");

    let waiting = tokio::spawn(
        reader
            .client
            .get(reader.url(&format!("/v1/status/{id}?wait=20")))
            .header("if-none-match", "W/\"2\"")
            .send(),
    );
    writer
        .post_json(&format!("/v1/jobs/{id}/cancel"), &json!({}))
        .await;
    let answer = waiting.await.unwrap().unwrap();
    assert_eq!(answer.status(), StatusCode::OK);
    assert_eq!(answer.json::<Value>().await.unwrap()["status"], "cancelled");
    assert!(started.elapsed() < Duration::from_secs(15));
    writer.stop().await;
    reader.stop().await;
}

#[tokio::test]
async fn a_wait_outside_zero_to_sixty_seconds_is_rejected() {
    let app = spawn_app(IDLE).await;
    let id = plan(&app, "impatient").await;
    for wait in ["61", "-1", "soon", "1.5"] {
        let answer = app.get(&format!("/v1/status/{id}?wait={wait}")).await;
        assert_eq!(answer.status(), StatusCode::UNPROCESSABLE_ENTITY, "{wait}");
        let body: Value = answer.json().await.unwrap();
        assert_eq!(body["details"]["errors"][0]["field"], "wait");
    }
    app.stop().await;
}

#[tokio::test]
async fn browsers_may_read_the_etag_across_origins() {
    let app = spawn_app(IDLE).await;
    let id = plan(&app, "cors-user").await;
    let answer = get_with(
        &app,
        &format!("/v1/status/{id}"),
        &[("origin", "http://localhost:3000")],
    )
    .await;
    let exposed = answer.headers()["access-control-expose-headers"]
        .to_str()
        .unwrap()
        .to_ascii_lowercase();
    assert!(exposed.split(',').any(|h| h.trim() == "etag"), "{exposed}");
    app.stop().await;
}
