//! Issue 15: what fuzzing, a real browser and a typed-client generator found.
//! Each test states one hardened behaviour, over HTTP against the real app
//! and the local Redis.

mod support;

use reqwest::StatusCode;
use serde_json::{Value, json};
use support::app::{TestApp, spawn_app};

const NO_WORKERS: (&str, &str) = ("WORKER_CONCURRENCY", "0");

async fn app() -> TestApp {
    spawn_app(&[NO_WORKERS]).await
}

fn nested(levels: usize) -> Value {
    let mut value = json!(1);
    for _ in 0..levels {
        value = json!({ "a": value });
    }
    value
}

fn fields(body: &Value) -> Vec<String> {
    body["details"]["errors"]
        .as_array()
        .map(|d| {
            d.iter()
                .map(|e| e["field"].as_str().unwrap_or("").to_string())
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test]
async fn deeply_nested_fields_are_refused_at_the_door_and_accepted_ones_stay_readable() {
    let app = app().await;
    for levels in [40, 126] {
        let response = app
            .post_json(
                "/v1/plan",
                &json!({"user_id": "deep", "query": "Tokyo", "constraints": nested(levels)}),
            )
            .await;
        assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let body: Value = response.json().await.unwrap();
        assert_eq!(fields(&body), ["constraints"], "{body}");

        let response = app
            .post_json(
                "/v1/suggest",
                &json!({"user_id": "deep", "trigger_type": "price_drop", "context": nested(levels)}),
            )
            .await;
        assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let body: Value = response.json().await.unwrap();
        assert_eq!(fields(&body), ["context"], "{body}");
    }

    // As deep as the door allows: status, listing and cancel all read it.
    let mut constraints = nested(31);
    constraints["budget_usd"] = json!(2000);
    let id = app
        .start_job(
            "/v1/plan",
            json!({"user_id": "deep", "query": "Tokyo", "constraints": constraints}),
        )
        .await;
    assert_eq!(
        app.get(&format!("/v1/status/{id}")).await.status(),
        StatusCode::OK
    );
    let listed: Value = app.get("/v1/jobs?user_id=deep").await.json().await.unwrap();
    assert_eq!(listed["jobs"][0]["job_id"], json!(id));
    let cancel = app
        .client
        .post(app.url(&format!("/v1/jobs/{id}/cancel")))
        .send()
        .await
        .unwrap();
    assert_eq!(cancel.status(), StatusCode::OK);
    app.stop().await;
}

#[tokio::test]
async fn user_ids_and_idempotency_keys_cannot_name_each_others_keys() {
    let app = app().await;
    let first = app
        .start_job(
            "/v1/plan",
            json!({"user_id": "a}:idem:y", "query": "Tokyo"}),
        )
        .await;
    let response = app
        .client
        .post(app.url("/v1/plan"))
        .header("Idempotency-Key", "y}:jobs")
        .json(&json!({"user_id": "a", "query": "Tokyo"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    let second: Value = response.json().await.unwrap();

    for (user, id) in [
        ("a%7D%3Aidem%3Ay", &first),
        ("a", &second["job_id"].as_str().unwrap().to_string()),
    ] {
        let listed: Value = app
            .get(&format!("/v1/jobs?user_id={user}"))
            .await
            .json()
            .await
            .unwrap();
        let ids: Vec<&str> = listed["jobs"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|j| j["job_id"].as_str())
            .collect();
        assert_eq!(ids, [id.as_str()], "{user}: {listed}");
    }
    app.stop().await;
}

#[tokio::test]
async fn a_user_id_is_trimmed_once_so_its_jobs_are_listed() {
    let app = app().await;
    let id = app
        .start_job("/v1/plan", json!({"user_id": " sp ", "query": "Tokyo"}))
        .await;
    assert_eq!(app.status(&id).await["user_id"], "sp");
    for query in ["sp", "%20sp%20"] {
        let listed: Value = app
            .get(&format!("/v1/jobs?user_id={query}"))
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(listed["jobs"][0]["job_id"], json!(id), "{query}");
    }
    let response = app
        .post_json("/v1/plan", &json!({"user_id": "a\u{7}b", "query": "Tokyo"}))
        .await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    app.stop().await;
}

#[tokio::test]
async fn impossible_constraints_are_refused_at_the_door_naming_the_field() {
    let app = app().await;
    let yesterday = (chrono::Utc::now().date_naive() - chrono::Duration::days(1)).to_string();
    let cases = [
        (json!({"budget_usd": 0}), "constraints.budget_usd"),
        (json!({"budget_usd": -0.0}), "constraints.budget_usd"),
        (json!({"start_date": yesterday}), "constraints.start_date"),
        (
            json!({"start_date": "2027-02-30"}),
            "constraints.start_date",
        ),
        (json!({"duration_days": 45}), "constraints.duration_days"),
    ];
    for (constraints, field) in cases {
        for (path, body) in [
            (
                "/v1/plan",
                json!({"user_id": "u", "query": "Tokyo", "constraints": constraints}),
            ),
            (
                "/v1/suggest",
                json!({"user_id": "u", "trigger_type": "price_drop", "context": {}, "constraints": constraints}),
            ),
        ] {
            let response = app.post_json(path, &body).await;
            assert_eq!(
                response.status(),
                StatusCode::UNPROCESSABLE_ENTITY,
                "{path} {constraints}"
            );
            let body: Value = response.json().await.unwrap();
            assert_eq!(fields(&body), [field], "{body}");
        }
    }
    let tomorrow = (chrono::Utc::now().date_naive() + chrono::Duration::days(1)).to_string();
    app.start_job(
        "/v1/plan",
        json!({"user_id": "u", "query": "Tokyo", "constraints": {"budget_usd": 0.5, "start_date": tomorrow, "duration_days": 30}}),
    )
    .await;
    app.stop().await;
}
