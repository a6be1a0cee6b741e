//! Wire types: the contract of API.md, and the only types serialised to
//! clients. Requests parse themselves from JSON (see `json::FromJson`);
//! responses convert from the job model.

use std::collections::HashMap;

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Serialize, Serializer};
use serde_json::{Map, Value, json};
use utoipa::ToSchema;

use super::error::FieldError;
use super::json::{Fields, FromJson};
use crate::jobs::{Job, JobStatus, Stage, Task, TaskStatus, WorkflowMode};
use crate::scheduler::watchlist::{
    BusyPeriod, MAX_BUSY_PERIODS, MAX_ROUTES, Route, WatchlistFields, check_ics_url,
};
use crate::scheduler::{RunReport, SeenPrice, WatchKind, WatchSpec, Watchlist};

/// RFC 3339 in UTC with milliseconds and a `Z`, e.g. `2026-01-20T10:00:00.123Z`.
#[derive(Debug, Clone, Copy, PartialEq, ToSchema)]
#[schema(value_type = String, format = DateTime, example = "2026-01-20T10:00:00.123Z")]
pub struct Timestamp(pub DateTime<Utc>);

impl Timestamp {
    pub fn now() -> Self {
        Self(Utc::now())
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0.to_rfc3339_opts(SecondsFormat::Millis, true))
    }
}

impl From<DateTime<Utc>> for Timestamp {
    fn from(t: DateTime<Utc>) -> Self {
        Self(t)
    }
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "error": "ValidationError",
    "message": "Request validation failed",
    "job_id": null,
    "timestamp": "2026-01-20T10:00:00.123Z",
    "details": {"errors": [{"location": "body", "field": "query", "reason": "Field required"}]}
}))]
pub struct ErrorResponse {
    /// Stable code: ValidationError, BadRequest, NotFound, MethodNotAllowed,
    /// Conflict, PayloadTooLarge, UnsupportedMediaType, Unauthorized,
    /// RateLimited, ServiceUnavailable, InternalServerError.
    pub error: String,
    pub message: String,
    pub job_id: Option<String>,
    pub timestamp: Timestamp,
    #[schema(value_type = Option<Object>)]
    pub details: Option<Value>,
}

// ---- requests ----

#[derive(Debug, Clone, ToSchema)]
#[schema(example = json!({
    "user_id": "user-123",
    "query": "Plan a 5-day trip to Tokyo for under $3000",
    "constraints": {"budget_usd": 3000, "duration_days": 5, "interests": ["food", "culture"], "departure_city": "LAX"},
    "session_id": "session-abc"
}))]
pub struct PlanRequest {
    pub user_id: String,
    /// 1–2000 characters.
    pub query: String,
    /// Known keys: budget_usd, duration_days, interests, departure_city,
    /// destination, start_date (YYYY-MM-DD), travelers, budget_tokens.
    /// Unknown keys are kept and passed to the planner.
    #[schema(value_type = Object)]
    pub constraints: Map<String, Value>,
    pub session_id: Option<String>,
}

/// Checks the known constraint keys; unknown ones pass through untouched.
fn check_constraints(constraints: &Map<String, Value>, errors: &mut Vec<FieldError>) {
    let mut f = Fields::nested(constraints, "constraints");
    f.number("budget_usd", 0.0);
    f.integer("duration_days", false, 1, 60);
    f.strings("interests", 30, 100);
    f.string("departure_city", false, 100);
    f.string("destination", false, 200);
    f.integer("travelers", false, 1, 50);
    f.integer("budget_tokens", false, 1, 10_000_000);
    if let Some(date) = f.string("start_date", false, 10)
        && chrono::NaiveDate::parse_from_str(&date, "%Y-%m-%d").is_err()
    {
        f.fail("start_date", "Must be a date in YYYY-MM-DD form");
    }

    errors.extend(f.errors);
}

impl FromJson for PlanRequest {
    fn from_json(body: &Map<String, Value>) -> Result<Self, Vec<FieldError>> {
        let mut f = Fields::new(body);
        let user_id = f.string("user_id", true, 200);
        let query = f.string("query", true, 2000);
        let constraints = f.object("constraints", false).unwrap_or_default();
        let session_id = f.string("session_id", false, 200);
        check_constraints(&constraints, &mut f.errors);
        f.finish(|| {
            Some(Self {
                user_id: user_id?,
                query: query?,
                constraints,
                session_id,
            })
        })
    }
}

#[derive(Debug, Clone, ToSchema)]
#[schema(example = json!({
    "user_id": "user-123",
    "trigger_type": "price_drop",
    "context": {"route": "LAX->NRT", "old_price": 850, "new_price": 650, "savings": 200},
    "constraints": {"duration_days": 6}
}))]
pub struct SuggestRequest {
    pub user_id: String,
    /// Known: price_drop, calendar_gap, budget_surplus.
    pub trigger_type: String,
    #[schema(value_type = Object)]
    pub context: Map<String, Value>,
    #[schema(value_type = Option<Object>)]
    pub constraints: Option<Map<String, Value>>,
}

impl FromJson for SuggestRequest {
    fn from_json(body: &Map<String, Value>) -> Result<Self, Vec<FieldError>> {
        let mut f = Fields::new(body);
        let user_id = f.string("user_id", true, 200);
        let trigger_type = f.string("trigger_type", true, 100);
        let context = f.object("context", true);
        let constraints = f.object("constraints", false);
        if let Some(c) = &constraints {
            check_constraints(c, &mut f.errors);
        }
        f.finish(|| {
            Some(Self {
                user_id: user_id?,
                trigger_type: trigger_type?,
                context: context?,
                constraints,
            })
        })
    }
}

#[derive(Debug, Clone, ToSchema)]
#[schema(example = json!({"job_id": "0193a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b", "approved": true, "notes": "OK to go over by $300"}))]
pub struct ApprovalRequest {
    pub job_id: String,
    pub approved: bool,
    /// At most 500 characters.
    pub notes: Option<String>,
}

impl FromJson for ApprovalRequest {
    fn from_json(body: &Map<String, Value>) -> Result<Self, Vec<FieldError>> {
        let mut f = Fields::new(body);
        let job_id = f.string("job_id", true, 100);
        let approved = f.boolean("approved");
        let notes = f.string("notes", false, 500);
        f.finish(|| {
            Some(Self {
                job_id: job_id?,
                approved: approved?,
                notes,
            })
        })
    }
}

#[derive(Debug, Clone, ToSchema)]
#[schema(example = json!({
    "job_id": "0193a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b", "rating": 5, "comment": "Great plan",
    "helpful_aspects": ["itinerary"], "improvement_areas": ["hotel choice"]
}))]
pub struct FeedbackRequest {
    pub job_id: String,
    /// 1–5.
    pub rating: u8,
    /// At most 1000 characters.
    pub comment: Option<String>,
    pub helpful_aspects: Option<Vec<String>>,
    pub improvement_areas: Option<Vec<String>>,
}

impl FromJson for FeedbackRequest {
    fn from_json(body: &Map<String, Value>) -> Result<Self, Vec<FieldError>> {
        let mut f = Fields::new(body);
        let job_id = f.string("job_id", true, 100);
        let rating = f.integer("rating", true, 1, 5);
        let comment = f.string("comment", false, 1000);
        let helpful_aspects = f.strings("helpful_aspects", 50, 200);
        let improvement_areas = f.strings("improvement_areas", 50, 200);
        f.finish(|| {
            Some(Self {
                job_id: job_id?,
                rating: u8::try_from(rating?).ok()?,
                comment,
                helpful_aspects,
                improvement_areas,
            })
        })
    }
}

// ---- responses ----

#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "job_id": "0193a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b", "user_id": "user-123", "status": "started",
    "message": "Planning started", "created_at": "2026-01-20T10:00:00.123Z", "result": null
}))]
pub struct JobResponse {
    pub job_id: String,
    pub user_id: String,
    pub status: JobStatus,
    pub message: Option<String>,
    pub created_at: Timestamp,
    #[schema(value_type = Option<Object>)]
    pub result: Option<Value>,
}

impl JobResponse {
    pub fn new(job: &Job, message: &str) -> Self {
        Self {
            job_id: job.id.to_string(),
            user_id: job.user_id.clone(),
            status: job.status,
            message: Some(message.into()),
            created_at: job.created_at.into(),
            result: None,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Progress {
    pub current_state: Stage,
    pub tasks_total: usize,
    pub tasks_completed: usize,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TaskInfo {
    pub task_id: String,
    pub agent: String,
    pub task_name: String,
    pub status: TaskStatus,
    pub started_at: Option<Timestamp>,
    pub completed_at: Option<Timestamp>,
    #[schema(value_type = Option<Object>)]
    pub output: Option<Value>,
    pub confidence_score: Option<f64>,
}

impl TaskInfo {
    fn new(job: &Job, t: &Task) -> Self {
        Self {
            task_id: t.task_id.clone(),
            agent: t.agent.clone(),
            task_name: t.task_name.clone(),
            status: t.status,
            started_at: t.started_at.map(Timestamp),
            completed_at: t.completed_at.map(Timestamp),
            output: job.task_output(t),
            confidence_score: t.confidence_score,
        }
    }
}

/// Beyond the original: the pending or decided approval of a job.
#[derive(Debug, Serialize, ToSchema)]
pub struct ApprovalInfo {
    pub requested_at: Timestamp,
    /// `{reason, budget_usd, estimated_total_usd, overage_usd, breakdown}`.
    #[schema(value_type = Object)]
    pub approval_data: Value,
    pub approved: Option<bool>,
    pub notes: Option<String>,
    pub decided_at: Option<Timestamp>,
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "job_id": "0193a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b", "user_id": "user-123", "status": "executing", "mode": "reactive",
    "created_at": "2026-01-20T10:00:00.123Z", "updated_at": "2026-01-20T10:00:01.456Z", "completed_at": null,
    "progress": {"current_state": "execution", "tasks_total": 4, "tasks_completed": 2},
    "current_output": {"flights": []}, "final_result": null, "error": null, "tasks": [],
    "approval": null, "opik_trace_url": null
}))]
pub struct JobStatusResponse {
    pub job_id: String,
    pub user_id: String,
    pub status: JobStatus,
    pub mode: WorkflowMode,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub completed_at: Option<Timestamp>,
    pub progress: Option<Progress>,
    #[schema(value_type = Option<Object>)]
    pub current_output: Option<Value>,
    /// The plan (`TripPlan`; with `suggestion` for proactive jobs), when completed.
    #[schema(value_type = Option<crate::workflow::plan::TripPlan>)]
    pub final_result: Option<Value>,
    /// At least `{"message": str}`; also a stable `code`.
    #[schema(value_type = Option<Object>)]
    pub error: Option<Value>,
    pub tasks: Vec<TaskInfo>,
    pub approval: Option<ApprovalInfo>,
    pub opik_trace_url: Option<String>,
}

impl From<&Job> for JobStatusResponse {
    fn from(job: &Job) -> Self {
        let progress = (!job.tasks.is_empty()).then(|| Progress {
            current_state: job.stage.unwrap_or(Stage::Intake),
            tasks_total: job.tasks.len(),
            tasks_completed: job
                .tasks
                .iter()
                .filter(|t| t.status == TaskStatus::Completed)
                .count(),
        });
        Self {
            job_id: job.id.to_string(),
            user_id: job.user_id.clone(),
            status: job.status,
            mode: job.mode,
            created_at: job.created_at.into(),
            updated_at: job.updated_at.into(),
            completed_at: job.completed_at.map(Timestamp),
            progress,
            current_output: (!job.current_output.is_empty())
                .then(|| Value::Object(job.current_output.clone())),
            final_result: job.final_result.clone(),
            error: job
                .error
                .as_ref()
                .map(|e| json!({ "message": e.message, "code": e.code })),
            tasks: job.tasks.iter().map(|t| TaskInfo::new(job, t)).collect(),
            approval: job.approval.as_ref().map(|a| ApprovalInfo {
                requested_at: a.requested_at.into(),
                approval_data: a.data.clone(),
                approved: a.decision.as_ref().map(|d| d.approved),
                notes: a.decision.as_ref().and_then(|d| d.notes.clone()),
                decided_at: a.decision.as_ref().map(|d| Timestamp(d.decided_at)),
            }),
            opik_trace_url: job.trace.as_ref().map(|t| t.url.clone()),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct JobSummary {
    pub job_id: String,
    pub user_id: String,
    pub status: JobStatus,
    pub mode: WorkflowMode,
    pub current_state: Option<Stage>,
    pub query: Option<String>,
    pub trigger_type: Option<String>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub completed_at: Option<Timestamp>,
}

impl From<&Job> for JobSummary {
    fn from(job: &Job) -> Self {
        Self {
            job_id: job.id.to_string(),
            user_id: job.user_id.clone(),
            status: job.status,
            mode: job.mode,
            current_state: job.stage,
            query: job.request.query.clone(),
            trigger_type: job.request.trigger_type.clone(),
            created_at: job.created_at.into(),
            updated_at: job.updated_at.into(),
            completed_at: job.completed_at.map(Timestamp),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct JobListResponse {
    pub jobs: Vec<JobSummary>,
    /// Pass as `cursor` for the next (older) page; null on the last page.
    pub next_cursor: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"message": "Feedback submitted successfully"}))]
pub struct MessageResponse {
    pub message: String,
}

impl MessageResponse {
    pub fn new(message: &str) -> Self {
        Self {
            message: message.into(),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ServicesHealth {
    /// `healthy`, `unhealthy: <reason>` or `not_configured`.
    pub redis: String,
    pub opik: String,
    pub llm: String,
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "status": "healthy", "timestamp": "2026-01-20T10:00:00.123Z", "version": "0.1.0",
    "services": {"redis": "healthy", "opik": "not_configured", "llm": "not_configured"}
}))]
pub struct HealthResponse {
    /// `healthy`, or `degraded` when a configured dependency is unhealthy.
    pub status: String,
    pub timestamp: Timestamp,
    pub version: String,
    pub services: ServicesHealth,
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"message": "Travel Lotara AI Backend", "version": "0.1.0", "docs": "/api/docs", "health": "/health"}))]
pub struct RootResponse {
    pub message: String,
    pub version: String,
    pub docs: String,
    pub health: String,
}

// ---- watchlists and the scheduler ----

const WATCHLIST_FIELDS: &[&str] = &[
    "name",
    "active",
    "routes",
    "target_price_usd",
    "drop_threshold_pct",
    "ics_url",
    "busy",
    "min_gap_days",
    "horizon_days",
    "preferences",
    "budget_usd",
    "spent_usd",
    "period",
    "min_surplus_usd",
];

#[derive(Debug, Clone, ToSchema)]
pub struct RouteRequest {
    /// IATA code (`LAX`) or a known city name (`Los Angeles`).
    pub origin: String,
    pub destination: String,
    /// YYYY-MM-DD; without one the route is watched 30 days out.
    pub departure_date: Option<String>,
}

#[derive(Debug, Clone, ToSchema)]
pub struct BusyRequest {
    /// A date (`2026-03-02`, the whole day) or an RFC 3339 date-time.
    pub start: String,
    /// A date (inclusive: the whole day is busy) or an RFC 3339 date-time.
    pub end: String,
}

/// A watchlist to create. `kind` decides which other fields apply; a field
/// of another kind, or an unknown one, is a 422.
#[derive(Debug, Clone, ToSchema)]
#[schema(example = json!({
    "user_id": "user-123", "kind": "price", "name": "Tokyo in spring",
    "routes": [{"origin": "LAX", "destination": "Tokyo", "departure_date": "2027-04-01"}],
    "target_price_usd": 600, "drop_threshold_pct": 15
}))]
pub struct WatchlistRequest {
    pub user_id: String,
    pub kind: WatchKind,
    pub name: Option<String>,
    /// Default true; paused watchlists are not checked.
    pub active: Option<bool>,
    /// price: 1–20 routes.
    pub routes: Option<Vec<RouteRequest>>,
    /// price: a fare at or below this is suggested.
    pub target_price_usd: Option<f64>,
    /// price: a drop of at least this share of the last fare seen (default 15).
    pub drop_threshold_pct: Option<f64>,
    /// calendar: an http(s) iCalendar feed.
    pub ics_url: Option<String>,
    /// calendar: busy periods besides (or instead of) the feed.
    pub busy: Option<Vec<BusyRequest>>,
    /// calendar: shortest free window worth suggesting, in days (default 3).
    pub min_gap_days: Option<u32>,
    /// calendar: how far ahead to look, in days (default 90).
    pub horizon_days: Option<u32>,
    /// calendar, budget: `interests`, `departure_city`, `destination`, …
    #[schema(value_type = Option<Object>)]
    pub preferences: Option<Map<String, Value>>,
    /// budget: the budget for the period.
    pub budget_usd: Option<f64>,
    /// budget: spent so far (the product backend updates it with PATCH).
    pub spent_usd: Option<f64>,
    /// budget: a label for the period, e.g. `2027-03`.
    pub period: Option<String>,
    /// budget: smallest surplus worth suggesting (default 200).
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
        let mut known = vec!["user_id", "kind"];
        known.extend(WATCHLIST_FIELDS);
        f.reject_unknown(&known);
        let user_id = f.string("user_id", true, 200);
        let kind = f.string("kind", true, 20).and_then(|k| match k.parse() {
            Ok(kind) => Some(kind),
            Err(reason) => {
                f.fail("kind", reason);
                None
            }
        });
        let fields = watchlist_fields(&mut f);
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
#[derive(Debug, Clone, ToSchema)]
#[schema(example = json!({"spent_usd": 450.5}))]
pub struct WatchlistPatchRequest {
    pub name: Option<String>,
    pub active: Option<bool>,
    pub routes: Option<Vec<RouteRequest>>,
    pub target_price_usd: Option<f64>,
    pub drop_threshold_pct: Option<f64>,
    pub ics_url: Option<String>,
    pub busy: Option<Vec<BusyRequest>>,
    pub min_gap_days: Option<u32>,
    pub horizon_days: Option<u32>,
    #[schema(value_type = Option<Object>)]
    pub preferences: Option<Map<String, Value>>,
    pub budget_usd: Option<f64>,
    pub spent_usd: Option<f64>,
    pub period: Option<String>,
    pub min_surplus_usd: Option<f64>,
}

/// Parsed `WatchlistPatchRequest`.
#[derive(Debug, Clone)]
pub struct WatchlistPatch(pub WatchlistFields);

impl FromJson for WatchlistPatch {
    fn from_json(body: &Map<String, Value>) -> Result<Self, Vec<FieldError>> {
        let mut f = Fields::new(body);
        f.reject_unknown(WATCHLIST_FIELDS);
        let fields = watchlist_fields(&mut f);
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
        r.reject_unknown(&["origin", "destination", "departure_date"]);
        let origin = r.string("origin", true, 100);
        let destination = r.string("destination", true, 100);
        let date = r.date("departure_date");
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
        b.reject_unknown(&["start", "end"]);
        let start = b.string("start", true, 40);
        let end = b.string("end", true, 40);
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

#[derive(Debug, Serialize, ToSchema)]
pub struct SuggestionInfo {
    pub job_id: String,
    pub user_id: String,
    pub watchlist_id: String,
    /// price_drop, calendar_gap or budget_surplus.
    pub trigger_type: String,
    pub status: JobStatus,
    pub created_at: Timestamp,
    /// What the job starts from: the trigger context, as `/v1/suggest` takes it.
    #[schema(value_type = Object)]
    pub context: Value,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SkippedInfo {
    pub watchlist_id: String,
    pub reason: String,
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "task": "price_check", "fire_time": null, "watchlists_checked": 1,
    "jobs": [{"job_id": "0193a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b", "user_id": "user-123",
        "watchlist_id": "0193a1b2-0000-7e5f-8a9b-0c1d2e3f4a5b", "trigger_type": "price_drop", "status": "started",
        "created_at": "2026-01-20T10:00:00.123Z",
        "context": {"route": "LAX->NRT", "old_price": 850.0, "new_price": 650.0, "savings": 200.0}}],
    "skipped": []
}))]
pub struct SchedulerRunResponse {
    pub task: String,
    /// The schedule's fire time; null for a run on request.
    pub fire_time: Option<Timestamp>,
    pub watchlists_checked: usize,
    /// The proactive jobs this run started (already suggested findings start none).
    pub jobs: Vec<SuggestionInfo>,
    /// Watchlists or routes that could not be checked, and why.
    pub skipped: Vec<SkippedInfo>,
}

impl From<&RunReport> for SchedulerRunResponse {
    fn from(report: &RunReport) -> Self {
        Self {
            task: report.task.as_str().into(),
            fire_time: report.fire_time.map(Timestamp),
            watchlists_checked: report.checked,
            jobs: report
                .suggestions
                .iter()
                .map(|s| SuggestionInfo {
                    job_id: s.job.id.to_string(),
                    user_id: s.job.user_id.clone(),
                    watchlist_id: s.watchlist_id.to_string(),
                    trigger_type: s.job.request.trigger_type.clone().unwrap_or_default(),
                    status: s.job.status,
                    created_at: s.job.created_at.into(),
                    context: Value::Object(s.job.request.context.clone().unwrap_or_default()),
                })
                .collect(),
            skipped: report
                .skipped
                .iter()
                .map(|s| SkippedInfo {
                    watchlist_id: s.watchlist_id.to_string(),
                    reason: s.reason.clone(),
                })
                .collect(),
        }
    }
}
