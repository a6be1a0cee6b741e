//! A traveller's message as tokens: words folded for matching (with their exact
//! spelling kept), numbers with their scale suffix ("3k", "15tr"), currency signs,
//! dates written in digits, and the punctuation that separates phrases.

use chrono::NaiveDate;

use crate::knowledge::dataset::normalize_name;

#[derive(Debug, Clone, PartialEq)]
pub(super) enum Token {
    /// A run of letters. `text` is folded (lowercase, no diacritics); `exact` is the
    /// lowercase original, so "năm" (year, five) and "nam" (south) stay apart.
    Word {
        text: String,
        exact: String,
        /// As written, case and all ("SG", "Đà").
        raw: String,
        capitalized: bool,
        all_caps: bool,
    },
    /// `scale` is 1, or 1e3 for "3k", 1e6 for "15tr"/"2m"; `ordinal` marks "10th".
    Number {
        value: f64,
        scale: f64,
        ordinal: bool,
    },
    /// A currency sign, as an ISO code: `$` USD, `€` EUR, `A$` AUD, `₫` VND, …
    Currency(&'static str),
    /// An ISO date, "2027-03-10".
    Date(NaiveDate),
    /// Two or three numbers joined by `/` or `.`: "12/3", "12/03/2027", "12.3.2027".
    /// Which is the day depends on the writer's locale; see `dates`.
    DayMonth { a: u32, b: u32, year: Option<i32> },
    /// `-`, `–`, `~` next to numbers: "12-18", "5-day".
    Dash,
    /// `->`, `→`, `=>`, `>`: an itinerary written as a route.
    Arrow,
    /// Punctuation that ends a phrase (comma, full stop, closing bracket, …).
    Break,
    /// An opening bracket: what follows qualifies what came before ("Siem Reap (2
    /// days)", "San Jose (Costa Rica)").
    Paren,
}

impl Token {
    pub(super) fn word(&self) -> Option<&str> {
        match self {
            Token::Word { text, .. } => Some(text),
            _ => None,
        }
    }

    pub(super) fn is_capitalized(&self) -> bool {
        matches!(
            self,
            Token::Word {
                capitalized: true,
                ..
            }
        )
    }

    /// A number written without a scale or ordinal suffix.
    pub(super) fn bare_number(&self) -> Option<f64> {
        match self {
            Token::Number {
                value,
                scale,
                ordinal: false,
            } if *scale == 1.0 => Some(*value),
            _ => None,
        }
    }
}

/// The tokens of a message, with helpers for looking around a position.
#[derive(Debug, Clone)]
pub(super) struct Tokens {
    pub list: Vec<Token>,
}

impl Tokens {
    pub fn new(text: &str) -> Self {
        Self {
            list: tokenize(text),
        }
    }

    pub fn len(&self) -> usize {
        self.list.len()
    }

    pub fn get(&self, i: usize) -> Option<&Token> {
        self.list.get(i)
    }

    pub fn word(&self, i: usize) -> Option<&str> {
        self.list.get(i).and_then(Token::word)
    }

    /// The word before `i`, if `i > 0`.
    pub fn prev_word(&self, i: usize) -> Option<&str> {
        i.checked_sub(1).and_then(|p| self.word(p))
    }

    /// Consecutive words from `start` (stopping at anything that is not a word).
    pub fn phrase(&self, start: usize, len: usize) -> Option<String> {
        let parts: Option<Vec<&str>> = (start..start + len).map(|i| self.word(i)).collect();
        parts.map(|p| p.join(" "))
    }

    /// Like `phrase`, but as written (case and diacritics kept).
    pub fn raw_phrase(&self, start: usize, len: usize) -> Option<String> {
        let parts: Option<Vec<&str>> = (start..start + len)
            .map(|i| match self.list.get(i) {
                Some(Token::Word { raw, .. }) => Some(raw.as_str()),
                _ => None,
            })
            .collect();
        parts.map(|p| p.join(" "))
    }

    /// The lowercase spelling with diacritics of the word at `i`.
    pub fn exact(&self, i: usize) -> Option<&str> {
        match self.list.get(i) {
            Some(Token::Word { exact, .. }) => Some(exact),
            _ => None,
        }
    }

    pub fn words(&self) -> Vec<&str> {
        self.list.iter().filter_map(Token::word).collect()
    }

    pub fn has_word(&self, word: &str) -> bool {
        self.list.iter().any(|t| t.word() == Some(word))
    }
}

/// Which of `words` (folded, possibly several words each) starts at `i`; the
/// longest wins. Returns the number of tokens it covers.
pub(super) fn match_at(tokens: &Tokens, i: usize, words: &[&str]) -> Option<usize> {
    words
        .iter()
        .filter_map(|w| {
            let parts: Vec<&str> = w.split(' ').collect();
            parts
                .iter()
                .enumerate()
                .all(|(k, p)| tokens.word(i + k) == Some(p))
                .then_some(parts.len())
        })
        .max()
}

pub(super) fn listed(list: &str, word: &str) -> bool {
    list.split_whitespace().any(|w| w == word)
}

fn tokenize(text: &str) -> Vec<Token> {
    let chars: Vec<char> = text.chars().collect();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_ascii_digit() {
            i = read_number(&chars, i, &mut tokens);
        } else if c.is_alphabetic() {
            i = read_word(&chars, i, &mut tokens);
        } else {
            i = read_symbol(&chars, i, &mut tokens);
        }
    }
    tokens
}

fn read_symbol(chars: &[char], i: usize, tokens: &mut Vec<Token>) -> usize {
    let c = chars[i];
    let next = chars.get(i + 1).copied();
    let prev = i.checked_sub(1).map(|p| chars[p]);
    let letter = |c: Option<char>| c.is_some_and(char::is_alphabetic);
    let digit = |c: Option<char>| c.is_some_and(|c| c.is_ascii_digit());
    let token = match c {
        '$' => Some(Token::Currency("USD")),
        '€' => Some(Token::Currency("EUR")),
        '£' => Some(Token::Currency("GBP")),
        '¥' | '円' => Some(Token::Currency("JPY")),
        '元' => Some(Token::Currency("CNY")),
        '₫' => Some(Token::Currency("VND")),
        '₩' => Some(Token::Currency("KRW")),
        '฿' => Some(Token::Currency("THB")),
        '₹' => Some(Token::Currency("INR")),
        '₱' => Some(Token::Currency("PHP")),
        '₺' => Some(Token::Currency("TRY")),
        '→' | '⟶' | '➡' => Some(Token::Arrow),
        '-' if next == Some('>') => {
            tokens.push(Token::Arrow);
            return i + 2;
        }
        '=' if next == Some('>') => {
            tokens.push(Token::Arrow);
            return i + 2;
        }
        '>' => Some(Token::Arrow),
        // "Ha-Long", "Saint-Tropez": a hyphen inside a name is a space.
        '-' if letter(prev) && letter(next) => None,
        '-' | '–' | '—' | '~' => Some(Token::Dash),
        // "TP.HCM", "e.g.": a dot between letters is part of an abbreviation; so is the
        // dot of "St. Petersburg", "Mt. Fuji", "Ft. Lauderdale".
        '.' if letter(prev) && letter(next) => None,
        '.' if abbreviation_before(chars, i) => None,
        '/' if !digit(next) => Some(word_token("per")),
        '&' | '+' => Some(word_token("and")),
        '(' | '[' | '（' => Some(Token::Paren),
        ',' | ';' | '.' | '!' | '?' | ')' | ']' | '）' | ':' | '\n' | '。' | '，' | '！' | '？' => {
            Some(Token::Break)
        }
        _ => None,
    };
    if let Some(token) = token {
        tokens.push(token);
    }
    i + 1
}

fn abbreviation_before(chars: &[char], dot: usize) -> bool {
    let word: String = chars[..dot]
        .iter()
        .rev()
        .take_while(|c| c.is_alphabetic())
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    matches!(
        word.as_str(),
        "St" | "Ste" | "Mt" | "Ft" | "Pt" | "Sta" | "Sto"
    ) && chars.get(dot + 1) == Some(&' ')
        && chars.get(dot + 2).is_some_and(|c| c.is_uppercase())
}

fn word_token(text: &str) -> Token {
    Token::Word {
        text: text.to_string(),
        exact: text.to_string(),
        raw: text.to_string(),
        capitalized: false,
        all_caps: false,
    }
}

/// Currency prefixes written before `$`: "A$", "S$", "NZ$", …
const DOLLAR_PREFIXES: &[(&str, &str)] = &[
    ("a", "AUD"),
    ("au", "AUD"),
    ("aud", "AUD"),
    ("s", "SGD"),
    ("sg", "SGD"),
    ("sgd", "SGD"),
    ("c", "CAD"),
    ("ca", "CAD"),
    ("can", "CAD"),
    ("cad", "CAD"),
    ("nz", "NZD"),
    ("nzd", "NZD"),
    ("hk", "HKD"),
    ("hkd", "HKD"),
    ("us", "USD"),
    ("usd", "USD"),
    ("r", "BRL"),
    ("nt", "TWD"),
    ("mx", "MXN"),
    ("mex", "MXN"),
];

fn read_word(chars: &[char], start: usize, tokens: &mut Vec<Token>) -> usize {
    let is_mark = |c: char| ('\u{300}'..='\u{36f}').contains(&c);
    let end = (start..chars.len())
        .find(|&j| !(chars[j].is_alphabetic() || is_mark(chars[j])))
        .unwrap_or(chars.len());
    let raw: String = chars[start..end].iter().collect();
    let exact = raw.to_lowercase();
    if chars.get(end) == Some(&'$')
        && let Some((_, code)) = DOLLAR_PREFIXES.iter().find(|(p, _)| *p == exact)
    {
        tokens.push(Token::Currency(code));
        return end + 1;
    }
    let letters: Vec<char> = raw.chars().filter(|c| c.is_alphabetic()).collect();
    let text = normalize_name(&raw);
    let raw = raw.clone();
    // Scripts without folding rules (Thai, Chinese, …) stay as they are.
    let text = if text.is_empty() { exact.clone() } else { text };
    tokens.push(Token::Word {
        text,
        exact,
        raw,
        capitalized: letters.first().is_some_and(|c| c.is_uppercase()),
        all_caps: letters.len() > 1 && letters.iter().all(|c| c.is_uppercase()),
    });
    end
}

fn read_number(chars: &[char], start: usize, tokens: &mut Vec<Token>) -> usize {
    if let Some((date, end)) = read_iso_date(chars, start) {
        tokens.push(Token::Date(date));
        return end;
    }
    if let Some((token, end)) = read_day_month(chars, start) {
        tokens.push(token);
        return end;
    }
    let digit_at = |j: usize| chars.get(j).is_some_and(|c| c.is_ascii_digit());
    // A separator followed by exactly three digits groups thousands ("1,500",
    // "15.000.000"); followed by one or two digits it is a decimal mark ("2.5k", "1,5").
    let group_of_three =
        |j: usize| digit_at(j) && digit_at(j + 1) && digit_at(j + 2) && !digit_at(j + 3);
    let mut digits = String::new();
    let mut i = start;
    while i < chars.len() {
        match chars[i] {
            c if c.is_ascii_digit() => digits.push(c),
            ',' | '.' if group_of_three(i + 1) && !digits.contains('.') => {}
            ',' | '.' if digit_at(i + 1) && !digits.contains('.') => digits.push('.'),
            _ => break,
        }
        i += 1;
    }
    // "1 500 €", "15 000 000 VND": a space groups thousands when money follows.
    while !digits.contains('.')
        && digits.len() <= 3
        && chars.get(i) == Some(&' ')
        && group_of_three(i + 1)
        && money_follows(chars, i + 4)
    {
        digits.push_str(&chars[i + 1..i + 4].iter().collect::<String>());
        i += 4;
    }
    let value: f64 = digits.parse().unwrap_or(0.0);
    let suffix: String = chars[i..]
        .iter()
        .take_while(|c| c.is_alphabetic())
        .collect::<String>()
        .to_lowercase();
    let (scale, ordinal, used) = match suffix.as_str() {
        "k" => (1e3, false, 1),
        "m" | "mil" | "mio" | "mn" => (1e6, false, suffix.chars().count()),
        "tr" | "triệu" | "trieu" | "jt" | "juta" | "củ" => (1e6, false, suffix.chars().count()),
        "tỷ" | "ty" | "bn" => (1e9, false, suffix.chars().count()),
        "st" | "nd" | "rd" | "th" | "er" | "ème" | "eme" | "e" | "º" | "ª" => {
            (1.0, true, suffix.chars().count())
        }
        _ => (1.0, false, 0),
    };
    let mut end = i + used;
    let mut value = value;
    // Vietnamese "15tr5" is 15.5 million.
    if scale == 1e6 && digit_at(end) && !digit_at(end + 1) {
        value += f64::from(chars[end].to_digit(10).unwrap_or(0)) / 10.0;
        end += 1;
    }
    tokens.push(Token::Number {
        value,
        scale,
        ordinal,
    });
    end
}

/// Whether a currency sign or word starts at `at` (after spaces): "€", "EUR", "euros".
fn money_follows(chars: &[char], at: usize) -> bool {
    let rest: String = chars[at.min(chars.len())..]
        .iter()
        .skip_while(|c| **c == ' ')
        .take(8)
        .collect::<String>()
        .to_lowercase();
    rest.starts_with(['€', '$', '£', '¥', '₫', '₩', '฿', '₹'])
        || [
            "eur", "usd", "vnd", "đ", "dong", "đồng", "gbp", "chf", "sek", "nok", "dkk", "czk",
            "huf", "pln", "krw", "jpy", "thb", "idr", "inr",
        ]
        .iter()
        .any(|w| rest.starts_with(w))
}

/// Reads "2027-03-10" at `start`, returning the date and the index just past it.
fn read_iso_date(chars: &[char], start: usize) -> Option<(NaiveDate, usize)> {
    let candidate: String = chars.get(start..start + 10)?.iter().collect();
    let shape_ok = candidate.char_indices().all(|(k, c)| {
        if k == 4 || k == 7 {
            c == '-' || c == '/'
        } else {
            c.is_ascii_digit()
        }
    });
    if !shape_ok || chars.get(start + 10).is_some_and(|c| c.is_ascii_digit()) {
        return None;
    }
    let date = NaiveDate::parse_from_str(&candidate.replace('/', "-"), "%Y-%m-%d").ok()?;
    Some((date, start + 10))
}

/// "12/3", "12/03/2027", "12.3.2027", "3/12/27": one or two digits, a separator, one or
/// two digits, and an optional year. A dot form needs the year ("1.5" is a number).
fn read_day_month(chars: &[char], start: usize) -> Option<(Token, usize)> {
    let run = |from: usize| -> (u32, usize) {
        let mut value = 0u32;
        let mut j = from;
        while let Some(d) = chars.get(j).and_then(|c| c.to_digit(10)) {
            value = value.saturating_mul(10).saturating_add(d);
            j += 1;
        }
        (value, j - from)
    };
    let (a, len_a) = run(start);
    let sep = *chars.get(start + len_a)?;
    if !(1..=2).contains(&len_a) || !(sep == '/' || sep == '.') {
        return None;
    }
    let (b, len_b) = run(start + len_a + 1);
    if !(1..=2).contains(&len_b) || a == 0 || b == 0 {
        return None;
    }
    let mut end = start + len_a + 1 + len_b;
    let mut year = None;
    if chars.get(end) == Some(&sep) {
        let (y, len_y) = run(end + 1);
        if len_y == 4 {
            year = Some(y as i32);
            end += 1 + len_y;
        } else if len_y == 2 {
            year = Some(2000 + y as i32);
            end += 1 + len_y;
        }
    }
    if sep == '.' && year.is_none() {
        return None;
    }
    if a > 31 || b > 31 || (a > 12 && b > 12) {
        return None;
    }
    Some((Token::DayMonth { a, b, year }, end))
}

/// The language a message is mostly written in, for conventions that differ
/// (day/month order). Vietnamese is recognised by its letters or its common words.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Lang {
    English,
    Vietnamese,
    French,
    Spanish,
    German,
    Portuguese,
    Italian,
    Indonesian,
}

pub(super) fn guess_language(text: &str, tokens: &Tokens) -> Lang {
    const VI_LETTERS: &str = "ăâđêôơưạảấầẩẫậắằẳẵặẹẻẽếềểễệỉịọỏốồổỗộớờởỡợụủứừửữựỳỵỷỹ";
    let lower = text.to_lowercase();
    let vi_letters = lower.chars().filter(|c| VI_LETTERS.contains(*c)).count();
    let markers: [(Lang, &str); 8] = [
        (
            Lang::Vietnamese,
            "ngay dem nguoi di tu den cho toi minh chuyen du lich thang tuan va o voi khoang duoi ngan sach muon gia dinh",
        ),
        (
            Lang::French,
            "je nous un une des jours pour de depuis avec et au aux le la les voyage semaine personnes moins",
        ),
        (
            Lang::Spanish,
            "quiero viaje dias para desde con y el los las una un semana personas presupuesto menos",
        ),
        (
            Lang::German,
            "ich wir eine einen tage fur von nach mit und der die das reise woche personen ab urlaub",
        ),
        (
            Lang::Portuguese,
            "quero viagem dias para de com e uma um semana pessoas partindo orcamento",
        ),
        (
            Lang::Italian,
            "voglio viaggio giorni per da con e una un settimana persone partendo",
        ),
        (
            Lang::Indonesian,
            "saya kami hari untuk dari dengan dan minggu orang liburan ke di",
        ),
        (
            Lang::English,
            "i we a the days for from with and trip week people to in my our want",
        ),
    ];
    let words = tokens.words();
    let score = |list: &str| words.iter().filter(|w| listed(list, w)).count();
    let mut best = (Lang::English, 0usize);
    for (lang, list) in markers {
        let mut s = score(list);
        if lang == Lang::Vietnamese {
            s += vi_letters;
        }
        if s > best.1 {
            best = (lang, s);
        }
    }
    best.0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn numbers(text: &str) -> Vec<(f64, f64)> {
        Tokens::new(text)
            .list
            .into_iter()
            .filter_map(|t| match t {
                Token::Number { value, scale, .. } => Some((value, scale)),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn reads_thousands_separators_and_decimal_marks() {
        assert_eq!(numbers("$1,500"), [(1500.0, 1.0)]);
        assert_eq!(numbers("15.000.000đ"), [(15_000_000.0, 1.0)]);
        assert_eq!(numbers("1.200 €"), [(1200.0, 1.0)]);
        assert_eq!(numbers("$2.5k"), [(2.5, 1e3)]);
        assert_eq!(numbers("1,5 triệu"), [(1.5, 1.0)]);
        assert_eq!(numbers("15tr5"), [(15.5, 1e6)]);
        assert_eq!(numbers("20tr"), [(20.0, 1e6)]);
    }

    #[test]
    fn reads_currency_signs_and_prefixed_dollars() {
        let t = Tokens::new("A$3000 or S$ 2000, £500 and 200€");
        let signs: Vec<&Token> = t
            .list
            .iter()
            .filter(|t| matches!(t, Token::Currency(_)))
            .collect();
        assert_eq!(
            signs,
            [
                &Token::Currency("AUD"),
                &Token::Currency("SGD"),
                &Token::Currency("GBP"),
                &Token::Currency("EUR")
            ]
        );
    }

    #[test]
    fn keeps_abbreviations_and_hyphenated_names_as_words() {
        assert_eq!(Tokens::new("TP.HCM").words(), ["tp", "hcm"]);
        assert_eq!(Tokens::new("Ha-Long").words(), ["ha", "long"]);
    }

    #[test]
    fn reads_slash_dates_without_deciding_their_order() {
        let t = Tokens::new("từ 12/3 đến 18/3/2027");
        assert!(t.list.contains(&Token::DayMonth {
            a: 12,
            b: 3,
            year: None
        }));
        assert!(t.list.contains(&Token::DayMonth {
            a: 18,
            b: 3,
            year: Some(2027)
        }));
    }

    #[test]
    fn guesses_the_language() {
        let guess = |s: &str| guess_language(s, &Tokens::new(s));
        assert_eq!(
            guess("Chuyến đi Đà Lạt 3 ngày từ Hà Nội cho 2 người"),
            Lang::Vietnamese
        );
        assert_eq!(
            guess("di da lat 3 ngay tu ha noi cho 2 nguoi"),
            Lang::Vietnamese
        );
        assert_eq!(
            guess("Un voyage de 4 jours à Rome depuis Paris"),
            Lang::French
        );
        assert_eq!(guess("5 days in Tokyo for 2 people"), Lang::English);
    }
}
