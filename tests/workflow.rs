//! The trip-planning pipeline end to end over HTTP on real Redis, with the
//! knowledge backend (no LLM configured): events, results, approvals,
//! expiry, failures and proactive triggers.

mod support;

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};
use support::app::{TestApp, spawn_app};
use support::sse::{Frame, SseReader};

const WAIT: Duration = Duration::from_secs(20);

async fn stream_to_end(app: &TestApp, id: &str) -> Vec<Frame> {
    SseReader::open(app.client.get(app.url(&format!("/v1/stream/{id}"))))
        .await
        .events_until_closed(WAIT)
        .await
}

fn statuses(frames: &[Frame]) -> Vec<String> {
    frames
        .iter()
        .filter(|f| f.event() == "state_change")
        .filter_map(|f| f.json()["status"].as_str().map(String::from))
        .fold(Vec::new(), |mut seen, s| {
            if seen.last() != Some(&s) {
                seen.push(s);
            }
            seen
        })
}

#[tokio::test]
async fn a_plan_runs_every_stage_and_completes_with_a_day_by_day_plan() {
    let app = spawn_app(&[]).await;
    let id = app
        .start_job(
            "/v1/plan",
            json!({
                "user_id": "u1",
                "query": "Plan a 5-day trip to Tokyo for 2 people, we love food and temples",
                "constraints": {"departure_city": "LAX"}
            }),
        )
        .await;
    let frames = stream_to_end(&app, &id).await;

    assert_eq!(
        statuses(&frames),
        ["started", "planning", "executing", "completed"]
    );
    let stages: Vec<String> = frames
        .iter()
        .filter_map(|f| f.json()["workflow_state"].as_str().map(String::from))
        .collect();
    assert_eq!(
        stages,
        ["planning", "execution", "validation", "finalizing", "done"]
    );
    let outputs: Vec<String> = frames
        .iter()
        .filter(|f| f.event() == "agent_output")
        .map(|f| f.json()["key"].as_str().unwrap().to_string())
        .collect();
    for key in [
        "trip_request",
        "flights",
        "hotels",
        "activities",
        "budget",
        "pre_trip",
    ] {
        assert!(
            outputs.contains(&key.to_string()),
            "agent_output {key}: {outputs:?}"
        );
    }
    for agent in [
        "intake_agent",
        "flight_agent",
        "hotel_agent",
        "activity_agent",
        "cost_agent",
        "pretrip_agent",
    ] {
        let started = frames
            .iter()
            .position(|f| f.event() == "task_start" && f.json()["agent"] == agent);
        let done = frames
            .iter()
            .position(|f| f.event() == "task_complete" && f.json()["agent"] == agent);
        assert!(
            started.is_some() && done > started,
            "{agent} starts then completes"
        );
        let frame = &frames[done.unwrap()];
        assert_eq!(frame.json()["status"], "completed");
        assert!(frame.json()["confidence_score"].as_f64().unwrap() > 0.0);
    }
    let validation = frames
        .iter()
        .find(|f| f.event() == "validation_result")
        .unwrap()
        .json();
    assert_eq!(validation["passed"], true);
    assert!(validation["checks"].as_array().unwrap().len() >= 3);

    let last = frames.last().unwrap();
    assert_eq!(last.event(), "complete");
    let plan = &last.json()["result"];
    assert_eq!(plan["travelers"], 2);
    assert_eq!(plan["origin"]["iata"], "LAX");
    assert_eq!(plan["destinations"][0]["city"], "Tokyo");
    assert_eq!(plan["dates"]["nights"], 4);
    let days = plan["days"].as_array().unwrap();
    assert_eq!(days.len(), 5);
    for (i, day) in days.iter().enumerate() {
        assert_eq!(day["day_number"], i + 1);
        for key in ["date", "location", "focus", "intensity", "activities"] {
            assert!(!day[key].is_null(), "day {i} has {key}");
        }
        assert!(day["activities"].as_array().unwrap().len() <= 3);
    }
    let food = days
        .iter()
        .flat_map(|d| d["activities"].as_array().unwrap())
        .filter(|a| a["category"] == "food")
        .count();
    assert!(food >= 1, "interests honoured");
    let flights = plan["flights"].as_array().unwrap();
    assert_eq!(flights.first().unwrap()["from_iata"], "LAX");
    assert_eq!(flights.last().unwrap()["to_iata"], "LAX");
    assert!(
        flights
            .iter()
            .all(|f| f["price_per_person_usd"].as_f64().unwrap() > 0.0)
    );
    let hotel = &plan["hotels"][0];
    for key in [
        "city",
        "area",
        "tier",
        "nights",
        "price_per_night_usd",
        "total_usd",
    ] {
        assert!(!hotel[key].is_null(), "hotel has {key}");
    }
    let b = &plan["budget"];
    let parts: f64 = [
        "flights_usd",
        "lodging_usd",
        "food_usd",
        "activities_usd",
        "local_transport_usd",
    ]
    .iter()
    .map(|k| b["breakdown"][k].as_f64().unwrap())
    .sum();
    assert!(
        (parts - b["estimated_total_usd"].as_f64().unwrap()).abs() < 0.01,
        "breakdown sums to the total"
    );
    assert_eq!(b["within_budget"], true);
    for key in ["packing", "checks", "money_tips", "weather"] {
        assert!(
            !plan["pre_trip"][key].as_array().unwrap().is_empty(),
            "pre_trip {key}"
        );
    }
    assert!(plan["estimate_note"].as_str().unwrap().contains("estimate"));
    assert!(plan["summary"].as_str().unwrap().contains("Tokyo"));

    for frame in frames.iter().filter(|f| f.event() == "task_complete") {
        assert!(
            frame.json()["output"].is_object(),
            "task output is an object: {}",
            frame.json()
        );
    }
    let s = app.status(&id).await;
    assert_eq!(s["status"], "completed");
    assert!(
        s["tasks"]
            .as_array()
            .unwrap()
            .iter()
            .all(|t| t["output"].is_object())
    );
    assert_eq!(s["progress"]["current_state"], "done");
    assert_eq!(s["progress"]["tasks_total"], 6);
    assert_eq!(s["progress"]["tasks_completed"], 6);
    assert_eq!(s["final_result"], *plan);
    assert!(s["completed_at"].is_string());
    for key in ["flights", "hotels", "activities", "budget", "pre_trip"] {
        assert!(!s["current_output"][key].is_null(), "current_output {key}");
    }
}

#[tokio::test]
async fn over_budget_pauses_for_approval_and_completes_once_approved() {
    let app = spawn_app(&[]).await;
    let id = app.start_job("/v1/plan", json!({
        "user_id": "u1", "query": "A week in Paris", "constraints": {"budget_usd": 300, "departure_city": "JFK"}
    }))
    .await;
    let mut stream = SseReader::open(app.client.get(app.url(&format!("/v1/stream/{id}")))).await;
    let paused = app.wait_status(&id, "waiting_approval").await;
    assert_eq!(paused["progress"]["current_state"], "approval");
    let data = &paused["approval"]["approval_data"];
    assert_eq!(data["reason"], "budget_override");
    assert_eq!(data["budget_usd"], 300.0);
    let estimate = data["estimated_total_usd"].as_f64().unwrap();
    assert!((data["overage_usd"].as_f64().unwrap() - (estimate - 300.0)).abs() < 0.01);
    assert!(data["breakdown"]["lodging_usd"].as_f64().unwrap() > 0.0);
    assert!(paused["final_result"].is_null());

    let approve = app
        .post_json(
            "/v1/approve",
            &json!({"job_id": id, "approved": true, "notes": "worth it"}),
        )
        .await;
    assert_eq!(approve.status(), StatusCode::OK);
    let frames = stream.events_until_closed(WAIT).await;
    let pause = frames
        .iter()
        .find(|f| f.json()["status"] == "waiting_approval")
        .unwrap();
    assert_eq!(pause.json()["approval_data"]["reason"], "budget_override");
    assert_eq!(
        statuses(&frames[1..]),
        [
            "started",
            "planning",
            "executing",
            "waiting_approval",
            "executing",
            "completed"
        ]
    );
    let plan = &frames.last().unwrap().json()["result"];
    assert_eq!(plan["approval"]["approved"], true);
    assert_eq!(plan["approval"]["notes"], "worth it");
    assert_eq!(plan["budget"]["within_budget"], false);
    // Resumed from its checkpoints: each agent ran once.
    let starts = frames.iter().filter(|f| f.event() == "task_start").count();
    assert_eq!(starts, 6);
}

#[tokio::test]
async fn rejecting_an_over_budget_plan_cancels_it() {
    let app = spawn_app(&[]).await;
    let id = app
        .start_job(
            "/v1/plan",
            json!({"user_id": "u1", "query": "5 days in London under $100"}),
        )
        .await;
    app.wait_status(&id, "waiting_approval").await;
    let reject = app
        .post_json("/v1/approve", &json!({"job_id": id, "approved": false}))
        .await;
    assert_eq!(reject.status(), StatusCode::OK);
    let s = app.status(&id).await;
    assert_eq!(s["status"], "cancelled");
    let frames = stream_to_end(&app, &id).await;
    assert_eq!(frames.last().unwrap().json()["status"], "cancelled");
}

#[tokio::test]
async fn an_unanswered_approval_expires_and_cancels_the_job() {
    let app = spawn_app(&[("APPROVAL_TIMEOUT_SECS", "1")]).await;
    let id = app
        .start_job(
            "/v1/plan",
            json!({"user_id": "u1", "query": "5 days in Tokyo under $100"}),
        )
        .await;
    let s = app.wait_status(&id, "cancelled").await;
    assert_eq!(s["error"]["code"], "approval_expired");
    assert!(
        s["error"]["message"]
            .as_str()
            .unwrap()
            .contains("not given in time")
    );
    let late = app
        .post_json("/v1/approve", &json!({"job_id": id, "approved": true}))
        .await;
    assert_eq!(late.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn a_plan_without_a_budget_never_pauses() {
    let app = spawn_app(&[]).await;
    let id = app.start_job("/v1/plan", json!({"user_id": "u1", "query": "Two weeks in Reykjavik, luxury", "constraints": {"travelers": 4}})).await;
    let frames = stream_to_end(&app, &id).await;
    assert!(!statuses(&frames).contains(&"waiting_approval".to_string()));
    assert_eq!(frames.last().unwrap().event(), "complete");
    assert_eq!(
        frames.last().unwrap().json()["result"]["days"]
            .as_array()
            .unwrap()
            .len(),
        14
    );
}

#[tokio::test]
async fn an_unknown_destination_fails_with_an_error_event_and_closes_the_stream() {
    let app = spawn_app(&[]).await;
    let id = app
        .start_job(
            "/v1/plan",
            json!({"user_id": "u1", "query": "A week in Xyzzyland"}),
        )
        .await;
    let frames = stream_to_end(&app, &id).await;
    let last = frames.last().unwrap();
    assert_eq!(last.event(), "error");
    let message = last.json()["message"].as_str().unwrap().to_string();
    assert!(message.contains("destination"), "{message}");
    assert!(
        message.contains("constraints.destination"),
        "says how to fix it: {message}"
    );
    let s = app.status(&id).await;
    assert_eq!(s["status"], "failed");
    assert_eq!(s["error"]["code"], "unknown_destination");
    assert!(s["completed_at"].is_string());
    let intake = s["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["agent"] == "intake_agent")
        .unwrap()
        .clone();
    assert_eq!(intake["status"], "failed");
}

#[tokio::test]
async fn each_trigger_type_produces_a_suggestion_with_a_full_plan() {
    let app = spawn_app(&[]).await;
    let gap_start = (chrono::Utc::now().date_naive() + chrono::Duration::days(40)).to_string();
    let gap_end = (chrono::Utc::now().date_naive() + chrono::Duration::days(44)).to_string();
    let cases = [
        (
            "price_drop",
            json!({"route": "LAX->NRT", "old_price": 850, "new_price": 650, "savings": 200}),
        ),
        (
            "calendar_gap",
            json!({"gap_start": gap_start, "gap_end": gap_end, "preferences": {"interests": ["beach"], "departure_city": "SGN"}}),
        ),
        (
            "budget_surplus",
            json!({"surplus_usd": 1500, "preferences": {"departure_city": "HAN", "interests": ["nature"]}}),
        ),
        ("weekend_idea", json!({"destination": "Hoi An"})),
    ];
    for (trigger, context) in cases {
        let id = app
            .start_job(
                "/v1/suggest",
                json!({"user_id": "u2", "trigger_type": trigger, "context": context}),
            )
            .await;
        let frames = stream_to_end(&app, &id).await;
        let last = frames.last().unwrap();
        assert_eq!(last.event(), "complete", "{trigger}: {:?}", last);
        let result = &last.json()["result"];
        assert_eq!(result["suggestion"]["trigger_type"], trigger);
        assert!(
            result["suggestion"]["headline"]
                .as_str()
                .is_some_and(|h| !h.is_empty())
        );
        assert!(
            result["suggestion"]["rationale"]
                .as_str()
                .is_some_and(|r| !r.is_empty())
        );
        assert!(
            !result["days"].as_array().unwrap().is_empty(),
            "{trigger} has a plan"
        );
        match trigger {
            "price_drop" => {
                assert_eq!(result["suggestion"]["savings_usd"], 200.0);
                assert_eq!(result["flights"][0]["from_iata"], "LAX");
                assert_eq!(
                    result["flights"][0]["price_per_person_usd"], 650.0,
                    "uses the new fare"
                );
            }
            "calendar_gap" => {
                assert!(result["dates"]["start"].as_str().unwrap() >= gap_start.as_str());
                assert!(
                    result["dates"]["end"].as_str().unwrap() <= gap_end.as_str(),
                    "fits inside the gap"
                );
            }
            "budget_surplus" => assert_eq!(result["budget"]["limit_usd"], 1500.0),
            _ => assert_eq!(result["destinations"][0]["city"], "Hoi An"),
        }
    }
    let id = app
        .start_job(
            "/v1/suggest",
            json!({"user_id": "u2", "trigger_type": "mystery", "context": {"x": 1}}),
        )
        .await;
    let frames = stream_to_end(&app, &id).await;
    assert_eq!(frames.last().unwrap().event(), "error");
    assert_eq!(app.status(&id).await["error"]["code"], "unknown_trigger");
    let listed: Value = app.get("/v1/jobs?user_id=u2").await.json().await.unwrap();
    assert_eq!(listed["jobs"].as_array().unwrap().len(), 5);
    assert!(
        listed["jobs"]
            .as_array()
            .unwrap()
            .iter()
            .all(|j| j["mode"] == "proactive")
    );
}
