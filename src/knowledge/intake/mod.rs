//! Turns a traveller's free-text request (plus optional structured constraints) into a
//! [`TripRequest`] the planners can work with.
//!
//! The text is read by small grammars, one per fact, in the languages travellers
//! write in (English, Vietnamese, French, Spanish, German; Portuguese, Italian and
//! Indonesian for the common words): lengths (`duration`), party size (`party`),
//! places (`places`, over the curated dataset and the world gazetteer), dates
//! (`dates`), money in any major currency (`money`), interests, tier and wished-for
//! weather (`interests`). Each grammar marks the words it used, so a number is read
//! once: "5 ngày cho 2 người, 15 triệu" is 5 days, 2 people and 15 million dong.
//! Parsing is deterministic: the same text and `today` always give the same request.
//! Structured constraints win over anything read from the text.

mod constraints;

pub use constraints::{constraint_problems, reading_problems};
mod dates;
mod duration;
mod interests;
mod money;
mod numbers;
mod party;
mod places;
mod text;
mod vocabulary;

use std::ops::Range;

use chrono::{Datelike, Days, NaiveDate};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use utoipa::ToSchema;

pub use interests::CATEGORIES as ATTRACTION_CATEGORIES;
pub use money::{BudgetSource, convert as convert_currency, known_currencies};

use self::duration::Length;
use self::places::{Found, Mention};
use self::text::{Lang, Token, Tokens, guess_language, listed, match_at};
use super::dataset::{Destination, Tier, destination, destinations, normalize_name};
use super::gazetteer;

const DEFAULT_DAYS: u32 = 5;
pub const MAX_DAYS: u32 = 30;
pub const MAX_TRAVELERS: u32 = 50;
/// The largest budget taken, in US dollars: beyond it a number is a mistake
/// (or a model's invention), not a trip.
pub const MAX_BUDGET_USD: f64 = 10_000_000.0;
/// With no date given, assume the trip starts in a month: enough time to book.
const DEFAULT_LEAD_DAYS: u64 = 30;
/// A stop named without a length in a trip whose other stops have one.
const DEFAULT_STOP_DAYS: u32 = 2;

/// Everything the planners need to know about a trip.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct TripRequest {
    /// IATA code of the departure airport, when known.
    pub origin: Option<String>,
    /// Destination ids in visiting order. Empty while an inspiration step still has
    /// to choose one from `wish`.
    pub destinations: Vec<String>,
    /// Days at each destination, in order, when the traveller gave them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub stay_days: Vec<u32>,
    pub start_date: NaiveDate,
    pub days: u32,
    /// `days - 1`, but at least 1.
    pub nights: u32,
    pub travelers: u32,
    pub budget_usd: Option<f64>,
    /// The budget as written, when it was given in another currency or per person.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub budget_source: Option<BudgetSource>,
    /// Attraction categories, most important first.
    pub interests: Vec<String>,
    pub tier: Tier,
    /// The month the traveller asked for, if they named a month or date.
    pub month: Option<u32>,
    /// What to choose a destination by, when the request names none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wish: Option<Wish>,
    /// How the request was read, where that matters: a model's reading that
    /// was partly dropped or not used at all (the built-in parser's instead).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

/// A request that names no single destination: what the inspiration step ranks by.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Wish {
    /// ISO codes of the countries named ("Japan" → "JP").
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub countries: Vec<String>,
    /// World regions named ("Europe", "Southeast Asia").
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub regions: Vec<String>,
    #[serde(default)]
    pub warm: bool,
    #[serde(default)]
    pub cool: bool,
    /// Curated destinations offered as alternatives ("Bali or Phuket?").
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub candidates: Vec<String>,
    /// Words that find the experiences asked for among attractions' names ("safari",
    /// "ski", "northern lights").
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub features: Vec<String>,
    /// Away from the traveller's own country ("nước ngoài", "abroad").
    #[serde(default)]
    pub abroad: bool,
    /// Within the traveller's own country ("trong nước", "domestic").
    #[serde(default)]
    pub domestic: bool,
}

/// Why a request could not be turned into a trip; messages are meant for end users.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum IntakeError {
    #[error(
        "Could not identify a destination in the request{}. Name a city (e.g. \"Tokyo\", \"Hanoi\") or an airport code, or set constraints.destination. {}",
        unmatched_clause(.unmatched),
        .suggestion
    )]
    UnknownDestination {
        unmatched: Vec<String>,
        suggestion: String,
    },
    #[error(
        "The request names no destination and nothing to choose one by. Name a city (e.g. \"Da Nang\", \"Tokyo\"), a country or region (\"Japan\", \"Europe\"), or what you would like (\"beaches in January\", \"hiking\"), or set constraints.destination."
    )]
    MissingDestination,
    #[error(
        "There are several places named {name}: {}. Say which one (e.g. \"{name}, {}\") or set constraints.destination.",
        .candidates.join(" or "),
        .first_qualifier
    )]
    AmbiguousPlace {
        name: String,
        candidates: Vec<String>,
        first_qualifier: String,
    },
    #[error(
        "{place} is not one of our curated destinations yet, and plans are made for those only. Closest curated destinations: {}; set constraints.destination to one of them.",
        .suggestions.join(", ")
    )]
    NotCurated {
        place: String,
        suggestions: Vec<String>,
    },
    #[error("The request contradicts itself: {0}")]
    Inconsistent(String),
    #[error("Invalid constraints.{field}: {problem}")]
    InvalidConstraint {
        field: &'static str,
        problem: String,
    },
    #[error("The start date {date} is in the past; choose a date on or after {today}.")]
    StartDateInPast { date: NaiveDate, today: NaiveDate },
    #[error(
        "{days} day(s) is too short for {destinations} destinations; allow at least one day per destination or drop some."
    )]
    TooManyDestinations { days: u32, destinations: usize },
}

impl IntakeError {
    /// The stable failure code a job's error carries.
    pub fn code(&self) -> &'static str {
        match self {
            IntakeError::UnknownDestination { .. } => "unknown_destination",
            IntakeError::MissingDestination => "missing_destination",
            IntakeError::AmbiguousPlace { .. } => "ambiguous_place",
            IntakeError::NotCurated { .. } => "destination_not_curated",
            IntakeError::Inconsistent(_) => "inconsistent_request",
            IntakeError::InvalidConstraint { .. }
            | IntakeError::StartDateInPast { .. }
            | IntakeError::TooManyDestinations { .. } => "invalid_request",
        }
    }
}

fn unmatched_clause(unmatched: &[String]) -> String {
    if unmatched.is_empty() {
        return String::new();
    }
    let quoted: Vec<String> = unmatched.iter().map(|w| format!("\"{w}\"")).collect();
    format!(" (no supported destination matches {})", quoted.join(", "))
}

/// Parses `query`, then applies `constraints` (`budget_usd`, `duration_days`, `interests`,
/// `departure_city`, `destination`, `start_date`, `travelers`, `tier`) on top.
pub fn parse_trip_request(
    query: &str,
    constraints: &Map<String, Value>,
    today: NaiveDate,
) -> Result<TripRequest, IntakeError> {
    let reading = read_text(query, today);
    let mut req = reading.request(today)?;
    constraints::apply_constraints(&mut req, constraints, today)?;
    if req.destinations.is_empty() && req.wish.is_none() {
        // Constraints can supply the destination; only now is its absence final.
        reading.missing_destination_error()?;
    }
    validate(req, today)
}

/// What the text says, before constraints.
struct Reading {
    query: String,
    stays: Result<Stays, IntakeError>,
    origin: Option<String>,
    travelers: Option<u32>,
    when: Option<dates::When>,
    money: Option<money::Money>,
    interests: Vec<String>,
    tier: Option<Tier>,
    weather: interests::Weather,
    countries: Vec<String>,
    regions: Vec<String>,
    alternatives: Vec<String>,
    features: Vec<String>,
    scope: (bool, bool),
    ambiguous: Option<IntakeError>,
    unmatched: Vec<String>,
    surprise: bool,
}

#[derive(Debug, Default)]
struct Stays {
    destinations: Vec<String>,
    stay_days: Vec<u32>,
    days: Option<u32>,
}

fn read_text(query: &str, today: NaiveDate) -> Reading {
    let tokens = Tokens::new(query);
    let lang = guess_language(query, &tokens);
    let lengths = duration::lengths(&tokens, MAX_DAYS, lang);
    let party = party::read_party(&tokens, MAX_TRAVELERS);
    let mut taken: Vec<Range<usize>> = lengths.iter().map(|l| l.span.clone()).collect();
    if let Some((_, spans)) = &party {
        taken.extend(spans.iter().cloned());
    }
    let how = places::Reading {
        lang,
        assume_places: false,
    };
    let mut places = places::read_places(&tokens, &taken, how);
    drop_sights(&mut places);
    let us_origin = places
        .origin
        .as_ref()
        .and_then(|(code, _)| gazetteer::airport(code))
        .is_some_and(|a| a.country_code == "US");
    let day_first = !(lang == Lang::English && us_origin);
    let mut date_taken = taken.clone();
    date_taken.extend(places.stops.iter().map(|f| f.span.clone()));
    if let Some((_, span)) = &places.origin {
        date_taken.push(span.clone());
    }
    let when = dates::read_when(&tokens, today, day_first, &date_taken);
    if let Some(when) = &when {
        taken.extend(when.spans.iter().cloned());
    }
    taken.extend(places.stops.iter().map(|f| f.span.clone()));
    if let Some((_, span)) = &places.origin {
        taken.push(span.clone());
    }
    let money = money::read_money(&tokens, &taken, lang);
    let ambiguous = places.stops.iter().find_map(|f| match &f.mention {
        Mention::Ambiguous { name, candidates } => Some(ambiguous_error(name, candidates)),
        _ => None,
    });
    let alternatives: Vec<String> = if places.alternatives {
        places
            .stops
            .iter()
            .filter_map(|f| match &f.mention {
                Mention::Curated(d) => Some(d.id.clone()),
                _ => None,
            })
            .collect()
    } else {
        Vec::new()
    };
    let stays = if places.alternatives {
        Ok(Stays {
            days: total_length(&lengths),
            ..Stays::default()
        })
    } else {
        assemble_stays(&tokens, &places.stops, &lengths, &taken)
    };
    let weather = interests::read_weather(&tokens);
    Reading {
        query: query.to_string(),
        stays,
        origin: places.origin.map(|(code, _)| code),
        travelers: party.map(|(n, _)| n),
        when,
        money,
        interests: interests::read_interests(&tokens),
        tier: interests::read_tier(&tokens),
        weather,
        countries: places
            .countries
            .iter()
            .map(|c| c.code.to_string())
            .collect(),
        regions: places
            .regions
            .iter()
            .map(|r| r.name().to_string())
            .collect(),
        alternatives,
        features: interests::read_features(&tokens),
        scope: interests::read_scope(&tokens),
        ambiguous,
        unmatched: places.unmatched,
        surprise: surprise_words(&tokens),
    }
}

fn ambiguous_error(name: &str, candidates: &[&'static gazetteer::Place]) -> IntakeError {
    let describe = |p: &gazetteer::Place| match p.airports.first() {
        Some(code) => format!("{} ({code})", p.label()),
        None => p.label(),
    };
    // "Portland, Oregon" for a US namesake, "San Jose, Costa Rica" elsewhere.
    let first_qualifier = candidates
        .first()
        .map(|p| match p.admin1 {
            Some(admin) if p.country_code == "US" => admin.to_string(),
            _ => p.country().map_or(p.country_code, |c| c.name).to_string(),
        })
        .unwrap_or_default();
    IntakeError::AmbiguousPlace {
        name: name.to_string(),
        candidates: candidates.iter().map(|p| describe(p)).collect(),
        first_qualifier,
    }
}

/// "quiero ver la Alhambra", "a day on Capri": a non-curated name that is one of a
/// named destination's sights is a sight, not another stop.
fn drop_sights(places: &mut places::Places) {
    let sights: Vec<String> = places
        .stops
        .iter()
        .filter_map(|f| match &f.mention {
            Mention::Curated(d) => Some(d),
            _ => None,
        })
        .flat_map(|d| {
            d.attractions
                .iter()
                .map(|a| format!(" {} ", normalize_name(&a.name)))
        })
        .collect();
    places.stops.retain(|f| {
        let name = match &f.mention {
            Mention::City(p) => normalize_name(p.name),
            Mention::Ambiguous { name, .. } => normalize_name(name),
            _ => return true,
        };
        !sights.iter().any(|s| s.contains(&format!(" {name} ")))
    });
}

/// "surprise me", "anywhere", "somewhere", "đâu đó", "gợi ý": the traveller asks us to
/// choose.
fn surprise_words(tokens: &Tokens) -> bool {
    const WORDS: &[&str] = &[
        "surprise me",
        "surprise",
        "anywhere",
        "somewhere",
        "where should",
        "where to go",
        "where can",
        "dau do",
        "di dau",
        "goi y",
        "noi nao",
        "n importe ou",
        "quelque part",
        "ou aller",
        "sorprendeme",
        "donde ir",
        "algun lugar",
        "a donde",
        "irgendwo",
        "wohin",
        "ideas",
        "suggest",
        "recommend",
        "suggestions",
        "kemana",
        "di mana",
    ];
    (0..tokens.len()).any(|i| match_at(tokens, i, WORDS).is_some())
}

impl Reading {
    fn request(&self, today: NaiveDate) -> Result<TripRequest, IntakeError> {
        if let Some(err) = &self.ambiguous {
            return Err(err.clone());
        }
        let stays = match &self.stays {
            Ok(stays) => stays,
            Err(e) => return Err(e.clone()),
        };
        if let Some(conflict) = self.when.as_ref().and_then(|w| w.conflict.clone()) {
            return Err(IntakeError::Inconsistent(conflict));
        }
        let range_days = self.when.as_ref().and_then(|w| {
            w.end
                .map(|end| (end - w.start).num_days() + 1)
                .filter(|d| (1..=i64::from(MAX_DAYS)).contains(d))
                .map(|d| d as u32)
        });
        let days = match (stays.days, range_days) {
            (Some(stated), Some(range)) if stated.abs_diff(range) > 1 => {
                return Err(IntakeError::Inconsistent(format!(
                    "it asks for {stated} days but its dates span {range} days."
                )));
            }
            (Some(stated), _) => stated,
            (None, Some(range)) => range,
            (None, None) => DEFAULT_DAYS,
        };
        let travelers = self.travelers.unwrap_or(1);
        let (start_date, month) = match &self.when {
            Some(w) => (w.start, Some(w.start.month())),
            None => (days_after(today, DEFAULT_LEAD_DAYS), None),
        };
        let budget_source = self
            .money
            .as_ref()
            .and_then(|m| money::convert(m.amount, &m.currency, m.per_person));
        let budget_usd = budget_source.as_ref().map(|b| {
            let total = b.usd();
            if b.per_person {
                total * f64::from(travelers)
            } else {
                total
            }
        });
        // Keep the source only when it says more than the dollar figure.
        let budget_source = budget_source.filter(|b| b.currency != "USD" || b.per_person);
        let mut interests = self.interests.clone();
        if self.weather.warm && self.stays_empty() && !interests.iter().any(|i| i == "beach") {
            // "somewhere warm" is a wish for weather, not for an attraction category.
            interests.retain(|i| i != "relaxation");
        }
        let wish = self.wish();
        Ok(TripRequest {
            origin: self.origin.clone(),
            destinations: stays.destinations.clone(),
            stay_days: stays.stay_days.clone(),
            start_date,
            days,
            nights: nights_for(days),
            travelers,
            budget_usd,
            budget_source,
            interests,
            tier: self.tier.unwrap_or_default(),
            month,
            wish,
            notes: Vec::new(),
        })
    }

    fn stays_empty(&self) -> bool {
        self.stays
            .as_ref()
            .map_or(true, |s| s.destinations.is_empty())
    }

    /// The wish, when the text names no destination but gives something to choose by.
    fn wish(&self) -> Option<Wish> {
        if !self.stays_empty() {
            return None;
        }
        let wish = Wish {
            countries: self.countries.clone(),
            regions: self.regions.clone(),
            warm: self.weather.warm && !self.weather.cool,
            cool: self.weather.cool && !self.weather.warm,
            candidates: self.alternatives.clone(),
            features: self.features.clone(),
            abroad: self.scope.0,
            domestic: self.scope.1 && !self.scope.0,
        };
        let has_reason = !wish.features.is_empty()
            || wish.abroad
            || wish.domestic
            || !wish.countries.is_empty()
            || !wish.regions.is_empty()
            || wish.warm
            || wish.cool
            || !wish.candidates.is_empty()
            || (!self.interests.is_empty() && (self.unmatched.is_empty() || self.surprise))
            || (self.surprise && self.unmatched.is_empty());
        has_reason.then_some(wish)
    }

    /// The error for a request that names nothing to go to.
    fn missing_destination_error(&self) -> Result<(), IntakeError> {
        if self.unmatched.is_empty() {
            return Err(IntakeError::MissingDestination);
        }
        Err(IntakeError::UnknownDestination {
            suggestion: suggestion_for(&self.query),
            unmatched: self.unmatched.clone(),
        })
    }
}

/// The trip's length when no stop has its own: the first stated total.
fn total_length(lengths: &[Length]) -> Option<u32> {
    lengths.first().map(|l| l.days)
}

/// Ties each stated length to the stop it describes: "3 days in Sapa and 2 in Hanoi",
/// "Tokyo 4 nights then Kyoto 3", "Lisbon and Porto, 6 days, 4 Lisbon 2 Porto", "a
/// week each", "3+3+1 days". A length next to no single stop (or after a list of
/// stops) is the whole trip's; a stop given two lengths from two mentions ("Đà Nẵng 3
/// ngày … 2 ngày Đà Nẵng") had the whole trip's first.
fn assemble_stays(
    tokens: &Tokens,
    stops: &[Found],
    lengths: &[Length],
    taken: &[Range<usize>],
) -> Result<Stays, IntakeError> {
    if let Some(bad) = lengths.iter().find(|l| l.conflict) {
        let words: Vec<String> = bad
            .span
            .clone()
            .filter_map(|i| tokens.raw_phrase(i, 1))
            .collect();
        return Err(IntakeError::Inconsistent(format!(
            "\"{}\" gives more nights than days, or days that the nights cannot fill.",
            words.join(" ")
        )));
    }
    let mut order: Vec<String> = Vec::new();
    for f in stops {
        if let Some(id) = mention_id(&f.mention)
            && !order.contains(&id)
        {
            order.push(id);
        }
    }
    let stop_first = match (stops.first(), lengths.first()) {
        (Some(s), Some(l)) => s.span.start < l.span.start,
        _ => true,
    };
    let mut lengths = lengths.to_vec();
    implied_lengths(tokens, stops, &mut lengths, taken, stop_first);
    if order.is_empty() {
        return Ok(Stays {
            days: total_length(&lengths),
            ..Stays::default()
        });
    }
    let (per_stop, totals, per_stop_nights) =
        tie_lengths(tokens, stops, &lengths, &order, stop_first);
    stays_from(order, per_stop, &totals, per_stop_nights)
}

/// Which length belongs to which stop: per-stop days (in the order of `order`), the
/// lengths that are the whole trip's, and whether the stops were counted in nights.
fn tie_lengths(
    tokens: &Tokens,
    stops: &[Found],
    lengths: &[Length],
    order: &[String],
    stop_first: bool,
) -> (Vec<Option<u32>>, Vec<Length>, bool) {
    // (stop index, days, mention index) for each attached length.
    let mut attached: Vec<(usize, u32, usize)> = Vec::new();
    let mut per_stop_nights = false;
    let mut totals: Vec<Length> = Vec::new();
    let mut each: Option<u32> = None;
    for length in lengths {
        if distributive(tokens, length) {
            each = Some(length.days);
            continue;
        }
        match attach(tokens, stops, length, stop_first) {
            Some(m) => match mention_id(&stops[m].mention) {
                Some(id) => {
                    let k = order.iter().position(|o| *o == id).unwrap_or(0);
                    let days = if length.nights_only {
                        length.days - 1
                    } else {
                        length.days
                    };
                    per_stop_nights |= length.nights_only;
                    attached.push((k, days.max(1), m));
                }
                None => totals.push(length.clone()),
            },
            None => totals.push(length.clone()),
        }
    }
    // A stop given lengths at two different mentions: the first was the whole trip's.
    let mut k = 0;
    while k < attached.len() {
        let (stop, days, mention) = attached[k];
        let later = attached[k + 1..]
            .iter()
            .any(|(s, _, m)| *s == stop && *m != mention);
        if later {
            totals.insert(
                0,
                Length {
                    days,
                    span: 0..0,
                    nights_only: false,
                    implied_unit: false,
                    conflict: false,
                },
            );
            attached.remove(k);
        } else {
            k += 1;
        }
    }
    let mut per_stop: Vec<Option<u32>> = vec![each; order.len()];
    for (stop, days, _) in &attached {
        per_stop[*stop] = Some(per_stop[*stop].filter(|_| each.is_none()).unwrap_or(0) + days);
    }
    // "3+3+1 days" for three stops: lengths listed in the stops' order.
    if per_stop.iter().all(Option::is_none) && order.len() >= 2 {
        let sequence: Vec<&Length> = totals
            .iter()
            .filter(|l| l.implied_unit || totals.len() == order.len())
            .collect();
        if sequence.len() == order.len() {
            for (slot, l) in per_stop.iter_mut().zip(&sequence) {
                *slot = Some(if l.nights_only { l.days - 1 } else { l.days });
            }
            per_stop_nights = sequence.iter().all(|l| l.nights_only);
            totals.clear();
        }
    }
    (per_stop, totals, per_stop_nights)
}

/// The trip's stops and days from per-stop lengths and a stated total: missing stops
/// share what is left (or get a default), and a total that the stops contradict is
/// an error.
fn stays_from(
    order: Vec<String>,
    per_stop: Vec<Option<u32>>,
    totals: &[Length],
    per_stop_nights: bool,
) -> Result<Stays, IntakeError> {
    let total = totals.first().map(|l| l.days);
    let assigned: u32 = per_stop.iter().flatten().sum();
    if per_stop.iter().all(Option::is_none) {
        return Ok(Stays {
            destinations: order,
            stay_days: Vec::new(),
            days: total,
        });
    }
    // Stays given in nights: the trip has one more day than nights.
    let trip_days_of = |sum: u32| if per_stop_nights { sum + 1 } else { sum };
    let missing = per_stop.iter().filter(|d| d.is_none()).count() as u32;
    if missing == 0 {
        let days = trip_days_of(assigned);
        if let Some(total) = total
            && total.abs_diff(days) > 1
        {
            return Err(IntakeError::Inconsistent(format!(
                "it asks for {total} days in all, but the stays it lists add up to {days} days."
            )));
        }
        let mut stay_days: Vec<u32> = per_stop.iter().map(|d| d.unwrap_or(1)).collect();
        let days = total
            .unwrap_or(days)
            .max(stay_days.len() as u32)
            .min(MAX_DAYS);
        balance(&mut stay_days, days);
        return Ok(Stays {
            destinations: order,
            stay_days,
            days: Some(days),
        });
    }
    let remainder = match total {
        Some(total) if total > assigned => total - assigned,
        Some(total) => {
            return Err(IntakeError::Inconsistent(format!(
                "it asks for {total} days in all, but the stays it gives already take {assigned} days and leave none for the other stops."
            )));
        }
        None => DEFAULT_STOP_DAYS * missing,
    };
    let shares = super::itinerary::apportion(remainder, &vec![1; missing as usize], 1);
    let mut shares = shares.into_iter();
    let stay_days: Vec<u32> = per_stop
        .iter()
        .map(|d| d.unwrap_or_else(|| shares.next().unwrap_or(1)))
        .collect();
    let days = stay_days.iter().sum::<u32>().min(MAX_DAYS);
    Ok(Stays {
        destinations: order,
        stay_days,
        days: Some(days),
    })
}

/// Makes per-stop days add up to `days` (a stay in nights ends with a travel day).
fn balance(stay_days: &mut [u32], days: u32) {
    let sum: u32 = stay_days.iter().sum();
    if let Some(last) = stay_days.last_mut() {
        if sum < days {
            *last += days - sum;
        } else if sum > days && *last > sum - days {
            *last -= sum - days;
        }
    }
}

fn mention_id(mention: &Mention) -> Option<String> {
    match mention {
        Mention::Curated(d) => Some(d.id.clone()),
        Mention::City(p) => Some(place_id(p)),
        _ => None,
    }
}

/// The id a city outside the curated dataset goes by in a trip request.
pub(crate) fn place_id(place: &gazetteer::Place) -> String {
    format!("place:{}", place.id)
}

/// "a week each", "2 ngày mỗi nơi", "trois jours chacune".
fn distributive(tokens: &Tokens, length: &Length) -> bool {
    const EACH: &[&str] = &[
        "each",
        "per city",
        "per place",
        "per stop",
        "in each",
        "moi noi",
        "moi thanh pho",
        "moi diem",
        "chacun",
        "chacune",
        "cada una",
        "cada uno",
        "en cada",
        "jeweils",
        "pro stadt",
    ];
    (length.span.end..length.span.end + 2).any(|k| match_at(tokens, k, EACH).is_some())
}

/// Which stop mention a length describes, if a single one.
fn attach(tokens: &Tokens, stops: &[Found], length: &Length, stop_first: bool) -> Option<usize> {
    const CUES: &str = "in at o tai a en im di ke around exploring the de du ve ra no na em nel";
    const FILLERS: &str = "for cho pendant durante fur trong khoang about around roughly only just \
        chi tam maybe perhaps full";
    // "3 days in Sapa": the stop right after, unless it opens a list ("1 day in
    // Hanoi, Hue and Sapa" is the whole list's day).
    let after = stops
        .iter()
        .position(|f| f.span.start >= length.span.end)
        .filter(|&k| {
            let gap: Vec<usize> = (length.span.end..stops[k].span.start).collect();
            gap.len() <= 2
                && gap
                    .iter()
                    .all(|&g| tokens.word(g).is_some_and(|w| listed(CUES, w)))
                && (length.implied_unit || k + 1 >= stops.len() || !in_list(tokens, stops, k + 1))
        });
    if length.implied_unit {
        return after.or_else(|| {
            // "… Victoria Falls 2", "kampot for 3": a count right after its stop.
            stops
                .iter()
                .rposition(|f| f.span.end <= length.span.start)
                .filter(|&k| {
                    (stops[k].span.end..length.span.start)
                        .all(|g| tokens.word(g).is_some_and(|w| listed(FILLERS, w)))
                })
        });
    }
    // "Sapa 3 ngày", "Siem Reap (2 days)", "Kruger safari 4 days": the stop just before,
    // with no comma or full stop between (that would make the length the trip's).
    let before = stops
        .iter()
        .rposition(|f| f.span.end <= length.span.start)
        .filter(|&k| {
            let gap: Vec<usize> = (stops[k].span.end..length.span.start).collect();
            let close = gap.len() <= 3
                && gap.iter().all(|&g| match tokens.get(g) {
                    Some(Token::Paren | Token::Dash) => true,
                    // "Kruger safari 4 days"; but "and", "then" start the next stop's part.
                    Some(Token::Word { text, .. }) => {
                        listed(FILLERS, text)
                            || (stop_first && gap.len() <= 2 && !listed(CONJUNCTIONS, text))
                    }
                    _ => false,
                });
            close && !in_list(tokens, stops, k)
        });
    match (before, after) {
        (Some(b), Some(a)) => Some(if stop_first { b } else { a }),
        (b, a) => b.or(a),
    }
}

/// Words that join the parts of a request.
const CONJUNCTIONS: &str = "and then et puis y luego und dann e poi va roi xong sau lalu dan terus";

/// Whether stop `k` closes a list of stops ("Bangkok, Chiang Mai and Phuket"), in
/// which case a length after it is the whole list's.
fn in_list(tokens: &Tokens, stops: &[Found], k: usize) -> bool {
    let Some(prev) = k.checked_sub(1).map(|p| &stops[p]) else {
        return false;
    };
    let gap: Vec<usize> = (prev.span.end..stops[k].span.start).collect();
    !gap.is_empty()
        && gap.len() <= 2
        && gap.iter().all(|&g| match tokens.get(g) {
            Some(Token::Break | Token::Dash | Token::Arrow) => true,
            Some(Token::Word { text, .. }) => listed("and va et y und e dan plus", text),
            _ => false,
        })
}

/// Counts without a unit that are lengths in a text that already counts in days: right
/// before a stop ("4 lisbon 2 porto", "3 in Paris"), right after one in a text that
/// names stops first ("Victoria Falls 2", "kampot for 3"), or chained to a length
/// ("3+3+1 days").
fn implied_lengths(
    tokens: &Tokens,
    stops: &[Found],
    lengths: &mut Vec<Length>,
    taken: &[Range<usize>],
    stop_first: bool,
) {
    let Some(unit) = lengths.iter().find(|l| !l.implied_unit).cloned() else {
        return;
    };
    let nights = unit.nights_only;
    let mut found: Vec<Length> = Vec::new();
    for i in 0..tokens.len() {
        if taken.iter().any(|r| r.contains(&i)) || lengths.iter().any(|l| l.span.contains(&i)) {
            continue;
        }
        let Some(n) = tokens.get(i).and_then(Token::bare_number) else {
            continue;
        };
        if !(1.0..=60.0).contains(&n) || n.fract() != 0.0 {
            continue;
        }
        let cue = usize::from(
            tokens
                .word(i + 1)
                .is_some_and(|w| listed("in o tai a en im at no na em", w)),
        );
        let before_stop = stops.iter().any(|f| f.span.start == i + 1 + cue);
        let after_stop = stop_first
            && stops.iter().any(|f| {
                f.span.end <= i
                    && (f.span.end..i).all(|g| tokens.word(g).is_some_and(|w| listed("for cho", w)))
            })
            && (matches!(tokens.get(i + 1), None | Some(Token::Break))
                || matches!(tokens.word(i + 1), Some("then" | "roi" | "xong")));
        // "kids 8 and 11", "bé 5 tuổi": ages, not lengths.
        let age = tokens
            .prev_word(i)
            .is_some_and(|w| listed("kids children aged ages age be tuoi son daughter", w))
            || tokens
                .word(i + 1)
                .is_some_and(|w| listed("tuoi t yo years", w));
        if age {
            continue;
        }
        // "3 and 3 and 1 days": every count joined to a length by "and"/"+".
        let chained = (i + 1..tokens.len())
            .take_while(|&k| {
                tokens.word(k) == Some("and")
                    || tokens.get(k).and_then(Token::bare_number).is_some()
            })
            .last()
            .is_some_and(|last| {
                lengths.iter().any(|l| l.span.start == last) && tokens.word(i + 1) == Some("and")
            });
        if !(before_stop || after_stop || chained) {
            continue;
        }
        let days = if nights { n + 1.0 } else { n };
        found.push(Length {
            days: (days as u32).clamp(1, MAX_DAYS),
            span: i..i + 1,
            nights_only: nights,
            implied_unit: true,
            conflict: false,
        });
    }
    // A chain's last count carries the unit ("… 1 days"): it belongs to the chain too.
    if found.iter().any(|l| tokens.word(l.span.end) == Some("and")) {
        for l in lengths.iter_mut() {
            if l.span.start > 0 && tokens.word(l.span.start - 1) == Some("and") {
                l.implied_unit = true;
            }
        }
    }
    lengths.extend(found);
    lengths.sort_by_key(|l| l.span.start);
}

impl TripRequest {
    /// Days at each destination, in order, as the planners split the trip: the
    /// traveller's own lengths when they gave them, else as evenly as possible.
    pub fn stay_lengths(&self) -> Vec<u32> {
        if self.stay_days.len() == self.destinations.len()
            && self.stay_days.iter().sum::<u32>() == self.days
        {
            return self.stay_days.clone();
        }
        super::itinerary::apportion(self.days, &vec![1; self.destinations.len()], 1)
    }
}

/// The embedded planner plans curated destinations only: a city it does not cover
/// fails with the closest curated destinations (same country first, then nearest).
pub fn require_curated(trip: &TripRequest) -> Result<(), IntakeError> {
    let Some(id) = trip
        .destinations
        .iter()
        .find(|id| destination(id).is_none())
    else {
        return Ok(());
    };
    let place = id
        .strip_prefix("place:")
        .and_then(|n| n.parse::<u32>().ok())
        .and_then(|n| gazetteer::all_places().iter().find(|p| p.id == n));
    let Some(place) = place else {
        return Err(IntakeError::NotCurated {
            place: id.clone(),
            suggestions: Vec::new(),
        });
    };
    let mut nearby: Vec<(&Destination, f64)> = destinations()
        .iter()
        .map(|d| {
            let km = super::geo::great_circle_km(place.lat, place.lon, d.lat, d.lon);
            let matches = trip
                .interests
                .iter()
                .filter(|i| d.attractions.iter().any(|a| &a.category == *i))
                .count() as f64;
            // Same country counts as 2,000 km closer; each shared interest as 300 km.
            let same_country = if d.country_code == place.country_code {
                2000.0
            } else {
                0.0
            };
            (d, km - same_country - 300.0 * matches)
        })
        .collect();
    nearby.sort_by(|a, b| a.1.total_cmp(&b.1));
    Err(IntakeError::NotCurated {
        place: place.label(),
        suggestions: nearby
            .iter()
            .take(3)
            .map(|(d, _)| format!("{}, {}", d.city, d.country))
            .collect(),
    })
}

/// Whether `name` is a place the grammar resolves: a destination, a city of the
/// gazetteer, a country or a region ("Marrakech", "Ouarzazate", "Japan", "Europe").
pub fn recognises_place(name: &str) -> bool {
    let mut constraints = Map::new();
    constraints.insert("destination".into(), Value::String(name.to_string()));
    let mut req = TripRequest {
        origin: None,
        destinations: Vec::new(),
        stay_days: Vec::new(),
        start_date: NaiveDate::MIN,
        days: 1,
        nights: 1,
        travelers: 1,
        budget_usd: None,
        budget_source: None,
        interests: Vec::new(),
        tier: Tier::default(),
        month: None,
        wish: None,
        notes: Vec::new(),
    };
    constraints::apply_constraints(&mut req, &constraints, NaiveDate::MIN).is_ok()
}

/// Folds text for matching: lowercase, no diacritics, punctuation as single spaces.
pub fn normalize(text: &str) -> String {
    normalize_name(text)
}

pub(crate) fn nights_for(days: u32) -> u32 {
    days.saturating_sub(1).max(1)
}

fn days_after(date: NaiveDate, days: u64) -> NaiveDate {
    date.checked_add_days(Days::new(days)).unwrap_or(date)
}

fn validate(req: TripRequest, today: NaiveDate) -> Result<TripRequest, IntakeError> {
    if req.start_date < today {
        return Err(IntakeError::StartDateInPast {
            date: req.start_date,
            today,
        });
    }
    if (req.days as usize) < req.destinations.len() {
        return Err(IntakeError::TooManyDestinations {
            days: req.days,
            destinations: req.destinations.len(),
        });
    }
    Ok(req)
}

/// If the traveller named a country we cover, list its cities; otherwise a sampler.
fn suggestion_for(query: &str) -> String {
    let folded = format!(" {} ", normalize_name(query));
    let in_country: Vec<&Destination> = destinations()
        .iter()
        .filter(|d| folded.contains(&format!(" {} ", normalize_name(&d.country))))
        .collect();
    if let Some(first) = in_country.first() {
        let cities: Vec<&str> = in_country.iter().map(|d| d.city.as_str()).collect();
        return format!("Destinations in {}: {}.", first.country, cities.join(", "));
    }
    let sampler = [
        "hanoi",
        "ho-chi-minh-city",
        "tokyo",
        "bangkok",
        "paris",
        "new-york",
        "mexico-city",
    ];
    let names: Vec<&str> = sampler
        .iter()
        .filter_map(|id| destination(id))
        .map(|d| d.city.as_str())
        .collect();
    let more = destinations().len().saturating_sub(names.len());
    format!(
        "Supported destinations include {} and {more} more.",
        names.join(", ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2027, 1, 15).unwrap()
    }

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    fn parse(query: &str) -> TripRequest {
        parse_trip_request(query, &Map::new(), today()).unwrap_or_else(|e| panic!("{query}: {e}"))
    }

    fn parse_with(query: &str, constraints: Value) -> Result<TripRequest, IntakeError> {
        let Value::Object(map) = constraints else {
            panic!("constraints must be an object")
        };
        parse_trip_request(query, &map, today())
    }

    #[test]
    fn parses_a_single_destination_with_defaults() {
        let req = parse("Tokyo");
        assert_eq!(req.destinations, ["tokyo"]);
        assert_eq!((req.days, req.nights, req.travelers), (5, 4, 1));
        assert_eq!(req.start_date, date(2027, 2, 14));
        assert_eq!(
            (req.origin, req.budget_usd, req.month, req.tier),
            (None, None, None, Tier::Mid)
        );
    }

    #[test]
    fn parses_destination_written_with_diacritics() {
        assert_eq!(parse("Một tuần ở Đà Nẵng").destinations, ["da-nang"]);
    }

    #[test]
    fn parses_destination_aliases() {
        assert_eq!(parse("a week in Saigon").destinations, ["ho-chi-minh-city"]);
        assert_eq!(parse("long weekend in NYC").destinations, ["new-york"]);
    }

    #[test]
    fn parses_uppercase_airport_code_as_destination() {
        assert_eq!(parse("4 days around DAD").destinations, ["da-nang"]);
    }

    #[test]
    fn ignores_lowercase_words_that_look_like_airport_codes() {
        assert_eq!(
            parse("Visit Hanoi with my dad and see the sea").destinations,
            ["hanoi"]
        );
    }

    #[test]
    fn parses_two_city_trip_with_and() {
        let req = parse("Hanoi and Ha Long Bay for 5 days");
        assert_eq!(req.destinations, ["hanoi", "ha-long"]);
        assert_eq!(req.days, 5);
    }

    #[test]
    fn parses_two_city_trip_with_then() {
        let req = parse("Tokyo then Kyoto, 10 day trip");
        assert_eq!(req.destinations, ["tokyo", "kyoto"]);
        assert_eq!(req.days, 10);
    }

    #[test]
    fn parses_origin_airport_code_after_from() {
        let req = parse("from LAX to Tokyo");
        assert_eq!(req.origin.as_deref(), Some("LAX"));
        assert_eq!(req.destinations, ["tokyo"]);
    }

    #[test]
    fn parses_origin_city_and_keeps_it_out_of_destinations() {
        let req = parse("Flying from Chicago to Paris");
        assert_eq!(req.origin.as_deref(), Some("ORD"));
        assert_eq!(req.destinations, ["paris"]);
        let req = parse("from Hanoi to Hue");
        assert_eq!(req.origin.as_deref(), Some("HAN"));
        assert_eq!(req.destinations, ["hue"]);
    }

    #[test]
    fn origin_falls_back_to_departure_city_constraint() {
        let req = parse_with("Paris for a week", json!({"departure_city": "Boston"})).unwrap();
        assert_eq!(req.origin.as_deref(), Some("BOS"));
        let req = parse_with("Paris for a week", json!({"departure_city": "sfo"})).unwrap();
        assert_eq!(req.origin.as_deref(), Some("SFO"));
    }

    #[test]
    fn parses_durations_in_days() {
        assert_eq!(parse("5-day trip to Hue").days, 5);
        assert_eq!(parse("5 days in Hue").days, 5);
        assert_eq!(parse("10 day Bangkok trip").days, 10);
        assert_eq!(parse("Hue, 3days").days, 3);
    }

    #[test]
    fn a_day_trip_mentioned_first_does_not_set_the_length() {
        assert_eq!(parse("Hanoi with a day trip to Ha Long, 6 days").days, 6);
    }

    #[test]
    fn parses_nights_as_one_more_day() {
        let req = parse("5 nights in Bali");
        assert_eq!((req.days, req.nights), (6, 5));
    }

    #[test]
    fn parses_weeks_and_fortnights() {
        assert_eq!(parse("a week in Rome").days, 7);
        assert_eq!(parse("two weeks in Rome").days, 14);
        assert_eq!(parse("2 weeks in Rome").days, 14);
        assert_eq!(parse("a fortnight in Rome").days, 14);
    }

    #[test]
    fn parses_weekend_as_two_days_and_a_long_one_as_three() {
        let req = parse("weekend in Lisbon");
        assert_eq!((req.days, req.nights), (2, 1));
        assert_eq!(parse("long weekend in Lisbon").days, 3);
    }

    #[test]
    fn clamps_duration_to_thirty_days_and_keeps_one_night_minimum() {
        assert_eq!(parse("45 days in Lima").days, 30);
        let req = parse("1 day in Lima");
        assert_eq!((req.days, req.nights), (1, 1));
    }

    #[test]
    fn parses_budget_with_dollar_sign_and_commas() {
        assert_eq!(parse("Paris for $3000").budget_usd, Some(3000.0));
        assert_eq!(parse("Paris for $3,000").budget_usd, Some(3000.0));
    }

    #[test]
    fn parses_budget_with_currency_word() {
        assert_eq!(parse("Paris under 3000 USD").budget_usd, Some(3000.0));
        assert_eq!(parse("Paris, 1500 dollars total").budget_usd, Some(1500.0));
    }

    #[test]
    fn parses_budget_written_as_3k() {
        assert_eq!(parse("Paris on 3k").budget_usd, Some(3000.0));
        assert_eq!(parse("Paris for $2.5k").budget_usd, Some(2500.0));
    }

    #[test]
    fn parses_budget_of_bare_number_after_budget_word() {
        let req = parse("Paris with a budget of 1500");
        assert_eq!(req.budget_usd, Some(1500.0));
        assert_eq!(req.tier, Tier::Mid, "an amount budget is not a budget tier");
    }

    #[test]
    fn does_not_read_years_or_day_counts_as_budget() {
        assert_eq!(parse("Paris in 2027 for 10 days").budget_usd, None);
        assert_eq!(parse("Paris for under 10 days").budget_usd, None);
        assert_eq!(parse("Paris on March 10").budget_usd, None);
    }

    #[test]
    fn multiplies_per_person_budget_by_party_size() {
        assert_eq!(
            parse("Paris for 2 people, $1000 per person").budget_usd,
            Some(2000.0)
        );
    }

    #[test]
    fn parses_party_size_from_counts() {
        assert_eq!(parse("Tokyo for 2").travelers, 2);
        assert_eq!(parse("Tokyo, 3 people").travelers, 3);
        assert_eq!(parse("Tokyo with two adults").travelers, 2);
        assert_eq!(parse("Tokyo for 2 adults and 2 kids").travelers, 4);
        assert_eq!(parse("Tokyo for 5 days for 3").travelers, 3);
    }

    #[test]
    fn parses_family_of_four() {
        let req = parse("Family of four to Singapore");
        assert_eq!(req.travelers, 4);
        assert!(req.interests.contains(&"family".to_string()));
    }

    #[test]
    fn parses_couples_and_partners_as_two() {
        assert_eq!(parse("Romantic Paris trip for a couple").travelers, 2);
        assert_eq!(parse("Paris with my wife").travelers, 2);
        assert_eq!(parse("Paris honeymoon").travelers, 2);
    }

    #[test]
    fn parses_solo_travel_as_one() {
        assert_eq!(parse("Solo trip to Bangkok").travelers, 1);
        assert_eq!(parse("Bangkok alone for 4 days").travelers, 1);
    }

    #[test]
    fn parses_named_month_as_the_tenth_in_the_future() {
        let req = parse("Kyoto in March");
        assert_eq!(req.start_date, date(2027, 3, 10));
        assert_eq!(req.month, Some(3));
        // The current month means its remaining days, from a few days out.
        assert_eq!(parse("Kyoto in January").start_date, date(2027, 1, 18));
        assert_eq!(parse("Kyoto in March 2028").start_date, date(2028, 3, 10));
    }

    #[test]
    fn parses_month_and_day_in_either_order() {
        assert_eq!(parse("Kyoto from March 10").start_date, date(2027, 3, 10));
        assert_eq!(
            parse("Kyoto starting 22nd of April").start_date,
            date(2027, 4, 22)
        );
        assert_eq!(parse("Kyoto on 5 Feb").start_date, date(2027, 2, 5));
    }

    #[test]
    fn parses_iso_dates_and_next_month() {
        let req = parse("Kyoto 2027-03-10 for 4 days");
        assert_eq!((req.start_date, req.days), (date(2027, 3, 10), 4));
        assert_eq!(parse("Kyoto next month").start_date, date(2027, 2, 10));
    }

    #[test]
    fn does_not_mistake_may_the_verb_for_a_month() {
        let req = parse("I may visit Tokyo");
        assert_eq!(req.month, None);
        assert_eq!(parse("Tokyo in May").start_date, date(2027, 5, 10));
    }

    #[test]
    fn maps_interest_keywords_to_categories() {
        let req = parse("Hanoi for street food, museums and temples");
        assert_eq!(req.interests, ["food", "history", "culture"]);
        let req = parse("Bali: beach, hiking, nightlife, shopping, art, relax at a spa, kids");
        assert_eq!(
            req.interests,
            [
                "beach",
                "adventure",
                "nature",
                "nightlife",
                "shopping",
                "art",
                "relaxation",
                "family"
            ]
        );
    }

    #[test]
    fn reads_tier_words() {
        assert_eq!(parse("luxury week in Dubai").tier, Tier::Luxury);
        assert_eq!(parse("five star Dubai").tier, Tier::Luxury);
        assert_eq!(parse("budget trip to Hanoi").tier, Tier::Budget);
        assert_eq!(parse("Hanoi on a budget").tier, Tier::Budget);
        assert_eq!(parse("cheap Hanoi").tier, Tier::Budget);
        assert_eq!(parse("backpacking Hanoi").tier, Tier::Budget);
    }

    #[test]
    fn constraints_override_the_text() {
        let constraints = json!({
            "budget_usd": 5000,
            "duration_days": 8,
            "travelers": 3,
            "destination": "Hanoi, Ha Long",
            "start_date": "2027-04-01",
            "interests": ["food", "hiking"],
            "departure_city": "SEA",
            "tier": "luxury",
        });
        let req = parse_with(
            "5 days in Tokyo for 2 under $3000 from LAX, budget trip",
            constraints,
        )
        .unwrap();
        assert_eq!(req.destinations, ["hanoi", "ha-long"]);
        assert_eq!((req.days, req.nights, req.travelers), (8, 7, 3));
        assert_eq!(req.budget_usd, Some(5000.0));
        assert_eq!(req.start_date, date(2027, 4, 1));
        assert_eq!(req.month, Some(4));
        assert_eq!(req.interests, ["food", "adventure", "nature"]);
        assert_eq!(req.origin.as_deref(), Some("SEA"));
        assert_eq!(req.tier, Tier::Luxury);
    }

    #[test]
    fn constraint_destination_alone_is_enough() {
        let req = parse_with("", json!({"destination": ["Tokyo", "Kyoto"]})).unwrap();
        assert_eq!(req.destinations, ["tokyo", "kyoto"]);
        let req = parse_with("plan something", json!({"destination": "Hanoi then Sapa"})).unwrap();
        assert_eq!(req.destinations, ["hanoi", "sapa"]);
    }

    #[test]
    fn null_constraints_are_ignored() {
        let req = parse_with(
            "Tokyo for 3 days",
            json!({"budget_usd": null, "travelers": null}),
        )
        .unwrap();
        assert_eq!((req.days, req.travelers, req.budget_usd), (3, 1, None));
    }

    #[test]
    fn invalid_constraints_name_the_field_and_the_fix() {
        let cases = [
            (
                json!({"duration_days": 0}),
                "constraints.duration_days",
                "from 1 to 30",
            ),
            (
                json!({"duration_days": "a week"}),
                "constraints.duration_days",
                "whole number",
            ),
            (
                json!({"budget_usd": "lots"}),
                "constraints.budget_usd",
                "positive number",
            ),
            (
                json!({"travelers": 2.5}),
                "constraints.travelers",
                "whole number",
            ),
            (
                json!({"start_date": "03/10/2027"}),
                "constraints.start_date",
                "YYYY-MM-DD",
            ),
            (
                json!({"start_date": "2020-01-01"}),
                "constraints.start_date",
                "in the past",
            ),
            (
                json!({"destination": "Narnia"}),
                "constraints.destination",
                "\"Narnia\"",
            ),
            (
                json!({"destination": 42}),
                "constraints.destination",
                "string",
            ),
            (
                json!({"departure_city": "Nowhere"}),
                "constraints.departure_city",
                "IATA code",
            ),
            (
                json!({"interests": ["knitting"]}),
                "constraints.interests",
                "culture, history",
            ),
            (
                json!({"interests": 7}),
                "constraints.interests",
                "array of strings",
            ),
            (
                json!({"tier": "platinum"}),
                "constraints.tier",
                "\"luxury\"",
            ),
        ];
        for (constraints, field, fix) in cases {
            let err = parse_with("Tokyo", constraints.clone()).expect_err(&constraints.to_string());
            let message = err.to_string();
            assert!(message.contains(field), "{message}");
            assert!(message.contains(fix), "{message}");
        }
    }

    #[test]
    fn unknown_destination_error_names_the_unmatched_words_and_the_fix() {
        let err =
            parse_trip_request("Plan a 5-day trip to Narnia", &Map::new(), today()).unwrap_err();
        let message = err.to_string();
        assert!(
            message.starts_with("Could not identify a destination in the request"),
            "{message}"
        );
        assert!(message.contains("\"Narnia\""), "{message}");
        assert!(
            message.contains("Name a city (e.g. \"Tokyo\", \"Hanoi\") or an airport code"),
            "{message}"
        );
        assert!(message.contains("constraints.destination"), "{message}");
        assert!(
            message.contains("Supported destinations include"),
            "{message}"
        );
    }

    #[test]
    fn unknown_destination_groups_capitalised_words() {
        let err =
            parse_trip_request("Take me to New Narnia in May", &Map::new(), today()).unwrap_err();
        let IntakeError::UnknownDestination { unmatched, .. } = err else {
            panic!("wrong error")
        };
        assert_eq!(unmatched, ["New Narnia"]);
    }

    #[test]
    fn naming_only_a_country_asks_for_inspiration_there() {
        let req = parse("A week in Vietnam");
        assert!(req.destinations.is_empty());
        assert_eq!(req.days, 7);
        assert_eq!(req.wish.unwrap().countries, ["VN"]);
    }

    #[test]
    fn rejects_a_start_date_in_the_past() {
        let err = parse_trip_request("Tokyo 2026-12-01", &Map::new(), today()).unwrap_err();
        assert!(matches!(err, IntakeError::StartDateInPast { .. }), "{err}");
    }

    #[test]
    fn rejects_more_destinations_than_days() {
        let err =
            parse_trip_request("1 day in Hanoi, Hue and Sapa", &Map::new(), today()).unwrap_err();
        assert!(
            err.to_string().contains("too short for 3 destinations"),
            "{err}"
        );
    }

    #[test]
    fn same_query_gives_same_request() {
        let query = "10 days from SFO to Tokyo and Kyoto in April for 2, $6k, food and temples";
        assert_eq!(parse(query), parse(query));
        let req = parse(query);
        assert_eq!(req.origin.as_deref(), Some("SFO"));
        assert_eq!(req.destinations, ["tokyo", "kyoto"]);
        assert_eq!(
            (req.days, req.travelers, req.budget_usd),
            (10, 2, Some(6000.0))
        );
        assert_eq!(req.start_date, date(2027, 4, 10));
        assert_eq!(req.interests, ["food", "culture"]);
    }
}
