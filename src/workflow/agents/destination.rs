//! `destination_agent`: researches each city of the trip that the curated
//! dataset lacks. Only with an LLM: the embedded backend fails such a trip at
//! intake (`destination_not_curated`). The model answers from what we know for
//! sure (the gazetteer's facts, the country's currency, the arrival airport
//! and its fare, the nearest curated destinations as a price scale); the
//! answer must pass the plausibility check, with one repair attempt, or the
//! job fails with `llm_failed` naming the city and what was wrong.

use serde_json::{Value, json};

use super::{AgentContext, llm_failure};
use crate::knowledge::research::{
    BEST_TIMES, DURATION_HOURS, HIGH_C, INTENSITIES, LOW_C, MAX_ATTRACTIONS, MAX_NEIGHBOURHOODS,
    MAX_TIPS, MIN_ATTRACTIONS, MIN_NEIGHBOURHOODS, RAIN_MM,
};
use crate::knowledge::{
    self, ATTRACTION_CATEGORIES, Destination, Grounding, Research, TripRequest,
};
use crate::llm::{LlmError, Prompt};
use crate::workflow::run::{AgentOutput, RunError};

pub const AGENT: &str = "destination_agent";

const PROMPT: &str = "Our travel dataset has no entry for this city; research it from what you know \
    of the real place. List its real attractions, each with a category from attraction_categories, \
    a typical visit in hours, the entry cost per person in USD (0 when free), the best time of day and \
    how active it is; neighbourhoods to stay in, each with the hotel tier it suits; nightly hotel prices \
    per room and daily food spend per person for each tier, and daily local transport per person; \
    climate normals for each month, January first; visa, plug and tipping notes and a few money tips. \
    The nearest curated destinations' prices are the scale: stay close to them unless the city is \
    clearly cheaper or dearer. Name only places that exist; every price is an estimate in USD.";

/// The trip's destinations the dataset lacks, each with what we know of it;
/// none without an LLM (intake has refused them already) or when all are curated.
pub fn groundings(ctx: &AgentContext, trip: &TripRequest) -> Result<Vec<Grounding>, RunError> {
    if ctx.llm.is_none() {
        return Ok(Vec::new());
    }
    let mut ids: Vec<&str> = Vec::new();
    for id in &trip.destinations {
        if knowledge::destination(id).is_none() && !ids.contains(&id.as_str()) {
            ids.push(id);
        }
    }
    ids.into_iter()
        .map(|id| {
            knowledge::research_grounding(id, trip, ctx.today)
                .map_err(|why| RunError::failed("planning_failed", why))
        })
        .collect()
}

/// "Researching Plovdiv", "Researching Plovdiv and Bitola".
pub fn task_name(groundings: &[Grounding]) -> String {
    let cities: Vec<&str> = groundings.iter().map(|g| g.city.as_str()).collect();
    format!("Researching {}", cities.join(" and "))
}

fn schema() -> Value {
    let text = |max: u32| json!({"type": "string", "minLength": 1, "maxLength": max});
    let money = |max: f64| json!({"type": "number", "exclusiveMinimum": 0, "maximum": max});
    let tiers = |max: f64| {
        json!({"type": "object", "additionalProperties": false, "required": ["budget", "mid", "luxury"],
            "properties": {"budget": money(max), "mid": money(max), "luxury": money(max)}})
    };
    let attraction = json!({"type": "object", "additionalProperties": false,
        "required": ["name", "category", "duration_hours", "cost_usd", "best_time", "intensity"],
        "properties": {"name": text(80), "category": {"type": "string", "enum": ATTRACTION_CATEGORIES},
            "duration_hours": {"type": "number", "minimum": DURATION_HOURS.0, "maximum": DURATION_HOURS.1},
            "cost_usd": {"type": "number", "minimum": 0, "maximum": 1000},
            "best_time": {"type": "string", "enum": BEST_TIMES},
            "intensity": {"type": "string", "enum": INTENSITIES}}});
    let neighbourhood = json!({"type": "object", "additionalProperties": false,
        "required": ["name", "tier", "vibe"],
        "properties": {"name": text(80), "tier": {"type": "string", "enum": ["budget", "mid", "luxury"]},
            "vibe": text(200)}});
    let month = json!({"type": "object", "additionalProperties": false,
        "required": ["high_c", "low_c", "rain_mm", "summary"],
        "properties": {"high_c": {"type": "number", "minimum": HIGH_C.0, "maximum": HIGH_C.1},
            "low_c": {"type": "number", "minimum": LOW_C.0, "maximum": LOW_C.1},
            "rain_mm": {"type": "number", "minimum": RAIN_MM.0, "maximum": RAIN_MM.1},
            "summary": text(120)}});
    json!({"type": "object", "additionalProperties": false,
        "required": ["attractions", "neighbourhoods", "nightly_usd", "daily_food_usd", "daily_transport_usd",
            "climate", "visa_note", "plug_type", "tipping", "tips"],
        "properties": {
            "attractions": {"type": "array", "items": attraction,
                "minItems": MIN_ATTRACTIONS, "maxItems": MAX_ATTRACTIONS},
            "neighbourhoods": {"type": "array", "items": neighbourhood,
                "minItems": MIN_NEIGHBOURHOODS, "maxItems": MAX_NEIGHBOURHOODS},
            "nightly_usd": tiers(5000.0), "daily_food_usd": tiers(1000.0),
            "daily_transport_usd": money(300.0),
            "climate": {"type": "array", "items": month, "minItems": 12, "maxItems": 12},
            "visa_note": text(400), "plug_type": text(40), "tipping": text(300),
            "tips": {"type": "array", "items": text(300), "minItems": 1, "maxItems": MAX_TIPS}}})
}

/// One city: the model's checked answer, built into a destination with the
/// gazetteer's identity. Returns whether the answer needed a repair.
async fn research(
    ctx: &AgentContext,
    grounding: &Grounding,
) -> Result<(Destination, bool), RunError> {
    let Some(llm) = &ctx.llm else {
        return Err(RunError::failed(
            "internal",
            "researching a destination needs an LLM",
        ));
    };
    let facts =
        serde_json::to_value(grounding).map_err(|e| RunError::failed("internal", e.to_string()))?;
    let prompt = Prompt::grounded(
        format!(
            "You are the {AGENT} of Lotara, a travel concierge. {PROMPT} \
             Answer with a single JSON object matching the schema, no prose."
        ),
        format!("What we know of {}:\n", grounding.label()),
        facts,
        "",
    );
    let caller = ctx.caller(AGENT);
    let answer = llm
        .structured::<Research>(prompt, AGENT, &schema(), &caller, |r| grounding.check(r))
        .await;
    let repaired = answer.calls.len() > 1;
    ctx.record_calls(AGENT, answer.calls);
    let research = answer.result.map_err(|e| research_failed(grounding, e))?;
    Ok((grounding.destination(research), repaired))
}

/// The LLM failure, its message naming the city.
fn research_failed(grounding: &Grounding, error: LlmError) -> RunError {
    match llm_failure(error) {
        RunError::Failed(mut error) => {
            error.message = format!(
                "Could not research {}: {}",
                grounding.label(),
                error.message
            );
            RunError::Failed(error)
        }
        other => other,
    }
}

/// Every city researched, in the trip's order. Facts from the model alone are
/// less certain than curated ones, and less again after a repair.
pub async fn run(
    ctx: &AgentContext,
    groundings: &[Grounding],
) -> Result<AgentOutput<Vec<Destination>>, RunError> {
    let answers =
        futures::future::try_join_all(groundings.iter().map(|g| research(ctx, g))).await?;
    let repaired = answers.iter().any(|(_, repaired)| *repaired);
    Ok(AgentOutput {
        value: answers.into_iter().map(|(d, _)| d).collect(),
        confidence: if repaired { 0.5 } else { 0.6 },
    })
}
