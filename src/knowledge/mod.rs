//! Bundled travel knowledge: destinations, airports, fares, intake parsing and planning.
//!
//! Everything here is pure and deterministic: no I/O, no clock, no randomness. Callers
//! pass `today` wherever the answer depends on it.

mod catalog;
mod costs;
mod dataset;
mod fares;
pub mod gazetteer;
mod geo;
mod inspiration;
mod intake;
mod itinerary;
mod pretrip;
pub mod research;

pub use catalog::{Catalog, Source};
pub use costs::{BudgetBreakdown, BudgetEstimate, HotelStay, estimate_budget, plan_hotels};
pub use dataset::{
    Airport, Attraction, ClimateMonth, Destination, Neighbourhood, Tier, TierPrices, airports,
    destination, destinations, find_airport, find_destination,
};
pub use fares::{FlightQuote, estimate_fare_usd, fnv1a, quote_flight};
pub use geo::great_circle_km;
pub use inspiration::{Candidate, good_weather, rank_destinations, strong_categories};
pub use intake::ATTRACTION_CATEGORIES;
pub use intake::{
    BudgetSource, IntakeError, MAX_BUDGET_USD, MAX_DAYS, MAX_TRAVELERS, TripRequest, Wish,
    constraint_problems, convert_currency, known_currencies, normalize, parse_trip_request,
    reading_problems, recognises_place, require_curated,
};
pub use itinerary::{DayPlan, FREE_TIME_CATEGORY, PlannedActivity, plan_days};
pub use research::{Grounding, Research, research_grounding};

/// Loads the bundled tables now (about 0.1 s), so the first request does not wait.
pub fn warm() {
    gazetteer::warm();
    let _ = destinations().len();
}
pub(crate) use pretrip::MONTH_NAMES;
pub use pretrip::{PreTripAdvice, WeatherNote, pretrip_advice};
