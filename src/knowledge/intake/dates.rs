//! When the trip starts (and, for a range, ends): ISO dates, "12/3" in the writer's
//! day/month order, "March 12", "12th of March", "from 12 to 18 March", "12-18/3",
//! "tháng 3", "du 12 au 18 mars", "vom 12. bis 18. März", "next month", "this
//! weekend", "in two weeks", "early May", seasons, and holidays (Tết, Christmas,
//! Easter). A date without a year is the next one on or after today.

use std::ops::Range;

use chrono::{Datelike, Days, Months, NaiveDate, Weekday};

use super::numbers::number_word;
use super::text::{Token, Tokens, listed, match_at};

/// A month named without a day ("in March") starts on this day of it.
pub(super) const DEFAULT_DAY_OF_MONTH: u32 = 10;

/// The start of the trip as the text gives it.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct When {
    pub start: NaiveDate,
    /// The last day, when the text gives a range.
    pub end: Option<NaiveDate>,
    /// Only the month is known ("in March"): the day is a default.
    pub month_only: bool,
    pub spans: Vec<Range<usize>>,
    /// Dates that cannot both hold ("from March 20 to March 10").
    pub conflict: Option<String>,
}

/// A list of one span (a `When` can collect more, e.g. a return date).
fn one(span: Range<usize>) -> Vec<Range<usize>> {
    let mut spans = Vec::with_capacity(2);
    spans.push(span);
    spans
}

/// Folded month names, by month, in English, French, Spanish, German, Portuguese,
/// Italian and Indonesian. Vietnamese months are "tháng N" (see `vietnamese_month`).
const MONTHS: [&str; 12] = [
    "january jan janvier enero januar janner janeiro gennaio januari",
    "february feb fevrier febrero februar fevereiro febbraio februari",
    "march mar mars marzo marz marco maret",
    "april apr avril abril aprile",
    "may mai mayo maio maggio mei",
    "june jun juin junio juni junho giugno",
    "july jul juillet julio juli julho luglio",
    "august aug aout agosto agustus",
    "september sep sept septembre septiembre setiembre setembro settembre",
    "october oct octobre octubre oktober outubro ottobre",
    "november nov novembre noviembre novembro",
    "december dec decembre diciembre dezember dezembro dicembre desember",
];
/// Month words that are also ordinary words, read as months only with a cue.
const AMBIGUOUS_MONTHS: &str = "may mar march mars mai sept jan dec";
const MONTH_CUES: &str = "in early mid late end of during until this next from by en im de del \
    vao trong dau giua cuoi le au a al bis vom ab around circa debut fin finales mediados \
    principios anfang mitte ende inicio meados fine inizio";

pub(super) fn month_number(word: &str) -> Option<u32> {
    MONTHS
        .iter()
        .position(|names| listed(names, word))
        .map(|p| p as u32 + 1)
}

fn month_at(tokens: &Tokens, i: usize) -> Option<(u32, usize)> {
    if let Some(found) = vietnamese_month(tokens, i) {
        return Some(found);
    }
    let Token::Word {
        text, capitalized, ..
    } = tokens.get(i)?
    else {
        return None;
    };
    let month = month_number(text)?;
    if !listed(AMBIGUOUS_MONTHS, text) {
        return Some((month, 1));
    }
    let prev = tokens.prev_word(i);
    let cue = prev.is_some_and(|w| listed(MONTH_CUES, w));
    let number_next = matches!(tokens.get(i + 1), Some(Token::Number { .. }));
    let number_before = (i > 0 && matches!(tokens.get(i - 1), Some(Token::Number { .. })))
        || (i > 1
            && matches!(tokens.get(i - 1), Some(Token::Break))
            && matches!(tokens.get(i - 2), Some(Token::Number { .. })));
    // "mai" is "tomorrow" in Vietnamese ("ngày mai").
    if text == "mai" && prev == Some("ngay") {
        return None;
    }
    ((*capitalized && i > 0) || cue || number_next || number_before).then_some((month, 1))
}

/// "tháng 3", "tháng ba", "tháng giêng", "tháng chạp", "tháng mười hai".
fn vietnamese_month(tokens: &Tokens, i: usize) -> Option<(u32, usize)> {
    if tokens.word(i) != Some("thang") {
        return None;
    }
    match tokens.get(i + 1)? {
        Token::Number {
            value,
            scale,
            ordinal: false,
        } if *scale == 1.0 && (1.0..=12.0).contains(value) && value.fract() == 0.0 => {
            // "3 tháng" is a length; "tháng 3" a month. "tháng 3/2027" carries a year.
            Some((*value as u32, 2))
        }
        Token::Word { text, .. } => match text.as_str() {
            "gieng" => Some((1, 2)),
            "chap" => Some((12, 2)),
            "tu" => Some((4, 2)),
            "muoi" => match tokens.word(i + 2).and_then(number_word) {
                Some(1) => Some((11, 3)),
                Some(2) => Some((12, 3)),
                _ => Some((10, 2)),
            },
            // "tháng sau" (next month) folds like "tháng sáu" (June): only the
            // written "sáu" is June.
            "sau" => matches!(tokens.get(i + 1), Some(Token::Word { exact, .. }) if exact == "sáu")
                .then_some((6, 2)),
            other => number_word(other)
                .filter(|n| (2..=9).contains(n))
                .map(|n| (n, 2)),
        },
        _ => None,
    }
}

fn day_number(token: Option<&Token>) -> Option<u32> {
    match token? {
        Token::Number { value, scale, .. }
            if *scale == 1.0 && (1.0..=31.0).contains(value) && value.fract() == 0.0 =>
        {
            Some(*value as u32)
        }
        _ => None,
    }
}

fn year_number(token: Option<&Token>) -> Option<i32> {
    match token? {
        Token::Number { value, scale, .. }
            if *scale == 1.0 && (2000.0..=2100.0).contains(value) =>
        {
            Some(*value as i32)
        }
        _ => None,
    }
}

/// The date the text starts the trip on. `day_first` says how to read "3/4".
/// The date the text starts the trip on, skipping tokens in `taken` (place names like
/// "Chiang Mai"). `day_first` says how to read "3/4".
pub(super) fn read_when(
    tokens: &Tokens,
    today: NaiveDate,
    day_first: bool,
    taken: &[Range<usize>],
) -> Option<When> {
    let free = |i: usize| !taken.iter().any(|r| r.contains(&i));
    // Written dates beat holidays and months: "New Year's Eve in Sydney, Dec 29 - Jan 3"
    // starts on the 29th. A range after "from"/"từ" beats an earlier one ("Dịp lễ 30/4 -
    // 1/5 … đi từ 30/4 tới hết 3/5").
    let explicit: Vec<When> = (0..tokens.len())
        .filter(|&i| free(i))
        .filter_map(|i| explicit_at(tokens, i, today, day_first))
        .collect();
    let cued = explicit.iter().find(|w| {
        w.end.is_some()
            && w.spans.first().is_some_and(|r| {
                r.start > 0
                    && tokens
                        .word(r.start - 1)
                        .is_some_and(|p| listed("from tu du del vom desde de", p))
            })
    });
    let first = cued.or(explicit.first()).cloned();
    let mut when = match first {
        Some(w) => w,
        None => (0..tokens.len()).filter(|&i| free(i)).find_map(|i| {
            weekday_at(tokens, i, today)
                .or_else(|| month_phrase_at(tokens, i, today))
                .or_else(|| relative_at(tokens, i, today))
                .or_else(|| holiday_at(tokens, i, today))
        })?,
    };
    if when.end.is_none() {
        return_date(tokens, today, day_first, &mut when);
    }
    Some(when)
}

/// "leaving June 9 and coming home June 14", "về ngày 18/3": the second date ends
/// the trip.
fn return_date(tokens: &Tokens, today: NaiveDate, day_first: bool, when: &mut When) {
    const RETURN_CUES: &[&str] = &[
        "coming home",
        "come home",
        "coming back",
        "come back",
        "back on",
        "back",
        "return",
        "returning",
        "return on",
        "fly back",
        "flying back",
        "home on",
        "ve",
        "tro ve",
        "quay ve",
        "retour",
        "retour le",
        "rentrer",
        "regreso",
        "volver",
        "vuelta",
        "zuruck",
        "ruckflug",
        "volta",
        "ritorno",
    ];
    let after = when.spans.iter().map(|r| r.end).max().unwrap_or(0);
    for i in after..tokens.len() {
        let Some(len) = match_at(tokens, i, RETURN_CUES) else {
            continue;
        };
        let mut j = i + len;
        j += usize::from(matches!(
            tokens.word(j),
            Some("on" | "ngay" | "le" | "el" | "am")
        ));
        j += usize::from(matches!(tokens.word(j), Some("the")));
        // "back on the 12th": a day of the month the trip started in (or the next).
        let day_only = match tokens.get(j) {
            Some(Token::Number { value, scale, .. })
                if *scale == 1.0
                    && (1.0..=31.0).contains(value)
                    && !matches!(tokens.get(j + 1), Some(Token::Word { .. }))
                    || matches!(tokens.get(j), Some(Token::Number { ordinal: true, .. })) =>
            {
                let day = *value as u32;
                NaiveDate::from_ymd_opt(when.start.year(), when.start.month(), day)
                    .filter(|d| *d >= when.start)
                    .or_else(|| {
                        let next = when.start.checked_add_months(Months::new(1))?;
                        NaiveDate::from_ymd_opt(next.year(), next.month(), day)
                    })
                    .map(|d| (d, j + 1))
            }
            _ => None,
        };
        if let Some((end, stop)) = single_date_at(tokens, j, today, day_first).or(day_only) {
            if end < when.start {
                when.conflict = Some(format!(
                    "it comes back on {end}, before it leaves on {}.",
                    when.start
                ));
            } else if (end - when.start).num_days() <= 60 {
                when.end = Some(end);
            }
            when.spans.push(i..stop);
            return;
        }
    }
}

/// "this Saturday", "next Friday", "thứ 7 tuần này", "thứ 6 tuần sau", "samedi
/// prochain", "el próximo sábado", "nächsten Samstag".
fn weekday_at(tokens: &Tokens, i: usize, today: NaiveDate) -> Option<When> {
    const DAYS: [&str; 7] = [
        "monday lundi lunes montag segunda lunedi senin",
        "tuesday mardi martes dienstag terca martedi selasa",
        "wednesday mercredi miercoles mittwoch quarta mercoledi rabu",
        "thursday jeudi jueves donnerstag quinta giovedi kamis",
        "friday vendredi viernes freitag sexta venerdi jumat",
        "saturday samedi sabado samstag sabato sabtu",
        "sunday dimanche domingo sonntag domenica minggu",
    ];
    let (weekday, len) = match tokens.word(i)? {
        // "thứ 2" is Monday … "thứ 7" Saturday; "chủ nhật" is Sunday.
        "thu" => {
            let n = tokens.get(i + 1)?.bare_number()?;
            ((2.0..=7.0).contains(&n)).then_some((n as usize - 2, 2))?
        }
        "chu" if tokens.word(i + 1) == Some("nhat") => (6, 2),
        word => (DAYS.iter().position(|d| listed(d, word))?, 1),
    };
    let before: Vec<&str> = (i.saturating_sub(2)..i)
        .filter_map(|k| tokens.word(k))
        .collect();
    let after: Vec<&str> = (i + len..i + len + 2)
        .filter_map(|k| tokens.word(k))
        .collect();
    let next_week = before
        .iter()
        .any(|w| listed("next proximo nachsten naechsten", w))
        || after
            .windows(2)
            .any(|w| w == ["tuan", "sau"] || w == ["tuan", "toi"])
        || after.iter().any(|w| listed("prochain prochaine", w));
    let this_week = before.iter().any(|w| listed("this ce este diesen", w))
        || after.windows(2).any(|w| w == ["tuan", "nay"]);
    if !next_week
        && !this_week
        && !matches!(before.last(), Some(&("on" | "vao" | "le" | "el" | "am")))
    {
        return None;
    }
    let target = chrono::Weekday::try_from(weekday as u8).ok()?;
    let mut date = next_weekday(today, target);
    if next_week {
        // "next Friday" / "thứ 6 tuần sau": the one in the coming week.
        let monday = next_weekday(today.checked_add_days(Days::new(1))?, Weekday::Mon);
        date = next_weekday(monday, target);
    }
    let extra = usize::from(after.first().is_some_and(|w| listed("tuan", w))) * 2;
    Some(When {
        start: date,
        end: None,
        month_only: false,
        spans: one(i.saturating_sub(usize::from(this_week || next_week))..i + len + extra),
        conflict: None,
    })
}

/// A day and month written out: ISO, "12/3", "March 12", "12 March", "12 tháng 3",
/// with an optional range to a second day.
fn explicit_at(tokens: &Tokens, i: usize, today: NaiveDate, day_first: bool) -> Option<When> {
    let (first, end) = single_date_at(tokens, i, today, day_first)?;
    let mut when = When {
        start: first,
        end: None,
        month_only: false,
        spans: one(i..end),
        conflict: None,
    };
    if let Some((last, range_end)) = range_to(tokens, end, first, today, day_first) {
        if last < first {
            when.conflict = Some(format!("it ends on {last}, before it starts on {first}."));
        } else {
            when.end = Some(last);
        }
        when.spans = one(i..range_end);
    }
    Some(when)
}

/// A complete date at `i`: returns it and the index after it.
fn single_date_at(
    tokens: &Tokens,
    i: usize,
    today: NaiveDate,
    day_first: bool,
) -> Option<(NaiveDate, usize)> {
    match tokens.get(i)? {
        Token::Date(date) => Some((*date, i + 1)),
        Token::DayMonth { a, b, year } => {
            let (day, month) = if *a > 12 || (day_first && *b <= 12) {
                (*a, *b)
            } else {
                (*b, *a)
            };
            let date = next_occurrence(today, month, day, *year)?;
            Some((date, i + 1))
        }
        Token::Number { .. } => {
            // "12 March", "12th of March", "12. März", "12 de marzo", "ngày 12 tháng 3",
            // and the start of a range: "12-18 March", "from 12 to 18 March".
            let day = day_number(tokens.get(i))?;
            // "từ 12 đến 18/3": the month comes with the range's second date.
            if let Some(joiner) = range_joiner(tokens, i + 1)
                && let Some(Token::DayMonth { a, b, year }) = tokens.get(i + 1 + joiner)
            {
                let month = if *a > 12 || (day_first && *b <= 12) {
                    *b
                } else {
                    *a
                };
                return Some((next_occurrence(today, month, day, *year)?, i + 1));
            }
            let mut j = i + 1;
            let (_, after_range) = range_numbers(tokens, j).unwrap_or((day, j));
            j = after_range;
            j += skip_fillers(tokens, j);
            let (month, len) = month_at(tokens, j)?;
            let year = year_after(tokens, j + len);
            let date = next_occurrence(today, month, day, year.map(|(y, _)| y))?;
            // A range "12-18 March" is read by `range_to` from just after the day.
            let end = if after_range > i + 1 {
                i + 1
            } else {
                j + len + year.map_or(0, |(_, l)| l)
            };
            Some((date, end))
        }
        Token::Word { .. } => {
            // "March 12", "March 12th, 2027"
            let (month, len) = month_at(tokens, i)?;
            let day = day_number(tokens.get(i + len))?;
            if matches!(tokens.get(i + len), Some(Token::Number { value, .. }) if *value > 31.0) {
                return None;
            }
            let year = year_after(tokens, i + len + 1);
            let date = next_occurrence(today, month, day, year.map(|(y, _)| y))?;
            Some((date, i + len + 1 + year.map_or(0, |(_, l)| l)))
        }
        _ => None,
    }
}

/// "-18", "to 18", "au 18", "đến 18", "bis 18." after a first day: the two numbers of
/// a range whose month comes after ("12-18 March"). Returns the second day and the
/// index after it.
fn range_numbers(tokens: &Tokens, at: usize) -> Option<(u32, usize)> {
    let joiner = range_joiner(tokens, at)?;
    let mut j = at + joiner;
    j += usize::from(matches!(tokens.word(j), Some("ngay")));
    let day = day_number(tokens.get(j))?;
    Some((day, j + 1))
}

fn range_joiner(tokens: &Tokens, at: usize) -> Option<usize> {
    let skip_break = usize::from(matches!(tokens.get(at), Some(Token::Break)));
    let at = at + skip_break;
    match tokens.get(at)? {
        Token::Dash => Some(1 + skip_break),
        Token::Word { .. } => match_at(
            tokens,
            at,
            &[
                "to", "til", "till", "until", "through", "thru", "and", "den", "toi", "au", "al",
                "a", "hasta", "bis", "bis zum", "ate", "al", "sampai", "and the", "to the",
            ],
        )
        .map(|l| l + skip_break),
        _ => None,
    }
}

/// The end of a range after the first date ends at `at`.
fn range_to(
    tokens: &Tokens,
    at: usize,
    first: NaiveDate,
    today: NaiveDate,
    day_first: bool,
) -> Option<(NaiveDate, usize)> {
    let joiner = range_joiner(tokens, at)?;
    let mut j = at + joiner + usize::from(matches!(tokens.word(at + joiner), Some("het")));
    j += usize::from(matches!(tokens.word(j), Some("ngay" | "le" | "el")));
    // A full second date: "March 28 to April 3", "12/3 - 18/3", "Dec 28 to Jan 2".
    // One that falls before the first in the same year is a contradiction, unless it
    // crosses into the new year.
    let same_year_start = NaiveDate::from_ymd_opt(first.year(), 1, 1)?;
    if let Some((last, end)) = single_date_at(tokens, j, same_year_start, day_first) {
        let last = NaiveDate::from_ymd_opt(first.year(), last.month(), last.day()).unwrap_or(last);
        if last >= first {
            return Some((last, end));
        }
        let next_year = last.checked_add_months(Months::new(12))?;
        if (next_year - first).num_days() <= 60 {
            return Some((next_year, end));
        }
        return Some((last, end));
    }
    // Only a day: "12-18 March" (month after) or "March 12-18" (month before).
    let day = day_number(tokens.get(j))?;
    let mut end = j + 1;
    end += skip_fillers(tokens, end);
    let month = match month_at(tokens, end) {
        Some((m, len)) => {
            end += len;
            if let Some((_, l)) = year_after(tokens, end) {
                end += l;
            }
            m
        }
        None => {
            end = j + 1;
            first.month()
        }
    };
    let mut last = NaiveDate::from_ymd_opt(first.year(), month, day)?;
    if last < first && (last.checked_add_months(Months::new(12))? - first).num_days() <= 60 {
        last = last.checked_add_months(Months::new(12))?;
    }
    let _ = today;
    Some((last, end))
}

/// "of", "de", "tháng"-less fillers between a day and its month: "12th of March",
/// "12 de marzo", "12. März" (the full stop is a Break token).
fn skip_fillers(tokens: &Tokens, at: usize) -> usize {
    let mut n = 0;
    loop {
        match tokens.get(at + n) {
            Some(Token::Break) if n == 0 => n += 1,
            Some(Token::Word { text, .. }) if listed("of de del th", text) => n += 1,
            _ => return n,
        }
    }
}

fn year_after(tokens: &Tokens, at: usize) -> Option<(i32, usize)> {
    for k in 0..2 {
        match tokens.get(at + k) {
            Some(Token::Break | Token::Dash) => continue,
            Some(Token::Word { text, .. }) if listed("nam of de del", text) => continue,
            other => return year_number(other).map(|y| (y, k + 1)),
        }
    }
    None
}

/// "in March", "early May", "tháng 3", "en mars", "im März", "end of March 2027",
/// "first week of May".
fn month_phrase_at(tokens: &Tokens, i: usize, today: NaiveDate) -> Option<When> {
    let (month, len) = month_at(tokens, i)?;
    let year = year_after(tokens, i + len);
    let part = month_part(tokens, i);
    let day = part.unwrap_or(DEFAULT_DAY_OF_MONTH);
    let start = next_month_occurrence(today, month, day, year.map(|(y, _)| y))?;
    Some(When {
        start,
        end: None,
        month_only: part.is_none(),
        spans: one(i..i + len + year.map_or(0, |(_, l)| l)),
        conflict: None,
    })
}

/// Early, mid or late month, from the words just before the month.
fn month_part(tokens: &Tokens, i: usize) -> Option<u32> {
    let before: Vec<&str> = (i.saturating_sub(4)..i)
        .filter_map(|k| tokens.word(k))
        .collect();
    let has = |list: &str| before.iter().any(|w| listed(list, w));
    if has("first beginning start early dau debut principios anfang inicio inizio awal") {
        return Some(3);
    }
    if has("mid middle giua mi mediados mitte meados meta pertengahan") {
        return Some(15);
    }
    if has("late end last cuoi fin finales ende fine akhir") {
        return Some(22);
    }
    if has("second") {
        return Some(8);
    }
    if has("third") {
        return Some(15);
    }
    None
}

/// "next month", "next week", "this weekend", "tomorrow", "in two weeks", in the
/// languages we read.
fn relative_at(tokens: &Tokens, i: usize, today: NaiveDate) -> Option<When> {
    if let Some(len) = match_at(tokens, i, NEXT_MONTH) {
        let next = today.checked_add_months(Months::new(1))?;
        let start = NaiveDate::from_ymd_opt(next.year(), next.month(), DEFAULT_DAY_OF_MONTH)?;
        return Some(found(i, len, start, true));
    }
    if let Some(len) = match_at(tokens, i, THIS_MONTH) {
        let part = month_part(tokens, i).unwrap_or(DEFAULT_DAY_OF_MONTH);
        let start = next_month_occurrence(today, today.month(), part, None)?;
        return Some(found(i, len, start, false));
    }
    if let Some(len) = match_at(tokens, i, NEXT_WEEKEND) {
        let saturday = next_weekday(today, Weekday::Sat);
        return Some(found(
            i,
            len,
            saturday.checked_add_days(Days::new(7))?,
            false,
        ));
    }
    if let Some(len) = match_at(tokens, i, THIS_WEEKEND) {
        return Some(found(i, len, next_weekday(today, Weekday::Sat), false));
    }
    if let Some(len) = match_at(tokens, i, NEXT_WEEK) {
        let monday = next_weekday(today.checked_add_days(Days::new(1))?, Weekday::Mon);
        return Some(found(i, len, monday, false));
    }
    if let Some(len) = match_at(tokens, i, TOMORROW) {
        return Some(found(i, len, today.checked_add_days(Days::new(1))?, false));
    }
    offset_at(tokens, i, today)
}

/// "leaving in 2 weeks", "2 tuần nữa", "3 weeks from now", "dans deux semaines": a
/// start some days, weeks or months ahead.
fn offset_at(tokens: &Tokens, i: usize, today: NaiveDate) -> Option<When> {
    let cue = match_at(tokens, i, &["in", "dans", "en", "within"]);
    let at = i + cue.unwrap_or(0);
    let (count, used) = super::numbers::count_at(tokens, at)?;
    let unit = tokens.word(at + used)?;
    let days_per = if listed(
        "week weeks tuan semaines semaine semanas semana wochen woche",
        unit,
    ) {
        7.0
    } else if listed("day days ngay jours dias tagen", unit) {
        1.0
    } else if listed("month months thang mois meses monaten", unit) {
        30.0
    } else {
        return None;
    };
    let later = matches!(tokens.word(at + used + 1), Some("nua" | "later"))
        || (tokens.word(at + used + 1) == Some("from")
            && tokens.word(at + used + 2) == Some("now"))
        || (cue.is_some()
            && matches!(
                tokens.prev_word(i),
                Some(
                    "leaving"
                        | "leave"
                        | "departing"
                        | "going"
                        | "flying"
                        | "starting"
                        | "start"
                        | "travel"
                        | "go"
                )
            ));
    if !later || count > 52.0 {
        return None;
    }
    let start = today.checked_add_days(Days::new((count * days_per) as u64))?;
    let len = at + used + 1 - i
        + usize::from(matches!(tokens.word(at + used + 1), Some("nua" | "later")));
    Some(found(i, len, start, false))
}

const NEXT_MONTH: &[&str] = &[
    "next month",
    "thang sau",
    "thang toi",
    "mois prochain",
    "le mois prochain",
    "mes que viene",
    "proximo mes",
    "el mes que viene",
    "el proximo mes",
    "nachsten monat",
    "naechsten monat",
    "kommenden monat",
    "bulan depan",
    "proximo mes",
    "mese prossimo",
];

const NEXT_WEEK: &[&str] = &[
    "next week",
    "tuan sau",
    "tuan toi",
    "semaine prochaine",
    "la semaine prochaine",
    "proxima semana",
    "la proxima semana",
    "semana que viene",
    "nachste woche",
    "nachsten woche",
    "minggu depan",
    "settimana prossima",
];

const THIS_WEEKEND: &[&str] = &[
    "this weekend",
    "cuoi tuan nay",
    "ce week end",
    "este fin de semana",
    "dieses wochenende",
    "akhir pekan ini",
];

const NEXT_WEEKEND: &[&str] = &[
    "next weekend",
    "cuoi tuan sau",
    "cuoi tuan toi",
    "le week end prochain",
    "el proximo fin de semana",
    "nachstes wochenende",
];

const TOMORROW: &[&str] = &[
    "tomorrow", "ngay mai", "demain", "manana", "morgen", "besok",
];

const THIS_MONTH: &[&str] = &[
    "this month",
    "thang nay",
    "ce mois",
    "este mes",
    "diesen monat",
];

fn next_weekday(from: NaiveDate, weekday: Weekday) -> NaiveDate {
    let ahead = (7 + weekday.num_days_from_monday() - from.weekday().num_days_from_monday()) % 7;
    from.checked_add_days(Days::new(u64::from(ahead)))
        .unwrap_or(from)
}

/// Holidays and seasons: Tết, Christmas, New Year, Easter, Thanksgiving, carnival,
/// fixed days, summer, …
fn holiday_at(tokens: &Tokens, i: usize, today: NaiveDate) -> Option<When> {
    lunar_new_year_at(tokens, i, today)
        .or_else(|| yearly_at(tokens, i, today))
        .or_else(|| movable_feast_at(tokens, i, today))
        .or_else(|| season_at(tokens, i, today))
}

const TET: &[&str] = &[
    "tet",
    "tet nguyen dan",
    "tet am lich",
    "lunar new year",
    "chinese new year",
    "seollal",
];

const CHRISTMAS: &[&str] = &[
    "christmas",
    "xmas",
    "giang sinh",
    "noel",
    "navidad",
    "weihnachten",
    "natal",
    "natale",
];

const NEW_YEAR: &[&str] = &[
    "new year",
    "new years",
    "new year s",
    "nye",
    "tet duong lich",
    "nouvel an",
    "reveillon",
    "ano nuevo",
    "silvester",
    "capodanno",
];

const EASTER: &[&str] = &[
    "easter",
    "paques",
    "semana santa",
    "pascua",
    "ostern",
    "pascoa",
    "pasqua",
    "paskah",
];

const SEASONS: &[(&str, u32)] = &[
    ("summer", 7),
    ("he", 7),
    ("mua he", 7),
    ("nghi he", 6),
    ("ete", 7),
    ("verano", 7),
    ("sommer", 7),
    ("estate", 7),
    ("winter", 1),
    ("mua dong", 1),
    ("hiver", 1),
    ("invierno", 1),
    ("spring break", 3),
    ("spring", 4),
    ("mua xuan", 3),
    ("printemps", 4),
    ("primavera", 4),
    ("fruhling", 4),
    ("autumn", 10),
    ("fall", 10),
    ("mua thu", 10),
    ("automne", 10),
    ("otono", 10),
    ("herbst", 10),
    ("golden week", 4),
    ("cherry blossom", 4),
    ("cherry blossoms", 4),
    ("sakura", 4),
];

const THANKSGIVING: &[&str] = &["thanksgiving", "le tan on"];

const CARNIVAL: &[&str] = &[
    "mardi gras",
    "carnival",
    "carnaval",
    "carnevale",
    "fasching",
    "karneval",
];

const FIXED_DAYS: &[(&str, u32, u32)] = &[
    ("st patrick s day", 3, 17),
    ("st patricks day", 3, 17),
    ("saint patrick s day", 3, 17),
    ("st paddy s day", 3, 17),
    ("valentine s day", 2, 14),
    ("valentines day", 2, 14),
    ("valentine", 2, 14),
    ("halloween", 10, 31),
    ("songkran", 4, 13),
    ("oktoberfest", 9, 19),
    ("quoc khanh", 9, 1),
    ("independence day", 7, 4),
    ("bastille day", 7, 14),
];

/// A date read from the `len` tokens at `i`.
fn found(i: usize, len: usize, start: NaiveDate, month_only: bool) -> When {
    When {
        start,
        end: None,
        month_only,
        spans: one(i..i + len),
        conflict: None,
    }
}

/// Travel over Tết starts the day before the first day of the new year.
fn lunar_new_year_at(tokens: &Tokens, i: usize, today: NaiveDate) -> Option<When> {
    let len = match_at(tokens, i, TET)?;
    let start = LUNAR_NEW_YEAR
        .iter()
        .filter_map(|(y, m, d)| NaiveDate::from_ymd_opt(*y, *m, *d))
        .map(|d| d.pred_opt().unwrap_or(d))
        .find(|d| *d >= today)?;
    Some(found(i, len, start, false))
}

/// Holidays on the same date every year: Christmas, New Year, St Patrick's Day, …
/// ("new year" right after "Chinese"/"lunar" was taken by the lunar new year).
fn yearly_at(tokens: &Tokens, i: usize, today: NaiveDate) -> Option<When> {
    if let Some(len) = match_at(tokens, i, CHRISTMAS) {
        return Some(found(i, len, next_occurrence(today, 12, 23, None)?, false));
    }
    if let Some(len) = match_at(tokens, i, NEW_YEAR) {
        return Some(found(i, len, next_occurrence(today, 12, 30, None)?, false));
    }
    let fixed: Vec<&str> = FIXED_DAYS.iter().map(|(n, _, _)| *n).collect();
    let len = match_at(tokens, i, &fixed)?;
    let phrase = tokens.phrase(i, len)?;
    let (_, month, day) = FIXED_DAYS.iter().find(|(n, _, _)| *n == phrase)?;
    Some(found(
        i,
        len,
        next_occurrence(today, *month, *day, None)?,
        false,
    ))
}

/// Feasts that move with the year: Easter (trips leave on Good Friday),
/// Thanksgiving (the Wednesday before the fourth Thursday of November) and
/// carnival (the Saturday before Shrove Tuesday, 47 days before Easter).
fn movable_feast_at(tokens: &Tokens, i: usize, today: NaiveDate) -> Option<When> {
    type Rule = fn(i32) -> Option<NaiveDate>;
    let rules: [(&[&str], Rule); 3] = [
        (EASTER, |year| {
            easter_sunday(year)?.checked_sub_days(Days::new(2))
        }),
        (THANKSGIVING, |year| {
            let first = NaiveDate::from_ymd_opt(year, 11, 1)?;
            next_weekday(first, Weekday::Thu)
                .checked_add_days(Days::new(21))?
                .pred_opt()
        }),
        (CARNIVAL, |year| {
            easter_sunday(year)?.checked_sub_days(Days::new(47 + 3))
        }),
    ];
    let (len, rule) = rules
        .iter()
        .find_map(|(names, rule)| match_at(tokens, i, names).map(|len| (len, rule)))?;
    let start = (today.year()..=today.year() + 1)
        .filter_map(rule)
        .find(|d| *d >= today)?;
    Some(found(i, len, start, false))
}

/// Seasons, by the month they are usually taken in (northern hemisphere).
fn season_at(tokens: &Tokens, i: usize, today: NaiveDate) -> Option<When> {
    let names: Vec<&str> = SEASONS.iter().map(|(n, _)| *n).collect();
    let len = match_at(tokens, i, &names)?;
    let phrase = tokens.phrase(i, len)?;
    // "he" is also an English pronoun: only Vietnamese "hè" ("mùa hè", "hè này").
    if phrase == "he" && tokens.exact(i) != Some("hè") {
        return None;
    }
    if phrase == "fall"
        && !matches!(
            tokens.prev_word(i),
            Some("this" | "next" | "in" | "the" | "during")
        )
    {
        return None;
    }
    let (_, month) = SEASONS.iter().find(|(n, _)| *n == phrase)?;
    let spring_break = phrase == "spring break";
    let day = if spring_break {
        14
    } else {
        DEFAULT_DAY_OF_MONTH
    };
    let start = next_month_occurrence(today, *month, day, None)?;
    Some(found(i, len, start, !spring_break))
}

/// First day of the lunar new year (Tết Nguyên Đán), Vietnam's calendar.
const LUNAR_NEW_YEAR: &[(i32, u32, u32)] = &[
    (2026, 2, 17),
    (2027, 2, 6),
    (2028, 1, 26),
    (2029, 2, 13),
    (2030, 2, 3),
    (2031, 1, 23),
    (2032, 2, 11),
    (2033, 1, 31),
    (2034, 2, 19),
    (2035, 2, 8),
];

/// Gregorian Easter Sunday (the anonymous Gregorian algorithm).
fn easter_sunday(year: i32) -> Option<NaiveDate> {
    let a = year % 19;
    let b = year / 100;
    let c = year % 100;
    let d = b / 4;
    let e = b % 4;
    let f = (b + 8) / 25;
    let g = (b - f + 1) / 3;
    let h = (19 * a + b - d - g + 15) % 30;
    let i = c / 4;
    let k = c % 4;
    let l = (32 + 2 * e + 2 * i - h - k) % 7;
    let m = (a + 11 * h + 22 * l) / 451;
    let month = (h + l - 7 * m + 114) / 31;
    let day = (h + l - 7 * m + 114) % 31 + 1;
    NaiveDate::from_ymd_opt(year, month as u32, day as u32)
}

/// The given month/day in `year`, or else the first such date on or after `today`.
pub(super) fn next_occurrence(
    today: NaiveDate,
    month: u32,
    day: u32,
    year: Option<i32>,
) -> Option<NaiveDate> {
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) {
        return None;
    }
    let make = |y: i32| {
        NaiveDate::from_ymd_opt(y, month, day).or_else(|| {
            // "30/2" is no date; "31 April" is the month's last day.
            (day <= 31 && month != 2)
                .then(|| NaiveDate::from_ymd_opt(y, month, 30))
                .flatten()
        })
    };
    if let Some(y) = year {
        return make(y);
    }
    match make(today.year()) {
        Some(date) if date >= today => Some(date),
        _ => make(today.year() + 1),
    }
}

/// Like `next_occurrence`, but a month already under way counts as this year's
/// ("in December" on 1 December is this December).
fn next_month_occurrence(
    today: NaiveDate,
    month: u32,
    day: u32,
    year: Option<i32>,
) -> Option<NaiveDate> {
    if year.is_none() && month == today.month() {
        // The rest of this month, if a few days are left to get ready.
        let soonest = today.checked_add_days(Days::new(3))?;
        let date = NaiveDate::from_ymd_opt(today.year(), month, day)?.max(soonest);
        if date.month() == month {
            return Some(date);
        }
    }
    next_occurrence(today, month, day, year)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 12, 1).unwrap()
    }

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    fn when(text: &str) -> Option<(NaiveDate, Option<NaiveDate>)> {
        read_when(&Tokens::new(text), today(), true, &[]).map(|w| (w.start, w.end))
    }

    #[test]
    fn reads_written_dates_in_any_order() {
        assert_eq!(when("on 2027-03-12"), Some((d(2027, 3, 12), None)));
        assert_eq!(when("from March 12"), Some((d(2027, 3, 12), None)));
        assert_eq!(when("the 22nd of April"), Some((d(2027, 4, 22), None)));
        assert_eq!(when("ngày 12/3"), Some((d(2027, 3, 12), None)));
        assert_eq!(when("12 tháng 3"), Some((d(2027, 3, 12), None)));
        assert_eq!(when("le 5 mai"), Some((d(2027, 5, 5), None)));
        assert_eq!(when("12. März 2027"), Some((d(2027, 3, 12), None)));
    }

    #[test]
    fn reads_ranges() {
        let march = Some((d(2027, 3, 12), Some(d(2027, 3, 18))));
        assert_eq!(when("from 12 to 18 March"), march);
        assert_eq!(when("12-18 March"), march);
        assert_eq!(when("March 12-18"), march);
        assert_eq!(when("từ 12/3 đến 18/3"), march);
        assert_eq!(when("từ 12 đến 18/3"), march);
        assert_eq!(when("du 12 au 18 mars"), march);
        assert_eq!(when("del 12 al 18 de marzo"), march);
        assert_eq!(when("vom 12. bis 18. März"), march);
        assert_eq!(
            when("March 28 to April 3"),
            Some((d(2027, 3, 28), Some(d(2027, 4, 3))))
        );
    }

    #[test]
    fn reads_months_relative_dates_and_holidays() {
        assert_eq!(when("in March").map(|w| w.0), Some(d(2027, 3, 10)));
        assert_eq!(when("tháng 3").map(|w| w.0), Some(d(2027, 3, 10)));
        assert_eq!(when("en mars").map(|w| w.0), Some(d(2027, 3, 10)));
        assert_eq!(when("early May").map(|w| w.0), Some(d(2027, 5, 3)));
        assert_eq!(when("next month").map(|w| w.0), Some(d(2027, 1, 10)));
        assert_eq!(when("tháng sau").map(|w| w.0), Some(d(2027, 1, 10)));
        assert_eq!(when("this weekend").map(|w| w.0), Some(d(2026, 12, 5)));
        assert_eq!(when("in Tết").map(|w| w.0), Some(d(2027, 2, 5)));
        assert_eq!(when("over Christmas").map(|w| w.0), Some(d(2026, 12, 23)));
        assert_eq!(when("at Easter").map(|w| w.0), Some(d(2027, 3, 26)));
        assert_eq!(
            when("leaving in 3 weeks").map(|w| w.0),
            Some(d(2026, 12, 22))
        );
    }

    #[test]
    fn reads_weekdays_holidays_and_return_dates() {
        assert_eq!(
            when("sáng thứ 7 tuần này").map(|w| w.0),
            Some(d(2026, 12, 5))
        );
        assert_eq!(when("thứ 6 tuần sau").map(|w| w.0), Some(d(2026, 12, 11)));
        assert_eq!(when("this Saturday").map(|w| w.0), Some(d(2026, 12, 5)));
        assert_eq!(
            when("Thanksgiving week").map(|w| w.0),
            Some(d(2027, 11, 24))
        );
        assert_eq!(when("for Mardi Gras").map(|w| w.0), Some(d(2027, 2, 6)));
        assert_eq!(
            when("leaving June 9 and coming home June 14"),
            Some((d(2027, 6, 9), Some(d(2027, 6, 14))))
        );
        let reversed = read_when(
            &Tokens::new("from March 20 to March 10"),
            today(),
            true,
            &[],
        );
        assert!(reversed.unwrap().conflict.is_some());
        assert_eq!(
            when("de 28 de dezembro a 2 de janeiro"),
            Some((d(2026, 12, 28), Some(d(2027, 1, 2))))
        );
    }

    #[test]
    fn ordinary_words_are_not_months() {
        assert_eq!(when("we may go to Paris"), None);
        assert_eq!(when("I'll march on"), None);
        assert_eq!(when("đi ngày mai"), Some((d(2026, 12, 2), None)));
    }

    #[test]
    fn reads_us_order_when_told() {
        let us = read_when(&Tokens::new("3/4"), today(), false, &[]).map(|w| w.start);
        assert_eq!(us, Some(d(2027, 3, 4)));
        let vn = read_when(&Tokens::new("3/4"), today(), true, &[]).map(|w| w.start);
        assert_eq!(vn, Some(d(2027, 4, 3)));
    }
}
