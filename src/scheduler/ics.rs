//! The part of iCalendar (RFC 5545) a free-time search needs: the busy
//! stretches of a feed's events within a window.
//!
//! Supported: line unfolding; VEVENT with DTSTART/DTEND as DATE or
//! DATE-TIME (UTC `Z`, floating, or with a TZID — both read as UTC, which
//! shifts an event by at most a day's fraction and never hides a whole
//! day), DURATION, EXDATE, TRANSP:TRANSPARENT and STATUS:CANCELLED (neither
//! blocks time), and RRULE with FREQ=DAILY/WEEKLY/MONTHLY/YEARLY, INTERVAL,
//! COUNT, UNTIL and BYDAY (weekly rules). Other RRULE parts are ignored, so
//! such events expand by their frequency alone: more time is marked busy,
//! never less. Components other than VEVENT (VTIMEZONE, VALARM, VTODO) are
//! skipped. An event that cannot be read is skipped, not fatal.

use chrono::{DateTime, Datelike, Days, Duration, Months, NaiveDate, NaiveDateTime, Utc, Weekday};

use super::watchlist::BusyPeriod;

/// Expansion stops after this many candidate occurrences per event, so a
/// hostile or ancient daily rule cannot spin the monitor.
const MAX_STEPS: usize = 100_000;

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum IcsError {
    #[error("not an iCalendar document (no BEGIN:VCALENDAR)")]
    NotCalendar,
}

/// Busy periods of every event overlapping `[from, to)`, unmerged.
pub fn busy_periods(
    text: &str,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Vec<BusyPeriod>, IcsError> {
    let lines = unfold(text);
    if !lines
        .iter()
        .any(|l| l.trim().eq_ignore_ascii_case("BEGIN:VCALENDAR"))
    {
        return Err(IcsError::NotCalendar);
    }
    let mut busy = Vec::new();
    for event in events(&lines) {
        match event.occurrences(from, to) {
            Some(found) => busy.extend(found),
            None => tracing::debug!("skipping an unreadable calendar event"),
        }
    }
    Ok(busy)
}

/// Joins folded lines: a line break followed by a space or tab continues
/// the previous line (RFC 5545 §3.1).
fn unfold(text: &str) -> Vec<String> {
    let mut lines: Vec<String> = Vec::new();
    for raw in text.split('\n') {
        let raw = raw.strip_suffix('\r').unwrap_or(raw);
        match (raw.strip_prefix([' ', '\t']), lines.last_mut()) {
            (Some(rest), Some(last)) => last.push_str(rest),
            _ => lines.push(raw.to_string()),
        }
    }
    lines
}

/// A content line: `NAME;PARAM=V;...:VALUE`. Parameter values may be quoted
/// and contain `:` or `;`.
struct Property<'a> {
    name: String,
    params: Vec<(String, String)>,
    value: &'a str,
}

fn property(line: &str) -> Option<Property<'_>> {
    let mut in_quotes = false;
    let colon = line.char_indices().find_map(|(i, c)| {
        if c == '"' {
            in_quotes = !in_quotes;
        }
        (c == ':' && !in_quotes).then_some(i)
    })?;
    let (head, value) = (&line[..colon], &line[colon + 1..]);
    let mut parts = head.split(';');
    let name = parts.next()?.trim().to_ascii_uppercase();
    let params = parts
        .filter_map(|p| p.split_once('='))
        .map(|(k, v)| {
            (
                k.trim().to_ascii_uppercase(),
                v.trim_matches('"').to_string(),
            )
        })
        .collect();
    Some(Property {
        name,
        params,
        value: value.trim(),
    })
}

#[derive(Debug, Default)]
struct RawEvent {
    start: Option<(String, bool)>,
    end: Option<(String, bool)>,
    duration: Option<String>,
    rrule: Option<String>,
    exdates: Vec<(String, bool)>,
    transparent: bool,
    cancelled: bool,
}

/// The VEVENTs' properties; properties of nested components are ignored.
fn events(lines: &[String]) -> Vec<RawEvent> {
    let mut found = Vec::new();
    let mut current: Option<RawEvent> = None;
    let mut nested = 0usize;
    for line in lines {
        let Some(p) = property(line) else { continue };
        let value = p.value.to_ascii_uppercase();
        match (p.name.as_str(), value.as_str()) {
            ("BEGIN", "VEVENT") => current = Some(RawEvent::default()),
            ("BEGIN", _) if current.is_some() => nested += 1,
            ("END", "VEVENT") => {
                found.extend(current.take());
                nested = 0;
            }
            ("END", _) if current.is_some() => nested = nested.saturating_sub(1),
            _ => {
                if let Some(event) = current.as_mut().filter(|_| nested == 0) {
                    event.read(&p);
                }
            }
        }
    }
    found
}

impl RawEvent {
    fn read(&mut self, p: &Property<'_>) {
        let is_date = p
            .params
            .iter()
            .any(|(k, v)| k == "VALUE" && v.eq_ignore_ascii_case("DATE"));
        let value = p.value.to_string();
        match p.name.as_str() {
            "DTSTART" => self.start = Some((value, is_date)),
            "DTEND" => self.end = Some((value, is_date)),
            "DURATION" => self.duration = Some(value),
            "RRULE" => self.rrule = Some(value),
            "EXDATE" => self
                .exdates
                .extend(p.value.split(',').map(|v| (v.trim().to_string(), is_date))),
            "TRANSP" => self.transparent = value.eq_ignore_ascii_case("TRANSPARENT"),
            "STATUS" => self.cancelled = value.eq_ignore_ascii_case("CANCELLED"),
            _ => {}
        }
    }

    /// `None` when the event cannot be read; empty when it blocks nothing.
    fn occurrences(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> Option<Vec<BusyPeriod>> {
        if self.transparent || self.cancelled {
            return Some(Vec::new());
        }
        let (start_text, start_is_date) = self.start.as_ref()?;
        let start = parse_time(start_text, *start_is_date)?;
        let length = self.length(start, *start_is_date)?;
        let excluded: Vec<DateTime<Utc>> = self
            .exdates
            .iter()
            .filter_map(|(v, d)| parse_time(v, *d))
            .collect();
        let rule = match &self.rrule {
            Some(text) => Some(Rule::parse(text)?),
            None => None,
        };
        let starts = match rule {
            Some(rule) => rule.expand(start, to),
            None => vec![start],
        };
        Some(
            starts
                .into_iter()
                .filter(|s| !excluded.contains(s))
                .map(|s| BusyPeriod {
                    start: s,
                    end: s + length,
                })
                .filter(|p| p.end > from && p.start < to && p.end > p.start)
                .collect(),
        )
    }

    fn length(&self, start: DateTime<Utc>, start_is_date: bool) -> Option<Duration> {
        if let Some((text, is_date)) = &self.end {
            let end = parse_time(text, *is_date)?;
            return Some((end - start).max(Duration::zero()));
        }
        if let Some(text) = &self.duration {
            return parse_duration(text);
        }
        // RFC 5545 §3.6.1: a date event without an end lasts the day; a
        // date-time event without one ends when it starts.
        Some(if start_is_date {
            Duration::days(1)
        } else {
            Duration::zero()
        })
    }
}

/// `20260301` (a date, midnight UTC), `20260301T090000` or `…Z`.
fn parse_time(text: &str, is_date: bool) -> Option<DateTime<Utc>> {
    let text = text.trim().trim_end_matches(['Z', 'z']);
    if is_date || text.len() == 8 {
        let date = NaiveDate::parse_from_str(text, "%Y%m%d").ok()?;
        return Some(date.and_hms_opt(0, 0, 0)?.and_utc());
    }
    NaiveDateTime::parse_from_str(text, "%Y%m%dT%H%M%S")
        .ok()
        .map(|t| t.and_utc())
}

/// `P1W`, `P2D`, `PT1H30M`, `P1DT12H`; a negative duration blocks nothing.
fn parse_duration(text: &str) -> Option<Duration> {
    let text = text.trim();
    let (negative, text) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text.strip_prefix('+').unwrap_or(text)),
    };
    let text = text.strip_prefix(['P', 'p'])?;
    let mut total = Duration::zero();
    let mut number = String::new();
    for c in text.chars() {
        match c.to_ascii_uppercase() {
            '0'..='9' => number.push(c),
            'T' => {}
            unit => {
                let n: i64 = number.parse().ok()?;
                number.clear();
                total += match unit {
                    'W' => Duration::weeks(n),
                    'D' => Duration::days(n),
                    'H' => Duration::hours(n),
                    'M' => Duration::minutes(n),
                    'S' => Duration::seconds(n),
                    _ => return None,
                };
            }
        }
    }
    (number.is_empty()).then_some(if negative { Duration::zero() } else { total })
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Freq {
    Daily,
    Weekly,
    Monthly,
    Yearly,
}

#[derive(Debug, Clone, PartialEq)]
struct Rule {
    freq: Freq,
    interval: u32,
    count: Option<usize>,
    until: Option<DateTime<Utc>>,
    by_day: Vec<Weekday>,
}

impl Rule {
    fn parse(text: &str) -> Option<Self> {
        let mut rule = Rule {
            freq: Freq::Daily,
            interval: 1,
            count: None,
            until: None,
            by_day: Vec::new(),
        };
        let mut freq = None;
        for part in text.split(';') {
            let Some((key, value)) = part.split_once('=') else {
                continue;
            };
            let value = value.trim().to_ascii_uppercase();
            match key.trim().to_ascii_uppercase().as_str() {
                "FREQ" => {
                    freq = Some(match value.as_str() {
                        "DAILY" => Freq::Daily,
                        "WEEKLY" => Freq::Weekly,
                        "MONTHLY" => Freq::Monthly,
                        "YEARLY" => Freq::Yearly,
                        _ => return None,
                    })
                }
                "INTERVAL" => rule.interval = value.parse().ok().filter(|n| *n > 0)?,
                "COUNT" => rule.count = Some(value.parse().ok()?),
                "UNTIL" => rule.until = Some(parse_time(&value, value.len() == 8)?),
                "BYDAY" => rule.by_day = value.split(',').filter_map(weekday).collect(),
                _ => {}
            }
        }
        rule.freq = freq?;
        Some(rule)
    }

    /// Occurrence starts from `start` up to (not including) `to`, honouring
    /// COUNT and UNTIL. COUNT counts from the first occurrence, so expansion
    /// always walks from `start`.
    fn expand(&self, start: DateTime<Utc>, to: DateTime<Utc>) -> Vec<DateTime<Utc>> {
        let mut found = Vec::new();
        let mut produced = 0usize;
        for step in 0..MAX_STEPS {
            let Some(candidates) = self.period(start, step) else {
                break;
            };
            if candidates.first().is_some_and(|first| *first >= to) {
                break;
            }
            for at in candidates.into_iter().filter(|at| *at >= start) {
                let past_until = self.until.is_some_and(|u| at > u);
                let past_count = self.count.is_some_and(|c| produced >= c);
                if past_until || past_count || at >= to {
                    return found;
                }
                produced += 1;
                found.push(at);
            }
        }
        found
    }

    /// The candidate starts in the `step`-th period after the first.
    /// `None` when the date arithmetic leaves chrono's range.
    fn period(&self, start: DateTime<Utc>, step: usize) -> Option<Vec<DateTime<Utc>>> {
        let n = u32::try_from(step).ok()?.checked_mul(self.interval)?;
        let time = start.time();
        let date = start.date_naive();
        let at = |d: NaiveDate| d.and_time(time).and_utc();
        Some(match self.freq {
            Freq::Daily => vec![at(date.checked_add_days(Days::new(n.into()))?)],
            Freq::Weekly if self.by_day.is_empty() => {
                vec![at(date.checked_add_days(Days::new(u64::from(n) * 7))?)]
            }
            Freq::Weekly => {
                let monday = date - Days::new(date.weekday().num_days_from_monday().into());
                let week = monday.checked_add_days(Days::new(u64::from(n) * 7))?;
                let mut days: Vec<NaiveDate> = self
                    .by_day
                    .iter()
                    .filter_map(|d| {
                        week.checked_add_days(Days::new(d.num_days_from_monday().into()))
                    })
                    .collect();
                days.sort();
                days.dedup();
                days.into_iter().map(at).collect()
            }
            // A month or year without the start's day (the 31st, 29 Feb) has
            // no occurrence (RFC 5545 §3.3.10).
            Freq::Monthly => same_day(date, n, 1).map(at).into_iter().collect(),
            Freq::Yearly => same_day(date, n, 12).map(at).into_iter().collect(),
        })
    }
}

/// The date `n * months_per_step` months after `date`, on the same day, if
/// that month has it.
fn same_day(date: NaiveDate, n: u32, months_per_step: u32) -> Option<NaiveDate> {
    let first = date.with_day(1)?;
    let month = first.checked_add_months(Months::new(n.checked_mul(months_per_step)?))?;
    month.with_day(date.day())
}

fn weekday(code: &str) -> Option<Weekday> {
    // Weekly rules take plain days; an ordinal prefix (`1MO`) is dropped.
    let code = code
        .trim()
        .trim_start_matches(|c: char| c.is_ascii_digit() || c == '+' || c == '-');
    Some(match code {
        "MO" => Weekday::Mon,
        "TU" => Weekday::Tue,
        "WE" => Weekday::Wed,
        "TH" => Weekday::Thu,
        "FR" => Weekday::Fri,
        "SA" => Weekday::Sat,
        "SU" => Weekday::Sun,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .unwrap()
            .with_timezone(&Utc)
    }

    fn calendar(events: &str) -> String {
        format!("BEGIN:VCALENDAR\r\nVERSION:2.0\r\n{events}END:VCALENDAR\r\n")
    }

    fn starts(ics: &str, from: &str, to: &str) -> Vec<String> {
        busy_periods(ics, utc(from), utc(to))
            .unwrap()
            .iter()
            .map(|p| p.start.format("%Y-%m-%d %H:%M").to_string())
            .collect()
    }

    #[test]
    fn folded_lines_are_joined() {
        let lines = unfold("DESCRIPTION:a long\r\n  line\r\nDTSTART:2\r\n\tX\n");
        assert_eq!(lines[0], "DESCRIPTION:a long line");
        assert_eq!(lines[1], "DTSTART:2X");
    }

    #[test]
    fn date_and_date_time_forms() {
        let ics = calendar(concat!(
            "BEGIN:VEVENT\r\nDTSTART;VALUE=DATE:20270301\r\nDTEND;VALUE=DATE:20270303\r\nEND:VEVENT\r\n",
            "BEGIN:VEVENT\r\nDTSTART:20270305T090000Z\r\nDTEND:20270305T100000Z\r\nEND:VEVENT\r\n",
            "BEGIN:VEVENT\r\nDTSTART;TZID=\"Europe/Paris\":20270306T090000\r\nDURATION:PT2H\r\nEND:VEVENT\r\n",
            "BEGIN:VEVENT\r\nDTSTART;VALUE=DATE:20270308\r\nEND:VEVENT\r\n",
        ));
        let busy = busy_periods(
            &ics,
            utc("2027-01-01T00:00:00Z"),
            utc("2028-01-01T00:00:00Z"),
        )
        .unwrap();
        let spans: Vec<i64> = busy.iter().map(|p| (p.end - p.start).num_hours()).collect();
        assert_eq!(spans, [48, 1, 2, 24]);
        assert_eq!(busy[2].start, utc("2027-03-06T09:00:00Z"));
    }

    #[test]
    fn weekly_rule_with_byday_count_and_interval() {
        let ics = calendar(
            "BEGIN:VEVENT\r\nDTSTART:20270301T090000Z\r\nDURATION:PT1H\r\nRRULE:FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,WE;COUNT=5\r\nEND:VEVENT\r\n",
        );
        assert_eq!(
            starts(&ics, "2027-01-01T00:00:00Z", "2028-01-01T00:00:00Z"),
            [
                "2027-03-01 09:00",
                "2027-03-03 09:00",
                "2027-03-15 09:00",
                "2027-03-17 09:00",
                "2027-03-29 09:00"
            ]
        );
    }

    #[test]
    fn daily_until_and_monthly_skip_short_months() {
        let ics = calendar(concat!(
            "BEGIN:VEVENT\r\nDTSTART;VALUE=DATE:20270101\r\nRRULE:FREQ=DAILY;UNTIL=20270103\r\nEND:VEVENT\r\n",
            "BEGIN:VEVENT\r\nDTSTART;VALUE=DATE:20270131\r\nRRULE:FREQ=MONTHLY;COUNT=3\r\nEND:VEVENT\r\n",
        ));
        assert_eq!(
            starts(&ics, "2026-12-01T00:00:00Z", "2028-01-01T00:00:00Z"),
            [
                "2027-01-01 00:00",
                "2027-01-02 00:00",
                "2027-01-03 00:00",
                "2027-01-31 00:00",
                "2027-03-31 00:00",
                "2027-05-31 00:00"
            ]
        );
    }

    #[test]
    fn only_the_window_is_expanded_and_exdates_are_skipped() {
        let ics = calendar(
            "BEGIN:VEVENT\r\nDTSTART;VALUE=DATE:19900101\r\nRRULE:FREQ=DAILY\r\nEXDATE;VALUE=DATE:20270102\r\nEND:VEVENT\r\n",
        );
        assert_eq!(
            starts(&ics, "2027-01-01T00:00:00Z", "2027-01-04T00:00:00Z"),
            ["2027-01-01 00:00", "2027-01-03 00:00"]
        );
    }

    #[test]
    fn free_cancelled_nested_and_broken_events_block_nothing() {
        let ics = calendar(concat!(
            "BEGIN:VEVENT\r\nDTSTART;VALUE=DATE:20270101\r\nTRANSP:TRANSPARENT\r\nEND:VEVENT\r\n",
            "BEGIN:VEVENT\r\nDTSTART;VALUE=DATE:20270102\r\nSTATUS:CANCELLED\r\nEND:VEVENT\r\n",
            "BEGIN:VEVENT\r\nDTSTART:garbage\r\nEND:VEVENT\r\n",
            "BEGIN:VEVENT\r\nDTSTART;VALUE=DATE:20270104\r\nBEGIN:VALARM\r\nDURATION:P9D\r\nEND:VALARM\r\nEND:VEVENT\r\n",
        ));
        assert_eq!(
            starts(&ics, "2027-01-01T00:00:00Z", "2027-02-01T00:00:00Z"),
            ["2027-01-04 00:00"]
        );
    }

    #[test]
    fn a_document_that_is_not_a_calendar_is_an_error() {
        let from = utc("2027-01-01T00:00:00Z");
        assert_eq!(
            busy_periods("<html></html>", from, from),
            Err(IcsError::NotCalendar)
        );
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("P1W"), Some(Duration::weeks(1)));
        assert_eq!(parse_duration("P1DT2H30M"), Some(Duration::minutes(1590)));
        assert_eq!(parse_duration("-PT1H"), Some(Duration::zero()));
        assert_eq!(parse_duration("P1X"), None);
        assert_eq!(parse_duration("P1"), None);
    }
}
