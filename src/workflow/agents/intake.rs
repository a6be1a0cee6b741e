//! `intake_agent`: the request (a query, or a proactive trigger) → a
//! structured trip request. Structured constraints override the text. With
//! an LLM, the model reads the free text first and its reading is merged
//! under the caller's constraints; the knowledge parser then normalises the
//! result, so both backends produce the same validated `TripRequest` — except
//! that only the LLM backend accepts a city outside the curated dataset.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use super::{AgentContext, llm_failure};
use crate::jobs::JobRequest;
use crate::knowledge::{self, IntakeError, TripRequest};
use crate::llm::{LlmClient, LlmError, Prompt};
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
    use super::bounds::{NAME, list, nullable_text, text};
    let whole = |max: u32| json!({"type": ["integer", "null"], "minimum": 1, "maximum": max});
    json!({"type": "object", "required": ["destinations", "origin", "start_date", "days", "travelers", "budget_usd", "interests", "tier"],
        "properties": {"destinations": list(text(NAME), 10), "origin": nullable_text(NAME),
            "start_date": nullable_text(10), "days": whole(knowledge::MAX_DAYS), "travelers": whole(knowledge::MAX_TRAVELERS),
            "budget_usd": {"type": ["number", "null"], "minimum": 1, "maximum": knowledge::MAX_BUDGET_USD},
            "interests": list(text(40), 12),
            "tier": {"type": ["string", "null"], "enum": ["budget", "mid", "luxury", null]}}})
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

/// The built-in parser over the request's text with these constraints on
/// top: what the text itself says, to hold the model's reading to.
type Parse<'a> = dyn Fn(&Map<String, Value>) -> Result<TripRequest, IntakeError> + 'a;

/// The model's reading of the free text, as constraints (destination,
/// dates, party, money…), each field checked as the door checks a caller's:
/// a field that fails is dropped and noted, never blamed on the traveller.
/// `Err` carries why no reading could be had at all (the call failed, or the
/// answer stayed invalid after a repair).
struct ModelReading {
    fields: Map<String, Value>,
    /// The places the model read, as it wrote them (`fields` has them
    /// joined as one `destination`), and its origin.
    destinations: Vec<String>,
    origin: Option<String>,
    notes: Vec<String>,
    repaired: bool,
}

async fn read_with_llm(
    ctx: &AgentContext,
    llm: &LlmClient,
    query: &str,
) -> Result<ModelReading, LlmError> {
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
    let reading = answer.result?;
    let mut fields = Map::new();
    let mut put = |key: &str, value: Option<Value>| {
        if let Some(value) = value {
            fields.insert(key.into(), value);
        }
    };
    put(
        "destination",
        (!reading.destinations.is_empty()).then(|| json!(reading.destinations.join(", "))),
    );
    put("departure_city", reading.origin.clone().map(Value::from));
    put("start_date", reading.start_date.map(Value::from));
    put("duration_days", reading.days.map(Value::from));
    put("travelers", reading.travelers.map(Value::from));
    put("budget_usd", reading.budget_usd.map(Value::from));
    put(
        "interests",
        (!reading.interests.is_empty()).then(|| json!(reading.interests)),
    );
    put("tier", reading.tier.map(Value::from));
    let mut notes = Vec::new();
    for (field, problem) in knowledge::reading_problems(&fields, ctx.today) {
        if fields.remove(field).is_some() {
            notes.push(format!("ignored the model's {field}: {problem}"));
        }
    }
    Ok(ModelReading {
        fields,
        destinations: reading.destinations,
        origin: reading.origin,
        notes,
        repaired,
    })
}

/// The text's own date wins: when the built-in parser reads a date in the
/// request, the model's start date must be the same. When the text gives
/// none, the model's stands unless it is today's: the prompt tells the model
/// the date, and small models echoed it as the trip's start (a plan leaving
/// today that nobody asked for).
fn ungrounded_start(
    reading: &ModelReading,
    constraints: &Map<String, Value>,
    parse: &Parse<'_>,
    today: chrono::NaiveDate,
) -> Option<String> {
    let model = reading.fields.get("start_date")?.as_str()?;
    if constraints.contains_key("start_date") {
        return None; // the caller's date wins anyway
    }
    let own = parse(constraints).ok();
    let grounded = match own {
        Some(own) if own.month.is_some() => model == own.start_date.to_string(),
        _ => model != today.to_string(),
    };
    (!grounded)
        .then(|| format!("ignored the model's start_date {model}: the request does not say it"))
}

/// The text's own budget wins: when the built-in parser reads an amount in
/// the request (in any currency it knows), the model's must be the same
/// within a percent. SmolLM2 read "ngân sách 15 triệu" (15 million đồng,
/// about $590) as $100, and the plan went to approval as over budget.
fn ungrounded_budget(
    reading: &ModelReading,
    constraints: &Map<String, Value>,
    parse: &Parse<'_>,
) -> Option<String> {
    let model = reading.fields.get("budget_usd")?.as_f64()?;
    if constraints.contains_key("budget_usd") {
        return None; // the caller's budget wins anyway
    }
    let own = parse(constraints).ok()?.budget_usd?;
    let close = (model - own).abs() <= own.abs() * 0.01;
    (!close).then(|| {
        format!("ignored the model's budget_usd {model}: the request says about {own:.0} USD")
    })
}

/// The model may name a place the request names in other words ("Saigon"
/// for "Sài Gòn"), never another place: small models answered "Yokohama" for
/// a Tokyo trip, "Vietnam" for Đà Nẵng and Dhaka for "from Singapore". When
/// the text itself names places the built-in parser knows for `field`
/// (`destination` or `departure_city`), the model's stand only if they
/// resolve to the same places; when it names none (a vague wish), each of
/// the model's must be named in the text, or choosing is left to the
/// inspiration step (for an origin: none is planned). Otherwise the model's
/// places are dropped from its reading, and why is returned for the trip's
/// notes.
fn ungrounded_places(
    query: &str,
    field: &str,
    names: &[String],
    reading: &ModelReading,
    constraints: &Map<String, Value>,
    parse: &Parse<'_>,
) -> Option<String> {
    let model = reading.fields.get(field)?;
    if constraints.contains_key(field) {
        return None; // the caller's wins anyway
    }
    let places = |trip: TripRequest| match field {
        "destination" => trip.destinations,
        _ => trip.origin.into_iter().collect(),
    };
    let own = parse(constraints)
        .ok()
        .map(places)
        .filter(|found| !found.is_empty());
    let grounded = match own {
        Some(own) => {
            let mut with_model = constraints.clone();
            with_model.insert(field.into(), model.clone());
            parse(&with_model).is_ok_and(|trip| places(trip) == own)
        }
        None => {
            let text = format!(" {} ", knowledge::normalize(query));
            names.iter().all(|name| {
                let city = name.split(',').next().unwrap_or(name);
                let city = knowledge::normalize(city);
                !city.is_empty() && text.contains(&format!(" {city} "))
            })
        }
    };
    let what = match field {
        "destination" => "destination",
        _ => "origin",
    };
    (!grounded).then(|| format!("ignored the model's {what} {model}: the request does not name it"))
}

pub async fn run(
    ctx: &AgentContext,
    request: &JobRequest,
) -> Result<AgentOutput<TripRequest>, RunError> {
    let (query, constraints) = match (&request.query, &request.trigger_type) {
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
    // A city the dataset lacks is researched by the model (`destination_agent`);
    // the embedded backend plans curated destinations only.
    let parse = |constraints: &Map<String, Value>| {
        knowledge::parse_trip_request(&query, constraints, ctx.today).and_then(|trip| {
            match ctx.llm {
                Some(_) => Ok(trip),
                None => knowledge::require_curated(&trip).map(|()| trip),
            }
        })
    };
    let failed = |e: IntakeError| RunError::failed(e.code(), e.to_string());
    let reading = match (&ctx.llm, &request.query) {
        (Some(llm), Some(_)) => Some(read_with_llm(ctx, llm, &query).await),
        _ => None,
    };
    let (trip, confidence) = match reading {
        None => {
            let confidence = if constraints.contains_key("destination") {
                0.95
            } else {
                0.85
            };
            (parse(&constraints).map_err(failed)?, confidence)
        }
        // The model's reading fills what the caller's constraints leave open.
        Some(Ok(mut reading)) => {
            let origin: Vec<String> = reading.origin.iter().cloned().collect();
            for (field, names) in [
                ("destination", reading.destinations.clone()),
                ("departure_city", origin),
            ] {
                if let Some(note) =
                    ungrounded_places(&query, field, &names, &reading, &constraints, &parse)
                {
                    tracing::info!(%note, "the model's reading names another place than the request");
                    reading.fields.remove(field);
                    reading.notes.push(note);
                }
            }
            if let Some(note) = ungrounded_budget(&reading, &constraints, &parse) {
                tracing::info!(%note, "the model's reading gives another budget than the request");
                reading.fields.remove("budget_usd");
                reading.notes.push(note);
            }
            if let Some(note) = ungrounded_start(&reading, &constraints, &parse, ctx.today) {
                tracing::info!(%note, "the model's reading dates the trip otherwise than the request");
                reading.fields.remove("start_date");
                reading.notes.push(note);
            }
            let mut merged = reading.fields;
            merged.extend(constraints.clone());
            match parse(&merged) {
                Ok(mut trip) => {
                    trip.notes = reading.notes;
                    let confidence =
                        match (constraints.contains_key("destination"), reading.repaired) {
                            (true, _) => 0.95,
                            (false, true) => 0.75,
                            (false, false) => 0.9,
                        };
                    (trip, confidence)
                }
                Err(with_model) => {
                    let mut trip = parse(&constraints).map_err(failed)?;
                    tracing::info!(error = %with_model, "the model's reading does not make a trip; using the built-in parser's");
                    trip.notes = reading.notes;
                    trip.notes.push(format!(
                        "the model's reading was not used ({with_model}); read by the built-in parser"
                    ));
                    (trip, 0.7)
                }
            }
        }
        // No reading from the model: the built-in parser reads the text alone.
        Some(Err(error)) => {
            if let LlmError::BudgetExceeded { .. } = error {
                return Err(llm_failure(error));
            }
            tracing::warn!(%error, "the model could not read the request; using the built-in parser");
            let mut trip = parse(&constraints).map_err(failed)?;
            trip.notes.push(format!(
                "the model could not read the request ({error}); read by the built-in parser"
            ));
            (trip, 0.7)
        }
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
