//! `GET /v1/destinations`: the curated destinations, filtered and paged, so the
//! product can offer choices.

mod support;

use serde_json::Value;
use support::app::spawn_app;

async fn list(app: &support::app::TestApp, query: &str) -> (u16, Value) {
    let response = app.get(&format!("/v1/destinations{query}")).await;
    let status = response.status().as_u16();
    (status, response.json().await.expect("JSON"))
}

#[tokio::test]
async fn pages_through_every_curated_destination_once() {
    let app = spawn_app(&[]).await;
    let mut seen: Vec<String> = Vec::new();
    let mut cursor: Option<String> = None;
    let mut total = 0;
    loop {
        let query = match &cursor {
            Some(c) => format!("?limit=100&cursor={c}"),
            None => "?limit=100".to_string(),
        };
        let (status, page) = list(&app, &query).await;
        assert_eq!(status, 200, "{page}");
        for d in page["destinations"].as_array().expect("destinations") {
            seen.push(d["id"].as_str().expect("id").to_string());
        }
        match page["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_string()),
            None => break,
        }
        total = page["total"].as_u64().expect("total");
    }
    assert_eq!(total, seen.len() as u64);
    let mut unique = seen.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), seen.len(), "no destination twice");
    assert!(seen.len() >= 200, "{}", seen.len());
    app.stop().await;
}

#[tokio::test]
async fn filters_by_region_country_interest_and_good_weather() {
    let app = spawn_app(&[]).await;
    let (_, vietnam) = list(&app, "?country=VN&limit=100").await;
    let ids: Vec<&str> = vietnam["destinations"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|d| d["id"].as_str())
        .collect();
    assert!(ids.contains(&"hanoi") && ids.contains(&"phu-quoc") && ids.contains(&"ha-giang"));
    assert!(
        vietnam["destinations"]
            .as_array()
            .unwrap()
            .iter()
            .all(|d| d["country_code"] == "VN")
    );

    let (_, by_name) = list(&app, "?country=Vi%E1%BB%87t%20Nam&limit=100").await;
    assert_eq!(
        by_name["total"], vietnam["total"],
        "a country's Vietnamese name works too"
    );

    let (_, beaches) = list(
        &app,
        "?region=Southeast%20Asia&interest=beach&month=1&limit=100",
    )
    .await;
    let found = beaches["destinations"].as_array().unwrap();
    assert!(!found.is_empty());
    for d in found {
        assert_eq!(d["region"], "Southeast Asia");
        assert!(
            d["interests"]
                .as_array()
                .unwrap()
                .iter()
                .any(|i| i == "beach"),
            "{d}"
        );
        assert!(
            d["good_months"].as_array().unwrap().iter().any(|m| m == 1),
            "{d}"
        );
        assert!(d["climate"]["high_c"].as_f64().is_some());
    }
    let (_, asia) = list(&app, "?region=Asia&limit=100").await;
    let asia_total = asia["total"].as_u64().expect("total");
    assert!(
        asia_total > found.len() as u64,
        "Asia spans several regions"
    );
    app.stop().await;
}

#[tokio::test]
async fn bad_filters_get_a_422_naming_each() {
    let app = spawn_app(&[]).await;
    let (status, body) = list(&app, "?region=Atlantis&month=13&interest=knitting&limit=0").await;
    assert_eq!(status, 422);
    assert_eq!(body["error"], "ValidationError");
    let fields: Vec<&str> = body["details"]["errors"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["field"].as_str())
        .collect();
    assert_eq!(fields, ["region", "interest", "month", "limit"]);
    let doc: Value = app.get("/api/openapi.json").await.json().await.unwrap();
    assert!(doc["paths"]["/v1/destinations"]["get"].is_object());
    app.stop().await;
}
