//! Wire types of watchlists: the contract of INTEGRATION.md. Requests parse
//! themselves from JSON (see `json::FromJson`), each field spelled once: the
//! reader reports every key it was not asked for as unknown.

use std::collections::HashMap;

use chrono::Utc;
use serde::Serialize;
use serde_json::{Map, Value, json};
use utoipa::ToSchema;

use crate::http::error::{FieldError, Timestamp};
use crate::http::json::{Fields, FromJson};
use crate::scheduler::watchlist::{
    BusyPeriod, MAX_BUSY_PERIODS, MAX_ROUTES, Route, WatchlistFields, check_ics_url,
};
use crate::scheduler::{SeenPrice, WatchKind, WatchSpec, Watchlist};

#[expect(
    dead_code,
    reason = "documents the request body in OpenAPI; FromJson parses it"
)]
#[derive(Debug, Clone, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RouteRequest {
    /// IATA code (`LAX`) or a known city name (`Los Angeles`).
    #[schema(min_length = 1, max_length = 100)]
    pub origin: String,
    #[schema(min_length = 1, max_length = 100)]
    pub destination: String,
    /// YYYY-MM-DD, today or later; without one the route is watched 30 days out.
    #[schema(value_type = Option<String>, format = Date, max_length = 10)]
    pub departure_date: Option<String>,
}

#[expect(
    dead_code,
    reason = "documents the request body in OpenAPI; FromJson parses it"
)]
#[derive(Debug, Clone, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BusyRequest {
    /// A date (`2026-03-02`, the whole day) or an RFC 3339 date-time.
    #[schema(min_length = 1, max_length = 40)]
    pub start: String,
    /// A date (inclusive: the whole day is busy) or an RFC 3339 date-time.
    #[schema(min_length = 1, max_length = 40)]
    pub end: String,
}

/// Travel preferences handed to the planner. The known keys are checked;
/// other keys are kept.
#[expect(
    dead_code,
    reason = "documents the request body in OpenAPI; FromJson parses it"
)]
#[derive(Debug, Clone, ToSchema)]
pub struct WatchPreferences {
    /// Each at most 100 characters.
    #[schema(max_items = 30, max_length = 100)]
    pub interests: Option<Vec<String>>,
    #[schema(max_length = 200)]
    pub destination: Option<String>,
    /// A known airport (IATA code) or city.
    #[schema(max_length = 100)]
    pub departure_city: Option<String>,
    #[schema(minimum = 0)]
    pub budget_usd: Option<f64>,
    #[schema(minimum = 1, maximum = 60)]
    pub duration_days: Option<u32>,
    #[schema(minimum = 1, maximum = 50)]
    pub travelers: Option<u32>,
    #[serde(flatten)]
    pub other: HashMap<String, Value>,
}

/// A watchlist to create. `kind` decides which other fields apply; a field
/// of another kind, or an unknown one, is a 422.
#[expect(
    dead_code,
    reason = "documents the request body in OpenAPI; FromJson parses it"
)]
#[derive(Debug, Clone, ToSchema)]
#[schema(example = json!({
    "user_id": "user-123", "kind": "price", "name": "Tokyo in spring",
    "routes": [{"origin": "LAX", "destination": "Tokyo", "departure_date": "2027-04-01"}],
    "target_price_usd": 600, "drop_threshold_pct": 15
}))]
#[serde(deny_unknown_fields)]
pub struct WatchlistRequest {
    /// Trimmed; 1–200 characters, no control characters.
    #[schema(min_length = 1, max_length = 200)]
    pub user_id: String,
    pub kind: WatchKind,
    #[schema(max_length = 200)]
    pub name: Option<String>,
    /// Default true; paused watchlists are not checked.
    pub active: Option<bool>,
    /// price: 1–20 routes.
    #[schema(min_items = 1, max_items = 20)]
    pub routes: Option<Vec<RouteRequest>>,
    /// price: a fare at or below this is suggested.
    #[schema(minimum = 0)]
    pub target_price_usd: Option<f64>,
    /// price: a drop of at least this share of the last fare seen (default 15).
    #[schema(exclusive_minimum = 0, maximum = 100)]
    pub drop_threshold_pct: Option<f64>,
    /// calendar: an http(s) iCalendar feed.
    #[schema(max_length = 2000)]
    pub ics_url: Option<String>,
    /// calendar: busy periods besides (or instead of) the feed.
    #[schema(max_items = 1000)]
    pub busy: Option<Vec<BusyRequest>>,
    /// calendar: shortest free window worth suggesting, in days (default 3);
    /// at most `horizon_days`.
    #[schema(minimum = 1, maximum = 365)]
    pub min_gap_days: Option<u32>,
    /// calendar: how far ahead to look, in days (default 90).
    #[schema(minimum = 1, maximum = 365)]
    pub horizon_days: Option<u32>,
    /// calendar, budget: what the suggested trips should be like.
    pub preferences: Option<WatchPreferences>,
    /// budget: the budget for the period.
    #[schema(minimum = 0)]
    pub budget_usd: Option<f64>,
    /// budget: spent so far (the product backend updates it with PATCH).
    #[schema(minimum = 0)]
    pub spent_usd: Option<f64>,
    /// budget: a label for the period, e.g. `2027-03`.
    #[schema(max_length = 50)]
    pub period: Option<String>,
    /// budget: smallest surplus worth suggesting (default 200).
    #[schema(minimum = 0)]
    pub min_surplus_usd: Option<f64>,
}

/// Parsed `WatchlistRequest`.
#[derive(Debug, Clone)]
pub struct NewWatchlist {
    pub user_id: String,
    pub kind: WatchKind,
    pub fields: WatchlistFields,
}

impl FromJson for NewWatchlist {
    fn from_json(body: &Map<String, Value>) -> Result<Self, Vec<FieldError>> {
        let mut f = Fields::new(body);
        let user_id = f.user_id("user_id");
        let kind = f.string("kind", true, 20).and_then(|k| match k.parse() {
            Ok(kind) => Some(kind),
            Err(reason) => {
                f.fail("kind", reason);
                None
            }
        });
        let fields = watchlist_fields(&mut f);
        f.reject_unread();
        f.finish(|| {
            Some(Self {
                user_id: user_id?,
                kind: kind?,
                fields,
            })
        })
    }
}

/// Changes to a watchlist: any of its kind's fields, `name` and `active`;
/// `null` clears `name`, `target_price_usd`, `ics_url` and `period`.
#[expect(
    dead_code,
    reason = "documents the request body in OpenAPI; FromJson parses it"
)]
#[derive(Debug, Clone, ToSchema)]
#[schema(example = json!({"spent_usd": 450.5}))]
#[serde(deny_unknown_fields)]
pub struct WatchlistPatchRequest {
    #[schema(max_length = 200)]
    pub name: Option<String>,
    pub active: Option<bool>,
    #[schema(min_items = 1, max_items = 20)]
    pub routes: Option<Vec<RouteRequest>>,
    #[schema(minimum = 0)]
    pub target_price_usd: Option<f64>,
    #[schema(exclusive_minimum = 0, maximum = 100)]
    pub drop_threshold_pct: Option<f64>,
    #[schema(max_length = 2000)]
    pub ics_url: Option<String>,
    #[schema(max_items = 1000)]
    pub busy: Option<Vec<BusyRequest>>,
    /// At most `horizon_days`.
    #[schema(minimum = 1, maximum = 365)]
    pub min_gap_days: Option<u32>,
    #[schema(minimum = 1, maximum = 365)]
    pub horizon_days: Option<u32>,
    pub preferences: Option<WatchPreferences>,
    #[schema(minimum = 0)]
    pub budget_usd: Option<f64>,
    #[schema(minimum = 0)]
    pub spent_usd: Option<f64>,
    #[schema(max_length = 50)]
    pub period: Option<String>,
    #[schema(minimum = 0)]
    pub min_surplus_usd: Option<f64>,
}

/// Parsed `WatchlistPatchRequest`.
#[derive(Debug, Clone)]
pub struct WatchlistPatch(pub WatchlistFields);

impl FromJson for WatchlistPatch {
    fn from_json(body: &Map<String, Value>) -> Result<Self, Vec<FieldError>> {
        let mut f = Fields::new(body);
        let fields = watchlist_fields(&mut f);
        f.reject_unread();
        f.finish(|| Some(Self(fields)))
    }
}

/// A field that may be cleared with `null`: `Some(None)`.
fn nullable<T>(f: &Fields<'_>, field: &str, value: Option<T>) -> Option<Option<T>> {
    if f.is_null(field) {
        Some(None)
    } else {
        value.map(Some)
    }
}

fn watchlist_fields(f: &mut Fields<'_>) -> WatchlistFields {
    let name = f.string("name", false, 200);
    let target = f.number("target_price_usd", 0.0);
    let ics_url = f.string("ics_url", false, 2000).and_then(|url| {
        check_ics_url(&url)
            .map_err(|reason| f.fail("ics_url", reason))
            .ok()
    });
    let period = f.string("period", false, 50);
    let drop = f.number("drop_threshold_pct", 0.0);
    if drop.is_some_and(|d| d <= 0.0 || d > 100.0) {
        f.fail("drop_threshold_pct", "Must be more than 0 and at most 100");
    }
    WatchlistFields {
        name: nullable(f, "name", name),
        active: f.flag("active"),
        routes: routes(f),
        target_price_usd: nullable(f, "target_price_usd", target),
        drop_threshold_pct: drop,
        ics_url: nullable(f, "ics_url", ics_url),
        busy: busy_periods(f),
        min_gap_days: f.integer("min_gap_days", false, 1, 365).map(|n| n as u32),
        horizon_days: f.integer("horizon_days", false, 1, 365).map(|n| n as u32),
        preferences: preferences(f),
        budget_usd: f.number("budget_usd", 0.0),
        spent_usd: f.number("spent_usd", 0.0),
        period: nullable(f, "period", period),
        min_surplus_usd: f.number("min_surplus_usd", 0.0),
    }
}

fn routes(f: &mut Fields<'_>) -> Option<Vec<Route>> {
    let items = f.objects("routes", MAX_ROUTES)?;
    if items.is_empty() {
        f.fail("routes", "At least one route");
    }
    let today = Utc::now().date_naive();
    let mut routes = Vec::with_capacity(items.len());
    for (prefix, item) in items {
        let mut r = Fields::nested(item, &prefix);
        let origin = r.string("origin", true, 100);
        let destination = r.string("destination", true, 100);
        let date = r.date("departure_date");
        r.reject_unread();
        if let (Some(origin), Some(destination)) = (origin, destination)
            && r.errors.is_empty()
        {
            match Route::new(&origin, &destination, date, today) {
                Ok(route) => routes.push(route),
                Err(problems) => problems
                    .into_iter()
                    .for_each(|p| r.fail(&p.field, p.reason)),
            }
        }
        f.errors.extend(r.errors);
    }
    Some(routes)
}

fn busy_periods(f: &mut Fields<'_>) -> Option<Vec<BusyPeriod>> {
    let items = f.objects("busy", MAX_BUSY_PERIODS)?;
    let mut periods = Vec::with_capacity(items.len());
    for (prefix, item) in items {
        let mut b = Fields::nested(item, &prefix);
        let start = b.string("start", true, 40);
        let end = b.string("end", true, 40);
        b.reject_unread();
        if let (Some(start), Some(end)) = (start, end) {
            match BusyPeriod::parse(&start, &end) {
                Ok(period) => periods.push(period),
                Err(p) => b.fail(&p.field, p.reason),
            }
        }
        f.errors.extend(b.errors);
    }
    Some(periods)
}

/// Travel preferences handed to the planner; the known keys are checked,
/// others pass through.
fn preferences(f: &mut Fields<'_>) -> Option<Map<String, Value>> {
    let prefs = f.object("preferences", false)?;
    let mut p = Fields::nested(&prefs, "preferences");
    p.strings("interests", 30, 100);
    p.string("destination", false, 200);
    if let Some(city) = p.string("departure_city", false, 100)
        && crate::knowledge::find_airport(&city).is_none()
    {
        p.fail(
            "departure_city",
            format!("Unknown airport or city {city:?}"),
        );
    }
    p.number("budget_usd", 0.0);
    p.integer("duration_days", false, 1, 60);
    p.integer("travelers", false, 1, 50);
    let errors = p.errors;
    f.errors.extend(errors);
    Some(prefs)
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RouteInfo {
    pub origin: String,
    pub origin_city: Option<String>,
    pub destination: String,
    pub destination_city: Option<String>,
    pub departure_date: Option<String>,
    /// The fare the last price check saw; null before the first check.
    pub last_price_usd: Option<f64>,
    pub last_checked_at: Option<Timestamp>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct BusyInfo {
    pub start: Timestamp,
    pub end: Timestamp,
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "watchlist_id": "0193a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b", "user_id": "user-123", "kind": "price",
    "name": "Tokyo in spring", "active": true,
    "created_at": "2026-01-20T10:00:00.123Z", "updated_at": "2026-01-20T10:00:00.123Z",
    "routes": [{"origin": "LAX", "origin_city": "Los Angeles", "destination": "NRT", "destination_city": "Tokyo",
        "departure_date": "2027-04-01", "last_price_usd": 612.0, "last_checked_at": "2026-01-20T12:00:00.004Z"}],
    "target_price_usd": 600.0, "drop_threshold_pct": 15.0
}))]
pub struct WatchlistResponse {
    pub watchlist_id: String,
    pub user_id: String,
    pub kind: WatchKind,
    pub name: Option<String>,
    pub active: bool,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    /// The kind's fields, as in the request (dates and places normalised).
    #[serde(flatten)]
    #[schema(value_type = Object)]
    pub settings: Map<String, Value>,
}

impl WatchlistResponse {
    /// `prices`: last seen fares by route key (price watchlists).
    pub fn new(w: &Watchlist, prices: &HashMap<String, SeenPrice>) -> Self {
        Self {
            watchlist_id: w.id.to_string(),
            user_id: w.user_id.clone(),
            kind: w.kind(),
            name: w.name.clone(),
            active: w.active,
            created_at: w.created_at.into(),
            updated_at: w.updated_at.into(),
            settings: watch_settings(&w.spec, prices),
        }
    }
}

fn watch_settings(spec: &WatchSpec, prices: &HashMap<String, SeenPrice>) -> Map<String, Value> {
    let value = match spec {
        WatchSpec::Price(p) => json!({
            "routes": p.routes.iter().map(|r| route_info(r, prices.get(&r.key()))).collect::<Vec<_>>(),
            "target_price_usd": p.target_price_usd,
            "drop_threshold_pct": p.drop_threshold_pct,
        }),
        WatchSpec::Calendar(c) => json!({
            "ics_url": c.ics_url,
            "busy": c.busy.iter().map(|b| BusyInfo { start: b.start.into(), end: b.end.into() }).collect::<Vec<_>>(),
            "min_gap_days": c.min_gap_days,
            "horizon_days": c.horizon_days,
            "preferences": c.preferences,
        }),
        WatchSpec::Budget(b) => json!({
            "budget_usd": b.budget_usd,
            "spent_usd": b.spent_usd,
            "surplus_usd": b.budget_usd - b.spent_usd,
            "period": b.period,
            "min_surplus_usd": b.min_surplus_usd,
            "preferences": b.preferences,
        }),
    };
    match value {
        Value::Object(map) => map,
        _ => Map::new(),
    }
}

fn route_info(route: &Route, seen: Option<&SeenPrice>) -> RouteInfo {
    let city = |code: &str| crate::knowledge::find_airport(code).map(|a| a.city.clone());
    RouteInfo {
        origin: route.origin.clone(),
        origin_city: city(&route.origin),
        destination: route.destination.clone(),
        destination_city: city(&route.destination),
        departure_date: route.departure_date.map(|d| d.to_string()),
        last_price_usd: seen.map(|s| s.price_usd),
        last_checked_at: seen.map(|s| s.seen_at.into()),
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct WatchlistListResponse {
    /// Oldest first.
    pub watchlists: Vec<WatchlistResponse>,
}
