//! Choosing a destination for a request that names none ("somewhere warm with beaches
//! in January", "5 days in Europe in May under $1500, I love art and food", "Japan for
//! cherry blossoms"): every curated destination that fits the wish's countries,
//! regions and candidates is scored on the travel month's weather, the traveller's
//! interests, the estimated total cost against the budget (flights from their origin
//! included) and how far it is for the trip's length.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::dataset::{Destination, Tier, destinations, find_airport};
use super::fares::estimate_fare_usd;
use super::geo::great_circle_km;
use super::intake::TripRequest;
use super::pretrip::MONTH_NAMES;

/// Rough cruising speed plus an hour for take-off and landing.
const KM_PER_FLIGHT_HOUR: f64 = 750.0;
/// Two travellers share a room.
const PEOPLE_PER_ROOM: u32 = 2;
/// Paid sights a day, for the cost estimate.
const SIGHTS_PER_DAY: f64 = 2.0;

/// A destination that fits the wish, and why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Candidate {
    /// Curated destination id.
    pub destination: String,
    pub city: String,
    pub country: String,
    /// Why it fits, in one sentence.
    pub why: String,
    /// Flights (from the origin, when known), lodging, food, sights and local
    /// transport for the whole party; an estimate.
    pub estimated_total_usd: f64,
    /// Higher is better; comparable only within one ranking.
    pub score: f64,
}

/// Every fitting destination, best first. Empty when nothing fits the wish's places.
pub fn rank_destinations(req: &TripRequest, today: NaiveDate) -> Vec<Candidate> {
    let wish = req.wish.clone().unwrap_or_default();
    let pool: Vec<&'static Destination> = destinations()
        .iter()
        .filter(|d| wish.candidates.is_empty() || wish.candidates.contains(&d.id))
        .filter(|d| wish.countries.is_empty() || wish.countries.contains(&d.country_code))
        .filter(|d| wish.regions.is_empty() || wish.regions.contains(&d.region))
        .filter(|d| !is_home(req, d))
        .filter(|d| match home_country(req) {
            Some(home) if wish.abroad => d.country_code != home,
            Some(home) if wish.domestic => d.country_code == home,
            _ => true,
        })
        .collect();
    let mut scored = ranked(req, &pool, today);
    // A country or a short list with few curated places still offers a few
    // alternatives: the best of the same regions follow the wish's own places.
    if scored.len() < MIN_CHOICES && (!wish.countries.is_empty() || !wish.candidates.is_empty()) {
        let regions: Vec<&str> = pool.iter().map(|d| d.region.as_str()).collect();
        let more: Vec<&'static Destination> = destinations()
            .iter()
            .filter(|d| regions.contains(&d.region.as_str()))
            .filter(|d| !pool.iter().any(|p| p.id == d.id) && !is_home(req, d))
            .collect();
        let extra = ranked(req, &more, today);
        let wanted = MIN_CHOICES.saturating_sub(scored.len());
        scored.extend(extra.into_iter().take(wanted));
    }
    scored
}

/// The chosen destination and at least three alternatives, where the data allows.
const MIN_CHOICES: usize = 4;

fn ranked(req: &TripRequest, pool: &[&'static Destination], today: NaiveDate) -> Vec<Candidate> {
    let mut scored: Vec<Candidate> = pool.iter().filter_map(|d| score(req, d, today)).collect();
    scored.sort_by(|a, b| {
        b.score
            .total_cmp(&a.score)
            .then(a.destination.cmp(&b.destination))
    });
    scored
}

fn home_country(req: &TripRequest) -> Option<String> {
    let origin = req.origin.as_deref()?;
    super::gazetteer::airport(origin).map(|a| a.country_code.to_string())
}

/// The traveller does not travel to where they already are.
fn is_home(req: &TripRequest, d: &Destination) -> bool {
    let Some(origin) = req.origin.as_deref().and_then(find_airport) else {
        return false;
    };
    // By distance, not airport: Sapa and Ha Giang are reached through Hanoi's airport
    // but are trips from Hanoi all the same.
    great_circle_km(origin.lat, origin.lon, d.lat, d.lon) < 60.0
}

fn travel_month(req: &TripRequest) -> u32 {
    use chrono::Datelike;
    req.month.unwrap_or(req.start_date.month())
}

fn score(req: &TripRequest, d: &'static Destination, today: NaiveDate) -> Option<Candidate> {
    let wish = req.wish.clone().unwrap_or_default();
    let month = travel_month(req);
    let climate = d.climate.get(month as usize - 1)?;
    let wants_beach = req.interests.iter().any(|i| i == "beach");
    let warm_wanted = wish.warm || wants_beach;
    // Hard limits: a beach wish needs beaches; "warm" rules out the cold.
    if wants_beach && count_category(d, "beach") == 0 {
        return None;
    }
    if warm_wanted && climate.high_c < 22.0 && wish.candidates.is_empty() {
        return None;
    }
    if wish.cool && climate.high_c > 30.0 && wish.candidates.is_empty() {
        return None;
    }
    let weather = weather_score(climate.high_c, climate.rain_mm, warm_wanted, wish.cool);
    let interests = interest_score(d, &req.interests);
    let (total, flight_hours) = estimate(req, d, today);
    let cost = match req.budget_usd {
        // Within 90 % of the budget is ideal; over it costs dearly, so a place that
        // fits always beats one that does not.
        Some(limit) if limit > 0.0 => {
            let ratio = total / limit;
            1.0 - ((ratio - 0.9) / 0.15).clamp(0.0, 30.0)
        }
        _ => {
            let per_person_day =
                total / f64::from(req.travelers.max(1)) / f64::from(req.days.max(1));
            1.0 - (per_person_day / 600.0).clamp(0.0, 1.0) * 0.4
        }
    };
    let distance = match flight_hours {
        Some(hours) => {
            let comfortable = f64::from(req.days) * 1.2;
            1.0 - ((hours - comfortable) / 8.0).clamp(0.0, 1.0) - (hours / 20.0).min(0.4)
        }
        None => 0.8,
    };
    let features = feature_score(d, &wish.features);
    // An experience asked for by name (skiing, the northern lights) brings its own
    // weather: then the month's comfort counts for less.
    let weather_weight = if wish.features.is_empty() { 2.0 } else { 0.5 };
    let score =
        weather_weight * weather + 2.5 * interests + 1.6 * cost + 1.4 * distance + 5.0 * features;
    Some(Candidate {
        destination: d.id.clone(),
        city: d.city.clone(),
        country: d.country.clone(),
        why: why(req, d, month, total, flight_hours),
        estimated_total_usd: total.round(),
        score: (score * 1000.0).round() / 1000.0,
    })
}

fn weather_score(high_c: f64, rain_mm: f64, warm: bool, cool: bool) -> f64 {
    let comfort = if warm {
        ((high_c - 20.0) / 8.0).clamp(0.0, 1.0)
    } else if cool {
        ((27.0 - high_c) / 9.0).clamp(0.0, 1.0)
    } else {
        1.0 - ((high_c - 24.0).abs() - 6.0).clamp(0.0, 10.0) / 10.0
    };
    let wet = ((rain_mm - 110.0) / 250.0).clamp(0.0, 1.0);
    comfort - 0.6 * wet
}

/// How well the attractions offer the experiences asked for (0 to 1).
fn feature_score(d: &Destination, stems: &[String]) -> f64 {
    if stems.is_empty() {
        return 0.0;
    }
    let hits = d
        .attractions
        .iter()
        .filter(|a| {
            let name = a.name.to_lowercase();
            stems.iter().any(|s| name.contains(s.as_str()))
        })
        .count();
    (hits.min(2) as f64) / 2.0
}

/// A month with comfortable weather: days between 18 and 32 °C and under 150 mm of
/// rain. `month` is 1–12.
pub fn good_weather(d: &Destination, month: u32) -> bool {
    d.climate
        .get(month.wrapping_sub(1) as usize)
        .is_some_and(|c| (18.0..=32.0).contains(&c.high_c) && c.rain_mm < 150.0)
}

/// The attraction categories a destination offers well (two or more sights).
pub fn strong_categories(d: &Destination) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for a in &d.attractions {
        if count_category(d, &a.category) >= 2 && !out.contains(&a.category) {
            out.push(a.category.clone());
        }
    }
    out
}

fn count_category(d: &Destination, category: &str) -> usize {
    d.attractions
        .iter()
        .filter(|a| a.category == category)
        .count()
}

fn interest_score(d: &Destination, interests: &[String]) -> f64 {
    if interests.is_empty() {
        return 0.7;
    }
    // Each interest counts up to three matching sights; one with none costs extra.
    let per: f64 = interests
        .iter()
        .map(|i| match count_category(d, i) {
            0 => -0.5,
            n => (n.min(3) as f64) / 3.0,
        })
        .sum();
    per / interests.len() as f64
}

/// The whole party's estimated cost, and the flight time from the origin if known.
fn estimate(req: &TripRequest, d: &Destination, today: NaiveDate) -> (f64, Option<f64>) {
    let people = f64::from(req.travelers.max(1));
    let days = f64::from(req.days.max(1));
    let nights = f64::from(req.nights.max(1));
    let rooms = f64::from(req.travelers.div_ceil(PEOPLE_PER_ROOM).max(1));
    let lodging = d.nightly_usd.for_tier(req.tier) * nights * rooms;
    let food = d.daily_food_usd.for_tier(req.tier) * days * people;
    let transport =
        d.daily_transport_usd * days * people * if req.tier == Tier::Luxury { 2.0 } else { 1.0 };
    let paid: Vec<f64> = d.attractions.iter().map(|a| a.cost_usd).collect();
    let average_sight = paid.iter().sum::<f64>() / paid.len().max(1) as f64;
    let sights = average_sight * SIGHTS_PER_DAY * days * people;
    let (flights, hours) = match (
        req.origin.as_deref().and_then(find_airport),
        find_airport(&d.airport_iata),
    ) {
        (Some(from), Some(to)) => {
            let km = great_circle_km(from.lat, from.lon, to.lat, to.lon);
            let fare = estimate_fare_usd(from, to, req.start_date, today);
            (2.0 * fare * people, Some(km / KM_PER_FLIGHT_HOUR + 1.0))
        }
        _ => (0.0, None),
    };
    (lodging + food + transport + sights + flights, hours)
}

fn why(req: &TripRequest, d: &Destination, month: u32, total: f64, hours: Option<f64>) -> String {
    let mut parts: Vec<String> = Vec::new();
    if let Some(c) = d.climate.get(month as usize - 1) {
        parts.push(format!(
            "{}: about {:.0}°C, {}",
            MONTH_NAMES[month as usize - 1],
            c.high_c,
            first_lower(&c.summary)
        ));
    }
    let highlights: Vec<&str> = req
        .interests
        .iter()
        .flat_map(|i| {
            d.attractions
                .iter()
                .filter(move |a| &a.category == i)
                .take(2)
        })
        .map(|a| a.name.as_str())
        .take(3)
        .collect();
    if !highlights.is_empty() {
        parts.push(format!("for {}", highlights.join(", ")));
    }
    let party = if req.travelers == 1 {
        "one".to_string()
    } else {
        req.travelers.to_string()
    };
    let mut cost = format!("roughly ${total:.0} for {party} over {} days", req.days);
    if let (Some(h), Some(origin)) = (hours, req.origin.as_deref()) {
        cost.push_str(&format!(
            " with return flights from {origin} (about {h:.0} h each way)"
        ));
    }
    if let Some(limit) = req.budget_usd {
        if total <= limit {
            cost.push_str(&format!(", within the ${limit:.0} budget"));
        } else {
            cost.push_str(&format!(", over the ${limit:.0} budget"));
        }
    }
    parts.push(cost);
    format!("{}.", parts.join("; "))
}

fn first_lower(text: &str) -> String {
    let mut chars = text.chars();
    chars
        .next()
        .map(|c| c.to_lowercase().chain(chars).collect())
        .unwrap_or_default()
}
