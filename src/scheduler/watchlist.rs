//! A watchlist: what a user asked the scheduler to watch for them. Values are
//! checked when they are built (places resolved to IATA codes, feed URLs
//! parsed, money non-negative), so a stored watchlist is always one the
//! monitors can use. Nothing here knows about HTTP: problems are reported as
//! `Invalid { field, reason }` and the API names them in its 422.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use uuid::Uuid;

use crate::knowledge;

pub const DEFAULT_DROP_THRESHOLD_PCT: f64 = 15.0;
pub const DEFAULT_MIN_GAP_DAYS: u32 = 3;
pub const DEFAULT_HORIZON_DAYS: u32 = 90;
pub const DEFAULT_MIN_SURPLUS_USD: f64 = 200.0;
pub const MAX_ROUTES: usize = 20;
pub const MAX_BUSY_PERIODS: usize = 1_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum WatchKind {
    Price,
    Calendar,
    Budget,
}

impl WatchKind {
    pub const ALL: [WatchKind; 3] = [Self::Price, Self::Calendar, Self::Budget];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Price => "price",
            Self::Calendar => "calendar",
            Self::Budget => "budget",
        }
    }

    /// The fields a watchlist of this kind has besides `name` and `active`.
    fn fields(self) -> &'static [&'static str] {
        match self {
            Self::Price => &["routes", "target_price_usd", "drop_threshold_pct"],
            Self::Calendar => &[
                "ics_url",
                "busy",
                "min_gap_days",
                "horizon_days",
                "preferences",
            ],
            Self::Budget => &[
                "budget_usd",
                "spent_usd",
                "period",
                "min_surplus_usd",
                "preferences",
            ],
        }
    }
}

impl fmt::Display for WatchKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for WatchKind {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        Self::ALL
            .into_iter()
            .find(|k| k.as_str() == s.trim())
            .ok_or_else(|| format!("Unknown kind {s:?}; use price, calendar or budget"))
    }
}

/// One problem with a watchlist's input, `field` relative to the watchlist
/// (`routes[0].origin`).
#[derive(Debug, Clone, PartialEq)]
pub struct Invalid {
    pub field: String,
    pub reason: String,
}

impl Invalid {
    pub fn new(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            reason: reason.into(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Watchlist {
    pub id: Uuid,
    pub user_id: String,
    pub name: Option<String>,
    /// Paused watchlists are kept but not checked.
    pub active: bool,
    #[serde(flatten)]
    pub spec: WatchSpec,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum WatchSpec {
    Price(PriceWatch),
    Calendar(CalendarWatch),
    Budget(BudgetWatch),
}

impl WatchSpec {
    pub fn kind(&self) -> WatchKind {
        match self {
            Self::Price(_) => WatchKind::Price,
            Self::Calendar(_) => WatchKind::Calendar,
            Self::Budget(_) => WatchKind::Budget,
        }
    }
}

/// A route between two known airports, stored as IATA codes.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Route {
    pub origin: String,
    pub destination: String,
    pub departure_date: Option<NaiveDate>,
}

impl Route {
    /// Resolves both places (IATA code or known city name).
    pub fn new(
        origin: &str,
        destination: &str,
        departure_date: Option<NaiveDate>,
        today: NaiveDate,
    ) -> Result<Self, Vec<Invalid>> {
        let mut problems = Vec::new();
        let mut resolve = |field: &str, input: &str| match knowledge::find_airport(input) {
            Some(airport) => Some(airport.iata.clone()),
            None => {
                problems.push(Invalid::new(
                    field,
                    format!("Unknown airport or city {input:?}; use an IATA code like LAX or a known city name"),
                ));
                None
            }
        };
        let origin = resolve("origin", origin);
        let destination = resolve("destination", destination);
        if origin.is_some() && origin == destination {
            problems.push(Invalid::new(
                "destination",
                "Must differ from the origin airport",
            ));
        }
        if departure_date.is_some_and(|d| d < today) {
            problems.push(Invalid::new("departure_date", "Must not be in the past"));
        }
        match (origin, destination) {
            (Some(origin), Some(destination)) if problems.is_empty() => Ok(Self {
                origin,
                destination,
                departure_date,
            }),
            _ => Err(problems),
        }
    }

    /// `LAX->NRT`, the form the workflow's intake reads.
    pub fn label(&self) -> String {
        format!("{}->{}", self.origin, self.destination)
    }

    /// Identifies the route's last seen price: the label plus the date.
    pub fn key(&self) -> String {
        match self.departure_date {
            Some(date) => format!("{}@{date}", self.label()),
            None => self.label(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PriceWatch {
    pub routes: Vec<Route>,
    pub target_price_usd: Option<f64>,
    pub drop_threshold_pct: f64,
}

/// A busy stretch, half-open: `[start, end)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct BusyPeriod {
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
}

impl BusyPeriod {
    /// Each side is a date (`2026-03-02`; an end date is inclusive, the whole
    /// day is busy) or an RFC 3339 date-time (an instant).
    pub fn parse(start: &str, end: &str) -> Result<Self, Invalid> {
        let start = parse_instant(start, false).ok_or_else(|| {
            Invalid::new(
                "start",
                "Must be a date (YYYY-MM-DD) or an RFC 3339 date-time",
            )
        })?;
        let end = parse_instant(end, true).ok_or_else(|| {
            Invalid::new(
                "end",
                "Must be a date (YYYY-MM-DD) or an RFC 3339 date-time",
            )
        })?;
        if end <= start {
            return Err(Invalid::new("end", "Must be after start"));
        }
        Ok(Self { start, end })
    }
}

fn parse_instant(text: &str, is_end: bool) -> Option<DateTime<Utc>> {
    let text = text.trim();
    if let Ok(date) = NaiveDate::parse_from_str(text, "%Y-%m-%d") {
        let day = if is_end { date.succ_opt()? } else { date };
        return Some(day.and_hms_opt(0, 0, 0)?.and_utc());
    }
    DateTime::parse_from_rfc3339(text)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CalendarWatch {
    pub ics_url: Option<String>,
    #[serde(default)]
    pub busy: Vec<BusyPeriod>,
    pub min_gap_days: u32,
    pub horizon_days: u32,
    #[serde(default)]
    pub preferences: Map<String, Value>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BudgetWatch {
    pub budget_usd: f64,
    pub spent_usd: f64,
    /// A label for the budget's period (`2026-03`, `monthly`); part of what
    /// makes a surplus a new finding.
    pub period: Option<String>,
    pub min_surplus_usd: f64,
    #[serde(default)]
    pub preferences: Map<String, Value>,
}

/// An iCalendar feed must be fetched over http(s) from a named host.
pub fn check_ics_url(input: &str) -> Result<String, String> {
    let url = reqwest::Url::parse(input.trim()).map_err(|e| format!("Not a URL: {e}"))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err("Must be an http(s) URL".into());
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err("Must name a host".into());
    }
    Ok(url.to_string())
}

/// The input of a create or an update, already type-checked field by field.
/// `None`: not given; for nullable fields `Some(None)`: cleared.
#[derive(Debug, Clone, Default)]
pub struct WatchlistFields {
    pub name: Option<Option<String>>,
    pub active: Option<bool>,
    pub routes: Option<Vec<Route>>,
    pub target_price_usd: Option<Option<f64>>,
    pub drop_threshold_pct: Option<f64>,
    pub ics_url: Option<Option<String>>,
    pub busy: Option<Vec<BusyPeriod>>,
    pub min_gap_days: Option<u32>,
    pub horizon_days: Option<u32>,
    pub preferences: Option<Map<String, Value>>,
    pub budget_usd: Option<f64>,
    pub spent_usd: Option<f64>,
    pub period: Option<Option<String>>,
    pub min_surplus_usd: Option<f64>,
}

impl WatchlistFields {
    fn given(&self) -> Vec<&'static str> {
        let flags = [
            ("routes", self.routes.is_some()),
            ("target_price_usd", self.target_price_usd.is_some()),
            ("drop_threshold_pct", self.drop_threshold_pct.is_some()),
            ("ics_url", self.ics_url.is_some()),
            ("busy", self.busy.is_some()),
            ("min_gap_days", self.min_gap_days.is_some()),
            ("horizon_days", self.horizon_days.is_some()),
            ("preferences", self.preferences.is_some()),
            ("budget_usd", self.budget_usd.is_some()),
            ("spent_usd", self.spent_usd.is_some()),
            ("period", self.period.is_some()),
            ("min_surplus_usd", self.min_surplus_usd.is_some()),
        ];
        flags
            .into_iter()
            .filter_map(|(name, given)| given.then_some(name))
            .collect()
    }

    /// Fields that belong to another kind of watchlist.
    fn foreign(&self, kind: WatchKind) -> Vec<Invalid> {
        self.given()
            .into_iter()
            .filter(|f| !kind.fields().contains(f))
            .map(|f| Invalid::new(f, format!("Not a field of a {kind} watchlist")))
            .collect()
    }
}

impl WatchSpec {
    /// A new watchlist's settings: required fields checked, defaults filled in.
    pub fn new(kind: WatchKind, fields: WatchlistFields) -> Result<Self, Vec<Invalid>> {
        let mut problems = fields.foreign(kind);
        let spec = match kind {
            WatchKind::Price => {
                if fields.routes.is_none() {
                    problems.push(Invalid::new("routes", "Field required"));
                }
                WatchSpec::Price(PriceWatch {
                    routes: fields.routes.unwrap_or_default(),
                    target_price_usd: fields.target_price_usd.flatten(),
                    drop_threshold_pct: fields
                        .drop_threshold_pct
                        .unwrap_or(DEFAULT_DROP_THRESHOLD_PCT),
                })
            }
            WatchKind::Calendar => WatchSpec::Calendar(CalendarWatch {
                ics_url: fields.ics_url.flatten(),
                busy: fields.busy.unwrap_or_default(),
                min_gap_days: fields.min_gap_days.unwrap_or(DEFAULT_MIN_GAP_DAYS),
                horizon_days: fields.horizon_days.unwrap_or(DEFAULT_HORIZON_DAYS),
                preferences: fields.preferences.unwrap_or_default(),
            }),
            WatchKind::Budget => {
                if fields.budget_usd.is_none() {
                    problems.push(Invalid::new("budget_usd", "Field required"));
                }
                WatchSpec::Budget(BudgetWatch {
                    budget_usd: fields.budget_usd.unwrap_or_default(),
                    spent_usd: fields.spent_usd.unwrap_or_default(),
                    period: fields.period.flatten(),
                    min_surplus_usd: fields.min_surplus_usd.unwrap_or(DEFAULT_MIN_SURPLUS_USD),
                    preferences: fields.preferences.unwrap_or_default(),
                })
            }
        };
        problems.extend(spec.invariants());
        if problems.is_empty() {
            Ok(spec)
        } else {
            Err(problems)
        }
    }

    /// What must hold whatever the order of updates.
    fn invariants(&self) -> Vec<Invalid> {
        match self {
            WatchSpec::Calendar(c) if c.ics_url.is_none() && c.busy.is_empty() => {
                vec![Invalid::new(
                    "ics_url",
                    "Give an ics_url, busy periods, or both",
                )]
            }
            WatchSpec::Calendar(c) if c.min_gap_days > c.horizon_days => {
                vec![Invalid::new("min_gap_days", "Must not exceed horizon_days")]
            }
            _ => Vec::new(),
        }
    }
}

impl Watchlist {
    pub fn new(user_id: String, name: Option<String>, spec: WatchSpec) -> Self {
        let now = Utc::now();
        Self {
            id: Uuid::now_v7(),
            user_id,
            name,
            active: true,
            spec,
            created_at: now,
            updated_at: now,
        }
    }

    pub fn kind(&self) -> WatchKind {
        self.spec.kind()
    }

    /// Applies an update. It may run more than once (the store retries it on
    /// a concurrent write), so it only reads `fields`.
    pub fn apply(&mut self, fields: &WatchlistFields) -> Result<(), Vec<Invalid>> {
        let problems = fields.foreign(self.kind());
        if !problems.is_empty() {
            return Err(problems);
        }
        let f = fields.clone();
        if let Some(name) = f.name {
            self.name = name;
        }
        if let Some(active) = f.active {
            self.active = active;
        }
        match &mut self.spec {
            WatchSpec::Price(p) => {
                set(&mut p.routes, f.routes);
                set(&mut p.target_price_usd, f.target_price_usd);
                set(&mut p.drop_threshold_pct, f.drop_threshold_pct);
            }
            WatchSpec::Calendar(c) => {
                set(&mut c.ics_url, f.ics_url);
                set(&mut c.busy, f.busy);
                set(&mut c.min_gap_days, f.min_gap_days);
                set(&mut c.horizon_days, f.horizon_days);
                set(&mut c.preferences, f.preferences);
            }
            WatchSpec::Budget(b) => {
                set(&mut b.budget_usd, f.budget_usd);
                set(&mut b.spent_usd, f.spent_usd);
                set(&mut b.period, f.period);
                set(&mut b.min_surplus_usd, f.min_surplus_usd);
                set(&mut b.preferences, f.preferences);
            }
        }
        let problems = self.spec.invariants();
        if !problems.is_empty() {
            return Err(problems);
        }
        self.updated_at = Utc::now();
        Ok(())
    }
}

fn set<T>(slot: &mut T, value: Option<T>) {
    if let Some(value) = value {
        *slot = value;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2027, 1, 10).unwrap()
    }

    #[test]
    fn routes_resolve_city_names_to_iata_codes() {
        let route = Route::new("Los Angeles", "tokyo", None, today()).unwrap();
        assert_eq!(route.label(), "LAX->NRT");
        assert_eq!(route.key(), "LAX->NRT");
    }

    #[test]
    fn unknown_places_and_past_dates_are_named() {
        let past = NaiveDate::from_ymd_opt(2027, 1, 9);
        let problems = Route::new("Narnia", "NRT", past, today()).unwrap_err();
        let fields: Vec<&str> = problems.iter().map(|p| p.field.as_str()).collect();
        assert_eq!(fields, ["origin", "departure_date"]);
    }

    #[test]
    fn fields_of_another_kind_are_refused() {
        let fields = WatchlistFields {
            budget_usd: Some(100.0),
            routes: Some(vec![Route::new("LAX", "NRT", None, today()).unwrap()]),
            ..Default::default()
        };
        let problems = WatchSpec::new(WatchKind::Price, fields).unwrap_err();
        assert_eq!(problems[0].field, "budget_usd");
    }

    #[test]
    fn a_calendar_needs_a_feed_or_busy_periods() {
        let problems = WatchSpec::new(WatchKind::Calendar, WatchlistFields::default()).unwrap_err();
        assert_eq!(problems[0].field, "ics_url");
    }

    #[test]
    fn busy_dates_are_whole_days_and_date_times_are_instants() {
        let p = BusyPeriod::parse("2027-03-02", "2027-03-02").unwrap();
        assert_eq!((p.end - p.start).num_hours(), 24);
        let p = BusyPeriod::parse("2027-03-02T10:00:00Z", "2027-03-02T12:00:00+01:00").unwrap();
        assert_eq!((p.end - p.start).num_hours(), 1);
        assert_eq!(
            BusyPeriod::parse("2027-03-03", "2027-03-02")
                .unwrap_err()
                .field,
            "end"
        );
    }

    #[test]
    fn feed_urls_must_be_http() {
        assert!(check_ics_url("https://cal.example.com/a.ics").is_ok());
        assert!(check_ics_url("ftp://cal.example.com/a.ics").is_err());
        assert!(check_ics_url("not a url").is_err());
    }

    #[test]
    fn an_update_keeps_what_it_does_not_name() {
        let spec = WatchSpec::new(
            WatchKind::Budget,
            WatchlistFields {
                budget_usd: Some(1000.0),
                ..Default::default()
            },
        )
        .unwrap();
        let mut w = Watchlist::new("u".into(), None, spec);
        w.apply(&WatchlistFields {
            spent_usd: Some(300.0),
            ..Default::default()
        })
        .unwrap();
        let WatchSpec::Budget(b) = &w.spec else {
            panic!("budget")
        };
        assert_eq!(
            (b.budget_usd, b.spent_usd, b.min_surplus_usd),
            (1000.0, 300.0, 200.0)
        );
    }
}
