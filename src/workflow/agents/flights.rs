//! `flight_agent`: one-way legs origin → each destination in turn → home,
//! priced from great-circle distance, season and days to departure. A
//! proactive price drop uses the fare that triggered it for the first leg.

use chrono::Days;
use serde_json::{Value, json};

use super::{AgentContext, Ask, destination_facts};
use crate::knowledge::{self, Catalog, FlightQuote, TripRequest};
use crate::workflow::run::{AgentOutput, RunError};

const PROMPT: &str = "Check the flight legs: keep the same legs, airports and dates; \
    adjust a price only if the facts clearly justify it.";

fn schema(legs: usize) -> Value {
    use super::bounds::{NAME, date, list, money, number, text, whole};
    let iata = json!({"type": "string", "minLength": 3, "maxLength": 3});
    let mut answer = list(
        json!({"type": "object",
        "required": ["from_iata", "from_city", "to_iata", "to_city", "date", "distance_km", "price_per_person_usd", "travelers", "total_usd", "cabin", "estimated"],
        "properties": {
            "from_iata": iata, "from_city": text(NAME),
            "to_iata": iata, "to_city": text(NAME),
            "date": date(), "distance_km": number(0.0, 20_100.0),
            "price_per_person_usd": money(20_000.0), "travelers": whole(1, knowledge::MAX_TRAVELERS),
            "total_usd": super::bounds::computed(), "cabin": text(40), "estimated": {"type": "boolean"}}}),
        legs,
    );
    answer["minItems"] = json!(legs);
    answer
}

/// Puts back what is not the model's, leg by leg: the date, distance, party,
/// cabin and city names, and the total that follows from the fare. The
/// airports are not put back: an answer about another route is a confused
/// one, refused by `check`.
fn settle(draft: &[FlightQuote], mut answer: Vec<FlightQuote>) -> Vec<FlightQuote> {
    for (d, a) in draft.iter().zip(answer.iter_mut()) {
        *a = FlightQuote {
            from_iata: std::mem::take(&mut a.from_iata),
            to_iata: std::mem::take(&mut a.to_iata),
            price_per_person_usd: a.price_per_person_usd,
            ..d.clone()
        };
        a.settle();
    }
    answer
}

/// The model may not invent legs or prices far from the estimate.
fn check(draft: &[FlightQuote], answer: &[FlightQuote]) -> Result<(), String> {
    if answer.len() != draft.len() {
        return Err(format!(
            "expected {} legs, got {}",
            draft.len(),
            answer.len()
        ));
    }
    for (d, a) in draft.iter().zip(answer) {
        if (d.from_iata.as_str(), d.to_iata.as_str()) != (a.from_iata.as_str(), a.to_iata.as_str())
        {
            return Err(format!(
                "leg {}→{} must keep its airports",
                d.from_iata, d.to_iata
            ));
        }
        let ratio = a.price_per_person_usd / d.price_per_person_usd.max(1.0);
        if !(0.5..=2.0).contains(&ratio) {
            return Err(format!(
                "price for {}→{} is far from the estimate ${:.0}",
                a.from_iata, a.to_iata, d.price_per_person_usd
            ));
        }
    }
    Ok(())
}

pub fn draft(
    ctx: &AgentContext,
    catalog: &Catalog,
    trip: &TripRequest,
    known_fare: Option<f64>,
) -> Result<Vec<FlightQuote>, RunError> {
    let Some(origin) = trip.origin.as_deref().and_then(knowledge::find_airport) else {
        return Ok(Vec::new());
    };
    // Nights per stop, in visiting order, as the hotel plan splits them.
    let nights = knowledge::plan_hotels(trip, catalog)
        .into_iter()
        .map(|stay| stay.nights);
    let mut legs = Vec::new();
    let mut from = origin;
    let mut date = trip.start_date;
    for (id, nights) in trip.destinations.iter().zip(nights) {
        let destination = catalog.get(id).ok_or_else(|| {
            RunError::failed("internal", format!("no destination {id} in the catalog"))
        })?;
        let to = knowledge::find_airport(&destination.airport_iata).ok_or_else(|| {
            RunError::failed(
                "internal",
                format!("no airport {} in the dataset", destination.airport_iata),
            )
        })?;
        if to.iata != from.iata {
            legs.push(knowledge::quote_flight(
                from,
                to,
                date,
                trip.travelers,
                ctx.today,
            ));
        }
        from = to;
        date = date
            .checked_add_days(Days::new(u64::from(nights)))
            .unwrap_or(date);
    }
    if from.iata != origin.iata {
        legs.push(knowledge::quote_flight(
            from,
            origin,
            date,
            trip.travelers,
            ctx.today,
        ));
    }
    if let (Some(fare), Some(first)) = (known_fare, legs.first_mut()) {
        first.price_per_person_usd = fare.round();
        first.total_usd = (fare * f64::from(trip.travelers)).round();
    }
    Ok(legs)
}

pub async fn run(
    ctx: &AgentContext,
    catalog: &Catalog,
    trip: &TripRequest,
    known_fare: Option<f64>,
) -> Result<AgentOutput<Vec<FlightQuote>>, RunError> {
    let legs = draft(ctx, catalog, trip, known_fare)?;
    if legs.is_empty() {
        return Ok(AgentOutput {
            value: legs,
            confidence: 0.5,
        });
    }
    let reference = legs.clone();
    ctx.refine(
        Ask {
            agent: "flight_agent",
            instructions: PROMPT,
            schema: schema(reference.len()),
            facts: destination_facts(trip, catalog),
        },
        legs,
        0.7,
        |answer| settle(&reference, answer),
        |answer: &Vec<FlightQuote>| check(&reference, answer),
    )
    .await
}
