//! `hotel_agent`: one stay per destination in a neighbourhood of the trip's
//! tier, nights split as the itinerary splits the days.

use serde_json::{Value, json};

use super::{AgentContext, Ask, destination_facts};
use crate::knowledge::{self, Catalog, HotelStay, TripRequest};
use crate::workflow::run::{AgentOutput, RunError};

const PROMPT: &str = "Choose the best neighbourhood (area) of the given tier for each stay, \
    from the destination's neighbourhoods; keep cities, nights and rooms.";

fn schema(stays: usize) -> Value {
    use super::bounds::{NAME, list, money, text, whole};
    let mut answer = list(
        json!({"type": "object",
        "required": ["city", "area", "tier", "nights", "rooms", "price_per_night_usd", "total_usd", "estimated"],
        "properties": {
            "city": text(NAME), "area": text(NAME),
            "tier": {"type": "string", "enum": ["budget", "mid", "luxury"]},
            "nights": whole(1, knowledge::MAX_DAYS), "rooms": whole(1, knowledge::MAX_TRAVELERS),
            "price_per_night_usd": money(5_000.0), "total_usd": super::bounds::computed(), "estimated": {"type": "boolean"}}}),
        stays,
    );
    answer["minItems"] = json!(stays);
    answer
}

/// Puts back what is not the model's, stay by stay: nights, rooms and tier,
/// and the total that follows from the price. The city is not put back: an
/// answer about another city is a confused one, refused by `check`.
fn settle(draft: &[HotelStay], mut answer: Vec<HotelStay>) -> Vec<HotelStay> {
    for (d, a) in draft.iter().zip(answer.iter_mut()) {
        a.tier = d.tier;
        a.nights = d.nights;
        a.rooms = d.rooms;
        a.estimated = d.estimated;
        a.settle();
    }
    answer
}

/// One stay per draft stay, in its city, at a price near the dataset's.
fn check(draft: &[HotelStay], answer: &[HotelStay]) -> Result<(), String> {
    if answer.len() != draft.len() {
        return Err(format!(
            "expected {} stays, got {}",
            draft.len(),
            answer.len()
        ));
    }
    for (d, a) in draft.iter().zip(answer) {
        if a.city != d.city {
            return Err(format!("the stay in {} must keep its city", d.city));
        }
        super::near(
            &format!("price_per_night_usd in {}", a.city),
            d.price_per_night_usd,
            a.price_per_night_usd,
            2.0,
            0.0,
        )?;
    }
    Ok(())
}

pub async fn run(
    ctx: &AgentContext,
    catalog: &Catalog,
    trip: &TripRequest,
) -> Result<AgentOutput<Vec<HotelStay>>, RunError> {
    let stays = knowledge::plan_hotels(trip, catalog);
    let reference = stays.clone();
    ctx.refine(
        Ask {
            agent: "hotel_agent",
            instructions: PROMPT,
            schema: schema(reference.len()),
            facts: destination_facts(trip, catalog),
        },
        stays,
        0.75,
        |answer| settle(&reference, answer),
        |answer: &Vec<HotelStay>| check(&reference, answer),
    )
    .await
}
