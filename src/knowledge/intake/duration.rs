//! Trip lengths: "5 days", "a week", "fortnight", "long weekend", "10 ngày",
//! "5 ngày 4 đêm", "3N2Đ", "quatre jours", "zwei Wochen". Every mention is kept with
//! its position so that lengths can be tied to the places next to them.

use std::ops::Range;

use super::numbers::count_at;
use super::text::{Lang, Token, Tokens, listed, match_at};

pub(super) const DAY_UNITS: &str =
    "day days d ngay jour jours journee journees dia dias tag tage tagen giorno giorni hari";
pub(super) const NIGHT_UNITS: &str = "night nights nite nites dem nuit nuits noche noches nacht nachte nachten notte notti noite noites malam";
const WEEK_UNITS: &str = "week weeks wk wks tuan semaine semaines semana semanas woche wochen settimana settimane minggu";
const FORTNIGHT_UNITS: &str = "fortnight fortnights";
const MONTH_UNITS: &str = "month months thang mois mes meses monat monate mese mesi bulan";

/// One length mentioned in the text.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Length {
    pub days: u32,
    /// The tokens it was read from.
    pub span: Range<usize>,
    /// Written as nights only ("4 nights"): `days` is nights + 1 for a whole trip.
    pub nights_only: bool,
    /// A count with no unit that a sibling gave ("4 in Rome and 3 in Paris").
    pub implied_unit: bool,
    /// Days and nights that cannot both be true ("2 ngày 3 đêm").
    pub conflict: bool,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Unit {
    Day,
    Night,
    Week,
    Fortnight,
    Month,
}

/// Vietnamese units as written with diacritics; another spelling that folds the same
/// ("thẳng", straight) is not a unit.
const VIETNAMESE_UNITS: &[(&str, &str)] = &[
    ("ngay", "ngày"),
    ("dem", "đêm"),
    ("tuan", "tuần"),
    ("thang", "tháng"),
];

fn unit_at(tokens: &Tokens, i: usize) -> Option<Unit> {
    let word = tokens.word(i)?;
    if let Some((_, written)) = VIETNAMESE_UNITS.iter().find(|(plain, _)| *plain == word)
        && let Some(exact) = tokens.exact(i)
        && !exact.is_ascii()
        && exact != *written
    {
        return None;
    }
    if listed(DAY_UNITS, word) {
        // A lone "d" is a unit only when glued to a number ("3d2n") or VND ("50.000đ").
        if word == "d" && !matches!(tokens.get(i.wrapping_sub(1)), Some(Token::Number { .. })) {
            return None;
        }
        return Some(Unit::Day);
    }
    if listed(NIGHT_UNITS, word) {
        return Some(Unit::Night);
    }
    if listed(WEEK_UNITS, word) {
        return Some(Unit::Week);
    }
    if listed(FORTNIGHT_UNITS, word) {
        return Some(Unit::Fortnight);
    }
    if listed(MONTH_UNITS, word) {
        return Some(Unit::Month);
    }
    None
}

/// Every length in the text, in order. Nights written next to days ("5 ngày 4 đêm",
/// "7 days 6 nights", "3N2Đ") are one length.
pub(super) fn lengths(tokens: &Tokens, max_days: u32, lang: Lang) -> Vec<Length> {
    let mut out: Vec<Length> = Vec::new();
    let mut i = 0;
    while i < tokens.len() {
        if let Some(found) = length_at(tokens, i, max_days, lang) {
            i = found.span.end;
            match out.last_mut() {
                // "5 days 4 nights": the nights restate the days.
                Some(last)
                    if last.span.end == found.span.start
                        && last.nights_only != found.nights_only =>
                {
                    let (days, nights) = if last.nights_only {
                        (found.days, last.days - 1)
                    } else {
                        (last.days, found.days - 1)
                    };
                    let conflict = nights > days || days > nights + 2;
                    if last.nights_only {
                        *last = Length {
                            span: last.span.start..found.span.end,
                            ..found
                        };
                    } else {
                        last.span.end = found.span.end;
                    }
                    last.conflict = conflict;
                }
                _ => out.push(found),
            }
            continue;
        }
        i += 1;
    }
    out
}

fn length_at(tokens: &Tokens, i: usize, max_days: u32, lang: Lang) -> Option<Length> {
    if let Some(length) = idiom_at(tokens, i) {
        return Some(length);
    }
    if let Some(length) = compact_days_nights(tokens, i) {
        return Some(length);
    }
    // "thứ 7" is Saturday, not seven of something.
    if matches!(tokens.prev_word(i), Some("thu")) {
        return None;
    }
    let (mut count, mut used) = count_at(tokens, i)?;
    // "3-4 ngày", "5 to 7 days": the longer.
    let joined = matches!(tokens.get(i + used), Some(Token::Dash))
        || matches!(
            tokens.word(i + used),
            Some("to" | "or" | "den" | "hoac" | "a")
        );
    if joined
        && let Some((upper, more)) = count_at(tokens, i + used + 1)
        && upper > count
        && upper - count <= 7.0
        && unit_after(tokens, i + used + 1 + more).is_some()
    {
        count = upper;
        used += 1 + more;
    }
    if let Some(length) = glued_unit(tokens, i, count, used, lang) {
        return Some(length);
    }
    // "$5 days" never happens; "5-day", "5 - day" and "5 full days" do.
    if i > 0 && matches!(tokens.get(i - 1), Some(Token::Currency(_))) {
        return None;
    }
    let mut j = i + used;
    if matches!(tokens.get(j), Some(Token::Dash)) {
        j += 1;
    }
    if matches!(
        tokens.word(j),
        Some("full" | "whole" | "tron" | "entiers" | "completos")
    ) {
        j += 1;
    }
    // "a beach week", "one ski week": an article, a word, a week.
    if count == 1.0
        && used == 1
        && tokens.word(i).is_some_and(|w| listed("a an one", w))
        && unit_at(tokens, j).is_none()
        && matches!(unit_at(tokens, j + 1), Some(Unit::Week | Unit::Fortnight))
    {
        j += 1;
    }
    let unit = unit_at(tokens, j)?;
    // "a week end" is a weekend; "tháng 10" is October; "bé 8 tháng" is an age.
    if unit == Unit::Week && tokens.word(j + 1) == Some("end") {
        return None;
    }
    if unit == Unit::Month
        && (matches!(tokens.get(j + 1), Some(Token::Number { .. }))
            || listed(AGE_WORDS, tokens.prev_word(i).unwrap_or(""))
            || listed("tuoi old", tokens.word(j + 1).unwrap_or("")))
    {
        return None;
    }
    // "a day trip" inside a longer request is an excursion, not the trip's length.
    if count == 1.0
        && unit == Unit::Day
        && matches!(
            tokens.word(j + 1),
            Some("trip" | "trips" | "on" | "out" | "excursion")
        )
    {
        return None;
    }
    // "3 weeks from now", "2 tuần nữa", "a week ago": when, not how long.
    let after = tokens.word(j + 1);
    let offset = matches!(
        after,
        Some("later" | "nua" | "ago" | "before" | "truoc" | "time")
    ) || (after == Some("from") && tokens.word(j + 2) == Some("now"));
    if offset {
        return None;
    }
    let days = match unit {
        Unit::Day => count,
        Unit::Night => count + 1.0,
        Unit::Week => count * 7.0,
        Unit::Fortnight => count * 14.0,
        Unit::Month => count * 30.0,
    };
    if !(1.0..=365.0).contains(&days) || days.fract() != 0.0 && unit == Unit::Day {
        return None;
    }
    Some(Length {
        days: (days.round() as u32).clamp(1, max_days),
        span: i..j + 1,
        nights_only: unit == Unit::Night,
        implied_unit: false,
        conflict: false,
    })
}

/// Words before a baby's or child's age ("em bé 8 tháng", "baby of 10 months").
const AGE_WORDS: &str = "be baby bebe chau con infant aged toddler";

fn unit_after(tokens: &Tokens, j: usize) -> Option<Unit> {
    let j = j + usize::from(matches!(tokens.get(j), Some(Token::Dash)));
    unit_at(tokens, j)
}

/// "5N", "5D" glued to the count: in Vietnamese N is ngày (day) and Đ đêm (night); in
/// English D is day and N night.
fn glued_unit(tokens: &Tokens, i: usize, count: f64, used: usize, lang: Lang) -> Option<Length> {
    let letter = tokens.word(i + used)?;
    if used != 1 || !matches!(letter, "n" | "d") || !(1.0..=60.0).contains(&count) {
        return None;
    }
    // Followed by another count it is "3N2Đ", read by `compact_days_nights`.
    if matches!(tokens.get(i + used + 1), Some(Token::Number { .. })) {
        return None;
    }
    let nights = match (lang, letter) {
        (Lang::Vietnamese, "n") => false,
        (Lang::Vietnamese, _) => true,
        (_, "n") => true,
        _ => false,
    };
    let days = if nights { count + 1.0 } else { count };
    Some(Length {
        days: days as u32,
        span: i..i + used + 1,
        nights_only: nights,
        implied_unit: false,
        conflict: false,
    })
}

/// "3N2Đ" (3 ngày 2 đêm), "3D2N", "5n4d": days and nights glued together; the larger
/// count is the days.
fn compact_days_nights(tokens: &Tokens, i: usize) -> Option<Length> {
    let first = tokens.get(i)?.bare_number()?;
    let (a, b) = (tokens.word(i + 1)?, tokens.word(i + 3)?);
    let second = tokens.get(i + 2)?.bare_number()?;
    if !matches!((a, b), ("n", "d") | ("d", "n")) || first.fract() != 0.0 || second.fract() != 0.0 {
        return None;
    }
    let days = first.max(second);
    if !(1.0..=60.0).contains(&days) || (first - second).abs() > 1.0 {
        return None;
    }
    Some(Length {
        days: days as u32,
        span: i..i + 4,
        nights_only: false,
        implied_unit: false,
        conflict: false,
    })
}

/// Lengths that are single words or fixed phrases.
fn idiom_at(tokens: &Tokens, i: usize) -> Option<Length> {
    const IDIOMS: &[(&str, u32)] = &[
        ("long weekend", 3),
        ("long week end", 3),
        ("week end prolonge", 3),
        ("weekend prolonge", 3),
        ("grand week end", 3),
        ("weekend", 2),
        ("week end", 2),
        ("cuoi tuan", 2),
        ("fin de semana", 2),
        ("fin de semana largo", 3),
        ("puente", 3),
        ("wochenende", 2),
        ("langes wochenende", 3),
        ("verlangertes wochenende", 3),
        ("fortnight", 14),
        ("a few days", 3),
        ("few days", 3),
        ("vai ngay", 3),
        ("quelques jours", 3),
        ("unos dias", 3),
        ("ein paar tage", 3),
        ("couple of days", 2),
        ("couple days", 2),
        ("week long", 7),
        ("weeklong", 7),
        ("quinzaine", 14),
        ("huit jours", 7),
    ];
    let phrases: Vec<&str> = IDIOMS.iter().map(|(p, _)| *p).collect();
    let len = match_at(tokens, i, &phrases)?;
    let phrase = tokens.phrase(i, len)?;
    let days = IDIOMS.iter().find(|(p, _)| *p == phrase).map(|(_, d)| *d)?;
    // "this weekend" / "cuối tuần này" name a date; the length still holds.
    Some(Length {
        days,
        span: i..i + len,
        nights_only: false,
        implied_unit: false,
        conflict: false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn days(text: &str) -> Vec<u32> {
        let tokens = Tokens::new(text);
        let lang = super::super::text::guess_language(text, &tokens);
        lengths(&tokens, 30, lang).iter().map(|l| l.days).collect()
    }

    #[test]
    fn reads_lengths_in_many_languages() {
        assert_eq!(days("5-day trip"), [5]);
        assert_eq!(days("a week in Rome"), [7]);
        assert_eq!(days("two weeks"), [14]);
        assert_eq!(days("a fortnight"), [14]);
        assert_eq!(days("long weekend in Lisbon"), [3]);
        assert_eq!(days("10 ngày ở Đà Nẵng"), [10]);
        assert_eq!(days("hai tuần"), [14]);
        assert_eq!(days("quatre jours à Rome"), [4]);
        assert_eq!(days("zwei Wochen"), [14]);
        assert_eq!(days("cinco días"), [5]);
        assert_eq!(days("tiga hari"), [3]);
    }

    #[test]
    fn nights_next_to_days_restate_them() {
        assert_eq!(days("5 ngày 4 đêm"), [5]);
        assert_eq!(days("tour 3N2Đ"), [3]);
        assert_eq!(days("3d2n"), [3]);
        assert_eq!(days("7 days 6 nights"), [7]);
        assert_eq!(days("4 nights"), [5]);
        assert_eq!(days("2 pax, Maldives, 5N"), [6]);
        assert_eq!(days("đi Sing 5N"), [5]);
        assert_eq!(days("tầm 3-4 ngày"), [4]);
        assert_eq!(days("bé 8 tháng, 2 ngày"), [2]);
        assert_eq!(days("thứ 7 tuần này, 2 ngày 1 đêm"), [2]);
        assert_eq!(days("un week-end prolongé"), [3]);
    }

    #[test]
    fn excursions_and_offsets_are_not_lengths() {
        assert_eq!(days("with a day trip to Ha Long, 6 days"), [6]);
        assert_eq!(days("leaving in 3 weeks from now, 5 days"), [5]);
    }
}
