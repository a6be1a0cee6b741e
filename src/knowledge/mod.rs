//! Bundled travel knowledge: destinations, airports, fares, intake parsing and planning.
//!
//! Everything here is pure and deterministic: no I/O, no clock, no randomness. Callers
//! pass `today` wherever the answer depends on it.

mod costs;
mod dataset;
mod fares;
mod geo;
mod intake;
mod itinerary;
mod pretrip;

pub use costs::{BudgetBreakdown, BudgetEstimate, HotelStay, estimate_budget, plan_hotels};
pub use dataset::{
    Airport, Attraction, ClimateMonth, Destination, Neighbourhood, Tier, TierPrices, airports,
    destination, destinations, find_airport, find_destination,
};
pub use fares::{FlightQuote, estimate_fare_usd, fnv1a, quote_flight};
pub use geo::great_circle_km;
pub use intake::{IntakeError, TripRequest, parse_trip_request};
pub use itinerary::{DayPlan, PlannedActivity, plan_days};
pub use pretrip::{PreTripAdvice, WeatherNote, pretrip_advice};
