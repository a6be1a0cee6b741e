//! The proactive scheduler: users' watchlists, the three monitors that read
//! them (fares, calendar gaps, budget surplus), and the cron wiring that
//! runs each monitor once per fire time across all replicas.
//!
//! A monitor turns what it finds into a proactive job through
//! `jobs::submit`, the path `/v1/suggest` takes, so suggestions are listed,
//! run and streamed like any other job. A finding is suggested once per
//! `SUGGESTION_COOLDOWN_SECS` (a mark in the store), until it changes.

mod budget;
mod calendar;
pub mod cron;
pub mod fares;
pub mod ics;
mod memory_store;
mod price;
mod redis_store;
pub mod store;
pub mod watchlist;

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};
use chrono_tz::Tz;
use serde_json::{Map, Value, json};
use uuid::Uuid;

use crate::jobs::{self, Job, JobRequest, JobStore, Trigger, WorkflowMode};
pub use fares::{FareSource, HttpFares, KnowledgeFares};
pub use memory_store::MemoryWatchlists;
pub use redis_store::RedisWatchlists;
pub use store::{SeenPrice, UpdateError, WatchStoreError, WatchlistStore};
pub use watchlist::{WatchKind, WatchSpec, Watchlist};

/// Settings from the environment (see `config.rs`).
#[derive(Debug, Clone)]
pub struct SchedulerSettings {
    /// Run the cron schedules in this replica.
    pub enabled: bool,
    pub timezone: Tz,
    /// Six-field cron expressions (seconds first), already validated.
    pub price_cron: String,
    pub calendar_cron: String,
    pub budget_cron: String,
    /// `None`: fares come from the knowledge estimator.
    pub price_feed_url: Option<String>,
    /// Zero: every finding is suggested, however often it recurs.
    pub suggestion_cooldown: Duration,
    pub ics_max_bytes: usize,
    pub ics_timeout: Duration,
}

impl Default for SchedulerSettings {
    fn default() -> Self {
        Self {
            enabled: true,
            timezone: Tz::UTC,
            price_cron: "0 0 */6 * * *".into(),
            calendar_cron: "0 0 9 * * *".into(),
            budget_cron: "0 0 10 * * Mon".into(),
            price_feed_url: None,
            suggestion_cooldown: Duration::from_secs(604_800),
            ics_max_bytes: 1_048_576,
            ics_timeout: Duration::from_secs(10),
        }
    }
}

impl SchedulerSettings {
    pub fn cron(&self, task: MonitorTask) -> &str {
        match task {
            MonitorTask::PriceCheck => &self.price_cron,
            MonitorTask::CalendarCheck => &self.calendar_cron,
            MonitorTask::BudgetCheck => &self.budget_cron,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, utoipa::ToSchema)]
#[schema(rename_all = "snake_case")]
pub enum MonitorTask {
    PriceCheck,
    CalendarCheck,
    BudgetCheck,
}

impl MonitorTask {
    pub const ALL: [MonitorTask; 3] = [Self::PriceCheck, Self::CalendarCheck, Self::BudgetCheck];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::PriceCheck => "price_check",
            Self::CalendarCheck => "calendar_check",
            Self::BudgetCheck => "budget_check",
        }
    }

    pub fn kind(self) -> WatchKind {
        match self {
            Self::PriceCheck => WatchKind::Price,
            Self::CalendarCheck => WatchKind::Calendar,
            Self::BudgetCheck => WatchKind::Budget,
        }
    }
}

impl fmt::Display for MonitorTask {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for MonitorTask {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        Self::ALL
            .into_iter()
            .find(|t| t.as_str() == s)
            .ok_or_else(|| {
                format!("Unknown task {s:?}; use price_check, calendar_check or budget_check")
            })
    }
}

/// Something a monitor found worth suggesting.
#[derive(Debug, Clone, PartialEq)]
pub struct Finding {
    pub trigger: Trigger,
    pub context: Map<String, Value>,
    /// Identifies the finding for dedupe: equal keys are the same finding.
    pub key: String,
}

/// What one monitor made of one watchlist. Each choice is a ranked list of
/// alternatives of which at most one, the best not yet suggested, becomes
/// a job (a calendar's free windows); a price watchlist has one choice per
/// route.
#[derive(Debug, Default)]
pub struct WatchlistCheck {
    pub choices: Vec<Vec<Finding>>,
    /// Logged and reported, never fatal: a feed that failed, a route skipped.
    pub problems: Vec<String>,
}

/// A job a monitor started.
#[derive(Debug, Clone)]
pub struct SuggestedJob {
    pub watchlist_id: Uuid,
    pub job: Job,
}

#[derive(Debug, Clone)]
pub struct Skipped {
    pub watchlist_id: Uuid,
    pub reason: String,
}

#[derive(Debug, Clone)]
pub struct RunReport {
    pub task: MonitorTask,
    /// The schedule's fire time; `None` for a run on request.
    pub fire_time: Option<DateTime<Utc>>,
    pub checked: usize,
    pub suggestions: Vec<SuggestedJob>,
    pub skipped: Vec<Skipped>,
}

/// Shared (`Arc`) by the HTTP handlers and the cron runner; a run on
/// request and a scheduled run may overlap, in this replica or another.
pub struct Scheduler {
    /// Shared with the watchlist handlers; the suggestion marks in it (not
    /// this process) keep overlapping runs from suggesting a finding twice.
    watchlists: Arc<dyn WatchlistStore>,
    /// The job store HTTP uses: a suggestion is submitted like any job.
    jobs: Arc<dyn JobStore>,
    /// Shared by every price check; holds no state between calls.
    fares: Arc<dyn FareSource>,
    /// One connection pool for every calendar fetch (clones share it).
    http: reqwest::Client,
    settings: SchedulerSettings,
}

impl Scheduler {
    pub fn new(
        watchlists: Arc<dyn WatchlistStore>,
        jobs: Arc<dyn JobStore>,
        fares: Arc<dyn FareSource>,
        settings: SchedulerSettings,
    ) -> Self {
        Self {
            watchlists,
            jobs,
            fares,
            http: reqwest::Client::new(),
            settings,
        }
    }

    pub fn watchlists(&self) -> &Arc<dyn WatchlistStore> {
        &self.watchlists
    }

    pub fn settings(&self) -> &SchedulerSettings {
        &self.settings
    }

    /// The date in the scheduler's time zone: what "today" means to users.
    fn today(&self, now: DateTime<Utc>) -> NaiveDate {
        now.with_timezone(&self.settings.timezone).date_naive()
    }

    /// Runs one monitor over every active watchlist of its kind. Only a
    /// store failure ends the run early; anything about one watchlist is
    /// logged and reported in `skipped`.
    pub async fn run(
        &self,
        task: MonitorTask,
        fire_time: Option<DateTime<Utc>>,
    ) -> Result<RunReport, WatchStoreError> {
        let now = Utc::now();
        let watchlists = self.watchlists.list_kind(task.kind()).await?;
        let mut report = RunReport {
            task,
            fire_time,
            checked: 0,
            suggestions: Vec::new(),
            skipped: Vec::new(),
        };
        metrics::counter!("lotara_monitor_runs_total", "task" => task.as_str()).increment(1);
        for watchlist in watchlists.iter().filter(|w| w.active) {
            report.checked += 1;
            let outcome = self.check(watchlist, now).await?;
            for problem in outcome.problems {
                tracing::warn!(task = %task, watchlist_id = %watchlist.id, %problem, "monitor skipped part of a watchlist");
                report.skipped.push(Skipped {
                    watchlist_id: watchlist.id,
                    reason: problem,
                });
            }
            for choice in outcome.choices {
                match self.suggest(watchlist, choice, fire_time).await {
                    Ok(Some(job)) => report.suggestions.push(SuggestedJob {
                        watchlist_id: watchlist.id,
                        job,
                    }),
                    Ok(None) => {}
                    Err(reason) => report.skipped.push(Skipped {
                        watchlist_id: watchlist.id,
                        reason,
                    }),
                }
            }
        }
        Ok(report)
    }

    async fn check(
        &self,
        watchlist: &Watchlist,
        now: DateTime<Utc>,
    ) -> Result<WatchlistCheck, WatchStoreError> {
        match &watchlist.spec {
            WatchSpec::Price(watch) => price::check(self, watchlist, watch, now).await,
            WatchSpec::Calendar(watch) => Ok(calendar::check(self, watch, now).await),
            WatchSpec::Budget(watch) => Ok(budget::check(watch)),
        }
    }

    /// Starts a job for the first alternative not suggested within the
    /// cooldown. The mark is taken before the job is created (so two
    /// concurrent runs cannot both suggest it) and dropped again if the job
    /// cannot be created (so it is tried next time).
    async fn suggest(
        &self,
        watchlist: &Watchlist,
        alternatives: Vec<Finding>,
        fire_time: Option<DateTime<Utc>>,
    ) -> Result<Option<Job>, String> {
        let cooldown = self.settings.suggestion_cooldown;
        for finding in alternatives {
            let mark = finding_hash(&finding.key);
            if !cooldown.is_zero()
                && !self
                    .watchlists
                    .mark_suggested(watchlist.id, &mark, cooldown)
                    .await
                    .map_err(|e| e.to_string())?
            {
                continue;
            }
            let job = proactive_job(watchlist, finding, fire_time);
            return match jobs::submit(self.jobs.as_ref(), job).await {
                Ok(job) => {
                    let trigger = job.request.trigger_type.clone().unwrap_or_default();
                    metrics::counter!("lotara_suggestions_total", "trigger" => trigger)
                        .increment(1);
                    Ok(Some(job))
                }
                Err(e) => {
                    if let Err(unmark) = self.watchlists.unmark_suggested(watchlist.id, &mark).await
                    {
                        tracing::warn!(error = %unmark, "could not clear a suggestion mark");
                    }
                    Err(format!("could not start the suggestion: {e}"))
                }
            };
        }
        Ok(None)
    }
}

fn proactive_job(watchlist: &Watchlist, finding: Finding, fire_time: Option<DateTime<Utc>>) -> Job {
    let mut context = finding.context;
    context.insert("watchlist_id".into(), json!(watchlist.id));
    context.insert(
        "fire_time".into(),
        json!(fire_time.map(|t| t.to_rfc3339_opts(SecondsFormat::Secs, true))),
    );
    let request = JobRequest {
        query: None,
        constraints: Map::new(),
        session_id: None,
        trigger_type: Some(finding.trigger.to_string()),
        context: Some(context),
    };
    Job::new(watchlist.user_id.clone(), WorkflowMode::Proactive, request)
}

/// A short stable name for a finding (64-bit FNV-1a in hex): the same in
/// every replica and every build, unlike std's hasher.
fn finding_hash(key: &str) -> String {
    format!("{:016x}", crate::knowledge::fnv1a(key.as_bytes()))
}

/// Money in a suggestion's context: dollars and cents.
fn usd(amount: f64) -> Value {
    json!((amount * 100.0).round() / 100.0)
}
