//! `cost_agent`: the budget breakdown and the checks a plan must pass. The
//! arithmetic is always done here; with an LLM, the model reviews the
//! estimate and may adjust food or local transport within reason.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::{AgentContext, Ask, destination_facts};
use crate::knowledge::{
    self, BudgetEstimate, Catalog, DayPlan, FlightQuote, HotelStay, TripRequest,
};
use crate::workflow::run::{AgentOutput, RunError};

const PROMPT: &str = "Review the budget estimate; you may adjust food_usd and local_transport_usd \
    if the facts justify it. Keep flights_usd, lodging_usd, activities_usd and limit_usd as given.";

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Validation {
    pub passed: bool,
    pub checks: Vec<Value>,
}

fn schema() -> Value {
    use super::bounds::money;
    let money = money(knowledge::MAX_BUDGET_USD * 10.0);
    json!({"type": "object",
        "required": ["limit_usd", "estimated_total_usd", "breakdown", "within_budget", "overage_usd"],
        "properties": {
            "limit_usd": {"type": ["number", "null"], "minimum": 0, "maximum": knowledge::MAX_BUDGET_USD},
            "estimated_total_usd": super::bounds::computed(),
            "within_budget": {"type": "boolean"}, "overage_usd": super::bounds::computed(),
            "breakdown": {"type": "object",
                "required": ["flights_usd", "lodging_usd", "food_usd", "activities_usd", "local_transport_usd"],
                "properties": {"flights_usd": money, "lodging_usd": money, "food_usd": money,
                    "activities_usd": money, "local_transport_usd": money}}}})
}

fn parts_sum(budget: &BudgetEstimate) -> f64 {
    let b = &budget.breakdown;
    b.flights_usd + b.lodging_usd + b.food_usd + b.activities_usd + b.local_transport_usd
}

/// Puts back what is not the model's: flights, lodging and activities come
/// from the other agents and the limit from the traveller; the total,
/// `within_budget` and the overage follow from the parts.
fn settle(draft: &BudgetEstimate, mut answer: BudgetEstimate) -> BudgetEstimate {
    let (d, a) = (&draft.breakdown, &mut answer.breakdown);
    a.flights_usd = d.flights_usd;
    a.lodging_usd = d.lodging_usd;
    a.activities_usd = d.activities_usd;
    answer.limit_usd = draft.limit_usd;
    answer.settle();
    answer
}

/// The two parts the model may adjust stay near the dataset's estimate: a
/// sensible total is not enough (a negative part can balance a huge one).
fn check(draft: &BudgetEstimate, answer: &BudgetEstimate) -> Result<(), String> {
    let (d, a) = (&draft.breakdown, &answer.breakdown);
    super::near("food_usd", d.food_usd, a.food_usd, 2.0, 20.0)?;
    super::near(
        "local_transport_usd",
        d.local_transport_usd,
        a.local_transport_usd,
        2.0,
        20.0,
    )
}

pub async fn run(
    ctx: &AgentContext,
    catalog: &Catalog,
    trip: &TripRequest,
    flights: &[FlightQuote],
    hotels: &[HotelStay],
    days: &[DayPlan],
) -> Result<AgentOutput<BudgetEstimate>, RunError> {
    let budget = knowledge::estimate_budget(trip, catalog, flights, hotels, days);
    let reference = budget.clone();
    ctx.refine(
        Ask {
            agent: "cost_agent",
            instructions: PROMPT,
            schema: schema(),
            facts: destination_facts(trip, catalog),
        },
        budget,
        0.8,
        |answer| settle(&reference, answer),
        |answer: &BudgetEstimate| check(&reference, answer),
    )
    .await
}

/// The checks behind `validation_result`. Going over budget is reported
/// here and decided by a human, so it does not fail validation.
pub fn validate(
    trip: &TripRequest,
    budget: &BudgetEstimate,
    days: &[DayPlan],
    hotels: &[HotelStay],
) -> Validation {
    let parts = parts_sum(budget);
    let nights: u32 = hotels.iter().map(|h| h.nights).sum();
    let check = |name: &str, passed: bool, detail: String| json!({ "name": name, "passed": passed, "detail": detail });
    let checks = vec![
        check(
            "days_match_duration",
            days.len() == trip.days as usize,
            format!("{} of {} days planned", days.len(), trip.days),
        ),
        check(
            "nights_covered",
            nights == trip.nights,
            format!("{nights} of {} nights booked", trip.nights),
        ),
        check(
            "breakdown_sums_to_total",
            (parts - budget.estimated_total_usd).abs() < 0.01,
            format!("parts {parts:.2} = total {:.2}", budget.estimated_total_usd),
        ),
        json!({
            "name": "within_budget",
            "passed": budget.within_budget,
            "detail": match budget.limit_usd {
                Some(limit) => format!("estimate ${:.0} vs budget ${limit:.0}", budget.estimated_total_usd),
                None => "no budget given".into(),
            },
            "blocking": false,
        }),
    ];
    let passed = checks
        .iter()
        .filter(|c| c.get("blocking") != Some(&json!(false)))
        .all(|c| c["passed"] == json!(true));
    Validation { passed, checks }
}
