//! The schedules. tokio-cron-scheduler fires every task in every replica;
//! each firing then claims `(task, fire time)` in the store, so exactly one
//! replica runs it. The claim names the fire time, not the task alone, so
//! a replica that died mid-run holds nothing the next firing needs.
//!
//! Expressions take seconds first (six fields, `0 0 9 * * *`); a five-field
//! POSIX expression (`0 9 * * *`) gets `0` seconds prepended. Day-of-month
//! and day-of-week must both match when both are given. Times are in
//! `SCHEDULER_TIMEZONE`; the schedules are re-added when its UTC offset
//! changes (daylight saving).

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Offset, TimeZone, Timelike, Utc};
use chrono_tz::Tz;
use croner::Cron;
use croner::parser::{CronParser, Seconds};
use tokio::sync::Mutex;
use tokio_cron_scheduler::{Job, JobScheduler};
use uuid::Uuid;

use super::{MonitorTask, Scheduler};

/// A claim outlives any replica that sees the same fire time late (a slow
/// tick, clock skew), and then expires so claims do not pile up.
const MIN_CLAIM: Duration = Duration::from_secs(60);
const MAX_CLAIM: Duration = Duration::from_secs(86_400);

/// The six-field form of a five- or six-field expression, if it parses.
pub fn normalize(expr: &str) -> Result<String, String> {
    let fields: Vec<&str> = expr.split_whitespace().collect();
    let six = match fields.len() {
        5 => format!("0 {}", fields.join(" ")),
        6 => fields.join(" "),
        n => {
            return Err(format!(
                "{n} fields; expected 6 (second minute hour day month weekday) or 5 (POSIX, seconds = 0)"
            ));
        }
    };
    parse(&six)?;
    Ok(six)
}

/// Parses as tokio-cron-scheduler does, so what passes here runs there.
fn parse(six: &str) -> Result<Cron, String> {
    CronParser::builder()
        .seconds(Seconds::Required)
        .dom_and_dow(true)
        .build()
        .parse(six)
        .map_err(|e| e.to_string())
}

/// The running schedules of this replica.
pub struct CronRunner {
    jobs: JobScheduler,
    registration: Arc<Mutex<Registration>>,
}

/// The monitor jobs as registered, and the UTC offset they were registered
/// with: tokio-cron-scheduler turns a time zone into a fixed offset when a
/// job is added, so after a daylight-saving change the jobs are added again.
struct Registration {
    offset_secs: i32,
    ids: Vec<Uuid>,
}

fn utc_offset_secs(timezone: Tz) -> i32 {
    timezone
        .offset_from_utc_datetime(&Utc::now().naive_utc())
        .fix()
        .local_minus_utc()
}

/// Adds one job per monitor; returns their ids.
async fn register(
    jobs: &JobScheduler,
    scheduler: &Arc<Scheduler>,
    owner: &str,
) -> anyhow::Result<Vec<Uuid>> {
    let timezone = scheduler.settings().timezone;
    let mut ids = Vec::with_capacity(MonitorTask::ALL.len());
    for task in MonitorTask::ALL {
        let expr = scheduler.settings().cron(task).to_string();
        let cron = parse(&expr).map_err(|e| anyhow::anyhow!("{task} schedule {expr:?}: {e}"))?;
        let (scheduler, owner) = (scheduler.clone(), owner.to_string());
        let job = Job::new_async_tz(expr.as_str(), timezone, move |_id, _jobs| {
            let (scheduler, cron, owner) = (scheduler.clone(), cron.clone(), owner.clone());
            Box::pin(async move { fire(&scheduler, task, &cron, timezone, &owner).await })
        })?;
        ids.push(jobs.add(job).await?);
        tracing::info!(task = %task, schedule = %expr, %timezone, "scheduled");
    }
    Ok(ids)
}

impl CronRunner {
    /// Registers the three monitors and starts ticking.
    pub async fn start(scheduler: Arc<Scheduler>, owner: String) -> anyhow::Result<Self> {
        let jobs = JobScheduler::new().await?;
        let timezone = scheduler.settings().timezone;
        let registration = Arc::new(Mutex::new(Registration {
            offset_secs: utc_offset_secs(timezone),
            ids: register(&jobs, &scheduler, &owner).await?,
        }));
        if timezone != Tz::UTC {
            let (state, sched) = (registration.clone(), scheduler.clone());
            let check = Job::new_async(OFFSET_CHECK, move |_id, jobs| {
                let (state, sched, owner) = (state.clone(), sched.clone(), owner.clone());
                Box::pin(async move { follow_offset(&jobs, &state, &sched, &owner).await })
            })?;
            jobs.add(check).await?;
        }
        jobs.start().await?;
        Ok(Self { jobs, registration })
    }

    /// Stops firing; runs already under way finish on their own.
    pub async fn stop(mut self) {
        if let Err(e) = self.jobs.shutdown().await {
            tracing::warn!(error = %e, "cron scheduler did not shut down cleanly");
        }
    }

    /// The monitor jobs' next fire times (UTC), for checks.
    pub async fn next_ticks(&mut self) -> Vec<Option<DateTime<Utc>>> {
        let ids = self.registration.lock().await.ids.clone();
        let mut ticks = Vec::with_capacity(ids.len());
        for id in ids {
            ticks.push(self.jobs.next_tick_for_job(id).await.ok().flatten());
        }
        ticks
    }
}

/// When the checks for a daylight-saving change run (UTC, every 10 minutes).
const OFFSET_CHECK: &str = "0 */10 * * * *";

/// Re-adds the monitor jobs when the zone's UTC offset has changed since
/// they were added, so they fire at the zone's wall-clock times again.
async fn follow_offset(
    jobs: &JobScheduler,
    registration: &Mutex<Registration>,
    scheduler: &Arc<Scheduler>,
    owner: &str,
) {
    let mut current = registration.lock().await;
    let offset = utc_offset_secs(scheduler.settings().timezone);
    if offset == current.offset_secs {
        return;
    }
    for id in current.ids.drain(..) {
        if let Err(e) = jobs.remove(&id).await {
            tracing::warn!(error = %e, "cannot remove a schedule before re-adding it");
        }
    }
    match register(jobs, scheduler, owner).await {
        Ok(ids) => {
            tracing::info!(offset, "time zone offset changed; schedules re-registered");
            *current = Registration {
                offset_secs: offset,
                ids,
            };
        }
        // Keep the old offset: the next check tries again.
        Err(e) => tracing::warn!(error = %e, "cannot re-register the schedules"),
    }
}

/// One firing in this replica. The scheduler does not tell the callback
/// which fire time it is for, and ticks up to half a second late, so the
/// fire time is recomputed: the latest occurrence at or before now. Every
/// replica computes the same one and so claims the same key.
async fn fire(scheduler: &Scheduler, task: MonitorTask, cron: &Cron, timezone: Tz, owner: &str) {
    let Some(fire_time) = fire_time_at(cron, Utc::now().with_timezone(&timezone)) else {
        tracing::warn!(task = %task, "cannot compute the fire time; skipping");
        return;
    };
    let claim = claim_for(cron, &fire_time);
    let fire_time = fire_time.with_timezone(&Utc);
    let claimed = scheduler
        .watchlists
        .claim_firing(task.as_str(), fire_time, claim, owner)
        .await;
    match claimed {
        Ok(true) => {}
        Ok(false) => {
            tracing::debug!(task = %task, %fire_time, "another replica runs this firing");
            return;
        }
        Err(e) => {
            tracing::warn!(task = %task, %fire_time, error = %e, "cannot claim the firing; skipping it");
            return;
        }
    }
    match scheduler.run(task, Some(fire_time)).await {
        Ok(report) => tracing::info!(
            task = %task, %fire_time, checked = report.checked,
            started = report.suggestions.len(), skipped = report.skipped.len(),
            "monitor ran"
        ),
        Err(e) => tracing::warn!(task = %task, %fire_time, error = %e, "monitor failed"),
    }
}

/// The latest occurrence at or before `now`, in whole seconds (croner keeps
/// the fraction of an inclusive match, which would differ per replica).
fn fire_time_at(cron: &Cron, now: DateTime<Tz>) -> Option<DateTime<Tz>> {
    let now = now.with_nanosecond(0)?;
    cron.find_previous_occurrence(&now, true).ok()
}

/// As long as the gap to the next firing, within bounds.
fn claim_for(cron: &Cron, fire_time: &DateTime<Tz>) -> Duration {
    cron.find_next_occurrence(fire_time, false)
        .ok()
        .and_then(|next| (next - *fire_time).to_std().ok())
        .unwrap_or(MAX_CLAIM)
        .clamp(MIN_CLAIM, MAX_CLAIM)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn five_field_expressions_get_zero_seconds() {
        assert_eq!(normalize("0 9 * * *").unwrap(), "0 0 9 * * *");
        assert_eq!(normalize(" 0 0 10 * * Mon ").unwrap(), "0 0 10 * * Mon");
    }

    #[test]
    fn the_defaults_parse_and_nonsense_does_not() {
        for expr in [
            "0 0 */6 * * *",
            "0 0 9 * * *",
            "0 0 10 * * Mon",
            "* * * * * *",
        ] {
            assert!(normalize(expr).is_ok(), "{expr}");
        }
        assert!(normalize("every day").is_err());
        assert!(normalize("0 0 25 * * *").is_err());
        assert!(normalize("* * * *").is_err());
    }

    #[test]
    fn the_fire_time_is_the_latest_occurrence_at_or_before_now() {
        let cron = parse("0 0 */6 * * *").unwrap();
        let at = |t: &str| t.parse::<DateTime<Utc>>().unwrap().with_timezone(&Tz::UTC);
        let fire = fire_time_at(&cron, at("2027-03-01T06:00:00.400Z")).unwrap();
        assert_eq!(fire.to_rfc3339(), "2027-03-01T06:00:00+00:00");
        let late = fire_time_at(&cron, at("2027-03-01T07:59:59.999Z")).unwrap();
        assert_eq!(late, fire);
        let claim = claim_for(&cron, &fire);
        assert_eq!(claim, Duration::from_secs(6 * 3600));
    }

    async fn berlin_runner() -> (CronRunner, Arc<Scheduler>) {
        use crate::jobs::{MemoryStore, StoreSettings};
        use crate::scheduler::{KnowledgeFares, MemoryWatchlists, SchedulerSettings};
        let settings = SchedulerSettings {
            timezone: chrono_tz::Europe::Berlin,
            ..SchedulerSettings::default()
        };
        let scheduler = Arc::new(
            Scheduler::new(
                Arc::new(MemoryWatchlists::new()),
                Arc::new(MemoryStore::new(StoreSettings::default())),
                Arc::new(KnowledgeFares),
                settings,
            )
            .unwrap(),
        );
        let runner = CronRunner::start(scheduler.clone(), "test".into())
            .await
            .unwrap();
        (runner, scheduler)
    }

    #[tokio::test]
    async fn schedules_fire_at_the_zones_wall_clock_time() {
        let (mut runner, _) = berlin_runner().await;
        let ticks = runner.next_ticks().await;
        let calendar = ticks[1].unwrap().with_timezone(&chrono_tz::Europe::Berlin);
        assert_eq!(calendar.format("%H:%M:%S").to_string(), "09:00:00");
        runner.stop().await;
    }

    #[tokio::test]
    async fn a_changed_utc_offset_re_registers_the_schedules() {
        let (mut runner, scheduler) = berlin_runner().await;
        let before = runner.registration.lock().await.ids.clone();
        follow_offset(&runner.jobs, &runner.registration, &scheduler, "test").await;
        assert_eq!(
            runner.registration.lock().await.ids,
            before,
            "same offset: untouched"
        );

        runner.registration.lock().await.offset_secs += 3600;
        follow_offset(&runner.jobs, &runner.registration, &scheduler, "test").await;
        let after = runner.registration.lock().await.ids.clone();
        assert_eq!(after.len(), 3);
        assert!(
            after.iter().all(|id| !before.contains(id)),
            "jobs added again"
        );
        assert!(runner.next_ticks().await.iter().all(Option::is_some));
        runner.stop().await;
    }
}
