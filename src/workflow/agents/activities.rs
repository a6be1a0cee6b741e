//! `activity_agent`: a day-by-day plan, interests first, lighter arrival and
//! departure days, no day overloaded.

use serde_json::{Value, json};

use super::{AgentContext, Ask, destination_facts};
use crate::knowledge::{self, Catalog, DayPlan, TripRequest};
use crate::workflow::run::{AgentOutput, RunError};

const PROMPT: &str = "Improve the day-by-day plan: favour the traveller's interests, \
    use the destination's attractions, keep every day (same day_number, date and location), \
    at most 3 activities and 8 hours per day, lighter first and last days.";

fn schema(trip: &TripRequest) -> Value {
    use super::bounds::{NAME, date, list, money, number, text, whole};
    let mut categories: Vec<&str> = knowledge::ATTRACTION_CATEGORIES.to_vec();
    categories.push(knowledge::FREE_TIME_CATEGORY);
    let activity = json!({"type": "object",
        "required": ["time_of_day", "name", "category", "duration_hours", "cost_usd"],
        "properties": {
            "time_of_day": {"type": "string", "enum": ["morning", "afternoon", "evening"]},
            "name": text(NAME), "category": {"type": "string", "enum": categories},
            "duration_hours": number(0.25, 8.0), "cost_usd": money(MAX_ACTIVITY_USD)}});
    let day = json!({"type": "object",
        "required": ["day_number", "date", "location", "focus", "intensity", "activities"],
        "properties": {
            "day_number": whole(1, trip.days), "date": date(),
            "location": text(NAME), "focus": text(NAME),
            "intensity": {"type": "string", "enum": ["easy", "moderate", "active"]},
            "activities": list(activity, 3)}});
    let mut days = list(day, trip.days as usize);
    days["minItems"] = json!(trip.days);
    days
}

/// No single activity costs more than this per person.
const MAX_ACTIVITY_USD: f64 = 2_000.0;

/// What makes a plan sensible: every day, in order, none overloaded.
pub fn check(trip: &TripRequest, days: &[DayPlan]) -> Result<(), String> {
    if days.len() != trip.days as usize {
        return Err(format!("expected {} days, got {}", trip.days, days.len()));
    }
    for (i, day) in days.iter().enumerate() {
        let expected = trip.start_date + chrono::Duration::days(i as i64);
        if day.day_number as usize != i + 1 || day.date != expected {
            return Err(format!(
                "day {} must be day_number {} on {expected}",
                i + 1,
                i + 1
            ));
        }
        let hours: f64 = day.activities.iter().map(|a| a.duration_hours).sum();
        if day.activities.len() > 3 || hours > 8.0 {
            return Err(format!(
                "day {} is overloaded ({} activities, {hours:.1} h)",
                i + 1,
                day.activities.len()
            ));
        }
        if day
            .activities
            .iter()
            .any(|a| a.cost_usd < 0.0 || a.duration_hours <= 0.0)
        {
            return Err(format!(
                "day {} has a negative cost or empty duration",
                i + 1
            ));
        }
    }
    Ok(())
}

/// Puts back what is not the model's, day by day: its number, date and
/// location.
fn settle(draft: &[DayPlan], mut answer: Vec<DayPlan>) -> Vec<DayPlan> {
    for (d, a) in draft.iter().zip(answer.iter_mut()) {
        a.day_number = d.day_number;
        a.date = d.date;
        a.location.clone_from(&d.location);
    }
    answer
}

/// The model may choose other attractions, but the day's spending stays
/// near the estimate's: activities are a small part of a trip's cost, and a
/// model that makes them its largest is wrong.
fn check_costs(draft: &[DayPlan], answer: &[DayPlan]) -> Result<(), String> {
    for (d, a) in draft.iter().zip(answer) {
        let spent = |day: &DayPlan| day.activities.iter().map(|x| x.cost_usd).sum::<f64>();
        super::near(
            &format!("day {}'s activities cost", a.day_number),
            spent(d),
            spent(a),
            3.0,
            60.0,
        )?;
    }
    Ok(())
}

pub async fn run(
    ctx: &AgentContext,
    catalog: &Catalog,
    trip: &TripRequest,
) -> Result<AgentOutput<Vec<DayPlan>>, RunError> {
    let days = knowledge::plan_days(trip, catalog);
    check(trip, &days).map_err(|e| RunError::failed("planning_failed", e))?;
    let matched = days.iter().flat_map(|d| &d.activities).any(|a| {
        trip.interests
            .iter()
            .any(|i| a.category.eq_ignore_ascii_case(i))
    });
    let confidence = if trip.interests.is_empty() || matched {
        0.8
    } else {
        0.6
    };
    let reference = days.clone();
    ctx.refine(
        Ask {
            agent: "activity_agent",
            instructions: PROMPT,
            schema: schema(trip),
            facts: destination_facts(trip, catalog),
        },
        days,
        confidence,
        |answer| settle(&reference, answer),
        |answer: &Vec<DayPlan>| check(trip, answer).and_then(|()| check_costs(&reference, answer)),
    )
    .await
}
