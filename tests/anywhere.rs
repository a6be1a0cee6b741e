//! Planning anywhere: with an LLM, a city of the gazetteer that the curated
//! dataset lacks (Plovdiv, Bulgaria) is researched by the model, grounded by
//! what we know of it, checked number by number, and every part of the plan
//! that came from the model alone says so. Through the real HTTP API, against
//! the local OpenAI-compatible fake.

mod support;

use serde_json::{Value, json};
use support::app::{TestApp, spawn_app};
use support::fake_llm::{FakeLlm, Reply};

async fn app_with(llm: &FakeLlm) -> TestApp {
    spawn_app(&[
        ("LLM_BASE_URL", llm.url.as_str()),
        ("LLM_API_KEY", "test-key"),
        ("LLM_MODEL", "fake-model"),
        ("LLM_TIMEOUT_SECS", "5"),
        ("LLM_MAX_RETRIES", "1"),
    ])
    .await
}

/// The model's reading of the request: the given cities, 4 days, two people from London.
fn reading(destinations: &[&str]) -> Value {
    json!({"destinations": destinations, "origin": "London", "start_date": null, "days": 4,
        "travelers": 2, "budget_usd": null, "interests": ["history"], "tier": "mid"})
}

fn plovdiv_request(constraints: Value) -> Value {
    json!({"user_id": "u-anywhere", "query": "4 days in Plovdiv from London for the two of us, we love history",
        "constraints": constraints})
}

/// What a sensible model says of Plovdiv.
fn plovdiv_research() -> Value {
    let sight = |name: &str, category: &str, hours: f64, cost: f64, when: &str| {
        json!({"name": name, "category": category, "duration_hours": hours, "cost_usd": cost,
            "best_time": when, "intensity": "easy"})
    };
    let month = |high: f64, low: f64, rain: f64, summary: &str| json!({"high_c": high, "low_c": low, "rain_mm": rain, "summary": summary});
    json!({
        "attractions": [
            sight("Ancient Theatre of Philippopolis", "history", 1.0, 5.0, "morning"),
            sight("Old Town Plovdiv", "architecture", 2.5, 0.0, "any"),
            sight("Kapana Creative District", "art", 2.0, 0.0, "evening"),
            sight("Nebet Tepe", "history", 1.0, 0.0, "evening"),
            sight("Roman Stadium of Philippopolis", "history", 0.5, 0.0, "any"),
            sight("Regional Ethnographic Museum", "culture", 1.5, 4.0, "morning"),
            sight("Bachkovo Monastery", "culture", 4.0, 0.0, "morning"),
            sight("Balabanov House", "architecture", 1.0, 3.0, "afternoon"),
            sight("Tsar Simeon Garden", "relaxation", 1.0, 0.0, "afternoon"),
            sight("Wine tasting in the Thracian Valley", "food", 4.0, 40.0, "afternoon")
        ],
        "neighbourhoods": [
            {"name": "Kapana", "tier": "mid", "vibe": "Cobbled lanes of cafés, galleries and bars"},
            {"name": "Old Town", "tier": "luxury", "vibe": "Revival-era mansions on the three hills"},
            {"name": "Karshiyaka", "tier": "budget", "vibe": "Quiet residential streets across the river"}
        ],
        "nightly_usd": {"budget": 30.0, "mid": 75.0, "luxury": 160.0},
        "daily_food_usd": {"budget": 15.0, "mid": 30.0, "luxury": 60.0},
        "daily_transport_usd": 5.0,
        "climate": [
            month(5.0, -3.0, 35.0, "Cold, grey, occasional snow"),
            month(8.0, -2.0, 32.0, "Cold with some sunny days"),
            month(13.0, 2.0, 38.0, "Cool, spring arriving"),
            month(19.0, 7.0, 45.0, "Mild, blossoming"),
            month(24.0, 11.0, 60.0, "Warm with some thunderstorms"),
            month(28.0, 15.0, 60.0, "Warm to hot"),
            month(31.0, 17.0, 45.0, "Hot and sunny"),
            month(31.0, 17.0, 35.0, "Hot and dry"),
            month(26.0, 13.0, 35.0, "Warm, pleasant"),
            month(19.0, 8.0, 45.0, "Mild autumn"),
            month(12.0, 3.0, 45.0, "Cool and damp"),
            month(6.0, -1.0, 45.0, "Cold, festive lights")
        ],
        "visa_note": "Bulgaria is in the Schengen area: Schengen visa rules apply.",
        "plug_type": "C/F",
        "tipping": "Round up or leave about 10% in restaurants.",
        "tips": ["Cards are widely taken; carry some cash for market stalls and small cafés."]
    })
}

/// Plovdiv's research with absurd numbers: a $90,000 night, a 400-hour visit.
fn absurd_research() -> String {
    let mut answer = plovdiv_research();
    answer["nightly_usd"]["luxury"] = json!(90_000.0);
    answer["attractions"][0]["duration_hours"] = json!(400.0);
    answer.to_string()
}

fn task<'a>(status: &'a Value, agent: &str) -> &'a Value {
    status["tasks"]
        .as_array()
        .and_then(|tasks| tasks.iter().find(|t| t["agent"] == agent))
        .unwrap_or_else(|| panic!("a {agent} task in {status}"))
}

fn research_names() -> Vec<String> {
    let answer = plovdiv_research();
    let names = |key: &str| -> Vec<String> {
        answer[key]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["name"].as_str().unwrap().to_string())
            .collect()
    };
    let areas = names("neighbourhoods");
    let mut all = names("attractions");
    all.extend(areas.iter().map(|a| format!("Explore {a}")));
    all.push("Explore Plovdiv".into());
    all
}

#[tokio::test]
async fn a_city_the_dataset_lacks_is_researched_and_what_came_from_the_model_says_so() {
    let llm = FakeLlm::start().await;
    llm.set_intake(reading(&["Plovdiv", "Istanbul"]));
    llm.set_research(plovdiv_research());
    let app = app_with(&llm).await;
    let id = app
        .start_job(
            "/v1/plan",
            json!({"user_id": "u-anywhere",
                "query": "Plovdiv then Istanbul, 4 days from London for two, history please"}),
        )
        .await;
    let status = app.wait_finished(&id).await;
    assert_eq!(status["status"], "completed", "{status}");

    let research = task(&status, "destination_agent");
    assert_eq!(research["task_name"], "Researching Plovdiv");
    assert_eq!(research["status"], "completed");
    let agents: Vec<&str> = status["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["agent"].as_str().unwrap())
        .collect();
    assert_eq!(
        &agents[..3],
        ["intake_agent", "destination_agent", "flight_agent"]
    );

    // The model was grounded by what we know, and bounded by the schema.
    let asked = llm.requests_for("destination_agent");
    assert_eq!(asked.len(), 1, "one call per city the dataset lacks");
    let prompt = asked[0]["messages"][1]["content"].as_str().unwrap();
    for fact in [
        "Plovdiv",
        "Bulgaria",
        "\"BG\"",
        "PDV",
        "Europe/Sofia",
        "nearest_curated",
        "Istanbul",
    ] {
        assert!(prompt.contains(fact), "{fact} in the grounding: {prompt}");
    }
    assert!(
        prompt.contains("\"fare_from_origin\":{") && prompt.contains("\"from_iata\":\"LHR\""),
        "{prompt}"
    );
    let schema = &asked[0]["response_format"]["json_schema"]["schema"]["properties"];
    assert_eq!(schema["attractions"]["maxItems"], 20);
    assert_eq!(
        schema["attractions"]["items"]["properties"]["duration_hours"]["maximum"],
        12.0
    );
    assert!(schema["nightly_usd"]["properties"]["luxury"]["maximum"].is_number());
    assert!(schema.get("lat").is_none() && schema.get("country").is_none());

    let plan = &status["final_result"];
    let stops = plan["destinations"].as_array().unwrap();
    assert_eq!(stops.len(), 2);
    let (plovdiv, istanbul) = (&stops[0], &stops[1]);
    assert_eq!(
        (
            &plovdiv["city"],
            &plovdiv["country"],
            &plovdiv["iata"],
            &plovdiv["source"]
        ),
        (
            &json!("Plovdiv"),
            &json!("Bulgaria"),
            &json!("PDV"),
            &json!("model")
        )
    );
    assert!(plovdiv["id"].as_str().unwrap().starts_with("place:"));
    assert!(istanbul.get("source").is_none(), "curated: {istanbul}");
    assert_eq!(plan["flights"][0]["to_iata"], "PDV");

    // Coordinates come from the gazetteer, the rest from the model's answer.
    let built = &status["current_output"]["researched_destinations"][0];
    assert_eq!(
        (built["lat"].as_f64(), built["lon"].as_f64()),
        (Some(42.15387), Some(24.75001))
    );
    assert_eq!(built["nightly_usd"]["mid"], 75.0);

    let hotels = plan["hotels"].as_array().unwrap();
    assert_eq!(
        (
            &hotels[0]["city"],
            &hotels[0]["area"],
            &hotels[0]["price_per_night_usd"],
            &hotels[0]["source"]
        ),
        (
            &json!("Plovdiv"),
            &json!("Kapana"),
            &json!(75.0),
            &json!("model")
        )
    );
    assert!(hotels[1].get("source").is_none(), "curated: {}", hotels[1]);

    let known = research_names();
    let istanbul_facts = lotara::knowledge::destination("istanbul").unwrap();
    let mut food = 0.0;
    for day in plan["days"].as_array().unwrap() {
        let in_plovdiv = day["location"] == "Plovdiv";
        food += if in_plovdiv {
            30.0
        } else {
            istanbul_facts.daily_food_usd.mid
        } * 2.0;
        for activity in day["activities"].as_array().unwrap() {
            let name = activity["name"].as_str().unwrap().to_string();
            if in_plovdiv {
                assert_eq!(activity["source"], "model", "{activity}");
                assert!(known.contains(&name), "{name} is from the research");
            } else {
                assert!(activity.get("source").is_none(), "curated: {activity}");
            }
        }
    }
    assert_eq!(plan["budget"]["breakdown"]["food_usd"], food.round());
    let weather = plan["pre_trip"]["weather"].as_array().unwrap();
    assert!(
        weather
            .iter()
            .any(|w| w["city"] == "Plovdiv" && w["source"] == "model")
    );
    assert!(
        weather
            .iter()
            .any(|w| w["city"] == "Istanbul" && w.get("source").is_none())
    );
    let checks = plan["pre_trip"]["checks"].to_string();
    assert!(checks.contains("Schengen visa rules apply"), "{checks}");
}

#[tokio::test]
async fn an_answer_with_absurd_numbers_is_refused_and_the_repaired_one_is_used() {
    let llm = FakeLlm::start().await;
    llm.set_intake(reading(&["Plovdiv"]));
    llm.set_research(plovdiv_research());
    // The intake's call cooperates; the research's first answer is absurd.
    llm.script([Reply::Cooperate, Reply::Content(absurd_research())]);
    let app = app_with(&llm).await;
    let id = app.start_job("/v1/plan", plovdiv_request(json!({}))).await;
    let status = app.wait_finished(&id).await;
    assert_eq!(status["status"], "completed", "{status}");

    let asked = llm.requests_for("destination_agent");
    assert_eq!(asked.len(), 2, "one repair");
    let repair = asked[1]["messages"][3]["content"].as_str().unwrap();
    assert!(
        repair.contains("90000") && repair.contains("400"),
        "the repair names each absurd number: {repair}"
    );
    let plan = &status["final_result"];
    for hotel in plan["hotels"].as_array().unwrap() {
        assert_eq!(hotel["price_per_night_usd"], 75.0);
    }
    let longest = plan["days"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|d| d["activities"].as_array().unwrap())
        .map(|a| a["duration_hours"].as_f64().unwrap())
        .fold(0.0, f64::max);
    assert!(longest <= 8.0, "{longest}");
    assert_eq!(plan["budget"]["breakdown"]["lodging_usd"], 75.0 * 3.0);
    assert!(
        task(&status, "destination_agent")["confidence_score"]
            .as_f64()
            .unwrap()
            < 0.6
    );
}

#[tokio::test]
async fn absurd_numbers_twice_fail_the_job_naming_the_city_and_what_was_wrong() {
    let llm = FakeLlm::start().await;
    llm.set_intake(reading(&["Plovdiv"]));
    llm.script([
        Reply::Cooperate,
        Reply::Content(absurd_research()),
        Reply::Content(absurd_research()),
    ]);
    let app = app_with(&llm).await;
    let id = app.start_job("/v1/plan", plovdiv_request(json!({}))).await;
    let status = app.wait_finished(&id).await;
    assert_eq!(status["status"], "failed");
    assert_eq!(status["error"]["code"], "llm_failed");
    let message = status["error"]["message"].as_str().unwrap();
    assert!(
        message.starts_with("Could not research Plovdiv, Bulgaria: ")
            && message.contains("90000")
            && message.contains("400"),
        "{message}"
    );
    assert_eq!(task(&status, "destination_agent")["status"], "failed");
    assert!(status["final_result"].is_null());
    assert!(
        llm.requests_for("hotel_agent").is_empty(),
        "nothing is planned on refused facts"
    );
}

#[tokio::test]
async fn without_an_llm_a_city_the_dataset_lacks_fails_as_not_curated() {
    let app = spawn_app(&[]).await;
    let id = app.start_job("/v1/plan", plovdiv_request(json!({}))).await;
    let status = app.wait_finished(&id).await;
    assert_eq!(status["status"], "failed");
    assert_eq!(status["error"]["code"], "destination_not_curated");
    let message = status["error"]["message"].as_str().unwrap();
    assert!(message.starts_with("Plovdiv"), "{message}");
    assert!(
        status["tasks"]
            .as_array()
            .unwrap()
            .iter()
            .all(|t| t["agent"] != "destination_agent")
    );
}

#[tokio::test]
async fn a_plan_of_curated_destinations_marks_nothing() {
    let app = spawn_app(&[]).await;
    let id = app
        .start_job(
            "/v1/plan",
            json!({"user_id": "u-anywhere", "query": "4 days in Istanbul from London"}),
        )
        .await;
    let status = app.wait_finished(&id).await;
    assert_eq!(status["status"], "completed", "{status}");
    let plan = status["final_result"].to_string();
    assert!(!plan.contains("\"source\":"), "{plan}");
}

#[tokio::test]
async fn a_resumed_job_plans_with_the_research_it_checkpointed() {
    let llm = FakeLlm::start().await;
    llm.set_intake(reading(&["Plovdiv"]));
    llm.set_research(plovdiv_research());
    let app = app_with(&llm).await;
    // Over budget: the job parks for approval and resumes from its checkpoints.
    let id = app
        .start_job("/v1/plan", plovdiv_request(json!({"budget_usd": 100})))
        .await;
    app.wait_status(&id, "waiting_approval").await;

    // Had the research run again, it would get other facts.
    let mut changed = plovdiv_research();
    changed["visa_note"] = json!("A changed note that must not appear");
    changed["nightly_usd"] = json!({"budget": 31.0, "mid": 76.0, "luxury": 161.0});
    llm.set_research(changed);
    let approve = app
        .post_json("/v1/approve", &json!({"job_id": id, "approved": true}))
        .await;
    assert_eq!(approve.status(), reqwest::StatusCode::OK);
    let status = app.wait_finished(&id).await;
    assert_eq!(status["status"], "completed", "{status}");

    assert_eq!(
        llm.requests_for("destination_agent").len(),
        1,
        "checkpointed"
    );
    let plan = &status["final_result"];
    assert_eq!(plan["hotels"][0]["price_per_night_usd"], 75.0);
    // The pre-trip advice is made after the approval, from the checkpointed facts.
    let checks = plan["pre_trip"]["checks"].to_string();
    assert!(checks.contains("Schengen visa rules apply"), "{checks}");
    assert!(!checks.contains("changed note"), "{checks}");
}

#[tokio::test]
async fn the_openapi_document_describes_the_source_mark() {
    let app = spawn_app(&[]).await;
    let doc: Value = app.get("/api/openapi.json").await.json().await.unwrap();
    let schemas = &doc["components"]["schemas"];
    assert_eq!(
        schemas["Source"]["enum"],
        json!(["model"]),
        "{}",
        schemas["Source"]
    );
    for schema in [
        "DestinationStop",
        "HotelStay",
        "PlannedActivity",
        "WeatherNote",
    ] {
        let source = &schemas[schema]["properties"]["source"];
        assert!(source.is_object(), "{schema} documents source");
        assert!(
            !schemas[schema]["required"]
                .as_array()
                .is_some_and(|r| r.contains(&json!("source"))),
            "{schema}.source is optional"
        );
    }
    assert!(
        schemas["TripPlan"]["description"]
            .as_str()
            .is_some_and(|d| d.contains("\"source\": \"model\"")),
        "{}",
        schemas["TripPlan"]
    );
}
