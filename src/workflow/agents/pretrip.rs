//! `pretrip_agent`: packing for the season, checks (passport, visa, plugs,
//! insurance), money tips and the expected weather.

use serde_json::{Value, json};

use super::{AgentContext, Ask, destination_facts};
use crate::knowledge::{self, Catalog, PreTripAdvice, TripRequest, WeatherNote};
use crate::workflow::run::{AgentOutput, RunError};

const PROMPT: &str = "Make the pre-trip advice specific to these destinations, dates and interests; \
    keep the weather figures from the facts.";

/// Bounded, but never tighter than the draft: the dataset's own notes (a
/// visa rule, say) may run past `TEXT`, and a model that keeps them must
/// pass.
fn schema(draft: &PreTripAdvice) -> Value {
    use super::bounds::{NAME, TEXT, list, number, text};
    let items = [&draft.packing, &draft.checks, &draft.money_tips];
    let longest = items
        .iter()
        .flat_map(|list| list.iter())
        .map(|s| s.chars().count())
        .max()
        .unwrap_or(0);
    let most = items.iter().map(|list| list.len()).max().unwrap_or(0);
    let strings = list(text(TEXT.max(longest)), 12.max(most));
    let places = draft.weather.len();
    json!({"type": "object", "required": ["packing", "checks", "money_tips", "weather"],
        "properties": {"packing": strings, "checks": strings, "money_tips": strings,
            "weather": list(json!({"type": "object",
                "required": ["city", "month", "high_c", "low_c", "rain_mm", "summary"],
                "properties": {"city": text(NAME), "month": text(20),
                    "high_c": number(-60.0, 60.0), "low_c": number(-70.0, 50.0),
                    "rain_mm": number(0.0, 3_000.0), "summary": text(TEXT)}}), places)}})
}

/// Puts back the weather as the dataset gives it: each city's month and
/// figures, keeping the model's summary where it kept the shape.
fn settle(draft: &PreTripAdvice, mut answer: PreTripAdvice) -> PreTripAdvice {
    if answer.weather.len() == draft.weather.len() {
        for (d, a) in draft.weather.iter().zip(answer.weather.iter_mut()) {
            *a = WeatherNote {
                summary: std::mem::take(&mut a.summary),
                ..d.clone()
            };
        }
    } else {
        answer.weather.clone_from(&draft.weather);
    }
    answer
}

/// Advice in every section.
fn check(answer: &PreTripAdvice) -> Result<(), String> {
    if answer.packing.is_empty() || answer.checks.is_empty() || answer.money_tips.is_empty() {
        return Err("packing, checks and money_tips must each have at least one item".into());
    }
    Ok(())
}

pub async fn run(
    ctx: &AgentContext,
    catalog: &Catalog,
    trip: &TripRequest,
) -> Result<AgentOutput<PreTripAdvice>, RunError> {
    let advice = knowledge::pretrip_advice(trip, catalog);
    let reference = advice.clone();
    ctx.refine(
        Ask {
            agent: "pretrip_agent",
            instructions: PROMPT,
            schema: schema(&reference),
            facts: destination_facts(trip, catalog),
        },
        advice,
        0.85,
        |answer| settle(&reference, answer),
        check,
    )
    .await
}
