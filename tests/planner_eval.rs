//! The planner's evaluation set: requests written the way travellers write them
//! (tests/eval/requests.jsonl, 300+ cases in eight kinds), each with the facts a plan
//! must get right. Every case runs through the embedded planner's reading of the
//! request and, for vague wishes, its inspiration ranking — the same functions the
//! `intake_agent` and `inspiration_agent` tasks call.
//!
//! Run it and see every miss:
//!     cargo test --release --test planner_eval -- --nocapture
//! It fails below 95 % overall or 90 % in any kind.

use std::collections::BTreeMap;

use chrono::{Datelike, NaiveDate};
use lotara::knowledge::{
    self, Candidate, IntakeError, TripRequest, destination, find_destination, parse_trip_request,
    rank_destinations,
};
use serde_json::{Map, Value};

const OVERALL_TARGET: f64 = 0.95;
const KIND_TARGET: f64 = 0.90;

struct Outcome {
    trip: Option<TripRequest>,
    chosen: Option<Candidate>,
    alternatives: usize,
    error: Option<IntakeError>,
}

fn today() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 12, 1).expect("a date")
}

fn run(query: &str, constraints: &Map<String, Value>) -> Outcome {
    match parse_trip_request(query, constraints, today()) {
        Ok(trip) => {
            let (chosen, alternatives) = if trip.destinations.is_empty() {
                let ranked = rank_destinations(&trip, today());
                (ranked.first().cloned(), ranked.len().saturating_sub(1))
            } else {
                (None, 0)
            };
            let error = knowledge::require_curated(&trip).err();
            Outcome {
                trip: Some(trip),
                chosen,
                alternatives,
                error,
            }
        }
        Err(e) => Outcome {
            trip: None,
            chosen: None,
            alternatives: 0,
            error: Some(e),
        },
    }
}

fn fold(text: &str) -> String {
    knowledge::normalize(text)
}

fn ids(names: &[Value]) -> Vec<String> {
    names
        .iter()
        .filter_map(Value::as_str)
        .map(|n| find_destination(n).map_or(format!("?{n}"), |d| d.id.clone()))
        .collect()
}

/// The facts of `expect` that the outcome gets wrong, as readable lines.
fn misses(expect: &Map<String, Value>, out: &Outcome) -> Vec<String> {
    let mut wrong = Vec::new();
    if let Some(code) = expect.get("error").and_then(Value::as_str) {
        match &out.error {
            Some(e) if e.code() == code => {
                let message = fold(&e.to_string());
                for word in expect
                    .get("error_mentions")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .filter_map(Value::as_str)
                {
                    if !message.contains(&fold(word)) {
                        wrong.push(format!("error does not mention {word:?}: {e}"));
                    }
                }
            }
            Some(e) => wrong.push(format!("error {} instead of {code}: {e}", e.code())),
            None => wrong.push(format!(
                "planned instead of failing with {code}: {:?}",
                out.trip
            )),
        }
        return wrong;
    }
    let trip = match (&out.trip, &out.error) {
        (Some(trip), None) => trip,
        (_, Some(e)) => return vec![format!("failed with {}: {e}", e.code())],
        (None, None) => return vec!["no result".into()],
    };
    let chosen = out
        .chosen
        .as_ref()
        .and_then(|c| destination(&c.destination));
    for (key, want) in expect {
        let ok = match key.as_str() {
            "destinations" => {
                let want = ids(want.as_array().map_or(&[][..], Vec::as_slice));
                trip.destinations == want
            }
            "days_per_destination" => {
                let want: Vec<u32> = want
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(Value::as_u64)
                    .map(|n| n as u32)
                    .collect();
                trip.stay_lengths() == want
            }
            "days" => want.as_u64() == Some(u64::from(trip.days)),
            "travelers" => want.as_u64() == Some(u64::from(trip.travelers)),
            "origin" => want
                .as_array()
                .is_some_and(|codes| codes.iter().any(|c| c.as_str() == trip.origin.as_deref())),
            "start_date" => want.as_str() == Some(trip.start_date.to_string().as_str()),
            "month" => want.as_u64() == Some(u64::from(trip.month.unwrap_or(0))),
            "budget_usd" => {
                let (min, max) = (want["min"].as_f64(), want["max"].as_f64());
                matches!((trip.budget_usd, min, max), (Some(b), Some(lo), Some(hi)) if b >= lo && b <= hi)
            }
            "budget_currency" => {
                let currency = trip
                    .budget_source
                    .as_ref()
                    .map_or("USD", |s| s.currency.as_str());
                trip.budget_usd.is_some() && want.as_str() == Some(currency)
            }
            "budget_amount" => {
                let amount = trip
                    .budget_source
                    .as_ref()
                    .map(|s| s.amount)
                    .or(trip.budget_usd);
                matches!((amount, want.as_f64()), (Some(a), Some(w)) if (a - w).abs() < 0.5)
            }
            "inspiration" => {
                trip.destinations.is_empty() && chosen.is_some() && out.alternatives >= 3
            }
            "region" => chosen.is_some_and(|d| want.as_str() == Some(d.region.as_str())),
            "country" => chosen.is_some_and(|d| want.as_str() == Some(d.country_code.as_str())),
            "destination_any_of" => chosen.is_some_and(|d| {
                ids(want.as_array().map_or(&[][..], Vec::as_slice)).contains(&d.id)
            }),
            "interests" => chosen.is_some_and(|d| {
                want.as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(Value::as_str)
                    .all(|cat| d.attractions.iter().any(|a| a.category == cat))
            }),
            "warm" => chosen.is_some_and(|d| high_c(trip, d) >= 24.0),
            "cool" => chosen.is_some_and(|d| high_c(trip, d) <= 24.0),
            "max_total_usd" => out.chosen.as_ref().is_some_and(|c| {
                want.as_f64()
                    .is_some_and(|max| c.estimated_total_usd <= max * 1.1)
            }),
            _ => true,
        };
        if !ok {
            wrong.push(format!(
                "{key}: want {want}, got {}",
                describe(key, trip, out)
            ));
        }
    }
    wrong
}

fn high_c(trip: &TripRequest, d: &knowledge::Destination) -> f64 {
    let month = trip.month.unwrap_or(trip.start_date.month());
    d.climate[month as usize - 1].high_c
}

fn describe(key: &str, trip: &TripRequest, out: &Outcome) -> String {
    let chosen = out.chosen.as_ref().map_or("no choice".to_string(), |c| {
        format!("{} ({})", c.city, c.country)
    });
    match key {
        "destinations" => format!("{:?}", trip.destinations),
        "days_per_destination" => format!("{:?}", trip.stay_lengths()),
        "days" => trip.days.to_string(),
        "travelers" => trip.travelers.to_string(),
        "origin" => format!("{:?}", trip.origin),
        "start_date" | "month" => format!("{} (month {:?})", trip.start_date, trip.month),
        "budget_usd" | "budget_currency" | "budget_amount" => {
            format!("{:?} from {:?}", trip.budget_usd, trip.budget_source)
        }
        "inspiration" => format!(
            "destinations {:?}, wish {:?}, {chosen}, {} alternatives",
            trip.destinations, trip.wish, out.alternatives
        ),
        _ => chosen,
    }
}

#[test]
fn the_planner_reads_the_evaluation_set_at_target_accuracy() {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/eval/requests.jsonl"
    ))
    .expect("tests/eval/requests.jsonl");
    let mut per_kind: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    let mut report = Vec::new();
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let case: Value = serde_json::from_str(line).expect("each line is JSON");
        let kind = case["kind"].as_str().unwrap_or("?").to_string();
        let query = case["query"].as_str().unwrap_or_default();
        let constraints = case["constraints"].as_object().cloned().unwrap_or_default();
        let expect = case["expect"].as_object().cloned().unwrap_or_default();
        let wrong = misses(&expect, &run(query, &constraints));
        let entry = per_kind.entry(kind).or_default();
        entry.1 += 1;
        if wrong.is_empty() {
            entry.0 += 1;
        } else {
            report.push(format!(
                "MISS {} {query:?}\n     {}",
                case["id"].as_str().unwrap_or("?"),
                wrong.join("\n     ")
            ));
        }
    }
    let (right, total) = per_kind
        .values()
        .fold((0, 0), |(r, t), (kr, kt)| (r + kr, t + kt));
    for line in &report {
        println!("{line}");
    }
    println!("\nkind            right / total   accuracy");
    for (kind, (r, t)) in &per_kind {
        println!(
            "{kind:<15} {r:>5} / {t:<5}   {:>6.1} %",
            100.0 * *r as f64 / *t as f64
        );
    }
    let overall = right as f64 / total as f64;
    println!(
        "{:<15} {right:>5} / {total:<5}   {:>6.1} %",
        "overall",
        100.0 * overall
    );
    assert!(
        overall >= OVERALL_TARGET,
        "overall accuracy {:.1} %",
        100.0 * overall
    );
    for (kind, (r, t)) in &per_kind {
        let accuracy = *r as f64 / *t as f64;
        assert!(accuracy >= KIND_TARGET, "{kind}: {:.1} %", 100.0 * accuracy);
    }
}
