//! The watchlist API over HTTP: create, read, list, update, delete, and the
//! 422s that name the bad field.

mod support;

use reqwest::StatusCode;
use serde_json::{Value, json};
use support::app::{TestApp, spawn_app};

async fn app() -> TestApp {
    spawn_app(&[("WORKER_CONCURRENCY", "0"), ("SCHEDULER_ENABLED", "false")]).await
}

async fn send(
    app: &TestApp,
    method: reqwest::Method,
    path: &str,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let mut request = app.client.request(method, app.url(path));
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.unwrap();
    let status = response.status();
    let text = response.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

fn price_watchlist(user: &str) -> Value {
    json!({
        "user_id": user, "kind": "price", "name": "Tokyo in spring",
        "routes": [{"origin": "Los Angeles", "destination": "NRT"}],
        "target_price_usd": 600
    })
}

/// The `field` of every error in a 422.
fn bad_fields(status: StatusCode, body: &Value) -> Vec<String> {
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["error"], "ValidationError");
    body["details"]["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn a_price_watchlist_is_created_with_places_resolved_and_defaults_filled() {
    let app = app().await;
    let (status, body) = send(
        &app,
        reqwest::Method::POST,
        "/v1/watchlists",
        Some(price_watchlist("ann")),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["kind"], "price");
    assert_eq!(body["user_id"], "ann");
    assert_eq!(body["active"], true);
    assert_eq!(body["drop_threshold_pct"], 15.0);
    assert_eq!(body["target_price_usd"], 600.0);
    let route = &body["routes"][0];
    assert_eq!(
        (route["origin"].as_str(), route["destination"].as_str()),
        (Some("LAX"), Some("NRT"))
    );
    assert_eq!(route["destination_city"], "Tokyo");
    assert!(route["last_price_usd"].is_null(), "not checked yet");
    assert!(body["created_at"].as_str().unwrap().ends_with('Z'));
}

#[tokio::test]
async fn watchlists_are_read_listed_updated_and_deleted() {
    let app = app().await;
    let (_, price) = send(
        &app,
        reqwest::Method::POST,
        "/v1/watchlists",
        Some(price_watchlist("ann")),
    )
    .await;
    let (_, budget) = send(
        &app,
        reqwest::Method::POST,
        "/v1/watchlists",
        Some(json!({
            "user_id": "ann", "kind": "budget", "budget_usd": 2000, "period": "2027-03",
            "preferences": {"interests": ["beach"], "departure_city": "SGN"}
        })),
    )
    .await;
    assert_eq!(budget["min_surplus_usd"], 200.0);
    assert_eq!(budget["spent_usd"], 0.0);
    let id = budget["watchlist_id"].as_str().unwrap();

    let (status, got) = send(
        &app,
        reqwest::Method::GET,
        &format!("/v1/watchlists/{id}"),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(got, budget);

    let (_, list) = send(
        &app,
        reqwest::Method::GET,
        "/v1/watchlists?user_id=ann",
        None,
    )
    .await;
    let ids: Vec<&Value> = list["watchlists"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| &w["watchlist_id"])
        .collect();
    assert_eq!(ids, [&price["watchlist_id"], &budget["watchlist_id"]]);

    let path = format!("/v1/watchlists/{id}");
    let (status, patched) = send(
        &app,
        reqwest::Method::PATCH,
        &path,
        Some(json!({"spent_usd": 450.5, "period": null})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{patched}");
    assert_eq!(patched["spent_usd"], 450.5);
    assert_eq!(patched["surplus_usd"], 1549.5);
    assert!(patched["period"].is_null());
    assert_eq!(patched["budget_usd"], 2000.0, "untouched fields stay");

    let (status, _) = send(&app, reqwest::Method::DELETE, &path, None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    for method in [reqwest::Method::GET, reqwest::Method::DELETE] {
        let (status, body) = send(&app, method, &path, None).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
        assert_eq!(body["error"], "NotFound");
    }
    let (status, _) = send(
        &app,
        reqwest::Method::PATCH,
        &path,
        Some(json!({"spent_usd": 1})),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (_, list) = send(
        &app,
        reqwest::Method::GET,
        "/v1/watchlists?user_id=ann",
        None,
    )
    .await;
    assert_eq!(list["watchlists"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn bad_input_is_a_422_naming_each_field() {
    let app = app().await;
    let cases = [
        (json!({"user_id": "u", "kind": "stocks"}), vec!["kind"]),
        (json!({"kind": "budget", "budget_usd": 10}), vec!["user_id"]),
        (
            json!({"user_id": "u", "kind": "price", "routes": [{"origin": "LAX", "destination": "NRT"}, {"origin": "Narnia", "destination": "LAX"}]}),
            vec!["routes[1].origin"],
        ),
        (
            json!({"user_id": "u", "kind": "price", "routes": [{"origin": "LAX", "destination": "NRT", "departure_date": "April"}]}),
            vec!["routes[0].departure_date"],
        ),
        (
            json!({"user_id": "u", "kind": "price", "routes": []}),
            vec!["routes"],
        ),
        (json!({"user_id": "u", "kind": "price"}), vec!["routes"]),
        (
            json!({"user_id": "u", "kind": "calendar", "ics_url": "ftp://example.com/a.ics"}),
            vec!["ics_url"],
        ),
        (
            json!({"user_id": "u", "kind": "calendar", "ics_url": "not a url"}),
            vec!["ics_url"],
        ),
        (json!({"user_id": "u", "kind": "calendar"}), vec!["ics_url"]),
        (
            json!({"user_id": "u", "kind": "calendar", "busy": [{"start": "2027-03-05", "end": "2027-03-01"}]}),
            vec!["busy[0].end"],
        ),
        (
            json!({"user_id": "u", "kind": "budget", "budget_usd": -5}),
            vec!["budget_usd"],
        ),
        (
            json!({"user_id": "u", "kind": "budget", "budget_usd": 10, "spent_usd": -1}),
            vec!["spent_usd"],
        ),
        (
            json!({"user_id": "u", "kind": "budget", "budget_usd": 10, "routes": [{"origin": "LAX", "destination": "NRT"}]}),
            vec!["routes"],
        ),
        (
            json!({"user_id": "u", "kind": "budget", "budget_usd": 10, "budjet": 1}),
            vec!["budjet"],
        ),
        (
            json!({"user_id": "u", "kind": "budget", "budget_usd": 10, "preferences": {"departure_city": "Nowhere"}}),
            vec!["preferences.departure_city"],
        ),
        (
            json!({"user_id": "u", "kind": "price", "routes": [{"origin": "LAX", "destination": "NRT"}], "drop_threshold_pct": 0}),
            vec!["drop_threshold_pct"],
        ),
    ];
    for (body, expected) in cases {
        let (status, answer) = send(
            &app,
            reqwest::Method::POST,
            "/v1/watchlists",
            Some(body.clone()),
        )
        .await;
        assert_eq!(bad_fields(status, &answer), expected, "{body}");
    }
}

#[tokio::test]
async fn an_update_refuses_fields_of_another_kind_and_keeps_the_watchlist_valid() {
    let app = app().await;
    let (_, created) = send(
        &app,
        reqwest::Method::POST,
        "/v1/watchlists",
        Some(json!({
            "user_id": "u", "kind": "calendar", "ics_url": "https://example.com/a.ics"
        })),
    )
    .await;
    let path = format!(
        "/v1/watchlists/{}",
        created["watchlist_id"].as_str().unwrap()
    );
    let (status, body) = send(
        &app,
        reqwest::Method::PATCH,
        &path,
        Some(json!({"budget_usd": 5})),
    )
    .await;
    assert_eq!(bad_fields(status, &body), ["budget_usd"]);
    let (status, body) = send(
        &app,
        reqwest::Method::PATCH,
        &path,
        Some(json!({"ics_url": null})),
    )
    .await;
    assert_eq!(
        bad_fields(status, &body),
        ["ics_url"],
        "a calendar needs a feed or busy periods"
    );
    let (status, body) = send(
        &app,
        reqwest::Method::PATCH,
        &path,
        Some(json!({
            "ics_url": null, "busy": [{"start": "2027-03-01", "end": "2027-03-02"}], "active": false
        })),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body["ics_url"].is_null());
    assert_eq!(body["active"], false);
    assert_eq!(body["busy"][0]["end"], "2027-03-03T00:00:00.000Z");
}

#[tokio::test]
async fn listing_needs_a_user_and_unknown_ids_are_404() {
    let app = app().await;
    let (status, body) = send(&app, reqwest::Method::GET, "/v1/watchlists", None).await;
    assert_eq!(bad_fields(status, &body), ["user_id"]);
    for id in ["not-a-uuid", "0193a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b"] {
        let (status, _) = send(
            &app,
            reqwest::Method::GET,
            &format!("/v1/watchlists/{id}"),
            None,
        )
        .await;
        assert_eq!(status, StatusCode::NOT_FOUND);
    }
}

#[tokio::test]
async fn watchlists_and_monitor_runs_need_an_api_key_when_keys_are_set() {
    let app = spawn_app(&[
        ("API_KEYS", "k1"),
        ("SCHEDULER_ENABLED", "false"),
        ("WORKER_CONCURRENCY", "0"),
    ])
    .await;
    let (status, _) = send(
        &app,
        reqwest::Method::POST,
        "/v1/watchlists",
        Some(price_watchlist("u")),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _) = send(
        &app,
        reqwest::Method::POST,
        "/v1/scheduler/price_check/run",
        None,
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let response = app
        .client
        .post(app.url("/v1/scheduler/price_check/run"))
        .header("x-api-key", "k1")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
}

#[tokio::test]
async fn the_openapi_document_describes_the_watchlist_and_scheduler_routes() {
    let app = app().await;
    let doc: Value = app.get("/api/openapi.json").await.json().await.unwrap();
    let paths = &doc["paths"];
    for (path, method) in [
        ("/v1/watchlists", "post"),
        ("/v1/watchlists", "get"),
        ("/v1/watchlists/{id}", "get"),
        ("/v1/watchlists/{id}", "patch"),
        ("/v1/watchlists/{id}", "delete"),
        ("/v1/scheduler/{task}/run", "post"),
    ] {
        assert!(
            paths[path][method].is_object(),
            "{method} {path} documented"
        );
    }
    let schemas = &doc["components"]["schemas"];
    assert!(schemas["WatchlistRequest"]["example"].is_object());
}
