//! The final result of a job: a trip plan (and, for proactive jobs, the
//! suggestion that wraps it). Documented in the OpenAPI document.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use crate::jobs::{Approval, Job, Trigger, WorkflowMode};
use crate::knowledge::{
    self, BudgetEstimate, BudgetSource, Candidate, Catalog, DayPlan, FlightQuote, HotelStay,
    PreTripAdvice, Source, TripRequest,
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
    /// `"model"` for a city the curated dataset lacks, whose facts (attractions,
    /// neighbourhoods, prices, climate, visa, plug and tipping notes) the model
    /// researched for this trip; absent for a curated destination.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<Source>,
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

/// A trip plan. Parts that came from the model alone (a researched city's
/// stop, hotels, activities and weather notes; a name the curated dataset
/// lacks) carry `"source": "model"`; parts built from curated facts have no
/// `source`.
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

/// What the agents produced for a plan, besides the trip request itself.
pub struct PlanParts {
    pub flights: Vec<FlightQuote>,
    pub hotels: Vec<HotelStay>,
    pub days: Vec<DayPlan>,
    pub budget: BudgetEstimate,
    pub pre_trip: PreTripAdvice,
    /// Runners-up when an inspiration task chose the destination.
    pub alternatives: Vec<Candidate>,
}

/// Puts the job's final plan together from the agents' outputs and the
/// human decision, if one was needed, marking what came from the model alone.
pub fn assemble(
    job: &Job,
    trip: &TripRequest,
    catalog: &Catalog,
    parts: PlanParts,
    approval: Option<&Approval>,
) -> TripPlan {
    let PlanParts {
        flights,
        mut hotels,
        mut days,
        budget,
        mut pre_trip,
        alternatives,
    } = parts;
    mark_sources(trip, catalog, &mut hotels, &mut days, &mut pre_trip);
    TripPlan {
        summary: summary(trip, catalog, &budget),
        origin: trip
            .origin
            .as_deref()
            .and_then(knowledge::find_airport)
            .map(|a| PlaceRef {
                iata: a.iata.clone(),
                city: a.city.clone(),
                country: a.country.clone(),
            }),
        destinations: catalog
            .trip_destinations(trip)
            .zip(hotels.iter())
            .map(|(d, stay)| DestinationStop {
                id: d.id.clone(),
                city: d.city.clone(),
                country: d.country.clone(),
                iata: d.airport_iata.clone(),
                nights: stay.nights,
                source: catalog.source_of(&d.id),
            })
            .collect(),
        dates: TripDates {
            start: trip.start_date,
            end: trip.start_date + chrono::Duration::days(i64::from(trip.days.saturating_sub(1))),
            nights: trip.nights,
        },
        travelers: trip.travelers,
        warnings: warnings(trip, &budget),
        approval: approval.and_then(|a| {
            a.decision.as_ref().map(|d| ApprovalRecord {
                approved: d.approved,
                notes: d.notes.clone(),
                decided_at: d
                    .decided_at
                    .to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
                overage_usd: budget.overage_usd,
            })
        }),
        suggestion: (job.mode == WorkflowMode::Proactive)
            .then(|| suggestion(job, trip, catalog, &budget)),
        flights,
        hotels,
        days,
        budget,
        pre_trip,
        estimate_note: ESTIMATE_NOTE.into(),
        budget_source: trip.budget_source.clone(),
        alternatives,
    }
}

/// Sets `source` on each hotel, activity and weather note: `model` unless the
/// curated dataset has it. The agents' outputs are not trusted to say so: a
/// model's refinement may drop the mark or forge it.
fn mark_sources(
    trip: &TripRequest,
    catalog: &Catalog,
    hotels: &mut [HotelStay],
    days: &mut [DayPlan],
    pre_trip: &mut PreTripAdvice,
) {
    let id_of = |city: &str| {
        catalog
            .trip_destination_named(trip, city)
            .map(|d| d.id.clone())
    };
    let name_source = |city: &str, name: &str| match id_of(city) {
        Some(id) => catalog.source_of_name(&id, name),
        None => Some(Source::Model),
    };
    for stay in hotels {
        stay.source = name_source(&stay.city, &stay.area);
    }
    for day in days {
        for activity in &mut day.activities {
            activity.source = name_source(&day.location, &activity.name);
        }
    }
    for note in &mut pre_trip.weather {
        note.source = id_of(&note.city).map_or(Some(Source::Model), |id| catalog.source_of(&id));
    }
}

fn place_names(trip: &TripRequest, catalog: &Catalog) -> String {
    let names: Vec<&str> = catalog
        .trip_destinations(trip)
        .map(|d| d.city.as_str())
        .collect();
    names.join(" and ")
}

fn summary(trip: &TripRequest, catalog: &Catalog, budget: &BudgetEstimate) -> String {
    let people = if trip.travelers == 1 {
        "1 traveler".to_string()
    } else {
        format!("{} travelers", trip.travelers)
    };
    format!(
        "{}-day trip to {} for {people}, starting {}: estimated ${:.0} in total.",
        trip.days,
        place_names(trip, catalog),
        trip.start_date,
        budget.estimated_total_usd
    )
}

fn warnings(trip: &TripRequest, budget: &BudgetEstimate) -> Vec<String> {
    let mut warnings = Vec::new();
    if trip.origin.is_none() {
        warnings.push(
            "No departure city given, so flights are not included; set constraints.departure_city."
                .into(),
        );
    }
    if !budget.within_budget {
        warnings.push(format!(
            "The estimate exceeds the budget by ${:.0}.",
            budget.overage_usd
        ));
    }
    warnings
}

fn suggestion(
    job: &Job,
    trip: &TripRequest,
    catalog: &Catalog,
    budget: &BudgetEstimate,
) -> Suggestion {
    let trigger = job.request.trigger_type.clone().unwrap_or_default();
    let context = job.request.context.clone().unwrap_or_default();
    let number = |k: &str| context.get(k).and_then(Value::as_f64);
    let places = place_names(trip, catalog);
    let (headline, rationale, savings) = match Trigger::from(trigger.as_str()) {
        Trigger::PriceDrop => {
            let savings =
                number("savings").or_else(|| Some(number("old_price")? - number("new_price")?));
            (
                format!("Fares to {places} just dropped"),
                format!(
                    "The fare on your watched route fell{}; here is a {}-day trip built around it.",
                    savings.map(|s| format!(" by ${s:.0}")).unwrap_or_default(),
                    trip.days
                ),
                savings,
            )
        }
        Trigger::CalendarGap => (
            format!("You have free days: {} days in {places}", trip.days),
            format!(
                "Your calendar is free from {}; this trip fits inside that window.",
                trip.start_date
            ),
            None,
        ),
        Trigger::BudgetSurplus => (
            format!("Your travel budget has room for {places}"),
            format!(
                "You have ${:.0} left in your travel budget; this trip is estimated at ${:.0}.",
                number("surplus_usd").unwrap_or_default(),
                budget.estimated_total_usd
            ),
            None,
        ),
        Trigger::Other(_) => (
            format!("A trip to {places}"),
            "Suggested from the trigger you sent.".into(),
            None,
        ),
    };
    Suggestion {
        trigger_type: trigger,
        headline,
        rationale,
        savings_usd: savings,
    }
}
