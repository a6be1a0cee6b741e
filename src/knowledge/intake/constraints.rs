//! Structured constraints from the caller, applied on top of what the text says:
//! they always win. Each bad value is an error naming the field and the fix.

use chrono::{Datelike, NaiveDate};
use serde_json::{Map, Value};

use super::interests::{CATEGORIES, categories_for, interests_of_words};
use super::money::{BudgetSource, convert, known_currencies};
use super::places::{Mention, Reading, read_places};
use super::text::{Tokens, guess_language};
use super::{
    IntakeError, MAX_BUDGET_USD, MAX_DAYS, MAX_TRAVELERS, TripRequest, Wish, nights_for, place_id,
};
use crate::knowledge::dataset::{Tier, normalize_name};
use crate::knowledge::gazetteer;

pub(super) fn apply_constraints(
    req: &mut TripRequest,
    constraints: &Map<String, Value>,
    today: NaiveDate,
) -> Result<(), IntakeError> {
    let field = |name: &str| constraints.get(name).filter(|v| !v.is_null());
    if let Some(value) = field("destination") {
        let (ids, wish) = constraint_destinations(value)?;
        req.destinations = ids;
        req.stay_days.clear();
        req.wish = wish;
    }
    if let Some(value) = field("departure_city") {
        req.origin = Some(constraint_origin(value)?);
    }
    if let Some(value) = field("duration_days") {
        req.days = whole_number(
            value,
            "duration_days",
            MAX_DAYS,
            "days from 1 to 30, e.g. 7",
        )?;
        req.nights = nights_for(req.days);
    }
    if let Some(value) = field("travelers") {
        req.travelers = whole_number(
            value,
            "travelers",
            MAX_TRAVELERS,
            "people from 1 to 50, e.g. 2",
        )?;
    }
    if let Some(value) = field("budget") {
        let source = constraint_money(value)?;
        req.budget_usd = Some(
            source.usd()
                * if source.per_person {
                    f64::from(req.travelers)
                } else {
                    1.0
                },
        );
        req.budget_source = Some(source);
    }
    if let Some(value) = field("budget_usd") {
        req.budget_usd = Some(constraint_budget(value)?);
        req.budget_source = None;
    }
    if let Some(value) = field("interests") {
        req.interests = constraint_interests(value)?;
    }
    if let Some(value) = field("start_date") {
        req.start_date = constraint_date(value, today)?;
        req.month = Some(req.start_date.month());
    }
    if let Some(value) = field("tier") {
        req.tier = constraint_tier(value)?;
    }
    // A per-person budget from the text follows the party size the caller set.
    if let Some(source) = &req.budget_source
        && source.per_person
        && !constraints.contains_key("budget_usd")
    {
        req.budget_usd = Some(source.usd() * f64::from(req.travelers));
    }
    Ok(())
}

/// The planner's own checks of single scalar constraints (`budget_usd`,
/// `duration_days`, `travelers`, `start_date`), so the HTTP door refuses
/// exactly what a job would later fail on: each bad field with its problem.
pub fn constraint_problems(
    constraints: &Map<String, Value>,
    today: NaiveDate,
) -> Vec<(&'static str, String)> {
    let field = |name: &str| constraints.get(name).filter(|v| !v.is_null());
    let mut problems = Vec::new();
    let mut note = |result: Result<(), IntakeError>| {
        if let Err(IntakeError::InvalidConstraint { field, problem }) = result {
            problems.push((field, problem));
        }
    };
    if let Some(value) = field("budget_usd") {
        note(constraint_budget(value).map(drop));
    }
    if let Some(value) = field("duration_days") {
        note(
            whole_number(
                value,
                "duration_days",
                MAX_DAYS,
                "days from 1 to 30, e.g. 7",
            )
            .map(drop),
        );
    }
    if let Some(value) = field("travelers") {
        note(
            whole_number(
                value,
                "travelers",
                MAX_TRAVELERS,
                "people from 1 to 50, e.g. 2",
            )
            .map(drop),
        );
    }
    if let Some(value) = field("start_date") {
        note(constraint_date(value, today).map(drop));
    }
    problems
}

/// Every problem with a model's reading of a request, as constraints: the
/// scalar checks the door makes, plus the tier, interests and origin a
/// traveller can only write in text. A reading's bad field is dropped, not
/// blamed on the traveller, who never sent it.
pub fn reading_problems(
    constraints: &Map<String, Value>,
    today: NaiveDate,
) -> Vec<(&'static str, String)> {
    let field = |name: &str| constraints.get(name).filter(|v| !v.is_null());
    let mut problems = constraint_problems(constraints, today);
    let mut note = |result: Result<(), IntakeError>| {
        if let Err(IntakeError::InvalidConstraint { field, problem }) = result {
            problems.push((field, problem));
        }
    };
    if let Some(value) = field("tier") {
        note(constraint_tier(value).map(drop));
    }
    if let Some(value) = field("interests") {
        note(constraint_interests(value).map(drop));
    }
    if let Some(value) = field("departure_city") {
        note(constraint_origin(value).map(drop));
    }
    problems
}

fn invalid(field: &'static str, problem: String) -> IntakeError {
    IntakeError::InvalidConstraint { field, problem }
}

fn describe(value: &Value) -> String {
    let text = value.to_string();
    if text.chars().count() > 40 {
        format!("{}...", text.chars().take(40).collect::<String>())
    } else {
        text
    }
}

/// Destinations from `constraints.destination`: a string ("Hanoi, Ha Long", "Portland,
/// Maine", "Japan") or an array of names, read by the same place grammar as the text.
/// A country or region there becomes a wish for the inspiration step.
fn constraint_destinations(value: &Value) -> Result<(Vec<String>, Option<Wish>), IntakeError> {
    let pieces: Vec<String> = match value {
        Value::String(s) => vec![s.clone()],
        Value::Array(items) => items
            .iter()
            .map(|v| v.as_str().map(str::to_string))
            .collect::<Option<_>>()
            .ok_or_else(|| {
                invalid(
                    "destination",
                    "must be a string like \"Hanoi, Ha Long\" or an array of city names."
                        .to_string(),
                )
            })?,
        other => {
            return Err(invalid(
                "destination",
                format!(
                    "got {}; use a string like \"Hanoi, Ha Long\" or an array of city names.",
                    describe(other)
                ),
            ));
        }
    };
    let mut ids: Vec<String> = Vec::new();
    let mut wish = Wish::default();
    for piece in pieces.iter().map(|p| p.trim()).filter(|p| !p.is_empty()) {
        let tokens = Tokens::new(piece);
        let places = read_places(
            &tokens,
            &[],
            Reading {
                lang: guess_language(piece, &tokens),
                assume_places: true,
            },
        );
        let mut matched = false;
        for found in &places.stops {
            match &found.mention {
                Mention::Curated(d) => push_unique(&mut ids, d.id.clone()),
                Mention::City(p) => push_unique(&mut ids, place_id(p)),
                Mention::Ambiguous { name, candidates } => {
                    let err = super::ambiguous_error(name, candidates);
                    return Err(invalid("destination", err.to_string()));
                }
                _ => {}
            }
            matched = true;
        }
        for c in &places.countries {
            push_unique(&mut wish.countries, c.code.to_string());
            matched = true;
        }
        for r in &places.regions {
            push_unique(&mut wish.regions, r.name().to_string());
            matched = true;
        }
        if !matched {
            return Err(invalid(
                "destination",
                format!(
                    "could not match \"{piece}\"; use a city such as \"Hanoi\" or \"Tokyo\", a country, or an airport code like \"HAN\"."
                ),
            ));
        }
    }
    if !ids.is_empty() {
        return Ok((ids, None));
    }
    if wish.countries.is_empty() && wish.regions.is_empty() {
        return Err(invalid(
            "destination",
            "is empty; name at least one city, e.g. \"Hanoi\".".to_string(),
        ));
    }
    Ok((ids, Some(wish)))
}

fn push_unique(list: &mut Vec<String>, item: String) {
    if !list.contains(&item) {
        list.push(item);
    }
}

fn constraint_origin(value: &Value) -> Result<String, IntakeError> {
    let name = value.as_str().ok_or_else(|| {
        invalid(
            "departure_city",
            format!(
                "got {}; use an airport code like \"LAX\" or a city name.",
                describe(value)
            ),
        )
    })?;
    let trimmed = name.trim();
    if trimmed.len() == 3
        && let Some(airport) = gazetteer::airport(trimmed)
    {
        return Ok(airport.iata.to_string());
    }
    let tokens = Tokens::new(trimmed);
    let how = Reading {
        lang: guess_language(trimmed, &tokens),
        assume_places: true,
    };
    let places = read_places(&tokens, &[], how);
    let code = places.stops.first().and_then(|f| match &f.mention {
        Mention::Curated(d) => Some(d.airport_iata.clone()),
        Mention::City(p) => p.airports.first().map(|a| a.to_string()),
        _ => None,
    });
    code.ok_or_else(|| {
        invalid(
            "departure_city",
            format!("could not find an airport for \"{name}\"; use an IATA code like \"LAX\" or a city name."),
        )
    })
}

/// A whole number from 1 to `max`; numeric strings are accepted since clients often send them.
fn whole_number(
    value: &Value,
    field: &'static str,
    max: u32,
    expected: &str,
) -> Result<u32, IntakeError> {
    let number = match value {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse::<f64>().ok(),
        _ => None,
    };
    match number {
        Some(n) if n.fract() == 0.0 && n >= 1.0 && n <= f64::from(max) => Ok(n as u32),
        _ => Err(invalid(
            field,
            format!("got {}; use a whole number of {expected}.", describe(value)),
        )),
    }
}

fn constraint_budget(value: &Value) -> Result<f64, IntakeError> {
    let number = match value {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s
            .trim()
            .trim_start_matches('$')
            .replace(',', "")
            .parse::<f64>()
            .ok(),
        _ => None,
    };
    number
        .filter(|n| n.is_finite() && *n > 0.0 && *n <= MAX_BUDGET_USD)
        .ok_or_else(|| {
            invalid(
                "budget_usd",
                format!(
                    "got {}; use a positive number of US dollars up to 10,000,000, e.g. 2500.",
                    describe(value)
                ),
            )
        })
}

/// `constraints.budget`: `{"amount": 1000, "currency": "EUR", "per_person": false}`.
fn constraint_money(value: &Value) -> Result<BudgetSource, IntakeError> {
    let problem = || {
        invalid(
            "budget",
            format!(
                "got {}; use {{\"amount\": 1000, \"currency\": \"EUR\"}} with a positive amount and one of: {}.",
                describe(value),
                known_currencies().join(", ")
            ),
        )
    };
    let object = value.as_object().ok_or_else(problem)?;
    let amount = object
        .get("amount")
        .and_then(Value::as_f64)
        .filter(|a| a.is_finite() && *a > 0.0)
        .ok_or_else(problem)?;
    let currency = object
        .get("currency")
        .and_then(Value::as_str)
        .ok_or_else(problem)?;
    let per_person = object
        .get("per_person")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    convert(amount, currency, per_person).ok_or_else(problem)
}

fn constraint_interests(value: &Value) -> Result<Vec<String>, IntakeError> {
    let items: Vec<String> = match value {
        Value::Array(items) => items
            .iter()
            .map(|v| v.as_str().map(str::to_string))
            .collect::<Option<_>>(),
        Value::String(s) => Some(s.split(',').map(str::to_string).collect()),
        _ => None,
    }
    .ok_or_else(|| {
        invalid(
            "interests",
            format!(
                "got {}; use an array of strings, e.g. [\"food\", \"history\"].",
                describe(value)
            ),
        )
    })?;
    let mut out: Vec<String> = Vec::new();
    for item in items.iter().filter(|i| !i.trim().is_empty()) {
        let key = normalize_name(item);
        let cats: Vec<String> = match categories_for(&key) {
            Some(cats) => cats.iter().map(|c| (*c).to_string()).collect(),
            None => interests_of_words(&key),
        };
        if cats.is_empty() {
            return Err(invalid(
                "interests",
                format!(
                    "\"{item}\" is not a known interest; use any of: {}.",
                    CATEGORIES.join(", ")
                ),
            ));
        }
        for cat in cats {
            if !out.contains(&cat) {
                out.push(cat);
            }
        }
    }
    Ok(out)
}

fn constraint_date(value: &Value, today: NaiveDate) -> Result<NaiveDate, IntakeError> {
    let date = value
        .as_str()
        .and_then(|s| NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d").ok())
        .ok_or_else(|| {
            let problem = format!(
                "got {}; use a date formatted YYYY-MM-DD, e.g. \"2027-03-10\".",
                describe(value)
            );
            invalid("start_date", problem)
        })?;
    if date < today {
        return Err(invalid(
            "start_date",
            format!("{date} is in the past; use a date on or after {today}."),
        ));
    }
    Ok(date)
}

fn constraint_tier(value: &Value) -> Result<Tier, IntakeError> {
    let tier = value
        .as_str()
        .map(normalize_name)
        .and_then(|t| match t.as_str() {
            "budget" => Some(Tier::Budget),
            "mid" | "mid range" | "midrange" => Some(Tier::Mid),
            "luxury" => Some(Tier::Luxury),
            _ => None,
        });
    tier.ok_or_else(|| {
        invalid(
            "tier",
            format!(
                "got {}; use \"budget\", \"mid\" or \"luxury\".",
                describe(value)
            ),
        )
    })
}
