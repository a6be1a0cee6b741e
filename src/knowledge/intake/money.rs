//! Budgets in any major currency: "$2k", "2,500 usd", "£3000", "3000 quid",
//! "¥200,000", "presupuesto 1000 euros", "1.200 €", "15 triệu", "20tr", "15.000.000 đ",
//! "A$4000", "under 1500 bucks", "2-3k", "$1000 per person". Amounts are converted to
//! US dollars with the bundled, dated rate table (`data/rates.json`).

use std::collections::HashMap;
use std::ops::Range;
use std::sync::LazyLock;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::text::{Lang, Token, Tokens, listed, match_at};

/// The budget as the traveller wrote it, and how it became US dollars.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct BudgetSource {
    /// The amount as written (per person when `per_person`).
    pub amount: f64,
    /// ISO 4217 code.
    pub currency: String,
    pub per_person: bool,
    /// US dollars per unit of `currency`.
    pub usd_per_unit: f64,
    /// The date of the rate (YYYY-MM-DD, or YYYY-MM for an estimate).
    pub rate_date: String,
    pub rate_source: String,
}

#[derive(Deserialize)]
struct RateFile {
    as_of: String,
    source: String,
    usd_per_unit: HashMap<String, f64>,
    extra: HashMap<String, ExtraRate>,
}

#[derive(Deserialize)]
struct ExtraRate {
    usd_per_unit: f64,
    as_of: String,
    source: String,
}

struct Rate {
    usd_per_unit: f64,
    date: String,
    source: String,
}

static RATES: LazyLock<HashMap<String, Rate>> = LazyLock::new(|| {
    let file: RateFile = serde_json::from_str(include_str!("../data/rates.json"))
        .expect("bundled data/rates.json must parse");
    let mut rates: HashMap<String, Rate> = file
        .usd_per_unit
        .into_iter()
        .map(|(code, usd_per_unit)| {
            let rate = Rate {
                usd_per_unit,
                date: file.as_of.clone(),
                source: file.source.clone(),
            };
            (code, rate)
        })
        .collect();
    for (code, extra) in file.extra {
        rates.insert(
            code,
            Rate {
                usd_per_unit: extra.usd_per_unit,
                date: extra.as_of,
                source: extra.source,
            },
        );
    }
    rates
});

/// Currencies a budget can be given in.
pub fn known_currencies() -> Vec<&'static str> {
    let mut codes: Vec<&'static str> = RATES.keys().map(String::as_str).collect();
    codes.sort_unstable();
    codes
}

/// Whether a word names a currency ("rmb", "baht", "usd").
pub(super) fn is_currency_word(word: &str) -> bool {
    CURRENCY_WORDS.iter().any(|(w, _)| *w == word)
}

/// Converts `amount` of `currency` (ISO code, any case) to a budget source.
pub fn convert(amount: f64, currency: &str, per_person: bool) -> Option<BudgetSource> {
    let code = currency.trim().to_ascii_uppercase();
    let rate = RATES.get(&code)?;
    Some(BudgetSource {
        amount,
        currency: code,
        per_person,
        usd_per_unit: rate.usd_per_unit,
        rate_date: rate.date.clone(),
        rate_source: rate.source.clone(),
    })
}

impl BudgetSource {
    pub fn usd(&self) -> f64 {
        self.amount * self.usd_per_unit
    }
}

/// Currency names and codes after (or, for codes, before) an amount. Folded words.
const CURRENCY_WORDS: &[(&str, &str)] = &[
    ("usd", "USD"),
    ("us dollars", "USD"),
    ("dollars", "USD"),
    ("dollar", "USD"),
    ("dollar my", "USD"),
    ("bucks", "USD"),
    ("do", "USD"),
    ("do la", "USD"),
    ("do my", "USD"),
    ("dolares", "USD"),
    ("dolar", "USD"),
    ("dollari", "USD"),
    ("eur", "EUR"),
    ("euro", "EUR"),
    ("euros", "EUR"),
    ("gbp", "GBP"),
    ("pounds", "GBP"),
    ("pound", "GBP"),
    ("quid", "GBP"),
    ("pounds sterling", "GBP"),
    ("livres", "GBP"),
    ("libras", "GBP"),
    ("pfund", "GBP"),
    ("jpy", "JPY"),
    ("yen", "JPY"),
    ("vnd", "VND"),
    ("vnđ", "VND"),
    ("dong", "VND"),
    ("d", "VND"),
    ("aud", "AUD"),
    ("australian dollars", "AUD"),
    ("aussie dollars", "AUD"),
    ("sgd", "SGD"),
    ("singapore dollars", "SGD"),
    ("sing dollars", "SGD"),
    ("cad", "CAD"),
    ("canadian dollars", "CAD"),
    ("nzd", "NZD"),
    ("nz dollars", "NZD"),
    ("hkd", "HKD"),
    ("hk dollars", "HKD"),
    ("twd", "TWD"),
    ("ntd", "TWD"),
    ("thb", "THB"),
    ("baht", "THB"),
    ("bath", "THB"),
    ("krw", "KRW"),
    ("won", "KRW"),
    ("cny", "CNY"),
    ("rmb", "CNY"),
    ("yuan", "CNY"),
    ("nhan dan te", "CNY"),
    ("te", "CNY"),
    ("inr", "INR"),
    ("rupees", "INR"),
    ("idr", "IDR"),
    ("rupiah", "IDR"),
    ("rp", "IDR"),
    ("myr", "MYR"),
    ("ringgit", "MYR"),
    ("rm", "MYR"),
    ("php", "PHP"),
    ("philippine pesos", "PHP"),
    ("mxn", "MXN"),
    ("mexican pesos", "MXN"),
    ("pesos mexicanos", "MXN"),
    ("chf", "CHF"),
    ("swiss francs", "CHF"),
    ("franken", "CHF"),
    ("sek", "SEK"),
    ("nok", "NOK"),
    ("dkk", "DKK"),
    ("pln", "PLN"),
    ("zloty", "PLN"),
    ("czk", "CZK"),
    ("huf", "HUF"),
    ("tl", "TRY"),
    ("lira", "TRY"),
    ("zar", "ZAR"),
    ("rand", "ZAR"),
    ("brl", "BRL"),
    ("reais", "BRL"),
    ("aed", "AED"),
    ("dirham", "AED"),
    ("dirhams", "AED"),
    ("sar", "SAR"),
    ("riyal", "SAR"),
    ("qar", "QAR"),
    ("ils", "ILS"),
    ("shekels", "ILS"),
];

/// Scale words after a number: "15 triệu", "2 million yen", "500 nghìn".
const SCALE_WORDS: &[(&str, f64)] = &[
    ("k", 1e3),
    ("nghin", 1e3),
    ("ngan", 1e3),
    ("thousand", 1e3),
    ("mille", 1e3),
    ("mil", 1e3),
    ("tausend", 1e3),
    ("ribu", 1e3),
    ("lakh", 1e5),
    ("lakhs", 1e5),
    ("trieu", 1e6),
    ("tr", 1e6),
    ("cu", 1e6),
    ("million", 1e6),
    ("millions", 1e6),
    ("millones", 1e6),
    ("millionen", 1e6),
    ("milioni", 1e6),
    ("juta", 1e6),
    ("jt", 1e6),
    ("mn", 1e6),
    ("ty", 1e9),
    ("billion", 1e9),
];

/// Words that make a bare number a budget ("budget of 1500", "dưới 10 triệu").
const MONEY_CUES: &[&str] = &[
    "budget",
    "budget of",
    "budget is",
    "under",
    "below",
    "max",
    "maximum",
    "at most",
    "up to",
    "less than",
    "no more than",
    "within",
    "around",
    "about",
    "roughly",
    "approximately",
    "spend",
    "spending",
    "total",
    "cap",
    "limit",
    "upto",
    "ngan sach",
    "duoi",
    "khoang",
    "tam",
    "toi da",
    "khong qua",
    "chi phi",
    "tien",
    "co",
    "presupuesto",
    "menos de",
    "maximo",
    "hasta",
    "unos",
    "alrededor de",
    "moins de",
    "environ",
    "jusqu a",
    "unter",
    "hochstens",
    "maximal",
    "bis zu",
    "etwa",
    "ca",
    "orcamento",
    "ate",
    "anggaran",
    "sekitar",
];
const PER_PERSON: &[&str] = &[
    "per person",
    "per head",
    "a head",
    "a person",
    "each",
    "pp",
    "p p",
    "per pax",
    "per nguoi",
    "per ng",
    "moi nguoi",
    "moi ng",
    "mot nguoi",
    "1 nguoi",
    "1 ng",
    "per personne",
    "par personne",
    "por persona",
    "cada uno",
    "pro person",
    "pro kopf",
    "a testa",
    "per orang",
    "por pessoa",
];

/// A budget read from the text.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Money {
    pub amount: f64,
    pub currency: String,
    pub per_person: bool,
    pub span: Range<usize>,
}

/// The first amount that is clearly money, skipping tokens in `taken` (lengths,
/// dates, party counts).
pub(super) fn read_money(tokens: &Tokens, taken: &[Range<usize>], lang: Lang) -> Option<Money> {
    let is_taken = |i: usize| taken.iter().any(|r| r.contains(&i));
    for i in 0..tokens.len() {
        if is_taken(i) {
            continue;
        }
        let Some(Token::Number {
            value,
            scale,
            ordinal: false,
        }) = tokens.get(i)
        else {
            continue;
        };
        let (mut amount, mut end) = (value * scale, i + 1);
        let mut scaled = *scale != 1.0;
        // "2-3k", "$2000-3000", "10 đến 15 triệu": the upper bound is the budget.
        if let Some((upper, upper_scale, after)) = range_end(tokens, end) {
            amount = if upper_scale != 1.0 && !scaled {
                upper * upper_scale
            } else {
                upper * upper_scale.max(*scale)
            };
            scaled |= upper_scale != 1.0;
            end = after;
        }
        if let Some((factor, len)) = scale_word_at(tokens, end) {
            amount *= factor;
            end += len;
            scaled = true;
        }
        let before = currency_before(tokens, i);
        let after = currency_after(tokens, end);
        let currency = match (before, after) {
            (Some(code), _) => Some(code),
            (None, Some((code, len))) => {
                end += len;
                Some(code)
            }
            (None, None) => None,
        };
        let currency = match currency.or_else(|| currency_of_scale(tokens, i, end)) {
            Some(code) => code,
            None if cued(tokens, i) || (scaled && lang == Lang::Vietnamese) => {
                default_currency(amount, lang, tokens)
            }
            None if scaled
                && tokens
                    .get(i)
                    .is_some_and(|t| matches!(t, Token::Number { scale, .. } if *scale == 1e3)) =>
            {
                // "3k" alone: thousands of the writer's usual currency.
                default_currency(amount, lang, tokens)
            }
            None => continue,
        };
        if amount <= 0.0 || !amount.is_finite() {
            continue;
        }
        let per_person = per_person_near(tokens, i, end);
        return Some(Money {
            amount,
            currency: currency.to_string(),
            per_person,
            span: i.saturating_sub(usize::from(before.is_some()))..end,
        });
    }
    None
}

/// With no currency named: Vietnamese amounts in the hundreds of thousands are dong,
/// anything else is US dollars.
fn default_currency(amount: f64, lang: Lang, tokens: &Tokens) -> &'static str {
    let vietnamese = lang == Lang::Vietnamese || tokens.has_word("trieu");
    if vietnamese && amount >= 100_000.0 {
        "VND"
    } else if lang == Lang::Indonesian && amount >= 100_000.0 {
        "IDR"
    } else {
        "USD"
    }
}

fn range_end(tokens: &Tokens, at: usize) -> Option<(f64, f64, usize)> {
    let joiner = match tokens.get(at)? {
        Token::Dash => 1,
        Token::Word { text, .. } if listed("to den toi a bis hasta au", text) => 1,
        _ => return None,
    };
    let skip_sign = usize::from(matches!(tokens.get(at + joiner), Some(Token::Currency(_))));
    match tokens.get(at + joiner + skip_sign)? {
        Token::Number {
            value,
            scale,
            ordinal: false,
        } => Some((*value, *scale, at + joiner + skip_sign + 1)),
        _ => None,
    }
}

fn scale_word_at(tokens: &Tokens, at: usize) -> Option<(f64, usize)> {
    let words: Vec<&str> = SCALE_WORDS.iter().map(|(w, _)| *w).collect();
    let len = match_at(tokens, at, &words)?;
    let phrase = tokens.phrase(at, len)?;
    let (_, factor) = SCALE_WORDS.iter().find(|(w, _)| *w == phrase)?;
    Some((*factor, len))
}

fn currency_before(tokens: &Tokens, i: usize) -> Option<&'static str> {
    let prev = i.checked_sub(1).and_then(|p| tokens.get(p))?;
    match prev {
        Token::Currency(code) => Some(code),
        // "USD 2000", "EUR 1.200", "RM2000", "Rp 5.000.000": codes and the sign-like
        // abbreviations written before amounts; never "do 2000".
        Token::Word { text, .. } => match text.as_str() {
            "rm" => Some("MYR"),
            "rp" => Some("IDR"),
            "rs" => Some("INR"),
            _ if text.len() == 3 => CURRENCY_WORDS
                .iter()
                .find(|(w, c)| *w == text && w.eq_ignore_ascii_case(c))
                .map(|(_, c)| *c),
            _ => None,
        },
        _ => None,
    }
}

/// Scale words that also say the currency: "triệu" is millions of dong, "juta" of
/// rupiah, "lakh" hundred-thousands of rupees.
fn currency_of_scale(tokens: &Tokens, i: usize, end: usize) -> Option<&'static str> {
    if let Some(Token::Number { scale, .. }) = tokens.get(i)
        && *scale == 1e6
    {
        // The suffix was glued on ("15tr", "25jt"): the word after says which.
        return None;
    }
    (i + 1..end).find_map(|k| match tokens.word(k)? {
        "trieu" | "tr" | "cu" | "ty" => Some("VND"),
        "juta" | "jt" | "ribu" => Some("IDR"),
        "lakh" | "lakhs" => Some("INR"),
        _ => None,
    })
}

fn currency_after(tokens: &Tokens, at: usize) -> Option<(&'static str, usize)> {
    if let Some(Token::Currency(code)) = tokens.get(at) {
        return Some((code, 1));
    }
    let words: Vec<&str> = CURRENCY_WORDS.iter().map(|(w, _)| *w).collect();
    let len = match_at(tokens, at, &words)?;
    let phrase = tokens.phrase(at, len)?;
    let code = CURRENCY_WORDS.iter().find(|(w, _)| *w == phrase)?.1;
    // "đ" (dong) and "tệ" glue to big amounts; "d" after a small number is a day.
    if phrase == "d"
        && let Some(Token::Number { value, scale, .. }) =
            at.checked_sub(1).and_then(|p| tokens.get(p))
        && value * scale < 1000.0
        && !matches!(
            tokens.word(at.wrapping_sub(1)),
            Some("trieu" | "tr" | "k" | "nghin" | "ngan")
        )
    {
        return None;
    }
    Some((code, len))
}

fn cued(tokens: &Tokens, i: usize) -> bool {
    (1..=3).any(|back| {
        i.checked_sub(back).is_some_and(|p| {
            match_at(tokens, p, MONEY_CUES).is_some_and(|len| p + len == i || back <= 2)
        })
    })
}

fn per_person_near(tokens: &Tokens, start: usize, end: usize) -> bool {
    // "15 triệu 1 người", "$800 1 person": one of a unit after the amount.
    let one_each = matches!(tokens.get(end).and_then(Token::bare_number), Some(1.0))
        && tokens
            .word(end + 1)
            .is_some_and(|w| listed("nguoi ng person pax personne persona", w));
    let after = one_each || (end..end + 3).any(|k| match_at(tokens, k, PER_PERSON).is_some());
    let before = (start.saturating_sub(3)..start).any(|k| {
        match_at(tokens, k, PER_PERSON).is_some_and(|len| {
            let phrase = tokens.phrase(k, len).unwrap_or_default();
            phrase.contains("nguoi") || phrase == "each"
        })
    });
    after || before
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::knowledge::intake::text::guess_language;

    fn money(text: &str) -> Option<(f64, String, bool)> {
        let tokens = Tokens::new(text);
        let lang = guess_language(text, &tokens);
        read_money(&tokens, &[], lang).map(|m| (m.amount, m.currency, m.per_person))
    }

    fn amount(text: &str) -> Option<(f64, String)> {
        money(text).map(|(a, c, _)| (a, c))
    }

    #[test]
    fn reads_amounts_in_many_currencies() {
        assert_eq!(amount("$2k"), Some((2000.0, "USD".into())));
        assert_eq!(amount("2,500 usd"), Some((2500.0, "USD".into())));
        assert_eq!(amount("under 1500 bucks"), Some((1500.0, "USD".into())));
        assert_eq!(amount("£3000"), Some((3000.0, "GBP".into())));
        assert_eq!(amount("3000 quid"), Some((3000.0, "GBP".into())));
        assert_eq!(amount("¥200,000"), Some((200_000.0, "JPY".into())));
        assert_eq!(
            amount("presupuesto 1000 euros"),
            Some((1000.0, "EUR".into()))
        );
        assert_eq!(amount("1.200 €"), Some((1200.0, "EUR".into())));
        assert_eq!(amount("A$4000"), Some((4000.0, "AUD".into())));
        assert_eq!(amount("budget 50,000 baht"), Some((50_000.0, "THB".into())));
        assert_eq!(amount("2 million won"), Some((2_000_000.0, "KRW".into())));
        assert_eq!(amount("EUR 1.500"), Some((1500.0, "EUR".into())));
    }

    #[test]
    fn reads_vietnamese_amounts() {
        assert_eq!(amount("ngân sách 15 triệu"), Some((15e6, "VND".into())));
        assert_eq!(amount("tầm 20tr"), Some((20e6, "VND".into())));
        assert_eq!(amount("15.000.000 đ"), Some((15e6, "VND".into())));
        assert_eq!(amount("15.000.000đ"), Some((15e6, "VND".into())));
        assert_eq!(amount("khoảng 10-15 triệu"), Some((15e6, "VND".into())));
        assert_eq!(amount("2000 đô"), Some((2000.0, "USD".into())));
        assert_eq!(amount("duoi 8 cu"), Some((8e6, "VND".into())));
    }

    #[test]
    fn reads_per_person_and_ranges() {
        assert_eq!(
            money("$1000 per person"),
            Some((1000.0, "USD".into(), true))
        );
        assert_eq!(money("5 triệu/người"), Some((5e6, "VND".into(), true)));
        assert_eq!(amount("2-3k"), Some((3000.0, "USD".into())));
        assert_eq!(amount("$2000-3000"), Some((3000.0, "USD".into())));
    }

    #[test]
    fn ignores_numbers_that_are_not_money() {
        assert_eq!(amount("Paris in 2027 for 10 days"), None);
        assert_eq!(amount("3 ngày 2 đêm"), None);
        assert_eq!(amount("tour 3N2Đ"), None);
    }

    #[test]
    fn converts_with_a_dated_rate() {
        let eur = convert(1000.0, "eur", false).unwrap();
        assert!(eur.usd() > 900.0 && eur.usd() < 1400.0, "{eur:?}");
        assert!(!eur.rate_date.is_empty());
        let vnd = convert(15e6, "VND", false).unwrap();
        assert!(vnd.usd() > 450.0 && vnd.usd() < 700.0, "{vnd:?}");
        assert!(convert(1.0, "XYZ", false).is_none());
    }
}
