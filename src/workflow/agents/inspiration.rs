//! `inspiration_agent`: chooses where to go when the request names no single
//! destination ("somewhere warm with beaches", "Europe in May", "Japan"), by the
//! knowledge ranking of weather, interests, cost and distance. With an LLM, the
//! model may reorder the ranking's top candidates and rewrite the reasons; every
//! id and number stays the ranking's.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use utoipa::ToSchema;

use super::{AgentContext, Ask};
use crate::knowledge::{self, Candidate, TripRequest};
use crate::workflow::run::{AgentOutput, RunError};

/// How many runners-up a plan offers.
pub const ALTERNATIVES: usize = 4;
/// How many of the ranking's best the model may choose among.
const SHORTLIST: usize = 8;

const PROMPT: &str = "The traveller named no single destination. From the candidates, \
    choose the one that best fits their request and list the others as alternatives, best \
    first; rewrite each `why` as one friendly sentence from the given facts. Keep every \
    destination id and estimated_total_usd as given.";

/// The choice and the runners-up, each with why it fits and its estimated total.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Inspiration {
    pub chosen: Candidate,
    pub alternatives: Vec<Candidate>,
}

fn schema() -> Value {
    use super::bounds::{NAME, money, text};
    let candidate = json!({"type": "object",
        "required": ["destination", "city", "country", "why", "estimated_total_usd", "score"],
        "properties": {"destination": text(NAME), "city": text(NAME),
            "country": text(NAME), "why": text(400),
            "estimated_total_usd": money(crate::knowledge::MAX_BUDGET_USD * 10.0), "score": {"type": "number"}}});
    json!({"type": "object", "required": ["chosen", "alternatives"],
        "properties": {"chosen": candidate, "alternatives": {"type": "array", "items": candidate, "maxItems": SHORTLIST}}})
}

/// The model may only reorder and re-word: its choice from the shortlist,
/// each destination with a reason. What is not the model's to say is
/// settled first (`settle`), not held against it.
fn check(shortlist: &[Candidate], answer: &Inspiration) -> Result<(), String> {
    for c in std::iter::once(&answer.chosen).chain(&answer.alternatives) {
        if !shortlist.iter().any(|k| k.destination == c.destination) {
            return Err(format!("{:?} is not one of the candidates", c.destination));
        }
        if c.why.trim().is_empty() {
            return Err(format!("give a reason for {}", c.destination));
        }
    }
    Ok(())
}

/// The model's order and reasons with the ranking's facts: each destination
/// once (the first mention counts), its city, country, total and score as the
/// ranking has them; alternatives outside the shortlist are dropped, and the
/// list is topped up from the ranking, in its order, when it is too short.
fn settle(shortlist: &[Candidate], answer: Inspiration) -> Inspiration {
    let known = |c: Candidate| {
        shortlist
            .iter()
            .find(|k| k.destination == c.destination)
            .map(|k| Candidate {
                why: c.why,
                ..k.clone()
            })
    };
    let chosen = known(answer.chosen.clone()).unwrap_or(answer.chosen);
    let mut alternatives: Vec<Candidate> = Vec::new();
    for c in answer.alternatives.into_iter().filter_map(known) {
        if c.destination != chosen.destination
            && !alternatives.iter().any(|a| a.destination == c.destination)
        {
            alternatives.push(c);
        }
    }
    for k in shortlist {
        if alternatives.len() >= ALTERNATIVES {
            break;
        }
        if k.destination != chosen.destination
            && !alternatives.iter().any(|a| a.destination == k.destination)
        {
            alternatives.push(k.clone());
        }
    }
    alternatives.truncate(ALTERNATIVES);
    Inspiration {
        chosen,
        alternatives,
    }
}

pub async fn run(
    ctx: &AgentContext,
    trip: &TripRequest,
) -> Result<AgentOutput<Inspiration>, RunError> {
    let ranked = knowledge::rank_destinations(trip, ctx.today);
    let Some(best) = ranked.first().cloned() else {
        return Err(RunError::failed(
            "no_destination_fits",
            no_fit_message(trip),
        ));
    };
    let shortlist: Vec<Candidate> = ranked.iter().take(SHORTLIST).cloned().collect();
    let draft = Inspiration {
        chosen: best,
        alternatives: ranked.iter().skip(1).take(ALTERNATIVES).cloned().collect(),
    };
    let confidence = if ranked.len() > 1 { 0.8 } else { 0.6 };
    let reference = shortlist.clone();
    ctx.refine(
        Ask {
            agent: "inspiration_agent",
            instructions: PROMPT,
            schema: schema(),
            facts: json!({"request": trip, "candidates": shortlist}),
        },
        draft,
        confidence,
        |answer| settle(&shortlist, answer),
        |answer: &Inspiration| check(&reference, answer),
    )
    .await
}

fn no_fit_message(trip: &TripRequest) -> String {
    let wish = trip.wish.clone().unwrap_or_default();
    let mut limits: Vec<String> = Vec::new();
    if !wish.countries.is_empty() {
        limits.push(format!("in {}", wish.countries.join(", ")));
    }
    if !wish.regions.is_empty() {
        limits.push(format!("in {}", wish.regions.join(", ")));
    }
    if wish.warm {
        limits.push("warm in the travel month".into());
    }
    if wish.cool {
        limits.push("cool in the travel month".into());
    }
    if trip.interests.iter().any(|i| i == "beach") {
        limits.push("with beaches".into());
    }
    format!(
        "No curated destination is {}. Relax one of these wishes, or name a destination.",
        if limits.is_empty() {
            "a fit for this request".to_string()
        } else {
            limits.join(" and ")
        }
    )
}
