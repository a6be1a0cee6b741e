//! Where the traveller goes and where they leave from: curated destinations, any city
//! of the gazetteer, airports by code, and countries, regions or groups of countries
//! for a vague wish. Place names are matched longest first on folded words, so "Ha
//! Long Bay" is one place and "Mexico City" is not Mexico.
//!
//! Running text is full of words that are also some town's name ("Nice", "Split",
//! "Bo", "An Hải"), so a city outside the curated dataset counts only by its main
//! name, and only when the text points at it: a cue word before it ("from", "to",
//! "từ", "à", "nach"), a capital letter, or a population large enough that the word
//! is rarely anything else.

use std::ops::Range;

use super::text::{Lang, Token, Tokens, listed, match_at};
use crate::knowledge::dataset::{
    Destination, destination, destination_by_name, destinations, normalize_name,
};
use crate::knowledge::gazetteer::{self, Place, Region};

/// Words after which a place is where the trip starts.
const ORIGIN_CUES: &[&str] = &[
    "from",
    "departing",
    "departing from",
    "leaving",
    "leaving from",
    "flying from",
    "flying out of",
    "fly out of",
    "fly from",
    "out of",
    "ex",
    "based in",
    "live in",
    "living in",
    "im in",
    "i m in",
    "we re in",
    "home is",
    "tu",
    "xuat phat tu",
    "xuat phat o",
    "xuat phat",
    "bay tu",
    "di tu",
    "khoi hanh tu",
    "minh o",
    "toi o",
    "tui o",
    "em o",
    "nha o",
    "nha minh o",
    "depuis",
    "au depart de",
    "au depart d",
    "depart de",
    "depart d",
    "en partant de",
    "partant de",
    "j habite a",
    "habite a",
    "desde",
    "saliendo de",
    "partiendo de",
    "salgo de",
    "salimos de",
    "vivo en",
    "von",
    "ab",
    "abflug",
    "abflug ab",
    "wohne in",
    "ich wohne in",
    "partindo de",
    "saindo de",
    "saindo do",
    "saindo da",
    "a partir de",
    "partendo da",
    "partenza da",
    "in partenza da",
    "dari",
    "berangkat dari",
];
/// "somos 4 amigos de Bogotá", "un couple de Bordeaux", "a family from Lyon": "de" and
/// "from" after the people travelling name where they live.
const PEOPLE_WORDS: &str = "amigos amigas amis couple famille familia family friends personnes \
    personas somos sommes we us guys pareja";
/// Strong cues: a place right after these is meant as a place even in lowercase.
const DESTINATION_CUES: &[&str] = &[
    "to", "in", "visit", "visiting", "explore", "trip to", "go to", "going to", "around", "di",
    "den", "toi", "ra", "vao", "ve", "o", "tai", "tham", "choi", "sang", "qua", "a", "en", "au",
    "aux", "visiter", "nach", "besuchen", "para", "conocer", "ke", "per", "du lich", "no", "na",
    "em", "nel", "nella",
];
/// Joins places into alternatives rather than a route: "Bali or Phuket".
const OR_WORDS: &str = "or hay hoac ou o oder atau";
/// "not Florida", "không phải Đà Nẵng": a place named to rule it out.
const NEGATIONS: &str = "not khong ko chu pas nicht kein except excluding tranh";

/// Groups of countries travellers name that are not one of the twelve regions.
const COUNTRY_GROUPS: &[(&str, &[&str])] = &[
    ("scandinavia", &["DK", "NO", "SE"]),
    ("skandinavien", &["DK", "NO", "SE"]),
    ("scandinavie", &["DK", "NO", "SE"]),
    ("escandinavia", &["DK", "NO", "SE"]),
    ("nordics", &["DK", "NO", "SE", "FI", "IS"]),
    ("nordic countries", &["DK", "NO", "SE", "FI", "IS"]),
    ("bac au", &["DK", "NO", "SE", "FI", "IS"]),
    (
        "balkans",
        &["HR", "ME", "BA", "RS", "AL", "MK", "SI", "BG", "GR"],
    ),
    (
        "mediterranean",
        &["ES", "FR", "IT", "GR", "HR", "MT", "TR", "CY", "MA"],
    ),
    (
        "dia trung hai",
        &["ES", "FR", "IT", "GR", "HR", "MT", "TR", "CY", "MA"],
    ),
    ("indian ocean", &["MV", "MU", "SC", "LK"]),
    ("an do duong", &["MV", "MU", "SC", "LK"]),
    ("patagonia", &["AR", "CL"]),
    ("alps", &["CH", "AT", "FR", "IT", "DE"]),
    ("the alps", &["CH", "AT", "FR", "IT", "DE"]),
    ("benelux", &["BE", "NL", "LU"]),
    ("baltics", &["EE", "LV", "LT"]),
    ("iberia", &["ES", "PT"]),
    ("mien bac", &["VN"]),
    ("mien trung", &["VN"]),
    ("mien nam", &["VN"]),
    ("mien tay", &["VN"]),
    ("greek islands", &["GR"]),
    ("greek", &["GR"]),
    ("italian", &["IT"]),
    ("japanese", &["JP"]),
    ("thai islands", &["TH"]),
    ("caribbean islands", &["CU", "DO", "JM", "BS"]),
];
/// Words after a place that make it the traveller's home: "Calgary family",
/// "Shanghai resident", "Melbourne based".
const HOME_WORDS: &str = "based family resident residents local locals native here";

/// Short country names Vietnamese travellers write ("đi Thái", "sang Nhật"), by exact
/// spelling, and their plain forms which count only after a cue word.
const VIETNAMESE_COUNTRIES: &[(&str, &str, &str)] = &[
    ("thái", "thai", "TH"),
    ("nhật", "nhat", "JP"),
    ("hàn", "han", "KR"),
    ("úc", "uc", "AU"),
    ("mỹ", "my", "US"),
    ("pháp", "phap", "FR"),
    ("đức", "duc", "DE"),
    ("ý", "y", "IT"),
    ("lào", "lao", "LA"),
    ("malay", "malay", "MY"),
    ("indo", "indo", "ID"),
    ("sing", "sing", "SG"),
    ("cam", "cam", "KH"),
    ("phil", "phil", "PH"),
    ("nga", "nga", "RU"),
];

/// Abbreviations Vietnamese travellers use for cities, read in Vietnamese text only
/// ("SG" is Saigon there, Singapore elsewhere).
const VIETNAMESE_ABBREVIATIONS: &[(&str, &str)] = &[
    ("sg", "ho-chi-minh-city"),
    ("hcm", "ho-chi-minh-city"),
    ("tphcm", "ho-chi-minh-city"),
    ("tp hcm", "ho-chi-minh-city"),
    ("hn", "hanoi"),
    ("dn", "da-nang"),
    ("dl", "da-lat"),
    ("pq", "phu-quoc"),
    ("nt", "nha-trang"),
    ("hp", "hai-phong"),
    ("vt", "vung-tau"),
    ("ct", "can-tho"),
    ("sing", "singapore"),
];

/// A place mentioned in the text.
#[derive(Debug, Clone)]
pub(super) enum Mention {
    /// A curated destination.
    Curated(&'static Destination),
    /// A city the dataset does not cover.
    City(&'static Place),
    /// A name several real places share, with no context to choose.
    Ambiguous {
        name: String,
        candidates: Vec<&'static Place>,
    },
    /// One country or a group of them ("Japan", "Scandinavia").
    Countries(Vec<&'static gazetteer::Country>),
    /// A region, or a continent's regions ("Asia").
    Region(&'static [Region]),
}

#[derive(Debug, Clone)]
pub(super) struct Found {
    pub mention: Mention,
    pub span: Range<usize>,
}

/// Everything place-like in the text.
#[derive(Debug, Default)]
pub(super) struct Places {
    /// The departure airport and the tokens that named it.
    pub origin: Option<(String, Range<usize>)>,
    /// Places to go, in the order mentioned (repeats kept: "4 lisbon 2 porto").
    pub stops: Vec<Found>,
    /// Destinations offered as alternatives ("Bali or Phuket?").
    pub alternatives: bool,
    pub countries: Vec<&'static gazetteer::Country>,
    pub regions: Vec<Region>,
    /// Words that look like a place but matched none.
    pub unmatched: Vec<String>,
}

/// How the words are meant.
#[derive(Debug, Clone, Copy)]
pub(super) struct Reading {
    pub lang: Lang,
    /// Every word is meant as a place (a constraint's value): no cue or capital needed.
    pub assume_places: bool,
}

pub(super) fn read_places(tokens: &Tokens, taken: &[Range<usize>], how: Reading) -> Places {
    let is_taken = |i: usize| taken.iter().any(|r| r.contains(&i));
    let mut places = Places::default();
    let mut found: Vec<Found> = Vec::new();
    let mut i = 0;
    while i < tokens.len() {
        if is_taken(i) {
            i += 1;
            continue;
        }
        match place_at(tokens, i, &is_taken, how) {
            Some(f) => {
                i = f.span.end;
                if !negated(tokens, f.span.start) {
                    found.push(f);
                }
            }
            None => i += 1,
        }
    }
    let origin_at = origin_mention(tokens, &found);
    for (k, f) in found.into_iter().enumerate() {
        if Some(k) == origin_at {
            if let Some(code) = origin_airport(&f.mention) {
                places.origin = Some((code, f.span.clone()));
            }
            continue;
        }
        match &f.mention {
            Mention::Countries(cs) => places.countries.extend(cs.iter().copied()),
            Mention::Region(r) => places.regions.extend(r.iter().copied()),
            _ => places.stops.push(f),
        }
    }
    places.alternatives = alternatives(tokens, &places.stops);
    let mut used: Vec<Range<usize>> = taken.to_vec();
    used.extend(places.stops.iter().map(|f| f.span.clone()));
    if let Some((_, span)) = &places.origin {
        used.push(span.clone());
    }
    places.unmatched = unmatched_words(tokens, &used);
    places
}

fn negated(tokens: &Tokens, start: usize) -> bool {
    (1..=2).any(|back| {
        start
            .checked_sub(back)
            .and_then(|p| tokens.word(p))
            .is_some_and(|w| listed(NEGATIONS, w))
    })
}

pub(super) fn title_case(word: &str) -> String {
    let mut chars = word.chars();
    chars
        .next()
        .map(|first| first.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

fn ends_with_cue(tokens: &Tokens, end: usize, cues: &[&str]) -> bool {
    (1..=4).any(|back| {
        end.checked_sub(back)
            .is_some_and(|p| match_at(tokens, p, cues).is_some_and(|len| p + len == end))
    })
}

/// Which mention is the origin: one after an origin cue, one followed by "based", or
/// the first of "A → B" / "A to B" when nothing else names an origin.
fn origin_mention(tokens: &Tokens, found: &[Found]) -> Option<usize> {
    let cued = found.iter().position(|f| {
        let start = f.span.start;
        ends_with_cue(tokens, start, ORIGIN_CUES)
            || tokens
                .word(f.span.end)
                .is_some_and(|w| listed(HOME_WORDS, w))
            || (matches!(tokens.prev_word(start), Some("de" | "from" | "d"))
                && tokens
                    .prev_word(start - 1)
                    .is_some_and(|w| listed(PEOPLE_WORDS, w)))
    });
    if cued.is_some() {
        return cued;
    }
    // "Auckland → Honolulu", "Hà Nội đi Đà Lạt", "Hanoi to Bangkok": A is the origin
    // when the first two places are joined this way and A is not visited again.
    let [first, second, rest @ ..] = found else {
        return None;
    };
    let first_id = match &first.mention {
        Mention::Curated(d) => Some(d.id.as_str()),
        _ => None,
    };
    let second_id = match &second.mention {
        Mention::Curated(d) => Some(d.id.as_str()),
        _ => None,
    };
    // A route through more places ("Osaka → Hiroshima → Fukuoka") has no origin in it.
    if rest
        .iter()
        .any(|f| !matches!(&f.mention, Mention::Curated(d) if Some(d.id.as_str()) == second_id))
        || first_id == second_id
    {
        return None;
    }
    let between: Vec<&Token> = (first.span.end..second.span.start)
        .filter_map(|i| tokens.get(i))
        .collect();
    let joined = match between.as_slice() {
        [Token::Arrow] => true,
        [Token::Word { text, .. }] => listed("to di ra vao den toi nach", text),
        _ => false,
    };
    let is_city = |f: &Found| matches!(f.mention, Mention::Curated(_) | Mention::City(_));
    (joined && is_city(first) && is_city(second)).then_some(0)
}

fn origin_airport(mention: &Mention) -> Option<String> {
    match mention {
        Mention::Curated(d) => Some(d.airport_iata.clone()),
        Mention::City(p) => p.airports.first().map(|a| a.to_string()),
        // Where one leaves from only prices the flights: the largest namesake will do.
        Mention::Ambiguous { candidates, .. } => candidates
            .iter()
            .find_map(|p| p.airports.first())
            .map(|a| a.to_string()),
        Mention::Countries(cs) if cs.len() == 1 => gazetteer::places_named(cs[0].capital)
            .into_iter()
            .find(|p| p.country_code == cs[0].code)
            .and_then(|p| p.airports.first())
            .map(|a| a.to_string()),
        _ => None,
    }
}

fn alternatives(tokens: &Tokens, stops: &[Found]) -> bool {
    let id = |f: &Found| match &f.mention {
        Mention::Curated(d) => Some(d.id.clone()),
        _ => None,
    };
    stops.windows(2).any(|pair| {
        pair[1].span.start - pair[0].span.end <= 3
            && id(&pair[0]) != id(&pair[1])
            && (pair[0].span.end..pair[1].span.start).any(|i| {
                // "ở" (at, in Vietnamese) folds to Spanish "o" (or): only the plain word.
                tokens.word(i).is_some_and(|w| listed(OR_WORDS, w))
                    && tokens.exact(i).is_some_and(|e| e.is_ascii())
            })
    })
}

/// The longest place name starting at `i`; names before airport codes.
fn place_at(
    tokens: &Tokens,
    i: usize,
    is_taken: &dyn Fn(usize) -> bool,
    how: Reading,
) -> Option<Found> {
    let max = gazetteer::max_name_words().clamp(4, 8);
    let cued = how.assume_places
        || ends_with_cue(tokens, i, DESTINATION_CUES)
        || ends_with_cue(tokens, i, ORIGIN_CUES);
    for len in (1..=max).rev() {
        if (i..i + len).any(is_taken) {
            continue;
        }
        let Some(name) = tokens.phrase(i, len) else {
            continue;
        };
        if let Some(mention) = resolve(tokens, i, len, &name, cued, how) {
            let extra = qualifier_len(tokens, i + len, &mention);
            return Some(Found {
                mention,
                span: i..i + len + extra,
            });
        }
    }
    airport_code(tokens, i).map(|mention| Found {
        mention,
        span: i..i + 1,
    })
}

/// "DAD", "SGN": upper-case three-letter words that are airport codes, not currency
/// codes or shouting.
fn airport_code(tokens: &Tokens, i: usize) -> Option<Mention> {
    let Token::Word {
        text,
        all_caps: true,
        ..
    } = tokens.get(i)?
    else {
        return None;
    };
    let code = text.to_uppercase();
    if text.len() != 3
        || listed(COMMON_CAPS, text)
        || super::money::known_currencies().contains(&code.as_str())
        || super::money::is_currency_word(text)
    {
        return None;
    }
    let airport = gazetteer::airport(text)?;
    let served: Vec<&'static Destination> = destinations()
        .iter()
        .filter(|d| d.airport_iata.eq_ignore_ascii_case(text))
        .collect();
    if let Some(first) = served.first() {
        // Several destinations can share an airport (Da Nang and Hoi An use DAD):
        // prefer the one the airport is named after.
        let named = served
            .iter()
            .find(|d| normalize_name(&d.city) == normalize_name(airport.city));
        return Some(Mention::Curated(named.unwrap_or(first)));
    }
    gazetteer::places_named(airport.city)
        .into_iter()
        .find(|p| p.country_code == airport.country_code)
        .map(|p| curated_for(p).map_or(Mention::City(p), Mention::Curated))
}

/// Words that start or end place names although they are common words elsewhere.
const NAME_PARTS: &str = "la le las los el les l al da de do dos das del di du ban ho ha ninh san \
    santa saint st new port mount mt bay city island islands lake beach nam bac trung an minh \
    long son tay dong";

/// Upper-case words that are not airport codes in a message ("USA", "PLS").
const COMMON_CAPS: &str = "usa the and for you pls plz asap fyi omg btw diy vip tbd eta bff lol \
    wtf imo tbh nyc hcm hcmc";

/// What `name` (the `len` words at `i`) names, if anything.
fn resolve(
    tokens: &Tokens,
    i: usize,
    len: usize,
    name: &str,
    cued: bool,
    how: Reading,
) -> Option<Mention> {
    let token = tokens.get(i)?;
    let capitalized = token.is_capitalized();
    let all_caps = matches!(token, Token::Word { all_caps: true, .. });
    let raw = tokens.raw_phrase(i, len)?;
    let common = len == 1 && is_common_word(name);
    // "Lima y", "the rest": a longer name must not start or end with a common word.
    let words: Vec<&str> = name.split(' ').collect();
    // Articles and name parts ("La Paz", "Las Vegas", "San Jose", "Ho Chi Minh") may.
    let name_part = |w: &str| listed(NAME_PARTS, w);
    let loose_edges = len > 1
        && ((is_common_word(words[0]) && !name_part(words[0]))
            || words
                .last()
                .is_some_and(|w| is_common_word(w) && !name_part(w)));
    let sentence_start = i == 0 || matches!(tokens.get(i - 1), Some(Token::Break));
    if how.lang == super::text::Lang::Vietnamese
        && let Some((_, id)) = VIETNAMESE_ABBREVIATIONS.iter().find(|(a, _)| *a == name)
        && (all_caps || cued || name.len() > 3)
    {
        return destination(id).map(Mention::Curated);
    }
    if let Some(mention) = vietnamese_country(tokens, i, len, cued) {
        return Some(mention);
    }
    if let Some(codes) = COUNTRY_GROUPS
        .iter()
        .find(|(g, _)| *g == name)
        .map(|(_, c)| *c)
    {
        let countries: Vec<_> = codes.iter().filter_map(|c| gazetteer::country(c)).collect();
        return Some(Mention::Countries(countries));
    }
    // Curated names: short aliases ("LA", "SF", "KL") only in capitals; names that are
    // ordinary words ("Nice", "Split") only capitalised or right after a cue.
    if let Some(dest) = destination_by_name(name) {
        let short = name.len() <= 2;
        let allowed = if short {
            all_caps || !common
        } else {
            !common || capitalized || cued
        };
        if allowed {
            return Some(namesake_check(
                tokens,
                i + len,
                &raw,
                Mention::Curated(dest),
            ));
        }
    }
    // The curated city under a name in another language ("Barcelone", "Kopenhagen",
    // "Atene", "Malaka"): the gazetteer's alternate names lead to it.
    if !common
        && !loose_edges
        && name.chars().count() >= 5
        && (capitalized || cued || how.lang != Lang::Vietnamese)
        && let Some(dest) = gazetteer::place_matches(&raw)
            .first()
            .filter(|m| m.by_main_name || capitalized || cued)
            .filter(|m| diacritics_agree(&raw, m.place))
            .and_then(|m| curated_for(m.place))
    {
        return Some(namesake_check(
            tokens,
            i + len,
            &raw,
            Mention::Curated(dest),
        ));
    }
    if let Some(country) = gazetteer::country_named(&raw)
        && (!common || capitalized)
        && (name.len() > 2 || all_caps)
    {
        return Some(Mention::Countries(vec![country]));
    }
    let regions = gazetteer::regions_named(&raw);
    if !regions.is_empty() && (!common || capitalized || len > 1) {
        return Some(Mention::Region(regions));
    }
    let shouted_abbreviation = all_caps && len == 1;
    if (common || loose_edges || (len == 1 && name.chars().count() < 4)) && !shouted_abbreviation {
        return None;
    }
    // Lowercase Vietnamese syllables spell many Chinese and Vietnamese towns ("san hô",
    // "đi ăn"): in Vietnamese text a non-curated town needs a capital or a cue.
    if how.lang == Lang::Vietnamese && !capitalized && !cued {
        return None;
    }
    // Cities the dataset does not cover, by main name only, where the text points at a
    // place; the less it points, the bigger the city must be.
    let needed = if how.assume_places || (capitalized && (!sentence_start || cued)) {
        0
    } else if cued {
        100_000
    } else if capitalized {
        // A capitalised first word is a place if a length or a comma follows it
        // ("Springfield, 2 days") or the city is large.
        let followed = matches!(tokens.get(i + len), Some(Token::Break) | None)
            || matches!(tokens.get(i + len), Some(Token::Number { .. }));
        if followed { 0 } else { 100_000 }
    } else {
        300_000
    };
    // By main name, or by a short name a large city is known by ("Frankfurt").
    let named: Vec<&'static Place> = gazetteer::place_matches(&raw)
        .into_iter()
        .filter(|m| {
            m.by_main_name
                || (m.place.population >= 500_000
                    && (capitalized || cued)
                    && name.chars().count() >= 5)
        })
        .map(|m| m.place)
        .filter(|p| diacritics_agree(&raw, p))
        .collect();
    let best = named.first()?;
    if best.population < needed {
        return None;
    }
    Some(namesake_check(
        tokens,
        i + len,
        &raw,
        curated_for(best).map_or(Mention::City(best), Mention::Curated),
    ))
}

/// Typed with diacritics, a name must carry the place's own: "đi ăn" is not "Dĩ An".
fn diacritics_agree(raw: &str, place: &Place) -> bool {
    let typed = raw.to_lowercase();
    if typed.is_ascii() {
        return true;
    }
    let strip = |s: &str| s.to_lowercase().replace(['-', '.', '\''], " ");
    let typed = strip(&typed);
    std::iter::once(place.name)
        .chain(place.alternate_names())
        .any(|n| {
            strip(n) == typed
                || n.is_ascii()
                    && crate::knowledge::dataset::normalize_name(n) == normalize_name(&typed)
        })
}

/// "đi Thái", "sang Nhật", "qua Hàn": Vietnamese short country names, by their exact
/// spelling, or plain after a cue.
fn vietnamese_country(tokens: &Tokens, i: usize, len: usize, cued: bool) -> Option<Mention> {
    if len != 1 {
        return None;
    }
    let exact = tokens.exact(i)?;
    let text = tokens.word(i)?;
    // "Thái Lan", "Nhật Bản" are whole names, matched by the gazetteer.
    if tokens
        .word(i + 1)
        .is_some_and(|next| gazetteer::country_named(&format!("{text} {next}")).is_some())
    {
        return None;
    }
    let (_, _, code) = VIETNAMESE_COUNTRIES
        .iter()
        .find(|(written, plain, _)| {
            *written == exact && (!exact.is_ascii() || cued || *plain != exact)
        })
        .or_else(|| {
            VIETNAMESE_COUNTRIES.iter().find(|(_, plain, _)| {
                *plain == text && cued && tokens.exact(i).is_some_and(|e| e.is_ascii())
            })
        })?;
    let allowed_plain = !exact.is_ascii() || cued;
    allowed_plain
        .then(|| gazetteer::country(code))
        .flatten()
        .map(|c| Mention::Countries(vec![c]))
}

/// Namesakes: a qualifier right after the name ("Portland, Maine", "Perth (Úc)") picks
/// one. Otherwise a curated destination wins unless a namesake is a major city (over
/// 300,000 people and twice its size); and a name is ambiguous when a second notable
/// place (at least 50,000 people and a twenty-fifth of the largest) shares it.
fn namesake_check(tokens: &Tokens, after: usize, raw: &str, found: Mention) -> Mention {
    let all: Vec<(&'static Place, u64)> = gazetteer::place_matches(raw)
        .into_iter()
        .map(|m| {
            (
                m.place,
                u64::from(m.place.population) / if m.by_main_name { 1 } else { 10 },
            )
        })
        .collect();
    let places: Vec<&'static Place> = all.iter().map(|(p, _)| *p).collect();
    if let Some(pick) = qualified(tokens, after, &places) {
        return match &found {
            Mention::Curated(d) if d.country_code == pick.country_code => found,
            _ => curated_for(pick).map_or(Mention::City(pick), Mention::Curated),
        };
    }
    let mut ranked = all.clone();
    ranked.sort_by_key(|(_, weight)| std::cmp::Reverse(*weight));
    let Some(&(largest, largest_weight)) = ranked.first() else {
        return found;
    };
    if let Mention::Curated(d) = &found {
        let own = ranked
            .iter()
            .filter(|(p, _)| p.country_code == d.country_code)
            .map(|(_, w)| *w)
            .max();
        let threat = ranked.iter().any(|(p, w)| {
            p.country_code != d.country_code && *w >= 300_000 && *w >= 2 * own.unwrap_or(0).max(1)
        });
        if !threat {
            return found;
        }
    }
    let rivals: Vec<&'static Place> = ranked
        .iter()
        .filter(|(p, w)| {
            !std::ptr::eq(*p, largest)
                && *w >= 50_000
                && *w * 25 >= largest_weight
                && !(p.country_code == largest.country_code && p.admin1 == largest.admin1)
        })
        .map(|(p, _)| *p)
        .collect();
    if !rivals.is_empty() {
        // The largest, then one per country (so "Santa Cruz" shows Bolivia and
        // California, not four Philippine towns), then other states.
        let mut candidates = vec![largest];
        let notable: Vec<&'static Place> = ranked
            .iter()
            .filter(|(p, w)| !std::ptr::eq(*p, largest) && *w * 40 >= largest_weight)
            .map(|(p, _)| *p)
            .collect();
        for new_country in [true, false] {
            for p in &notable {
                let same_country = candidates.iter().any(|c| c.country_code == p.country_code);
                let duplicate = candidates.iter().any(|c| {
                    std::ptr::eq(*c, *p)
                        || (c.country_code == p.country_code && c.admin1 == p.admin1)
                });
                if candidates.len() < 5 && !duplicate && (same_country != new_country) {
                    candidates.push(p);
                }
            }
        }
        return Mention::Ambiguous {
            name: raw.split(' ').map(title_case).collect::<Vec<_>>().join(" "),
            candidates,
        };
    }
    match found {
        Mention::Curated(_) => found,
        _ => curated_for(largest).map_or(Mention::City(largest), Mention::Curated),
    }
}

/// A country, state or province named right after the place: "Portland, Maine",
/// "San Jose (Costa Rica)", "Perth Úc", "Portland OR".
fn qualified(tokens: &Tokens, after: usize, all: &[&'static Place]) -> Option<&'static Place> {
    if all.len() < 2 {
        return None;
    }
    let skip = (after..after + 2)
        .take_while(|&k| {
            matches!(tokens.get(k), Some(Token::Break | Token::Paren))
                || matches!(tokens.word(k), Some("in" | "o"))
        })
        .count();
    let at = after + skip;
    for len in (1..=4).rev() {
        let Some(words) = tokens.raw_phrase(at, len) else {
            continue;
        };
        if let Some(country) = gazetteer::country_named(&words)
            && let Some(p) = all.iter().find(|p| p.country_code == country.code)
        {
            return Some(p);
        }
        let states = gazetteer::admin1_named(&words);
        let state_code = format!(".{}", words.to_uppercase());
        if let Some(p) = all.iter().find(|p| {
            p.admin1_code.is_some_and(|code| {
                states.iter().any(|s| s.code == code)
                    || (len == 1 && words.len() == 2 && code.ends_with(&state_code))
            })
        }) {
            return Some(p);
        }
    }
    None
}

fn qualifier_len(tokens: &Tokens, after: usize, mention: &Mention) -> usize {
    let country = match mention {
        Mention::Curated(d) => gazetteer::country(&d.country_code),
        Mention::City(p) => gazetteer::country(p.country_code),
        _ => None,
    };
    let skip = (after..after + 2)
        .take_while(|&k| matches!(tokens.get(k), Some(Token::Break | Token::Paren)))
        .count();
    for len in (1..=3).rev() {
        let Some(words) = tokens.raw_phrase(after + skip, len) else {
            continue;
        };
        let is_country = country
            .is_some_and(|c| gazetteer::country_named(&words).is_some_and(|n| n.code == c.code));
        let is_admin = match mention {
            Mention::City(p) => p.admin1_code.is_some_and(|code| {
                gazetteer::admin1_named(&words)
                    .iter()
                    .any(|s| s.code == code)
            }),
            _ => false,
        };
        if is_country || is_admin {
            return skip + len;
        }
    }
    0
}

/// The curated destination a gazetteer city is, if any.
pub(super) fn curated_for(place: &Place) -> Option<&'static Destination> {
    let name = normalize_name(place.name);
    destinations().iter().find(|d| {
        d.country_code == place.country_code
            && (normalize_name(&d.city) == name
                || d.aliases.iter().any(|a| normalize_name(a) == name))
    })
}

/// Words in the languages we read that are also the names of some town somewhere.
fn is_common_word(word: &str) -> bool {
    super::vocabulary::is_known_word(word)
}

/// Words that look like a place but matched nothing, for the error message: a
/// capitalised word inside a sentence, a word after a destination cue, or a word
/// followed by the trip's length ("hogsmeade weekend"). Adjacent capitalised words
/// stay together ("New Narnia").
fn unmatched_words(tokens: &Tokens, used: &[Range<usize>]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut previous: Option<usize> = None;
    for i in 0..tokens.len() {
        let Some(Token::Word {
            text,
            exact,
            capitalized,
            ..
        }) = tokens.get(i)
        else {
            continue;
        };
        if used.iter().any(|r| r.contains(&i)) || is_common_word(text) || text.chars().count() < 3 {
            continue;
        }
        let sentence_start = i == 0 || matches!(tokens.get(i - 1), Some(Token::Break));
        let cue = matches!(
            tokens.prev_word(i),
            Some("to" | "visit" | "visiting" | "in" | "explore" | "di" | "den" | "nach" | "en")
        );
        let before_length = tokens
            .word(i + 1)
            .is_some_and(|w| listed("weekend trip getaway days day nights ngay", w))
            || matches!(tokens.get(i + 1), Some(Token::Number { .. }));
        let joins_previous = *capitalized && previous == i.checked_sub(1);
        if !((*capitalized && !sentence_start) || cue || before_length || joins_previous) {
            continue;
        }
        match out.last_mut() {
            Some(last) if joins_previous => {
                last.push(' ');
                last.push_str(&title_case(exact));
            }
            _ => out.push(title_case(exact)),
        }
        previous = Some(i);
    }
    out.dedup();
    out
}
