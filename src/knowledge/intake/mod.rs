//! Turns a traveller's free-text request (plus optional structured constraints) into a
//! [`TripRequest`] the planners can work with.
//!
//! Parsing is keyword-based and deterministic: the same text and `today` always give
//! the same request. Structured constraints win over anything read from the text.

use chrono::{Datelike, Days, Months, NaiveDate};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use utoipa::ToSchema;

use super::dataset::{
    Destination, Tier, destination_by_name, destinations, find_airport, find_destination,
    normalize_name,
};

const DEFAULT_DAYS: u32 = 5;
const MAX_DAYS: u32 = 30;
const MAX_TRAVELERS: u32 = 20;
/// With no date given, assume the trip starts in a month: enough time to book.
const DEFAULT_LEAD_DAYS: u64 = 30;
/// A month named without a day ("in March") starts on this day of it.
const DEFAULT_DAY_OF_MONTH: u32 = 10;
/// Longest destination name in words ("thanh pho ho chi minh").
const MAX_NAME_WORDS: usize = 5;

/// Everything the planners need to know about a trip.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct TripRequest {
    /// IATA code of the departure airport, when known.
    pub origin: Option<String>,
    /// Destination ids in visiting order.
    pub destinations: Vec<String>,
    pub start_date: NaiveDate,
    pub days: u32,
    /// `days - 1`, but at least 1.
    pub nights: u32,
    pub travelers: u32,
    pub budget_usd: Option<f64>,
    /// Attraction categories, most important first.
    pub interests: Vec<String>,
    pub tier: Tier,
    /// The month the traveller asked for, if they named a month or date.
    pub month: Option<u32>,
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
    let tokens = tokenize(query);
    let origin_match = find_origin(&tokens);
    let skip = origin_match.as_ref().map_or(0..0, |(_, span)| span.clone());
    let travelers = read_travelers(&tokens);
    let days = read_days(&tokens).unwrap_or(DEFAULT_DAYS);
    let budget = read_budget(&tokens).map(|(amount, per_person)| {
        if per_person {
            amount * f64::from(travelers)
        } else {
            amount
        }
    });
    let (start_date, month) = match read_start(&tokens, today) {
        Some(date) => (date, Some(date.month())),
        None => (days_after(today, DEFAULT_LEAD_DAYS), None),
    };
    let mut req = TripRequest {
        origin: origin_match.map(|(code, _)| code),
        destinations: find_destinations(&tokens, &skip),
        start_date,
        days,
        nights: nights_for(days),
        travelers,
        budget_usd: budget,
        interests: read_interests(&words(&tokens)),
        tier: read_tier(&tokens),
        month,
    };
    apply_constraints(&mut req, constraints, today)?;
    validate(req, &tokens, query, today)
}

fn nights_for(days: u32) -> u32 {
    days.saturating_sub(1).max(1)
}

fn days_after(date: NaiveDate, days: u64) -> NaiveDate {
    date.checked_add_days(Days::new(days)).unwrap_or(date)
}

fn validate(
    req: TripRequest,
    tokens: &[Token],
    query: &str,
    today: NaiveDate,
) -> Result<TripRequest, IntakeError> {
    if req.destinations.is_empty() {
        let unmatched = unmatched_place_words(tokens);
        return Err(IntakeError::UnknownDestination {
            suggestion: suggestion_for(query),
            unmatched,
        });
    }
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
    let names: Vec<&str> = destinations()
        .iter()
        .filter(|d| sampler.contains(&d.id.as_str()))
        .map(|d| d.city.as_str())
        .collect();
    let more = destinations().len().saturating_sub(names.len());
    format!(
        "Supported destinations include {} and {more} more.",
        names.join(", ")
    )
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    /// A run of letters, folded to plain lowercase ASCII where possible.
    Word {
        text: String,
        capitalized: bool,
        all_caps: bool,
    },
    /// `thousands` is the "3k" suffix; `ordinal` marks "10th".
    Number {
        value: f64,
        thousands: bool,
        ordinal: bool,
    },
    Dollar,
    Date(NaiveDate),
    /// Punctuation that ends a phrase (comma, full stop, ...).
    Break,
}

impl Token {
    fn word(&self) -> Option<&str> {
        match self {
            Token::Word { text, .. } => Some(text),
            _ => None,
        }
    }

    fn plain_number(&self) -> Option<f64> {
        match self {
            Token::Number {
                value,
                thousands: false,
                ordinal: false,
            } => Some(*value),
            Token::Word { text, .. } => number_word(text),
            _ => None,
        }
    }
}

fn tokenize(text: &str) -> Vec<Token> {
    let chars: Vec<char> = text.chars().collect();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_ascii_digit() {
            i = read_number(&chars, i, &mut tokens);
        } else if c.is_alphabetic() {
            i = read_word(&chars, i, &mut tokens);
        } else {
            match c {
                '$' => tokens.push(Token::Dollar),
                ',' | ';' | '.' | '!' | '?' | '(' | ')' | ':' => tokens.push(Token::Break),
                _ => {}
            }
            i += 1;
        }
    }
    tokens
}

fn read_word(chars: &[char], start: usize, tokens: &mut Vec<Token>) -> usize {
    let is_mark = |c: char| ('\u{300}'..='\u{36f}').contains(&c);
    let end = (start..chars.len())
        .find(|&j| !(chars[j].is_alphabetic() || is_mark(chars[j])))
        .unwrap_or(chars.len());
    let raw: String = chars[start..end].iter().collect();
    let letters: Vec<char> = raw.chars().filter(|c| c.is_alphabetic()).collect();
    tokens.push(Token::Word {
        text: normalize_name(&raw),
        capitalized: letters.first().is_some_and(|c| c.is_uppercase()),
        all_caps: letters.len() > 1 && letters.iter().all(|c| c.is_uppercase()),
    });
    end
}

fn read_number(chars: &[char], start: usize, tokens: &mut Vec<Token>) -> usize {
    if let Some((date, end)) = read_iso_date(chars, start) {
        tokens.push(Token::Date(date));
        return end;
    }
    let digit_at = |j: usize| chars.get(j).is_some_and(|c| c.is_ascii_digit());
    let mut digits = String::new();
    let mut i = start;
    while i < chars.len() {
        match chars[i] {
            c if c.is_ascii_digit() => digits.push(c),
            ',' if digit_at(i + 1) && digit_at(i + 2) && digit_at(i + 3) && !digit_at(i + 4) => {}
            '.' if digit_at(i + 1) && !digits.contains('.') => digits.push('.'),
            _ => break,
        }
        i += 1;
    }
    let suffix: String = chars[i..]
        .iter()
        .take_while(|c| c.is_alphabetic())
        .collect::<String>()
        .to_lowercase();
    let thousands = suffix == "k";
    let ordinal = ["st", "nd", "rd", "th"].contains(&suffix.as_str());
    if thousands || ordinal {
        i += suffix.chars().count();
    }
    tokens.push(Token::Number {
        value: digits.parse().unwrap_or(0.0),
        thousands,
        ordinal,
    });
    i
}

/// Reads "2027-03-10" at `start`, returning the date and the index just past it.
fn read_iso_date(chars: &[char], start: usize) -> Option<(NaiveDate, usize)> {
    let candidate: String = chars.get(start..start + 10)?.iter().collect();
    let shape_ok = candidate.char_indices().all(|(k, c)| {
        if k == 4 || k == 7 {
            c == '-'
        } else {
            c.is_ascii_digit()
        }
    });
    if !shape_ok || chars.get(start + 10).is_some_and(|c| c.is_ascii_digit()) {
        return None;
    }
    let date = NaiveDate::parse_from_str(&candidate, "%Y-%m-%d").ok()?;
    Some((date, start + 10))
}

fn words(tokens: &[Token]) -> Vec<&str> {
    tokens.iter().filter_map(Token::word).collect()
}

fn word_at(tokens: &[Token], i: usize) -> Option<&str> {
    tokens.get(i).and_then(Token::word)
}

/// Consecutive words starting at `start` (stopping at numbers or punctuation).
fn phrase(tokens: &[Token], start: usize, len: usize) -> Option<String> {
    let parts: Option<Vec<&str>> = (start..start + len).map(|i| word_at(tokens, i)).collect();
    parts.map(|p| p.join(" "))
}

fn number_word(word: &str) -> Option<f64> {
    const NUMBERS: &str = "zero one two three four five six seven eight nine ten eleven twelve thirteen \
        fourteen fifteen sixteen seventeen eighteen nineteen twenty";
    match word {
        "thirty" => Some(30.0),
        _ => NUMBERS
            .split_whitespace()
            .position(|n| n == word)
            .map(|n| n as f64),
    }
}

/// "from LAX", "departing Chicago", "out of New York": the longest phrase after the cue
/// that names an airport or destination. Returns the IATA code and the token span used.
fn find_origin(tokens: &[Token]) -> Option<(String, std::ops::Range<usize>)> {
    for (i, token) in tokens.iter().enumerate() {
        let start = match token.word() {
            Some("from" | "departing" | "leaving") => i + 1,
            Some("out") if word_at(tokens, i + 1) == Some("of") => i + 2,
            _ => continue,
        };
        for len in (1..=4).rev() {
            if let Some(airport) = phrase(tokens, start, len).and_then(|p| find_airport(&p)) {
                return Some((airport.iata.clone(), start..start + len));
            }
        }
    }
    None
}

/// Destinations in the order they are mentioned, matching the longest name first so
/// "Ha Long Bay" is one place. Only upper-case words ("DAD") are tried as airport codes,
/// since lower-case three-letter words are usually just words.
fn find_destinations(tokens: &[Token], skip: &std::ops::Range<usize>) -> Vec<String> {
    let mut found: Vec<String> = Vec::new();
    let mut i = 0;
    while i < tokens.len() {
        let matched = (1..=MAX_NAME_WORDS)
            .rev()
            .filter(|len| !(i..i + len).any(|k| skip.contains(&k)))
            .find_map(|len| {
                phrase(tokens, i, len)
                    .and_then(|p| destination_by_name(&p))
                    .map(|d| (d, len))
            })
            .or_else(|| {
                airport_code_destination(&tokens[i])
                    .filter(|_| !skip.contains(&i))
                    .map(|d| (d, 1))
            });
        let Some((dest, len)) = matched else {
            i += 1;
            continue;
        };
        if !found.contains(&dest.id) {
            found.push(dest.id.clone());
        }
        i += len;
    }
    found
}

fn airport_code_destination(token: &Token) -> Option<&'static Destination> {
    match token {
        Token::Word {
            text,
            all_caps: true,
            ..
        } if text.len() == 3 => find_destination(text),
        _ => None,
    }
}

/// Words that look like place names but matched nothing, for the error message:
/// capitalised words and words right after "to"/"visit"/"in". Adjacent capitalised
/// words are kept together ("New Atlantis").
fn unmatched_place_words(tokens: &[Token]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut previous_candidate: Option<usize> = None;
    for (i, token) in tokens.iter().enumerate() {
        let Token::Word {
            text, capitalized, ..
        } = token
        else {
            continue;
        };
        let prev = i.checked_sub(1).and_then(|p| word_at(tokens, p));
        let after_cue = matches!(prev, Some("to" | "visit" | "visiting" | "in" | "explore"));
        if !(*capitalized || after_cue) || is_known_word(text) {
            continue;
        }
        match out.last_mut() {
            Some(last) if *capitalized && previous_candidate == i.checked_sub(1) => {
                last.push(' ');
                last.push_str(&title_case(text));
            }
            _ => out.push(title_case(text)),
        }
        previous_candidate = Some(i);
    }
    out.dedup();
    out
}

fn title_case(word: &str) -> String {
    let mut chars = word.chars();
    chars
        .next()
        .map(|first| first.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

/// Filler words that are never place names, space-separated to keep the list compact.
const STOPWORDS: &str = "i im me my we our us you a an the to in on at for of and or with from then \
    trip travel travelling traveling vacation holiday holidays plan planning please help want wanna would \
    like love go going visit visiting explore need looking some days day nights night week weeks month next \
    this can could it is be are around about under over usd dollars per person people adults kids children \
    hi hello hey book find get take spend somewhere place city country tour itinerary getaway break \
    honeymoon anniversary first time best good nice great fun suggest recommend show what where how when \
    during by do see just also really very much lot lots weekend fortnight solo alone couple family wife \
    husband partner budget monday tuesday wednesday thursday friday saturday sunday";

fn listed(list: &str, word: &str) -> bool {
    list.split_whitespace().any(|w| w == word)
}

/// Vocabulary the parser understands or ignores, so it is never reported as a place.
fn is_known_word(word: &str) -> bool {
    listed(STOPWORDS, word)
        || month_number(word).is_some()
        || number_word(word).is_some()
        || categories_for(word).is_some()
        || tier_word(word).is_some()
}

/// Trip length in days from "5-day", "5 nights", "a week", "two weeks", "fortnight",
/// "weekend" and the like; the first mention wins. Clamped to 1..=30.
fn read_days(tokens: &[Token]) -> Option<u32> {
    for (i, token) in tokens.iter().enumerate() {
        let unit = word_at(tokens, i + 1);
        // "a week" is a length, but "a day trip" inside a longer request is not.
        let article =
            matches!(token.word(), Some("a" | "an")) && matches!(unit, Some("week" | "fortnight"));
        let count = token
            .plain_number()
            .or(article.then_some(1.0))
            .filter(|_| !matches!(tokens.get(i.wrapping_sub(1)), Some(Token::Dollar)));
        let days = match (count, unit) {
            (Some(n), Some("day" | "days")) => Some(n),
            (Some(n), Some("night" | "nights")) => Some(n + 1.0),
            (Some(n), Some("week" | "weeks")) => Some(n * 7.0),
            (Some(n), Some("fortnight" | "fortnights")) => Some(n * 14.0),
            (None, _) => match token.word() {
                Some("fortnight") => Some(14.0),
                Some("weekend") if i > 0 && word_at(tokens, i - 1) == Some("long") => Some(4.0),
                Some("weekend") => Some(3.0),
                _ => None,
            },
            _ => None,
        };
        if let Some(days) = days {
            return Some((days.round() as u32).clamp(1, MAX_DAYS));
        }
    }
    None
}

/// Words after which a bare number is a money amount ("budget of 1500", "under 3000").
const MONEY_CUES: &str = "budget under below max maximum spend spending around about total cap limit \
    within than upto approximately roughly";
/// Units that make a number a count rather than an amount ("under 10 days").
const COUNT_UNITS: &str = "day days night nights week weeks people persons person adults adult kids \
    children child travelers travellers pax guests km hours hour stars star of";
const CURRENCY_WORDS: &str = "usd dollars dollar bucks";

/// The first money amount in the text, in dollars, and whether it was "per person".
fn read_budget(tokens: &[Token]) -> Option<(f64, bool)> {
    for (i, token) in tokens.iter().enumerate() {
        let Token::Number {
            value,
            thousands,
            ordinal: false,
        } = token
        else {
            continue;
        };
        let amount = if *thousands { value * 1000.0 } else { *value };
        let prev = i.checked_sub(1).and_then(|p| tokens.get(p));
        let next_word = word_at(tokens, i + 1);
        let explicit = matches!(prev, Some(Token::Dollar))
            || *thousands
            || matches!(tokens.get(i + 1), Some(Token::Dollar))
            || next_word.is_some_and(|w| listed(CURRENCY_WORDS, w))
            || prev.and_then(Token::word) == Some("usd");
        let cued = (1..=3).any(|back| {
            i.checked_sub(back)
                .and_then(|p| word_at(tokens, p))
                .is_some_and(|w| listed(MONEY_CUES, w))
        }) && !next_word.is_some_and(|w| listed(COUNT_UNITS, w))
            && !prev
                .and_then(Token::word)
                .is_some_and(|w| w == "in" || month_number(w).is_some());
        if (explicit || cued) && amount > 0.0 {
            let after = (i + 1..i + 4)
                .filter_map(|k| word_at(tokens, k))
                .collect::<Vec<_>>();
            let per_person = after.windows(2).any(|w| w == ["per", "person"])
                || after.iter().any(|w| ["each", "pp"].contains(w));
            return Some((amount, per_person));
        }
    }
    None
}

/// Party size: explicit counts ("2 adults and 1 child", "family of four", "for 3") beat
/// cues ("couple", "with my wife"), which beat "solo". Defaults to 1.
fn read_travelers(tokens: &[Token]) -> u32 {
    let explicit = explicit_party_size(tokens);
    let text = words(tokens);
    let has = |w: &str| text.contains(&w);
    let has_pair = |a: &str, b: &str| text.windows(2).any(|p| p == [a, b]);
    let companion = [
        "wife",
        "husband",
        "partner",
        "girlfriend",
        "boyfriend",
        "fiance",
        "fiancee",
        "spouse",
        "friend",
    ]
    .iter()
    .any(|w| has_pair("my", w) || has_pair("a", w));
    let size = if let Some(n) = explicit {
        n
    } else if has("couple") || has("honeymoon") || has("couples") || companion {
        2
    } else {
        1
    };
    size.clamp(1, MAX_TRAVELERS)
}

fn explicit_party_size(tokens: &[Token]) -> Option<u32> {
    let mut adults = 0.0;
    let mut kids = 0.0;
    let mut total: Option<f64> = None;
    for (i, token) in tokens.iter().enumerate() {
        let Some(n) = token.plain_number() else {
            continue;
        };
        let prev = i.checked_sub(1).and_then(|p| word_at(tokens, p));
        match (prev, word_at(tokens, i + 1)) {
            (
                _,
                Some(
                    "adults" | "adult" | "people" | "persons" | "travelers" | "travellers" | "pax"
                    | "guests",
                ),
            ) => adults += n,
            (_, Some("kids" | "kid" | "children" | "child" | "teens" | "toddlers")) => kids += n,
            (Some("of"), _)
                if i >= 2
                    && matches!(word_at(tokens, i - 2), Some("family" | "party" | "group")) =>
            {
                total = total.or(Some(n))
            }
            (_, Some("of")) if word_at(tokens, i + 2) == Some("us") => total = total.or(Some(n)),
            (Some("for"), next)
                if !next.is_some_and(|w| listed(COUNT_UNITS, w) || listed(CURRENCY_WORDS, w)) =>
            {
                total = total.or(Some(n))
            }
            (_, Some("friends")) if prev == Some("with") => total = total.or(Some(n + 1.0)),
            _ => {}
        }
    }
    let counted = match (adults > 0.0, kids > 0.0) {
        (true, _) => Some(adults + kids),
        (false, true) => Some(kids + 2.0),
        _ => None,
    };
    counted
        .or(total)
        .filter(|n| *n >= 1.0)
        .map(|n| n.round() as u32)
}

fn month_number(word: &str) -> Option<u32> {
    const MONTHS: [(&str, &str); 12] = [
        ("january", "jan"),
        ("february", "feb"),
        ("march", "mar"),
        ("april", "apr"),
        ("may", "may"),
        ("june", "jun"),
        ("july", "jul"),
        ("august", "aug"),
        ("september", "sep"),
        ("october", "oct"),
        ("november", "nov"),
        ("december", "dec"),
    ];
    let position = MONTHS.iter().position(|(full, short)| {
        word == *full || word == *short || (word == "sept" && *short == "sep")
    })?;
    Some(position as u32 + 1)
}

/// "may" and "march" are also ordinary words; only read them as months when written
/// like a month or next to a date-like word.
fn is_month_here(tokens: &[Token], i: usize) -> Option<u32> {
    let Token::Word {
        text, capitalized, ..
    } = &tokens[i]
    else {
        return None;
    };
    let month = month_number(text)?;
    if !matches!(text.as_str(), "may" | "march" | "mar") {
        return Some(month);
    }
    let prev = i.checked_sub(1).and_then(|p| word_at(tokens, p));
    let cue = prev.is_some_and(|w| {
        [
            "in", "early", "mid", "late", "of", "during", "until", "this", "next", "from", "by",
        ]
        .contains(&w)
    });
    let number_next = matches!(tokens.get(i + 1), Some(Token::Number { .. }));
    let number_before = i > 0 && matches!(tokens.get(i - 1), Some(Token::Number { .. }));
    ((*capitalized && i > 0) || cue || number_next || number_before).then_some(month)
}

/// Start date from an ISO date, "March 10", "10th of March", "in March" (the 10th),
/// "next month", "next week" or "tomorrow". Dates without a year are the next future one.
fn read_start(tokens: &[Token], today: NaiveDate) -> Option<NaiveDate> {
    let iso = tokens.iter().find_map(|t| match t {
        Token::Date(d) => Some(*d),
        _ => None,
    });
    if iso.is_some() {
        return iso;
    }
    for i in 0..tokens.len() {
        if let Some(month) = is_month_here(tokens, i) {
            return Some(month_date(tokens, i, month, today));
        }
    }
    let text = words(tokens);
    let pair = |a: &str, b: &str| text.windows(2).any(|p| p == [a, b]);
    if pair("next", "month") {
        let next = today.checked_add_months(Months::new(1))?;
        return NaiveDate::from_ymd_opt(next.year(), next.month(), DEFAULT_DAY_OF_MONTH);
    }
    if pair("next", "week") {
        return Some(days_after(today, 7));
    }
    text.contains(&"tomorrow").then(|| days_after(today, 1))
}

fn month_date(tokens: &[Token], i: usize, month: u32, today: NaiveDate) -> NaiveDate {
    let day_number = |t: Option<&Token>| match t {
        Some(Token::Number {
            value,
            thousands: false,
            ..
        }) if (1.0..=31.0).contains(value) && value.fract() == 0.0 => Some(*value as u32),
        _ => None,
    };
    let before = i
        .checked_sub(1)
        .and_then(|p| {
            if word_at(tokens, p) == Some("of") {
                p.checked_sub(1)
            } else {
                Some(p)
            }
        })
        .and_then(|p| day_number(tokens.get(p)));
    let after = day_number(tokens.get(i + 1));
    let year_after = tokens[i + 1..]
        .iter()
        .take(3)
        .take_while(|t| !matches!(t, Token::Word { .. }))
        .find_map(|t| match t {
            Token::Number { value, .. } if (2000.0..=2100.0).contains(value) => Some(*value as i32),
            _ => None,
        });
    let day = after.or(before).unwrap_or(DEFAULT_DAY_OF_MONTH);
    next_occurrence(today, month, day, year_after)
}

/// The given month/day in `year`, or else the first such date on or after `today`.
fn next_occurrence(today: NaiveDate, month: u32, day: u32, year: Option<i32>) -> NaiveDate {
    let make = |y: i32| {
        NaiveDate::from_ymd_opt(y, month, day).or_else(|| NaiveDate::from_ymd_opt(y, month, 28))
    };
    if let Some(date) = year.and_then(make) {
        return date;
    }
    match make(today.year()) {
        Some(date) if date >= today => date,
        _ => make(today.year() + 1).unwrap_or(today),
    }
}

/// Keyword (single word or two-word phrase) to attraction categories.
const INTEREST_KEYWORDS: &[(&str, &[&str])] = &[
    ("food", &["food"]),
    ("foodie", &["food"]),
    ("street food", &["food"]),
    ("cuisine", &["food"]),
    ("culinary", &["food"]),
    ("eating", &["food"]),
    ("restaurants", &["food"]),
    ("cooking", &["food"]),
    ("wine", &["food"]),
    ("coffee", &["food"]),
    ("museum", &["history", "culture"]),
    ("museums", &["history", "culture"]),
    ("history", &["history"]),
    ("historic", &["history"]),
    ("historical", &["history"]),
    ("ruins", &["history"]),
    ("culture", &["culture"]),
    ("cultural", &["culture"]),
    ("temple", &["culture"]),
    ("temples", &["culture"]),
    ("pagodas", &["culture"]),
    ("shrines", &["culture"]),
    ("traditional", &["culture"]),
    ("art", &["art"]),
    ("arts", &["art"]),
    ("galleries", &["art"]),
    ("gallery", &["art"]),
    ("architecture", &["architecture"]),
    ("beach", &["beach"]),
    ("beaches", &["beach"]),
    ("swimming", &["beach"]),
    ("islands", &["beach"]),
    ("hiking", &["adventure", "nature"]),
    ("hike", &["adventure", "nature"]),
    ("hikes", &["adventure", "nature"]),
    ("trekking", &["adventure", "nature"]),
    ("trek", &["adventure", "nature"]),
    ("adventure", &["adventure"]),
    ("adventurous", &["adventure"]),
    ("outdoors", &["nature", "adventure"]),
    ("outdoor", &["nature", "adventure"]),
    ("snorkelling", &["adventure", "beach"]),
    ("snorkeling", &["adventure", "beach"]),
    ("diving", &["adventure", "beach"]),
    ("surfing", &["adventure", "beach"]),
    ("nature", &["nature"]),
    ("wildlife", &["nature"]),
    ("scenery", &["nature"]),
    ("mountains", &["nature", "adventure"]),
    ("parks", &["nature"]),
    ("nightlife", &["nightlife"]),
    ("bars", &["nightlife"]),
    ("clubs", &["nightlife"]),
    ("clubbing", &["nightlife"]),
    ("partying", &["nightlife"]),
    ("shopping", &["shopping"]),
    ("markets", &["shopping", "food"]),
    ("relax", &["relaxation"]),
    ("relaxing", &["relaxation"]),
    ("relaxation", &["relaxation"]),
    ("spa", &["relaxation"]),
    ("spas", &["relaxation"]),
    ("massage", &["relaxation"]),
    ("wellness", &["relaxation"]),
    ("kids", &["family"]),
    ("children", &["family"]),
    ("family", &["family"]),
];

/// Categories the keyword table can produce, for error messages.
const CATEGORIES: &[&str] = &[
    "culture",
    "history",
    "food",
    "nature",
    "adventure",
    "beach",
    "nightlife",
    "shopping",
    "art",
    "relaxation",
    "family",
    "architecture",
];

fn categories_for(keyword: &str) -> Option<&'static [&'static str]> {
    INTEREST_KEYWORDS
        .iter()
        .find(|(k, _)| *k == keyword)
        .map(|(_, cats)| *cats)
        .or_else(|| {
            CATEGORIES
                .iter()
                .position(|c| *c == keyword)
                .map(|p| &CATEGORIES[p..=p])
        })
}

/// Categories in order of first mention, two-word phrases ("street food") first.
fn read_interests(words: &[&str]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut i = 0;
    while i < words.len() {
        let pair = words.get(i + 1).map(|next| format!("{} {next}", words[i]));
        let (cats, used) = match pair.as_deref().and_then(categories_for) {
            Some(cats) => (Some(cats), 2),
            None => (categories_for(words[i]), 1),
        };
        for cat in cats.unwrap_or_default() {
            if !out.iter().any(|c| c == cat) {
                out.push((*cat).to_string());
            }
        }
        i += used;
    }
    out
}

fn tier_word(word: &str) -> Option<Tier> {
    match word {
        "luxury" | "luxurious" | "upscale" | "splurge" | "lavish" => Some(Tier::Luxury),
        "cheap" | "backpacking" | "backpacker" | "hostel" | "hostels" | "shoestring" | "frugal" => {
            Some(Tier::Budget)
        }
        "midrange" | "moderate" => Some(Tier::Mid),
        _ => None,
    }
}

/// "budget" alone often introduces an amount ("a budget of 1500"), so it only sets the
/// tier in phrases like "on a budget" or "budget hotels".
fn read_tier(tokens: &[Token]) -> Tier {
    const BUDGET_NOUNS: &[&str] = &[
        "trip",
        "travel",
        "hotel",
        "hotels",
        "friendly",
        "stay",
        "stays",
        "option",
        "options",
        "accommodation",
        "style",
        "traveller",
        "traveler",
        "backpacker",
    ];
    for (i, token) in tokens.iter().enumerate() {
        let Some(word) = token.word() else { continue };
        let next = word_at(tokens, i + 1);
        let prev = i.checked_sub(1).and_then(|p| word_at(tokens, p));
        if let Some(tier) = tier_word(word) {
            return tier;
        }
        let budget_style = next.is_some_and(|n| BUDGET_NOUNS.contains(&n))
            || (prev == Some("a") && matches!(tokens.get(i + 1), None | Some(Token::Break)));
        match word {
            "budget" if budget_style => return Tier::Budget,
            "star"
                if prev == Some("five")
                    || matches!(tokens.get(i.wrapping_sub(1)), Some(Token::Number { value, .. }) if *value == 5.0) =>
            {
                return Tier::Luxury;
            }
            "high" if next == Some("end") => return Tier::Luxury,
            "mid" if next == Some("range") => return Tier::Mid,
            _ => {}
        }
    }
    Tier::default()
}

fn apply_constraints(
    req: &mut TripRequest,
    constraints: &Map<String, Value>,
    today: NaiveDate,
) -> Result<(), IntakeError> {
    let field = |name: &str| constraints.get(name).filter(|v| !v.is_null());
    if let Some(value) = field("destination") {
        req.destinations = constraint_destinations(value)?;
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
            "people from 1 to 20, e.g. 2",
        )?;
    }
    if let Some(value) = field("budget_usd") {
        req.budget_usd = Some(constraint_budget(value)?);
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
    Ok(())
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

fn constraint_destinations(value: &Value) -> Result<Vec<String>, IntakeError> {
    let pieces: Vec<String> = match value {
        Value::String(s) => split_place_list(s),
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
    for piece in pieces.iter().map(|p| p.trim()).filter(|p| !p.is_empty()) {
        let dest = find_destination(piece).ok_or_else(|| {
            invalid("destination", format!("could not match \"{piece}\"; use a supported city such as \"Hanoi\" or \"Tokyo\", or an airport code like \"HAN\"."))
        })?;
        if !ids.contains(&dest.id) {
            ids.push(dest.id.clone());
        }
    }
    if ids.is_empty() {
        return Err(invalid(
            "destination",
            "is empty; name at least one city, e.g. \"Hanoi\".".to_string(),
        ));
    }
    Ok(ids)
}

/// Splits "Hanoi, Ha Long", "Tokyo then Kyoto" or "Hanoi & Sapa" into place names.
fn split_place_list(text: &str) -> Vec<String> {
    let unified = text
        .replace(['/', ';', '&', '+', '→'], ",")
        .replace("->", ",");
    unified
        .split(',')
        .flat_map(|part| {
            let padded = format!(" {part} ");
            padded
                .replace(" and ", ",")
                .replace(" then ", ",")
                .split(',')
                .map(str::to_string)
                .collect::<Vec<_>>()
        })
        .collect()
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
    find_airport(name).map(|a| a.iata.clone()).ok_or_else(|| {
        invalid(
            "departure_city",
            format!("could not find an airport for \"{name}\"; use an IATA code like \"LAX\" or a major city name."),
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
    number.filter(|n| n.is_finite() && *n > 0.0).ok_or_else(|| {
        invalid(
            "budget_usd",
            format!(
                "got {}; use a positive number of US dollars, e.g. 2500.",
                describe(value)
            ),
        )
    })
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
            None => read_interests(&key.split(' ').collect::<Vec<_>>()),
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
    fn parses_weekend_as_three_days_two_nights() {
        let req = parse("weekend in Lisbon");
        assert_eq!((req.days, req.nights), (3, 2));
        assert_eq!(parse("long weekend in Lisbon").days, 4);
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
        assert_eq!(parse("Kyoto in January").start_date, date(2028, 1, 10));
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
                json!({"destination": "Atlantis"}),
                "constraints.destination",
                "\"Atlantis\"",
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
            parse_trip_request("Plan a 5-day trip to Atlantis", &Map::new(), today()).unwrap_err();
        let message = err.to_string();
        assert!(
            message.starts_with("Could not identify a destination in the request"),
            "{message}"
        );
        assert!(message.contains("\"Atlantis\""), "{message}");
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
            parse_trip_request("Take me to New Atlantis in May", &Map::new(), today()).unwrap_err();
        let IntakeError::UnknownDestination { unmatched, .. } = err else {
            panic!("wrong error")
        };
        assert_eq!(unmatched, ["New Atlantis"]);
    }

    #[test]
    fn naming_a_covered_country_suggests_its_cities() {
        let message = parse_trip_request("A week in Vietnam", &Map::new(), today())
            .unwrap_err()
            .to_string();
        assert!(
            message.contains("Destinations in Vietnam: Hanoi, Ha Long"),
            "{message}"
        );
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
