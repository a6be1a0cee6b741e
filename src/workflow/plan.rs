//! The final result of a job: a trip plan (and, for proactive jobs, the
//! suggestion that wraps it). Documented in the OpenAPI document.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::knowledge::{
    BudgetEstimate, BudgetSource, Candidate, DayPlan, FlightQuote, HotelStay, PreTripAdvice,
};

pub const ESTIMATE_NOTE: &str = "All prices are estimates from typical fares and price levels, not live quotes; check before booking.";

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct PlaceRef {
    pub iata: String,
    pub city: String,
    pub country: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct DestinationStop {
    pub id: String,
    pub city: String,
    pub country: String,
    pub iata: String,
    pub nights: u32,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct TripDates {
    pub start: NaiveDate,
    pub end: NaiveDate,
    pub nights: u32,
}

/// The human decision recorded on a plan that went over budget.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ApprovalRecord {
    pub approved: bool,
    pub notes: Option<String>,
    pub decided_at: String,
    pub overage_usd: f64,
}

/// Why the system suggested this trip (proactive jobs only).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Suggestion {
    pub trigger_type: String,
    pub headline: String,
    pub rationale: String,
    pub savings_usd: Option<f64>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct TripPlan {
    pub summary: String,
    /// Null when no departure city was given (no flights are planned then).
    pub origin: Option<PlaceRef>,
    pub destinations: Vec<DestinationStop>,
    pub dates: TripDates,
    pub travelers: u32,
    pub flights: Vec<FlightQuote>,
    pub hotels: Vec<HotelStay>,
    pub days: Vec<DayPlan>,
    pub budget: BudgetEstimate,
    pub pre_trip: PreTripAdvice,
    pub warnings: Vec<String>,
    pub estimate_note: String,
    pub approval: Option<ApprovalRecord>,
    pub suggestion: Option<Suggestion>,
    /// The budget as the traveller wrote it, when in another currency or per
    /// person: the amount, the currency, the rate used and its date.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub budget_source: Option<BudgetSource>,
    /// For a request that named no destination: the runners-up, each with why it
    /// fits and its estimated total.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub alternatives: Vec<Candidate>,
}
