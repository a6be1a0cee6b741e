//! The planner over HTTP, one request of each kind travellers write: several
//! cities with their own lengths, party sizes in words, Vietnamese and other
//! languages, budgets in other currencies, written dates, origins anywhere, vague
//! wishes (an `inspiration_agent` chooses), and requests that must fail clearly.

mod support;

use serde_json::{Value, json};
use support::app::{TestApp, spawn_app};

async fn plan(app: &TestApp, query: &str, constraints: Value) -> Value {
    let id = app
        .start_job(
            "/v1/plan",
            json!({"user_id": "planner-test", "query": query, "constraints": constraints}),
        )
        .await;
    app.wait_finished(&id).await
}

fn completed(status: &Value) -> &Value {
    assert_eq!(status["status"], "completed", "{status:#}");
    &status["final_result"]
}

fn stop_ids(plan: &Value) -> Vec<&str> {
    plan["destinations"]
        .as_array()
        .expect("destinations")
        .iter()
        .filter_map(|d| d["id"].as_str())
        .collect()
}

fn day_count_in(plan: &Value, city: &str) -> usize {
    plan["days"]
        .as_array()
        .expect("days")
        .iter()
        .filter(|d| d["location"] == city)
        .count()
}

#[tokio::test]
async fn several_cities_keep_the_lengths_the_traveller_gave() {
    let app = spawn_app(&[]).await;
    let status = plan(
        &app,
        "3 days in Sapa and 2 days in Hanoi for 2 people from Ho Chi Minh City",
        json!({}),
    )
    .await;
    let plan = completed(&status);
    assert_eq!(stop_ids(plan), ["sapa", "hanoi"]);
    assert_eq!(day_count_in(plan, "Sapa"), 3, "{plan:#}");
    assert_eq!(day_count_in(plan, "Hanoi"), 2);
    assert_eq!(plan["travelers"], 2);
    assert_eq!(plan["origin"]["iata"], "SGN");
    let status = plan_of(&app, "Tokyo 3 days then Kyoto 2 days").await;
    let plan = completed(&status);
    assert_eq!(stop_ids(plan), ["tokyo", "kyoto"]);
    assert_eq!(
        (day_count_in(plan, "Tokyo"), day_count_in(plan, "Kyoto")),
        (3, 2)
    );
    app.stop().await;
}

async fn plan_of(app: &TestApp, query: &str) -> Value {
    plan(app, query, json!({})).await
}

#[tokio::test]
async fn party_sizes_in_everyday_words_are_counted() {
    let app = spawn_app(&[]).await;
    for (query, travelers) in [
        ("Bangkok for 4 days, me and 2 friends", 3),
        ("family of four to Singapore for 5 days", 4),
        ("Paris, 3 ppl, a week", 3),
        ("honeymoon in Bali, 6 nights", 2),
    ] {
        let status = plan_of(&app, query).await;
        assert_eq!(completed(&status)["travelers"], travelers, "{query}");
    }
    app.stop().await;
}

#[tokio::test]
async fn vietnamese_and_other_languages_are_read_like_english() {
    let app = spawn_app(&[]).await;
    let status = plan_of(&app, "Chuyến đi Đà Lạt 3 ngày từ Hà Nội cho 2 người").await;
    let plan = completed(&status);
    assert_eq!(stop_ids(plan), ["da-lat"]);
    assert_eq!(plan["days"].as_array().map(Vec::len), Some(3));
    assert_eq!(plan["travelers"], 2);
    assert_eq!(plan["origin"]["iata"], "HAN");

    let status = plan_of(
        &app,
        "Un voyage de 4 jours à Rome depuis Paris pour deux personnes",
    )
    .await;
    let plan = completed(&status);
    assert_eq!(stop_ids(plan), ["rome"], "Paris is the origin, not a stop");
    assert_eq!(plan["days"].as_array().map(Vec::len), Some(4));
    assert_eq!(plan["travelers"], 2);
    assert!(["CDG", "ORY"].contains(&plan["origin"]["iata"].as_str().unwrap_or("")));
    app.stop().await;
}

#[tokio::test]
async fn a_budget_in_another_currency_is_converted_and_stated_with_its_rate() {
    let app = spawn_app(&[]).await;
    let status = plan_of(&app, "presupuesto 5000 euros, 5 días en Roma").await;
    let plan = completed(&status);
    let source = &plan["budget_source"];
    assert_eq!(source["currency"], "EUR", "{plan:#}");
    assert_eq!(source["amount"], 5000.0);
    let rate = source["usd_per_unit"].as_f64().expect("rate");
    assert!(source["rate_date"].as_str().is_some_and(|d| !d.is_empty()));
    let limit = plan["budget"]["limit_usd"].as_f64().expect("limit");
    assert!((limit - 5000.0 * rate).abs() < 0.01, "{limit} vs {rate}");

    let status = plan_of(
        &app,
        "Đi Phú Quốc 4 ngày 3 đêm, 2 người, ngân sách 80 triệu",
    )
    .await;
    let plan = completed(&status);
    assert_eq!(plan["budget_source"]["currency"], "VND");
    assert_eq!(plan["budget_source"]["amount"], 80_000_000.0);
    app.stop().await;
}

#[tokio::test]
async fn written_dates_and_ranges_set_the_start_and_the_length() {
    let app = spawn_app(&[]).await;
    let status = plan_of(&app, "Kyoto from 12 to 18 March 2027").await;
    let plan = completed(&status);
    assert_eq!(plan["dates"]["start"], "2027-03-12");
    assert_eq!(plan["dates"]["end"], "2027-03-18");
    app.stop().await;
}

#[tokio::test]
async fn origins_anywhere_in_the_world_get_flights() {
    let app = spawn_app(&[]).await;
    for (query, iata) in [
        ("a week in Tokyo flying from Denver", "DEN"),
        ("5 days in Bangkok from Lyon", "LYS"),
        ("Sydney for 6 days, leaving from Auckland", "AKL"),
    ] {
        let status = plan_of(&app, query).await;
        let plan = completed(&status);
        assert_eq!(plan["origin"]["iata"], iata, "{query}");
        assert!(
            plan["flights"].as_array().is_some_and(|f| f.len() >= 2),
            "{query}: {plan:#}"
        );
    }
    app.stop().await;
}

#[tokio::test]
async fn a_vague_wish_is_planned_by_an_inspiration_task_with_alternatives() {
    let app = spawn_app(&[]).await;
    let status = plan_of(
        &app,
        "Somewhere warm with beaches for 10 days in January, from Melbourne",
    )
    .await;
    let plan = completed(&status);
    let tasks = status["tasks"].as_array().expect("tasks");
    let inspiration = tasks
        .iter()
        .find(|t| t["agent"] == "inspiration_agent")
        .expect("an inspiration_agent task");
    assert_eq!(inspiration["status"], "completed");
    let alternatives = plan["alternatives"].as_array().expect("alternatives");
    assert!(alternatives.len() >= 3, "{plan:#}");
    for alternative in alternatives {
        assert!(alternative["destination"].is_string());
        assert!(alternative["why"].as_str().is_some_and(|w| !w.is_empty()));
        assert!(
            alternative["estimated_total_usd"]
                .as_f64()
                .is_some_and(|t| t > 0.0)
        );
    }
    let chosen = stop_ids(plan)[0].to_string();
    assert!(
        !alternatives
            .iter()
            .any(|a| a["destination"] == chosen.as_str())
    );
    app.stop().await;
}

#[tokio::test]
async fn what_cannot_be_understood_fails_saying_what_is_missing() {
    let app = spawn_app(&[]).await;
    let status = plan_of(&app, "Portland for 4 days in October").await;
    assert_eq!(status["status"], "failed", "{status:#}");
    let message = status["error"]["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("Oregon") && message.contains("Maine"),
        "{message}"
    );
    assert!(message.contains("constraints.destination"), "{message}");

    let status = plan_of(&app, "plan me a trip please").await;
    assert_eq!(status["status"], "failed");
    assert!(
        status["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("names no destination"))
    );

    let status = plan_of(&app, "3 days: 4 in Rome and 3 in Paris").await;
    assert_eq!(status["status"], "failed");
    assert!(
        status["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("contradicts itself"))
    );
    app.stop().await;
}

#[tokio::test]
async fn a_city_outside_the_curated_set_fails_naming_close_curated_ones() {
    let app = spawn_app(&[]).await;
    let status = plan_of(&app, "4 days in Ouarzazate").await;
    assert_eq!(status["status"], "failed", "{status:#}");
    let message = status["error"]["message"].as_str().unwrap_or_default();
    assert!(message.contains("Marrakech"), "{message}");
    app.stop().await;
}
