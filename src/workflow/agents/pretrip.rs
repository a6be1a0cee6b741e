//! `pretrip_agent`: packing for the season, checks (passport, visa, plugs,
//! insurance), money tips and the expected weather.

use serde_json::{Value, json};

use super::{AgentContext, Ask, destination_facts};
use crate::knowledge::{self, Catalog, PreTripAdvice, TripRequest};
use crate::workflow::run::{AgentOutput, RunError};

const PROMPT: &str = "Make the pre-trip advice specific to these destinations, dates and interests; \
    keep the weather figures from the facts.";

fn schema() -> Value {
    let strings = json!({"type": "array", "items": {"type": "string"}});
    json!({"type": "object", "required": ["packing", "checks", "money_tips", "weather"],
        "properties": {"packing": strings, "checks": strings, "money_tips": strings,
            "weather": {"type": "array", "items": {"type": "object",
                "required": ["city", "month", "high_c", "low_c", "rain_mm", "summary"],
                "properties": {"city": {"type": "string"}, "month": {"type": "string"},
                    "high_c": {"type": "number"}, "low_c": {"type": "number"},
                    "rain_mm": {"type": "number"}, "summary": {"type": "string"}}}}}})
}

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
    ctx.refine(
        Ask {
            agent: "pretrip_agent",
            instructions: PROMPT,
            schema: schema(),
            facts: destination_facts(trip, catalog),
        },
        advice,
        0.85,
        check,
    )
    .await
}
