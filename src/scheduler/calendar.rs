//! Calendar monitor: the user's busy time (an iCalendar feed and explicit
//! periods) merged, and the free windows of at least `min_gap_days` whole
//! days between tomorrow and the horizon. The best window not yet
//! suggested becomes a `calendar_gap` job.
//!
//! Days are UTC days: a day is free when no busy period touches it.

use chrono::{DateTime, Days, NaiveDate, Utc};
use serde_json::{Map, Value, json};

use super::ics;
use super::watchlist::{BusyPeriod, CalendarWatch};
use super::{Finding, Scheduler, WatchlistCheck};
use crate::jobs::Trigger;
use crate::outbound;

/// A longer window is a better suggestion only up to a long trip's length.
const LONGEST_USEFUL_DAYS: i64 = 14;
/// Alternatives offered to the dedupe, best first.
const MAX_ALTERNATIVES: usize = 10;

pub(super) async fn check(
    scheduler: &Scheduler,
    watch: &CalendarWatch,
    now: DateTime<Utc>,
) -> WatchlistCheck {
    let today = scheduler.today(now);
    let first = today + Days::new(1);
    let last = today + Days::new(u64::from(watch.horizon_days));
    let (from, to) = (midnight(first), midnight(last + Days::new(1)));
    let mut busy = watch.busy.clone();
    let mut outcome = WatchlistCheck::default();
    if let Some(url) = &watch.ics_url {
        match fetch(scheduler, url).await {
            Ok(text) => match ics::busy_periods(&text, from, to) {
                Ok(found) => busy.extend(found),
                Err(e) => outcome.problems.push(format!("calendar feed: {e}")),
            },
            Err(e) => outcome.problems.push(format!("calendar feed: {e}")),
        }
        // Without the feed the free time is unknown: suggest nothing.
        if !outcome.problems.is_empty() {
            return outcome;
        }
    }
    let windows = free_windows(&merge(busy), first, last, watch.min_gap_days);
    let ranked = rank(windows);
    if !ranked.is_empty() {
        outcome.choices.push(
            ranked
                .into_iter()
                .take(MAX_ALTERNATIVES)
                .map(|w| finding(w, &watch.preferences))
                .collect(),
        );
    }
    outcome
}

fn midnight(day: NaiveDate) -> DateTime<Utc> {
    day.and_time(chrono::NaiveTime::MIN).and_utc()
}

/// Fetches the feed within `ICS_TIMEOUT_SECS` and `ICS_MAX_BYTES`, reading
/// the body in chunks so an endless or huge response is cut off early.
/// The address is checked again here, not only when the watchlist was
/// saved: the allow-list may have changed since.
async fn fetch(scheduler: &Scheduler, url: &str) -> Result<String, String> {
    let max = scheduler.settings.ics_max_bytes;
    let timeout = scheduler.settings.ics_timeout;
    let url = reqwest::Url::parse(url).map_err(|e| format!("not a URL: {e}"))?;
    scheduler
        .settings
        .outbound
        .check_url(&url)
        .map_err(|refused| refused.to_string())?;
    let read = async {
        let mut response = scheduler
            .http
            .get(url)
            .send()
            .await
            .and_then(reqwest::Response::error_for_status)
            .map_err(outbound::describe)?;
        if response.content_length().is_some_and(|n| n > max as u64) {
            return Err(format!("larger than ICS_MAX_BYTES ({max} bytes)"));
        }
        let mut body = Vec::new();
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|e| e.without_url().to_string())?
        {
            if body.len() + chunk.len() > max {
                return Err(format!("larger than ICS_MAX_BYTES ({max} bytes)"));
            }
            body.extend_from_slice(&chunk);
        }
        Ok(String::from_utf8_lossy(&body).into_owned())
    };
    tokio::time::timeout(timeout, read)
        .await
        .map_err(|_| format!("no complete answer within {timeout:?}"))?
}

/// Sorted, with overlapping or touching periods joined.
pub(super) fn merge(mut busy: Vec<BusyPeriod>) -> Vec<BusyPeriod> {
    busy.sort();
    let mut merged: Vec<BusyPeriod> = Vec::with_capacity(busy.len());
    for period in busy {
        match merged.last_mut() {
            Some(last) if period.start <= last.end => last.end = last.end.max(period.end),
            _ => merged.push(period),
        }
    }
    merged
}

/// Maximal runs of free days within `[first, last]`, inclusive, at least
/// `min_days` long. `busy` must be merged (sorted, disjoint).
pub(super) fn free_windows(
    busy: &[BusyPeriod],
    first: NaiveDate,
    last: NaiveDate,
    min_days: u32,
) -> Vec<(NaiveDate, NaiveDate)> {
    let mut windows = Vec::new();
    let mut run_start: Option<NaiveDate> = None;
    let mut periods = busy.iter().peekable();
    let mut day = first;
    while day <= last {
        let (start, end) = (midnight(day), midnight(day + Days::new(1)));
        while periods.next_if(|p| p.end <= start).is_some() {}
        let is_busy = periods.peek().is_some_and(|p| p.start < end);
        match (is_busy, run_start) {
            (false, None) => run_start = Some(day),
            (true, Some(from)) => {
                windows.push((from, day - Days::new(1)));
                run_start = None;
            }
            _ => {}
        }
        day = day + Days::new(1);
    }
    windows.extend(run_start.map(|from| (from, last)));
    windows.retain(|(from, to)| (*to - *from).num_days() + 1 >= i64::from(min_days));
    windows
}

/// Best first: longer (up to two weeks), then sooner.
fn rank(mut windows: Vec<(NaiveDate, NaiveDate)>) -> Vec<(NaiveDate, NaiveDate)> {
    windows.sort_by_key(|(from, to)| {
        let useful = ((*to - *from).num_days() + 1).min(LONGEST_USEFUL_DAYS);
        (std::cmp::Reverse(useful), *from)
    });
    windows
}

fn finding((from, to): (NaiveDate, NaiveDate), preferences: &Map<String, Value>) -> Finding {
    let mut context = Map::new();
    context.insert("gap_start".into(), json!(from.to_string()));
    context.insert("gap_end".into(), json!(to.to_string()));
    context.insert("gap_days".into(), json!((to - from).num_days() + 1));
    context.insert("preferences".into(), Value::Object(preferences.clone()));
    Finding {
        trigger: Trigger::CalendarGap,
        key: format!("{}|{from}|{to}", Trigger::CalendarGap),
        context,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2027, 3, d).unwrap()
    }

    fn busy(from: u32, to_inclusive: u32) -> BusyPeriod {
        BusyPeriod {
            start: midnight(day(from)),
            end: midnight(day(to_inclusive) + Days::new(1)),
        }
    }

    #[test]
    fn overlapping_and_touching_periods_merge() {
        let merged = merge(vec![busy(5, 6), busy(1, 2), busy(3, 3), busy(6, 8)]);
        assert_eq!(merged, vec![busy(1, 3), busy(5, 8)]);
    }

    #[test]
    fn free_windows_are_the_runs_between_busy_days() {
        let merged = merge(vec![busy(1, 3), busy(9, 9), busy(11, 20)]);
        let windows = free_windows(&merged, day(1), day(25), 3);
        assert_eq!(windows, vec![(day(4), day(8)), (day(21), day(25))]);
    }

    #[test]
    fn a_partly_busy_day_is_busy() {
        let meeting = BusyPeriod {
            start: midnight(day(4)) + chrono::Duration::hours(10),
            end: midnight(day(4)) + chrono::Duration::hours(11),
        };
        let windows = free_windows(&[meeting], day(1), day(6), 2);
        assert_eq!(windows, vec![(day(1), day(3)), (day(5), day(6))]);
    }

    #[test]
    fn longer_windows_rank_first_then_sooner_ones() {
        let ranked = rank(vec![
            (day(1), day(3)),
            (day(10), day(14)),
            (day(20), day(24)),
        ]);
        assert_eq!(ranked[0], (day(10), day(14)));
        assert_eq!(ranked[1], (day(20), day(24)));
    }
}
