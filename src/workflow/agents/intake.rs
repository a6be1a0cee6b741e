//! `intake_agent`: the request (a query, or a proactive trigger) → a
//! structured trip request. Structured constraints override the text. With
//! an LLM, the model reads the free text first and its reading is merged
//! under the caller's constraints; the knowledge parser then normalises the
//! result, so both backends produce the same validated `TripRequest`.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use super::{AgentContext, llm_failure};
use crate::jobs::JobRequest;
use crate::knowledge::{self, IntakeError, TripRequest};
use crate::llm::Prompt;
use crate::workflow::run::{AgentOutput, RunError};

const PROMPT: &str = "Extract the trip request from the traveller's message. \
    destinations: city names in visiting order; origin: departure city or IATA code; \
    start_date: YYYY-MM-DD; days: trip length; travelers: party size; budget_usd: total budget; \
    interests: words like food, culture, history, nature, adventure, beach, nightlife, shopping, art, relaxation, family; \
    tier: budget, mid or luxury. Use null for what the message does not say.";

/// What the model reads out of the free text.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct Reading {
    #[serde(default)]
    destinations: Vec<String>,
    origin: Option<String>,
    start_date: Option<String>,
    days: Option<u32>,
    travelers: Option<u32>,
    budget_usd: Option<f64>,
    #[serde(default)]
    interests: Vec<String>,
    tier: Option<String>,
}

fn schema() -> Value {
    let text = json!({"type": ["string", "null"]});
    let whole = json!({"type": ["integer", "null"]});
    json!({"type": "object", "required": ["destinations", "origin", "start_date", "days", "travelers", "budget_usd", "interests", "tier"],
        "properties": {"destinations": {"type": "array", "items": {"type": "string"}}, "origin": text, "start_date": text,
            "days": whole, "travelers": whole, "budget_usd": {"type": ["number", "null"]},
            "interests": {"type": "array", "items": {"type": "string"}}, "tier": text}})
}

/// The model's place names must be places: any city, country or region our
/// gazetteer knows (the same grammar then resolves them as it resolves the text).
fn check(reading: &Reading) -> Result<(), String> {
    for name in &reading.destinations {
        if !knowledge::recognises_place(name) {
            return Err(format!(
                "{name:?} is not a place we know; give a city (\"Da Nang\", \"Tokyo\"), a country or a region, as the traveller wrote it"
            ));
        }
    }
    Ok(())
}

/// The model's reading, with the caller's constraints taking precedence.
/// Returns whether the answer needed a repair.
async fn read_with_llm(
    ctx: &AgentContext,
    query: &str,
    constraints: &mut Map<String, Value>,
) -> Result<bool, RunError> {
    let Some(llm) = &ctx.llm else {
        return Ok(false);
    };
    let prompt = Prompt::new(
        format!(
            "You are the intake_agent of Lotara, a travel concierge. {PROMPT} Today is {}. Answer with one JSON object.",
            ctx.today
        ),
        query,
    );
    let caller = ctx.caller("intake_agent");
    let answer = llm
        .structured::<Reading>(prompt, "trip_request", &schema(), &caller, check)
        .await;
    let repaired = answer.calls.len() > 1;
    ctx.record_calls("intake_agent", answer.calls);
    let reading = answer.result.map_err(llm_failure)?;
    let mut put = |key: &str, value: Option<Value>| {
        if let Some(value) = value {
            constraints.entry(key).or_insert(value);
        }
    };
    put(
        "destination",
        (!reading.destinations.is_empty()).then(|| json!(reading.destinations.join(", "))),
    );
    put("departure_city", reading.origin.map(Value::from));
    put(
        "start_date",
        reading
            .start_date
            .filter(|d| chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d").is_ok())
            .map(Value::from),
    );
    put("duration_days", reading.days.map(Value::from));
    put("travelers", reading.travelers.map(Value::from));
    put("budget_usd", reading.budget_usd.map(Value::from));
    put(
        "interests",
        (!reading.interests.is_empty()).then(|| json!(reading.interests)),
    );
    put("tier", reading.tier.map(Value::from));
    Ok(repaired)
}

pub async fn run(
    ctx: &AgentContext,
    request: &JobRequest,
) -> Result<AgentOutput<TripRequest>, RunError> {
    let (query, mut constraints) = match (&request.query, &request.trigger_type) {
        (Some(query), _) => (query.clone(), request.constraints.clone()),
        (None, Some(trigger)) => {
            trigger_request(trigger, request.context.as_ref(), &request.constraints)?
        }
        (None, None) => {
            return Err(RunError::failed(
                "invalid_request",
                "The job has neither a query nor a trigger",
            ));
        }
    };
    let repaired = match request.query {
        Some(_) => read_with_llm(ctx, &query, &mut constraints).await?,
        None => false,
    };
    let trip = knowledge::parse_trip_request(&query, &constraints, ctx.today)
        .and_then(|trip| knowledge::require_curated(&trip).map(|()| trip))
        .map_err(|e: IntakeError| RunError::failed(e.code(), e.to_string()))?;
    let confidence = match (&ctx.llm, request.constraints.contains_key("destination")) {
        (_, true) => 0.95,
        (Some(_), false) if repaired => 0.75,
        (Some(_), false) => 0.9,
        (None, false) => 0.85,
    };
    Ok(AgentOutput {
        value: trip,
        confidence,
    })
}

fn text(context: &Map<String, Value>, key: &str) -> Option<String> {
    context.get(key).and_then(Value::as_str).map(str::to_string)
}

fn number(context: &Map<String, Value>, key: &str) -> Option<f64> {
    context.get(key).and_then(Value::as_f64)
}

/// Turns a trigger's context into the query and constraints a user would
/// have written, so proactive jobs take the same intake path.
fn trigger_request(
    trigger: &str,
    context: Option<&Map<String, Value>>,
    constraints: &Map<String, Value>,
) -> Result<(String, Map<String, Value>), RunError> {
    let empty = Map::new();
    let context = context.unwrap_or(&empty);
    let prefs = context
        .get("preferences")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    let mut merged = prefs.clone();
    merged.extend(constraints.clone());
    let missing = |what: &str| {
        RunError::failed(
            "invalid_trigger",
            format!("{trigger}: the context needs {what}"),
        )
    };
    match trigger {
        "price_drop" => {
            let (origin, destination) = match text(context, "route") {
                Some(route) => {
                    let (o, d) = route
                        .split_once("->")
                        .ok_or_else(|| missing("a route like \"LAX->NRT\""))?;
                    (o.trim().to_string(), d.trim().to_string())
                }
                None => (
                    text(context, "origin")
                        .ok_or_else(|| missing("`route` or `origin` and `destination`"))?,
                    text(context, "destination").ok_or_else(|| missing("`destination`"))?,
                ),
            };
            merged.entry("departure_city").or_insert(json!(origin));
            merged.entry("destination").or_insert(json!(destination));
            if let Some(date) = text(context, "departure_date") {
                merged.entry("start_date").or_insert(json!(date));
            }
            Ok((format!("Trip from {origin} to {destination}"), merged))
        }
        "calendar_gap" => {
            let start =
                text(context, "gap_start").ok_or_else(|| missing("`gap_start` (YYYY-MM-DD)"))?;
            let end = text(context, "gap_end").ok_or_else(|| missing("`gap_end` (YYYY-MM-DD)"))?;
            let parse = |s: &str| chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d");
            let (Ok(first), Ok(last)) = (parse(&start), parse(&end)) else {
                return Err(missing("`gap_start` and `gap_end` as YYYY-MM-DD dates"));
            };
            let gap_days = (last - first).num_days() + 1;
            if gap_days < 1 {
                return Err(RunError::failed(
                    "invalid_trigger",
                    "calendar_gap: gap_end is before gap_start",
                ));
            }
            merged.entry("start_date").or_insert(json!(start));
            let wanted = merged
                .get("duration_days")
                .and_then(Value::as_i64)
                .unwrap_or(gap_days.min(7));
            merged.insert("duration_days".into(), json!(wanted.clamp(1, gap_days)));
            // With no destination the inspiration step chooses one for the gap.
            Ok((
                "Suggest a trip that fits a free window in my calendar".into(),
                merged,
            ))
        }
        "budget_surplus" => {
            let surplus = number(context, "surplus_usd").ok_or_else(|| missing("`surplus_usd`"))?;
            merged.entry("budget_usd").or_insert(json!(surplus));
            merged.entry("duration_days").or_insert(json!(4));
            Ok((
                format!("Suggest a trip within a surplus of ${surplus:.0}"),
                merged,
            ))
        }
        other => {
            // An unknown trigger still works when its context names a trip.
            let query = text(context, "query")
                .or_else(|| text(context, "destination").map(|d| format!("Trip to {d}")))
                .ok_or_else(|| {
                    RunError::failed(
                        "unknown_trigger",
                        format!(
                            "Unknown trigger_type {other:?} and its context names no trip. Use price_drop, calendar_gap or budget_surplus, or put a `destination` or `query` in the context."
                        ),
                    )
                })?;
            Ok((query, merged))
        }
    }
}
