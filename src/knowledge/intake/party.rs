//! Party size: "3 ppl", "2 adults and 2 kids", "family of four", "me and 2 friends",
//! "my wife and I", "honeymoon", "gia đình 4 người", "2 vợ chồng và 2 bé",
//! "deux adultes et un enfant", "zu zweit". Explicit totals beat counted adults and
//! children, which beat the people a sentence names, which beat cues like "couple".

use std::ops::Range;

use super::numbers::count_at;
use super::text::{Token, Tokens, listed, match_at};

/// Multi-word units first: `match_at` takes the longest.
const PEOPLE_UNITS: &[&str] = &[
    "people",
    "persons",
    "person",
    "ppl",
    "pax",
    "ppax",
    "travelers",
    "travellers",
    "traveler",
    "traveller",
    "guests",
    "guest",
    "of us",
    "guys",
    "gals",
    "ladies",
    "nguoi",
    "ng",
    "khach",
    "thanh vien",
    "dua",
    "chi em",
    "anh em",
    "chi em gai",
    "ae",
    "personnes",
    "personne",
    "voyageurs",
    "personas",
    "viajeros",
    "personen",
    "leute",
    "reisende",
    "pessoas",
    "persone",
    "orang",
    "kami",
    "คน",
    "人",
    "명",
];
const ADULT_UNITS: &[&str] = &[
    "adults",
    "adult",
    "grown ups",
    "nguoi lon",
    "adultes",
    "adulte",
    "adultos",
    "adulto",
    "erwachsene",
    "erwachsenen",
    "adulti",
    "dewasa",
];
const KID_UNITS: &[&str] = &[
    "kids",
    "kid",
    "children",
    "child",
    "toddlers",
    "toddler",
    "babies",
    "baby",
    "infants",
    "infant",
    "teens",
    "teenagers",
    "sons",
    "daughters",
    "boys",
    "girls",
    "tre em",
    "tre nho",
    "tre",
    "be",
    "em be",
    "chau",
    "con",
    "con nho",
    "dua con",
    "dua nho",
    "enfants",
    "enfant",
    "ninos",
    "ninas",
    "twins",
    "nino",
    "hijos",
    "hijas",
    "kinder",
    "kindern",
    "kind",
    "bambini",
    "criancas",
    "filhos",
    "anak",
];
const FRIEND_UNITS: &[&str] = &[
    "friends",
    "friend",
    "buddies",
    "mates",
    "colleagues",
    "ban",
    "nguoi ban",
    "dua ban",
    "ban be",
    "amis",
    "amies",
    "copains",
    "amigos",
    "amigas",
    "freunde",
    "freundinnen",
    "amici",
    "teman",
];
/// "2 vợ chồng" is a couple: the count is the total.
const COUPLE_COUNTS: &[&str] = &[
    "vo chong",
    "vc",
    "couples",
    "cap vo chong",
    "cap doi",
    "couples",
];

/// Words that make a group of exactly two.
const COUPLE_CUES: &[&str] = &[
    "couple",
    "honeymoon",
    "honeymooning",
    "honeymooners",
    "anniversary",
    "romantic getaway",
    "both of us",
    "the two of us",
    "two of us",
    "us two",
    "the 2 of us",
    "berdua",
    "hai dua",
    "ca hai",
    "nous deux",
    "los dos",
    "wir beide",
    "nos dois",
    "vo chong",
    "cap doi",
    "trang mat",
    "tuan trang mat",
    "hai vo chong",
    "lune de miel",
    "en couple",
    "luna de miel",
    "en pareja",
    "flitterwochen",
    "zu zweit",
    "bulan madu",
    "lua de mel",
];
const SOLO_CUES: &[&str] = &[
    "solo",
    "alone",
    "by myself",
    "just me",
    "on my own",
    "mot minh",
    "seul",
    "seule",
    "tout seul",
    "toute seule",
    "sola",
    "allein",
    "alleine",
    "sendiri",
    "sozinho",
    "sozinha",
    "da solo",
    "da sola",
];
const SPOUSE_WORDS: &[&str] = &[
    "wife",
    "husband",
    "partner",
    "girlfriend",
    "boyfriend",
    "gf",
    "bf",
    "fiance",
    "fiancee",
    "spouse",
    "hubby",
    "wifey",
    "vo",
    "chong",
    "nguoi yeu",
    "ban gai",
    "ban trai",
    "ny",
    "femme",
    "mari",
    "namorada",
    "namorado",
    "freund",
    "copine",
    "copain",
    "conjoint",
    "esposa",
    "esposo",
    "marido",
    "mujer",
    "novia",
    "novio",
    "pareja",
    "frau",
    "mann",
    "freundin",
    "partnerin",
    "ehefrau",
    "ehemann",
    "moglie",
    "marito",
    "fidanzata",
    "istri",
    "suami",
    "pacar",
];
const PARENT_PAIRS: &[&str] = &[
    "parents",
    "bo me",
    "ba me",
    "cha me",
    "ong ba",
    "mes parents",
    "mis padres",
    "meine eltern",
    "eltern",
    "grandparents",
    "in laws",
];
const ONE_RELATIVE: &[&str] = &[
    "mom",
    "mum",
    "mother",
    "mama",
    "mommy",
    "dad",
    "father",
    "papa",
    "sister",
    "brother",
    "sis",
    "bro",
    "grandma",
    "grandpa",
    "granny",
    "nana",
    "grandmother",
    "grandfather",
    "aunt",
    "uncle",
    "cousin",
    "son",
    "daughter",
    "niece",
    "nephew",
    "best friend",
    "bestie",
    "em gai",
    "em trai",
    "chi gai",
    "anh trai",
    "ban than",
    "me",
    "bo",
    "mere",
    "pere",
    "soeur",
    "frere",
    "madre",
    "padre",
    "mamá",
    "hermana",
    "hermano",
    "mutter",
    "vater",
    "schwester",
    "bruder",
    "mae",
    "pai",
    "irma",
    "irmao",
    "sorella",
    "fratello",
    "ibu",
    "ayah",
    "adik",
    "kakak",
];
const FIRST_PERSON: &str =
    "i me im my myself ive toi minh tui em je moi j yo ich mich eu io saya aku mi";
/// "family of four", "group of 6", "party of 5", "famille de quatre", "nhóm 6".
const GROUP_WORDS: &[&str] = &[
    "family of",
    "group of",
    "party of",
    "team of",
    "famille de",
    "groupe de",
    "familia de",
    "grupo de",
    "familie mit",
    "gruppe von",
    "gruppe mit",
    "nhom",
    "doan",
    "gia dinh",
    "gia dinh co",
    "nha minh",
    "nha toi",
    "keluarga",
    "we re a group of",
    "a group of",
    "we are",
    "we re",
    "nous sommes",
    "on est",
    "somos",
    "wir sind",
    "chung toi co",
    "tui minh co",
    "bon minh",
    "bon toi",
    "chung minh",
];
/// Indonesian counts of "us": "berdua" (the two of us), "bertiga", "berempat".
const US_COUNTS: &[(&str, u32)] = &[("bertiga", 3), ("berempat", 4), ("berlima", 5)];
/// "for 2", "cho 2", "pour deux", "para dos", "für zwei", "we are 4".
const FOR_WORDS: &[&str] = &["for", "cho", "pour", "para", "fur"];
/// German "zu dritt" (three of us) and the like.
const ZU_COUNTS: &[(&str, u32)] = &[
    ("zu zweit", 2),
    ("zu dritt", 3),
    ("zu viert", 4),
    ("zu funft", 5),
    ("zu sechst", 6),
];

#[derive(Debug, Default)]
struct Tally {
    total: Option<u32>,
    adults: u32,
    kids: u32,
    friends: u32,
    used: Vec<Range<usize>>,
}

/// The party size the text states, and the tokens that state it.
pub(super) fn read_party(tokens: &Tokens, max: u32) -> Option<(u32, Vec<Range<usize>>)> {
    let mut tally = Tally::default();
    for i in 0..tokens.len() {
        if tally.used.iter().any(|r| r.contains(&i)) {
            continue;
        }
        counted_at(tokens, i, &mut tally);
    }
    let size = tally
        .total
        .map(|t| t + joined_relatives(tokens, &tally))
        .or_else(|| counted(tokens, &tally))
        .or_else(|| named_people(tokens))
        .or_else(|| cue_size(tokens))?;
    Some((size.clamp(1, max), tally.used))
}

/// "family of 3 plus grandma": people added after a stated total.
fn joined_relatives(tokens: &Tokens, tally: &Tally) -> u32 {
    let Some(end) = tally.used.iter().map(|r| r.end).max() else {
        return 0;
    };
    let mut extra = 0;
    for i in end..(end + 4).min(tokens.len()) {
        if matches!(
            tokens.prev_word(i),
            Some("plus" | "and" | "with" | "va" | "cung" | "voi")
        ) && match_at(tokens, i, ONE_RELATIVE).is_some()
            && !matches!(tokens.word(i), Some("me" | "bo"))
        {
            extra += 1;
        }
    }
    extra
}

fn counted(tokens: &Tokens, tally: &Tally) -> Option<u32> {
    // "the twins", "our triplets": children without a count.
    let multiples: u32 = tokens
        .words()
        .iter()
        .map(|w| match *w {
            "twins" => 2,
            "triplets" => 3,
            _ => 0,
        })
        .sum();
    let tally = &Tally {
        kids: tally.kids.max(multiples),
        total: tally.total,
        adults: tally.adults,
        friends: tally.friends,
        used: Vec::new(),
    };
    if tally.adults > 0 {
        return Some(tally.adults + tally.kids);
    }
    if tally.kids > 0 || tally.friends > 0 {
        let adults = named_adults(tokens).max(if tally.kids > 0 { 2 } else { 1 });
        let adults = if tally.kids > 0 && named_adults(tokens) == 1 && !has_spouse(tokens) {
            1
        } else {
            adults
        };
        return Some(adults + tally.kids + tally.friends);
    }
    None
}

/// The traveller plus the people they name: "my wife and I", "me and my parents".
fn named_people(tokens: &Tokens) -> Option<u32> {
    let adults = named_adults(tokens);
    (adults >= 2).then_some(adults)
}

fn named_adults(tokens: &Tokens) -> u32 {
    let words = tokens.words();
    let me = u32::from(words.iter().any(|w| listed(FIRST_PERSON, w)));
    // "us two", "the two of us", "vợ chồng": the traveller and one more.
    let pair = (0..tokens.len()).any(|i| {
        match_at(
            tokens,
            i,
            &[
                "us two",
                "two of us",
                "both of us",
                "the 2 of us",
                "vo chong",
                "hai vo chong",
            ],
        )
        .is_some()
    });
    let mut n = if pair { 2 } else { me };
    if has_spouse(tokens) && !pair {
        n = n.max(1) + 1;
    }
    let mut i = 0;
    while i < tokens.len() {
        let listed_here = matches!(
            tokens.prev_word(i),
            Some(
                "my" | "our"
                    | "with"
                    | "and"
                    | "mes"
                    | "mis"
                    | "mi"
                    | "ma"
                    | "mon"
                    | "meine"
                    | "meiner"
                    | "meinen"
                    | "mit"
                    | "va"
                    | "voi"
                    | "cung"
                    | "mia"
                    | "mio"
                    | "minha"
                    | "meu"
                    | "plus"
                    | "con"
                    | "avec"
                    | "com"
                    | "dengan"
            )
        ) || matches!(tokens.get(i.wrapping_sub(1)), Some(Token::Break));
        if let Some(len) = match_at(tokens, i, PARENT_PAIRS) {
            if listed_here || len > 1 {
                n = n.max(1) + 2;
            }
            i += len;
            continue;
        }
        if let Some(len) = match_at(tokens, i, ONE_RELATIVE) {
            // "me" is also English "me": only Vietnamese "mẹ" counts, after "với"/"và".
            let word = tokens.phrase(i, len).unwrap_or_default();
            let vietnamese_only = matches!(word.as_str(), "me" | "bo")
                && tokens.exact(i).is_some_and(|e| e.is_ascii());
            if listed_here && !vietnamese_only {
                n = n.max(1) + 1;
            }
            i += len;
            continue;
        }
        if matches!(tokens.word(i), Some("friend" | "ban"))
            && matches!(tokens.prev_word(i), Some("a" | "my" | "1" | "mot" | "voi"))
        {
            n = n.max(1) + 1;
        }
        i += 1;
    }
    n
}

fn has_spouse(tokens: &Tokens) -> bool {
    (0..tokens.len()).any(|i| {
        let Some(len) = match_at(tokens, i, SPOUSE_WORDS) else {
            return false;
        };
        // "my wife", "with my husband", "ma femme", "mi esposa", "meine Frau", "vợ tôi",
        // "vợ chồng": a possessive or a Vietnamese kinship pair.
        let before = tokens.prev_word(i);
        let after = tokens.word(i + len);
        // "Me, hubby and the twins": a first person in the sentence makes it theirs.
        let word = tokens.phrase(i, len).unwrap_or_default();
        let unmistakable = listed("hubby wifey husband wife spouse", &word)
            && tokens.words().iter().any(|w| listed(FIRST_PERSON, w));
        unmistakable
            || matches!(
                before,
                Some(
                    "my" | "ma"
                        | "mon"
                        | "mi"
                        | "meine"
                        | "meiner"
                        | "meinem"
                        | "mein"
                        | "with"
                        | "and"
                        | "a"
                        | "va"
                        | "voi"
                        | "cung"
                        | "mia"
                        | "minha"
                        | "meu"
                        | "con"
                        | "com"
                )
            )
            || matches!(
                after,
                Some("toi" | "minh" | "tui" | "em" | "anh" | "chong" | "vo")
            )
    })
}

fn cue_size(tokens: &Tokens) -> Option<u32> {
    for i in 0..tokens.len() {
        if let Some(len) = match_at(tokens, i, COUPLE_CUES) {
            // "a couple of days" is two days, not two people.
            let phrase = tokens.phrase(i, len).unwrap_or_default();
            if phrase == "couple"
                && matches!(tokens.word(i + 1), Some("of" | "days" | "nights" | "weeks"))
            {
                continue;
            }
            return Some(2);
        }
    }
    if (0..tokens.len()).any(|i| match_at(tokens, i, SOLO_CUES).is_some()) {
        return Some(1);
    }
    // "we", "chúng tôi", "nous" with no count: at least two people, and two is the
    // most common party.
    const WE: &[&str] = &[
        "we",
        "us",
        "our",
        "we re",
        "chung toi",
        "bon minh",
        "nous",
        "nosotros",
        "wir",
        "kami",
    ];
    (0..tokens.len())
        .any(|i| match_at(tokens, i, WE).is_some())
        .then_some(2)
}

/// "15 triệu 1 người", "$500 per person": a count right after an amount is per head.
fn after_money(tokens: &Tokens, i: usize) -> bool {
    let Some(prev) = i.checked_sub(1).and_then(|p| tokens.get(p)) else {
        return false;
    };
    match prev {
        Token::Number { scale, .. } => *scale != 1.0,
        Token::Currency(_) => true,
        Token::Word { text, .. } => {
            listed(
                "trieu tr k nghin ngan cu juta usd dollars euros eur vnd dong",
                text,
            ) && matches!(tokens.get(i.wrapping_sub(2)), Some(Token::Number { .. }))
        }
        _ => false,
    }
}

fn counted_at(tokens: &Tokens, i: usize, tally: &mut Tally) {
    if let Some(len) = match_at(
        tokens,
        i,
        &ZU_COUNTS.iter().map(|(p, _)| *p).collect::<Vec<_>>(),
    ) {
        let phrase = tokens.phrase(i, len).unwrap_or_default();
        if let Some((_, n)) = ZU_COUNTS.iter().find(|(p, _)| *p == phrase) {
            tally.total = tally.total.or(Some(*n));
            tally.used.push(i..i + len);
        }
        return;
    }
    // "family of four", "nhóm 6 người", "for 2", "we are 4"
    if let Some(len) = match_at(tokens, i, GROUP_WORDS).or_else(|| match_at(tokens, i, FOR_WORDS)) {
        let at = i + len;
        let is_group = match_at(tokens, i, GROUP_WORDS).is_some();
        if let Some((n, used)) = count_at(tokens, at)
            && (1.0..=99.0).contains(&n)
        {
            let unit_after = tokens.word(at + used);
            let other_unit = unit_after.is_some_and(|w| {
                listed(super::duration::DAY_UNITS, w)
                    || listed(super::duration::NIGHT_UNITS, w)
                    || listed("week weeks weekend month months tuan thang semaines semanas wochen usd dollars euros trieu tr k", w)
            }) || matches!(tokens.get(at + used), Some(Token::Currency(_)))
                || matches!(tokens.get(at), Some(Token::Number { scale, .. }) if *scale != 1.0);
            let named_unit = match_at(tokens, at + used, KID_UNITS)
                .or_else(|| match_at(tokens, at + used, ADULT_UNITS))
                .or_else(|| match_at(tokens, at + used, FRIEND_UNITS).filter(|_| !is_group))
                .or_else(|| match_at(tokens, at + used, COUPLE_COUNTS))
                .is_some();
            let people_unit = match_at(tokens, at + used, PEOPLE_UNITS)
                .or_else(|| match_at(tokens, at + used, FRIEND_UNITS).filter(|_| is_group));
            let article = listed(
                "a an un une uno una ein eine",
                tokens.word(at).unwrap_or(""),
            );
            // "for 2 adults and 2 kids" and "Familie mit zwei Kindern" are counted below.
            if !other_unit && !named_unit && (people_unit.is_some() || !article) {
                tally.total = tally.total.or(Some(n as u32));
                tally.used.push(i..at + used + people_unit.unwrap_or(0));
            }
        }
        return;
    }
    if let Some(len) = match_at(
        tokens,
        i,
        &US_COUNTS.iter().map(|(p, _)| *p).collect::<Vec<_>>(),
    ) {
        let phrase = tokens.phrase(i, len).unwrap_or_default();
        if let Some((_, n)) = US_COUNTS.iter().find(|(p, _)| *p == phrase) {
            tally.total = tally.total.or(Some(*n));
            tally.used.push(i..i + len);
        }
        return;
    }
    let Some((n, used)) = count_at(tokens, i) else {
        return;
    };
    if !(1.0..=99.0).contains(&n) || n.fract() != 0.0 || after_money(tokens, i) {
        return;
    }
    let n = n as u32;
    let j = i + used;
    let span = |len: usize| i..j + len;
    // The longest unit wins ("3 đứa bạn" is friends, "3 đứa" people); on a tie, the
    // more specific list.
    let lists: [(&[&str], u8); 5] = [
        (COUPLE_COUNTS, 0),
        (ADULT_UNITS, 1),
        (FRIEND_UNITS, 2),
        (KID_UNITS, 3),
        (PEOPLE_UNITS, 4),
    ];
    let best = lists
        .iter()
        .filter_map(|(list, kind)| match_at(tokens, j, list).map(|len| (len, *kind)))
        .max_by_key(|(len, kind)| (*len, std::cmp::Reverse(*kind)));
    let Some((len, kind)) = best else {
        return;
    };
    match kind {
        0 => {
            // "2 vợ chồng" is one couple; "4 couples", "3 cặp vợ chồng" are pairs.
            let phrase = tokens.phrase(j, len).unwrap_or_default();
            tally.adults += if matches!(phrase.as_str(), "vo chong" | "vc") && n <= 2 {
                2
            } else {
                2 * n
            };
        }
        1 => tally.adults += n,
        2 => tally.friends += n,
        3 => tally.kids += n,
        _ => tally.total = tally.total.or(Some(n)),
    }
    tally.used.push(span(len));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn party(text: &str) -> Option<u32> {
        read_party(&Tokens::new(text), 20).map(|(n, _)| n)
    }

    #[test]
    fn reads_counts_in_words_and_numbers() {
        assert_eq!(party("Tokyo for 3 ppl"), Some(3));
        assert_eq!(party("2 pax to Bali"), Some(2));
        assert_eq!(party("Tokyo for 2 adults and 2 kids"), Some(4));
        assert_eq!(party("family of four to Singapore"), Some(4));
        assert_eq!(party("Tokyo for 2"), Some(2));
        assert_eq!(party("Tokyo for 5 days"), None);
        assert_eq!(party("group of 6 friends"), Some(6));
    }

    #[test]
    fn counts_the_people_a_sentence_names() {
        assert_eq!(party("me and 2 friends"), Some(3));
        assert_eq!(party("my wife and I"), Some(2));
        assert_eq!(party("with my wife and our 2 kids"), Some(4));
        assert_eq!(party("me and my parents"), Some(3));
        assert_eq!(party("just me and my 2 kids"), Some(3));
    }

    #[test]
    fn reads_cues_for_couples_and_solo_travel() {
        assert_eq!(party("honeymoon in Bali"), Some(2));
        assert_eq!(party("a couple of days in Bali"), None);
        assert_eq!(party("solo trip"), Some(1));
        assert_eq!(party("Tokyo"), None);
    }

    #[test]
    fn reads_other_languages() {
        assert_eq!(party("Đà Lạt 3 ngày cho 2 người"), Some(2));
        assert_eq!(party("gia đình 4 người"), Some(4));
        assert_eq!(party("2 vợ chồng và 2 bé"), Some(4));
        assert_eq!(party("2 người lớn 1 trẻ em"), Some(3));
        assert_eq!(party("tui với 3 đứa bạn"), Some(4));
        assert_eq!(party("deux adultes et un enfant"), Some(3));
        assert_eq!(party("pour deux personnes"), Some(2));
        assert_eq!(party("para dos personas"), Some(2));
        assert_eq!(party("wir reisen zu viert"), Some(4));
        assert_eq!(party("Familie mit zwei Kindern"), Some(4));
        assert_eq!(party("en pareja"), Some(2));
    }
}
