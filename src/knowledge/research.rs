//! Researching a city the curated dataset lacks: what we know of it for sure (the
//! gazetteer's name, country, coordinates, population, time zone; the country's
//! currency; the arrival airport and the fare model's price to it; the nearest curated
//! destinations and their prices as a scale), the shape of the answer a model gives
//! (attractions, neighbourhoods, costs, climate, notes), the check that answer must pass,
//! and the destination built from the two. Identity and geography always come from the
//! gazetteer, never from the answer.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use super::dataset::{
    Attraction, ClimateMonth, Destination, Neighbourhood, Tier, TierPrices, destinations,
    find_airport, normalize_name,
};
use super::fares::quote_flight;
use super::gazetteer::{self, Place};
use super::geo::great_circle_km;
use super::intake::{ATTRACTION_CATEGORIES, TripRequest, place_for_id, place_id};
use super::pretrip::MONTH_NAMES;

pub const MIN_ATTRACTIONS: usize = 6;
pub const MAX_ATTRACTIONS: usize = 20;
pub const MIN_NEIGHBOURHOODS: usize = 3;
pub const MAX_NEIGHBOURHOODS: usize = 8;
pub const MAX_TIPS: usize = 4;
/// Hours an attraction may take: a quick look to a long day trip.
pub const DURATION_HOURS: (f64, f64) = (0.25, 12.0);
/// How far a researched price may stray from the nearest curated destinations' range.
pub const PRICE_FACTOR: f64 = 4.0;
/// Physical bounds of monthly climate normals.
pub const LOW_C: (f64, f64) = (-45.0, 40.0);
pub const HIGH_C: (f64, f64) = (-35.0, 50.0);
pub const RAIN_MM: (f64, f64) = (0.0, 3000.0);
pub const BEST_TIMES: [&str; 4] = ["morning", "afternoon", "evening", "any"];
pub const INTENSITIES: [&str; 3] = ["easy", "moderate", "active"];
/// A city farther than this from any scheduled airport is not planned.
const MAX_AIRPORT_KM: f64 = 400.0;
/// How many curated destinations ground the price scale.
const REFERENCES: usize = 3;

/// What a model says about a city: everything a curated destination has except its
/// identity and geography.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Research {
    pub attractions: Vec<Attraction>,
    pub neighbourhoods: Vec<Neighbourhood>,
    pub nightly_usd: TierPrices,
    pub daily_food_usd: TierPrices,
    pub daily_transport_usd: f64,
    /// Exactly 12 months, January first.
    pub climate: Vec<ClimateMonth>,
    pub visa_note: String,
    pub plug_type: String,
    pub tipping: String,
    pub tips: Vec<String>,
}

/// A curated destination near the city, with the prices that set the scale.
#[derive(Debug, Clone, Serialize)]
pub struct Reference {
    pub id: String,
    pub city: String,
    pub country: String,
    pub distance_km: f64,
    pub nightly_usd: TierPrices,
    pub daily_food_usd: TierPrices,
    pub daily_transport_usd: f64,
    pub attraction_cost_usd: (f64, f64),
}

/// The airport the city is reached through.
#[derive(Debug, Clone, Serialize)]
pub struct Arrival {
    pub iata: String,
    pub name: String,
    pub distance_km: f64,
}

/// The estimated one-way fare from the trip's origin, per person.
#[derive(Debug, Clone, Serialize)]
pub struct FareHint {
    pub from_iata: String,
    pub to_iata: String,
    pub distance_km: f64,
    pub price_per_person_usd: f64,
}

/// Everything we know of a city for sure: the grounding of a model's research and the
/// scale its numbers are checked against.
#[derive(Debug, Clone, Serialize)]
pub struct Grounding {
    pub id: String,
    pub city: String,
    pub admin1: Option<String>,
    pub country: String,
    pub country_code: String,
    pub region: String,
    pub lat: f64,
    pub lon: f64,
    pub population: u32,
    pub timezone: String,
    pub currency: String,
    pub arrival: Arrival,
    pub fare_from_origin: Option<FareHint>,
    pub nearest_curated: Vec<Reference>,
    pub attraction_categories: Vec<String>,
    #[serde(skip)]
    label: String,
}

/// The grounding for the gazetteer city `id` (`place:N`) on this trip, or why it cannot
/// be researched (not a city we know, or no airport within reach).
pub fn research_grounding(
    id: &str,
    trip: &TripRequest,
    today: NaiveDate,
) -> Result<Grounding, String> {
    let place = place_for_id(id).ok_or_else(|| format!("{id} is not a city we know"))?;
    let country = place.country();
    let (airport, airport_km) = arrival_airport(place)?;
    let fare_from_origin = trip
        .origin
        .as_deref()
        .and_then(find_airport)
        .and_then(|from| {
            let to = find_airport(airport.iata)?;
            let quote = quote_flight(from, to, trip.start_date, 1, today);
            Some(FareHint {
                from_iata: quote.from_iata,
                to_iata: quote.to_iata,
                distance_km: quote.distance_km,
                price_per_person_usd: quote.price_per_person_usd,
            })
        });
    Ok(Grounding {
        id: place_id(place),
        city: place.name.to_string(),
        admin1: place.admin1.map(str::to_string),
        country: country.map_or(place.country_code, |c| c.name).to_string(),
        country_code: place.country_code.to_string(),
        region: country
            .and_then(|c| c.region)
            .map_or("", |r| r.name())
            .to_string(),
        lat: place.lat,
        lon: place.lon,
        population: place.population,
        timezone: place.timezone.to_string(),
        currency: country.map_or("USD", |c| c.currency).to_string(),
        arrival: Arrival {
            iata: airport.iata.to_string(),
            name: airport.name.to_string(),
            distance_km: airport_km.round(),
        },
        fare_from_origin,
        nearest_curated: nearest_curated(place),
        attraction_categories: ATTRACTION_CATEGORIES
            .iter()
            .map(|c| c.to_string())
            .collect(),
        label: place.label(),
    })
}

/// The city's own airport, else the nearest with scheduled flights within reach.
fn arrival_airport(place: &Place) -> Result<(&'static gazetteer::Airport, f64), String> {
    let own = place.main_airport();
    let airport = own.or_else(|| {
        gazetteer::nearest_airports(place.lat, place.lon, MAX_AIRPORT_KM)
            .first()
            .map(|(a, _)| *a)
    });
    let airport = airport.ok_or_else(|| {
        format!(
            "{} has no airport with scheduled flights within {MAX_AIRPORT_KM:.0} km",
            place.label()
        )
    })?;
    Ok((
        airport,
        great_circle_km(place.lat, place.lon, airport.lat, airport.lon),
    ))
}

fn nearest_curated(place: &Place) -> Vec<Reference> {
    let mut by_distance: Vec<(&Destination, f64)> = destinations()
        .iter()
        .map(|d| (d, great_circle_km(place.lat, place.lon, d.lat, d.lon)))
        .collect();
    by_distance.sort_by(|a, b| a.1.total_cmp(&b.1));
    by_distance
        .into_iter()
        .take(REFERENCES)
        .map(|(d, km)| {
            let costs = d.attractions.iter().map(|a| a.cost_usd);
            Reference {
                id: d.id.clone(),
                city: d.city.clone(),
                country: d.country.clone(),
                distance_km: km.round(),
                nightly_usd: d.nightly_usd.clone(),
                daily_food_usd: d.daily_food_usd.clone(),
                daily_transport_usd: d.daily_transport_usd,
                attraction_cost_usd: (
                    costs.clone().fold(f64::INFINITY, f64::min),
                    costs.fold(0.0, f64::max),
                ),
            }
        })
        .collect()
}

impl Grounding {
    /// "Plovdiv, Bulgaria": how messages name the city.
    pub fn label(&self) -> &str {
        &self.label
    }

    /// Every problem with `answer`, or none: counts, names, categories, durations,
    /// climate within physical bounds, and prices within [`PRICE_FACTOR`] of the
    /// nearest curated destinations' range.
    pub fn check(&self, answer: &Research) -> Result<(), String> {
        let mut problems = Vec::new();
        self.check_attractions(answer, &mut problems);
        check_neighbourhoods(answer, &mut problems);
        self.check_prices(answer, &mut problems);
        check_climate(answer, &mut problems);
        check_notes(answer, &mut problems);
        if problems.is_empty() {
            return Ok(());
        }
        let shown: Vec<&str> = problems.iter().take(8).map(String::as_str).collect();
        Err(shown.join("; "))
    }

    fn check_attractions(&self, answer: &Research, problems: &mut Vec<String>) {
        let count = answer.attractions.len();
        if !(MIN_ATTRACTIONS..=MAX_ATTRACTIONS).contains(&count) {
            problems.push(format!(
                "list {MIN_ATTRACTIONS} to {MAX_ATTRACTIONS} attractions, not {count}"
            ));
        }
        let max_cost = self.scale(|r| r.attraction_cost_usd.1).1.max(25.0);
        let mut seen: Vec<String> = Vec::new();
        for a in &answer.attractions {
            let name = a.name.trim();
            if name.is_empty() || name.chars().count() > 80 {
                problems.push(format!(
                    "attraction name {name:?} must be 1 to 80 characters"
                ));
            }
            if seen.contains(&normalize_name(name)) {
                problems.push(format!("attraction {name:?} is listed twice"));
            }
            seen.push(normalize_name(name));
            if !ATTRACTION_CATEGORIES.contains(&a.category.as_str()) {
                problems.push(format!(
                    "attraction {name:?} has category {:?}, not one of {}",
                    a.category,
                    ATTRACTION_CATEGORIES.join(", ")
                ));
            }
            if !BEST_TIMES.contains(&a.best_time.as_str())
                || !INTENSITIES.contains(&a.intensity.as_str())
            {
                problems.push(format!(
                    "attraction {name:?}: best_time must be one of {} and intensity one of {}",
                    BEST_TIMES.join(", "),
                    INTENSITIES.join(", ")
                ));
            }
            let (shortest, longest) = DURATION_HOURS;
            if !(shortest..=longest).contains(&a.duration_hours) {
                problems.push(format!(
                    "attraction {name:?} lasts {} h, outside {shortest}–{longest} h",
                    a.duration_hours
                ));
            }
            if !(0.0..=max_cost).contains(&a.cost_usd) {
                problems.push(format!(
                    "attraction {name:?} costs ${}, outside $0–${max_cost:.0} per person ({})",
                    a.cost_usd,
                    self.scale_note()
                ));
            }
        }
    }

    fn check_prices(&self, answer: &Research, problems: &mut Vec<String>) {
        self.check_tiers(
            "nightly_usd",
            &answer.nightly_usd,
            |r| &r.nightly_usd,
            problems,
        );
        let food = &answer.daily_food_usd;
        self.check_tiers("daily_food_usd", food, |r| &r.daily_food_usd, problems);
        let range = self.scale(|r| r.daily_transport_usd);
        let transport = answer.daily_transport_usd;
        self.price_in("daily_transport_usd", transport, range, problems);
    }

    fn check_tiers(
        &self,
        field: &str,
        prices: &TierPrices,
        reference: impl Fn(&Reference) -> &TierPrices,
        problems: &mut Vec<String>,
    ) {
        if !(prices.budget < prices.mid && prices.mid < prices.luxury) {
            problems.push(format!("{field} must rise from budget to mid to luxury"));
        }
        for tier in [Tier::Budget, Tier::Mid, Tier::Luxury] {
            let range = self.scale(|r| reference(r).for_tier(tier));
            let name = format!("{field}.{}", tier.as_str());
            self.price_in(&name, prices.for_tier(tier), range, problems);
        }
    }

    /// A price must be positive and within [`PRICE_FACTOR`] of the reference range.
    fn price_in(&self, field: &str, value: f64, (low, high): (f64, f64), out: &mut Vec<String>) {
        let (low, high) = (low / PRICE_FACTOR, high * PRICE_FACTOR);
        if !(value > 0.0 && (low..=high).contains(&value)) {
            out.push(format!(
                "{field} ${value} is outside ${low:.0}–${high:.0} ({})",
                self.scale_note()
            ));
        }
    }

    /// The lowest and highest of a figure across the nearest curated destinations.
    fn scale(&self, figure: impl Fn(&Reference) -> f64) -> (f64, f64) {
        let values: Vec<f64> = self.nearest_curated.iter().map(figure).collect();
        let low = values.iter().copied().fold(f64::INFINITY, f64::min);
        let high = values.iter().copied().fold(0.0, f64::max);
        if low.is_finite() {
            (low, high)
        } else {
            (0.0, f64::INFINITY)
        }
    }

    fn scale_note(&self) -> String {
        let cities: Vec<&str> = self
            .nearest_curated
            .iter()
            .map(|r| r.city.as_str())
            .collect();
        format!("{PRICE_FACTOR}× the range of nearby {}", cities.join(", "))
    }

    /// The destination: identity and geography from the gazetteer, the rest from the
    /// checked answer.
    pub fn destination(&self, answer: Research) -> Destination {
        let gateway_note = (self.arrival.distance_km > 50.0).then(|| {
            format!(
                "{} has no airport of its own: fly into {} ({}), about {:.0} km away, and continue by road or rail.",
                self.city, self.arrival.name, self.arrival.iata, self.arrival.distance_km
            )
        });
        Destination {
            id: self.id.clone(),
            city: self.city.clone(),
            country: self.country.clone(),
            country_code: self.country_code.clone(),
            region: self.region.clone(),
            airport_iata: self.arrival.iata.clone(),
            gateway_note,
            aliases: Vec::new(),
            lat: self.lat,
            lon: self.lon,
            currency: self.currency.clone(),
            timezone: self.timezone.clone(),
            nightly_usd: answer.nightly_usd,
            daily_food_usd: answer.daily_food_usd,
            daily_transport_usd: answer.daily_transport_usd,
            climate: answer.climate,
            neighbourhoods: answer.neighbourhoods,
            attractions: answer.attractions,
            visa_note: answer.visa_note,
            tips: answer.tips,
            plug_type: answer.plug_type,
            tipping: answer.tipping,
        }
    }
}

fn check_neighbourhoods(answer: &Research, problems: &mut Vec<String>) {
    let count = answer.neighbourhoods.len();
    if !(MIN_NEIGHBOURHOODS..=MAX_NEIGHBOURHOODS).contains(&count) {
        problems.push(format!(
            "list {MIN_NEIGHBOURHOODS} to {MAX_NEIGHBOURHOODS} neighbourhoods, not {count}"
        ));
    }
    let mut seen: Vec<String> = Vec::new();
    for n in &answer.neighbourhoods {
        let name = n.name.trim();
        if name.is_empty() || name.chars().count() > 80 {
            problems.push(format!(
                "neighbourhood name {name:?} must be 1 to 80 characters"
            ));
        }
        if seen.contains(&normalize_name(name)) {
            problems.push(format!("neighbourhood {name:?} is listed twice"));
        }
        seen.push(normalize_name(name));
    }
}

fn check_climate(answer: &Research, problems: &mut Vec<String>) {
    if answer.climate.len() != 12 {
        problems.push(format!(
            "climate needs 12 months, January first, not {}",
            answer.climate.len()
        ));
    }
    for (month, c) in MONTH_NAMES.iter().zip(&answer.climate) {
        let physical = (LOW_C.0..=LOW_C.1).contains(&c.low_c)
            && (HIGH_C.0..=HIGH_C.1).contains(&c.high_c)
            && c.low_c <= c.high_c
            && (RAIN_MM.0..=RAIN_MM.1).contains(&c.rain_mm);
        if !physical {
            problems.push(format!(
                "{month}: {} to {} °C with {} mm of rain is not a climate (lows {}–{} °C, highs {}–{} °C, rain {}–{} mm)",
                c.low_c, c.high_c, c.rain_mm, LOW_C.0, LOW_C.1, HIGH_C.0, HIGH_C.1, RAIN_MM.0, RAIN_MM.1
            ));
        }
        if c.summary.trim().is_empty() {
            problems.push(format!("{month} needs a summary"));
        }
    }
}

fn check_notes(answer: &Research, problems: &mut Vec<String>) {
    for (field, text) in [
        ("visa_note", &answer.visa_note),
        ("plug_type", &answer.plug_type),
        ("tipping", &answer.tipping),
    ] {
        if text.trim().is_empty() {
            problems.push(format!("{field} must not be empty"));
        }
    }
    if answer.tips.is_empty() || answer.tips.len() > MAX_TIPS {
        problems.push(format!("give 1 to {MAX_TIPS} tips"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::knowledge::destination;

    fn trip(destinations: &[&str]) -> TripRequest {
        TripRequest {
            origin: Some("LHR".into()),
            destinations: destinations.iter().map(|d| d.to_string()).collect(),
            stay_days: Vec::new(),
            start_date: NaiveDate::from_ymd_opt(2027, 5, 10).unwrap(),
            days: 4,
            nights: 3,
            travelers: 2,
            budget_usd: None,
            budget_source: None,
            interests: Vec::new(),
            tier: Tier::Mid,
            month: Some(5),
            wish: None,
            notes: Vec::new(),
        }
    }

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2027, 3, 1).unwrap()
    }

    fn plovdiv() -> String {
        let place = gazetteer::places_named("Plovdiv")
            .into_iter()
            .find(|p| p.country_code == "BG")
            .expect("Plovdiv is in the gazetteer");
        place_id(place)
    }

    /// A curated destination's facts as a model would give them.
    fn answer_like(id: &str) -> Research {
        let d = destination(id).expect("curated").clone();
        Research {
            attractions: d.attractions,
            neighbourhoods: d.neighbourhoods,
            nightly_usd: d.nightly_usd,
            daily_food_usd: d.daily_food_usd,
            daily_transport_usd: d.daily_transport_usd,
            climate: d.climate,
            visa_note: d.visa_note,
            plug_type: d.plug_type,
            tipping: d.tipping,
            tips: d.tips,
        }
    }

    #[test]
    fn grounding_comes_from_the_gazetteer_and_the_nearest_curated_destinations() {
        let id = plovdiv();
        let g = research_grounding(&id, &trip(&[&id]), today()).expect("grounding");
        assert_eq!(
            (g.city.as_str(), g.country_code.as_str()),
            ("Plovdiv", "BG")
        );
        let bulgaria = gazetteer::country("BG").expect("Bulgaria");
        assert_eq!(g.currency, bulgaria.currency);
        assert_eq!(g.arrival.iata, "PDV");
        assert_eq!(g.nearest_curated.len(), 3);
        assert!(
            g.nearest_curated
                .windows(2)
                .all(|w| w[0].distance_km <= w[1].distance_km)
        );
        let fare = g.fare_from_origin.as_ref().expect("a fare from London");
        assert!(fare.price_per_person_usd > 50.0 && fare.from_iata == "LHR");
        assert_eq!(g.label(), "Plovdiv, Bulgaria");
        assert!(research_grounding("place:0", &trip(&[]), today()).is_err());
    }

    #[test]
    fn a_plausible_answer_passes_and_builds_a_destination_with_gazetteer_identity() {
        let id = plovdiv();
        let g = research_grounding(&id, &trip(&[&id]), today()).expect("grounding");
        let answer = answer_like("budapest");
        assert_eq!(g.check(&answer), Ok(()));
        let d = g.destination(answer);
        assert_eq!((d.id.as_str(), d.city.as_str()), (id.as_str(), "Plovdiv"));
        assert_eq!((d.lat, d.lon), (g.lat, g.lon));
        assert_eq!(d.airport_iata, "PDV");
        assert!(d.gateway_note.is_none(), "PDV is close by");
    }

    #[test]
    fn absurd_numbers_are_each_named() {
        let id = plovdiv();
        let g = research_grounding(&id, &trip(&[&id]), today()).expect("grounding");
        let mut answer = answer_like("budapest");
        answer.nightly_usd.luxury = 90_000.0;
        answer.attractions[0].duration_hours = 400.0;
        answer.attractions[1].category = "sightseeing".into();
        answer.attractions[2].name = answer.attractions[3].name.clone();
        answer.climate[6].high_c = 70.0;
        answer.daily_transport_usd = 0.0;
        let error = g.check(&answer).expect_err("absurd");
        for expected in [
            "nightly_usd.luxury $90000",
            "lasts 400 h",
            "\"sightseeing\"",
            "listed twice",
            "July",
            "daily_transport_usd $0",
        ] {
            assert!(error.contains(expected), "{expected} in {error}");
        }
        answer = answer_like("budapest");
        answer.attractions.truncate(3);
        answer.climate.pop();
        let error = g.check(&answer).expect_err("too short");
        assert!(
            error.contains("not 3") && error.contains("not 11"),
            "{error}"
        );
    }
}
