//! What the traveller likes (attraction categories), the comfort tier they want, and
//! the weather they wish for, from words in the languages we read.

use super::text::{Tokens, listed, match_at};
use crate::knowledge::dataset::Tier;

/// Keyword (one to three folded words) to attraction categories.
const INTEREST_KEYWORDS: &[(&str, &[&str])] = &[
    ("food", &["food"]),
    ("foodie", &["food"]),
    ("foodies", &["food"]),
    ("street food", &["food"]),
    ("cuisine", &["food"]),
    ("culinary", &["food"]),
    ("eating", &["food"]),
    ("eat", &["food"]),
    ("restaurants", &["food"]),
    ("cooking", &["food"]),
    ("wine", &["food"]),
    ("coffee", &["food"]),
    ("am thuc", &["food"]),
    ("an uong", &["food"]),
    ("an vat", &["food"]),
    ("hai san", &["food", "beach"]),
    ("seafood", &["food"]),
    ("ca phe", &["food"]),
    ("gastronomie", &["food"]),
    ("gastronomia", &["food"]),
    ("comida", &["food"]),
    ("kulinarik", &["food"]),
    ("essen", &["food"]),
    ("kuliner", &["food"]),
    ("museum", &["history", "culture"]),
    ("museums", &["history", "culture"]),
    ("bao tang", &["history", "culture"]),
    ("musees", &["history", "culture"]),
    ("museos", &["history", "culture"]),
    ("museen", &["history", "culture"]),
    ("history", &["history"]),
    ("historic", &["history"]),
    ("historical", &["history"]),
    ("ruins", &["history"]),
    ("lich su", &["history"]),
    ("di tich", &["history"]),
    ("histoire", &["history"]),
    ("historia", &["history"]),
    ("geschichte", &["history"]),
    ("sejarah", &["history"]),
    ("culture", &["culture"]),
    ("cultural", &["culture"]),
    ("temple", &["culture"]),
    ("temples", &["culture"]),
    ("pagodas", &["culture"]),
    ("shrines", &["culture"]),
    ("traditional", &["culture"]),
    ("van hoa", &["culture"]),
    ("den chua", &["culture"]),
    ("cultura", &["culture"]),
    ("kultur", &["culture"]),
    ("budaya", &["culture"]),
    ("art", &["art"]),
    ("arts", &["art"]),
    ("galleries", &["art"]),
    ("gallery", &["art"]),
    ("nghe thuat", &["art"]),
    ("arte", &["art"]),
    ("kunst", &["art"]),
    ("seni", &["art"]),
    ("architecture", &["architecture"]),
    ("kien truc", &["architecture"]),
    ("arquitectura", &["architecture"]),
    ("architektur", &["architecture"]),
    ("beach", &["beach"]),
    ("beaches", &["beach"]),
    ("swimming", &["beach"]),
    ("islands", &["beach"]),
    ("island", &["beach"]),
    ("bien", &["beach"]),
    ("bai bien", &["beach"]),
    ("tam bien", &["beach"]),
    ("plage", &["beach"]),
    ("plages", &["beach"]),
    ("playa", &["beach"]),
    ("playas", &["beach"]),
    ("strand", &["beach"]),
    ("strande", &["beach"]),
    ("praia", &["beach"]),
    ("pantai", &["beach"]),
    ("hiking", &["adventure", "nature"]),
    ("hike", &["adventure", "nature"]),
    ("hikes", &["adventure", "nature"]),
    ("trekking", &["adventure", "nature"]),
    ("trek", &["adventure", "nature"]),
    ("leo nui", &["adventure", "nature"]),
    ("randonnee", &["adventure", "nature"]),
    ("randonnees", &["adventure", "nature"]),
    ("senderismo", &["adventure", "nature"]),
    ("wandern", &["adventure", "nature"]),
    ("adventure", &["adventure"]),
    ("adventurous", &["adventure"]),
    ("phieu luu", &["adventure"]),
    ("mao hiem", &["adventure"]),
    ("aventure", &["adventure"]),
    ("aventura", &["adventure"]),
    ("abenteuer", &["adventure"]),
    ("outdoors", &["nature", "adventure"]),
    ("outdoor", &["nature", "adventure"]),
    ("snorkelling", &["adventure", "beach"]),
    ("snorkeling", &["adventure", "beach"]),
    ("diving", &["adventure", "beach"]),
    ("scuba", &["adventure", "beach"]),
    ("lan bien", &["adventure", "beach"]),
    ("surfing", &["adventure", "beach"]),
    ("surf", &["adventure", "beach"]),
    ("skiing", &["adventure", "nature"]),
    ("ski", &["adventure", "nature"]),
    ("safari", &["nature", "adventure"]),
    ("nature", &["nature"]),
    ("wildlife", &["nature"]),
    ("scenery", &["nature"]),
    ("mountains", &["nature", "adventure"]),
    ("mountain", &["nature", "adventure"]),
    ("nui", &["nature", "adventure"]),
    ("thien nhien", &["nature"]),
    ("phong canh", &["nature"]),
    ("canh dep", &["nature"]),
    ("san may", &["nature"]),
    ("cherry blossom", &["nature"]),
    ("cherry blossoms", &["nature"]),
    ("sakura", &["nature"]),
    ("hoa anh dao", &["nature"]),
    ("la phong", &["nature"]),
    ("foliage", &["nature"]),
    ("northern lights", &["nature"]),
    ("aurora", &["nature"]),
    ("montagne", &["nature", "adventure"]),
    ("montagnes", &["nature", "adventure"]),
    ("montana", &["nature", "adventure"]),
    ("montanas", &["nature", "adventure"]),
    ("berge", &["nature", "adventure"]),
    ("naturaleza", &["nature"]),
    ("natur", &["nature"]),
    ("alam", &["nature"]),
    ("parks", &["nature"]),
    ("national parks", &["nature"]),
    ("nightlife", &["nightlife"]),
    ("bars", &["nightlife"]),
    ("clubs", &["nightlife"]),
    ("clubbing", &["nightlife"]),
    ("partying", &["nightlife"]),
    ("party", &["nightlife"]),
    ("bar", &["nightlife"]),
    ("vie nocturne", &["nightlife"]),
    ("vida nocturna", &["nightlife"]),
    ("nachtleben", &["nightlife"]),
    ("shopping", &["shopping"]),
    ("mua sam", &["shopping"]),
    ("markets", &["shopping", "food"]),
    ("cho dem", &["shopping", "food"]),
    ("compras", &["shopping"]),
    ("einkaufen", &["shopping"]),
    ("belanja", &["shopping"]),
    ("relax", &["relaxation"]),
    ("relaxing", &["relaxation"]),
    ("relaxation", &["relaxation"]),
    ("chill", &["relaxation"]),
    ("spa", &["relaxation"]),
    ("hot springs", &["relaxation"]),
    ("hot spring", &["relaxation"]),
    ("onsen", &["relaxation"]),
    ("suoi nuoc nong", &["relaxation"]),
    ("spas", &["relaxation"]),
    ("massage", &["relaxation"]),
    ("wellness", &["relaxation"]),
    ("resort", &["relaxation"]),
    ("nghi duong", &["relaxation"]),
    ("thu gian", &["relaxation"]),
    ("detente", &["relaxation"]),
    ("descanso", &["relaxation"]),
    ("descansar", &["relaxation"]),
    ("entspannung", &["relaxation"]),
    ("erholung", &["relaxation"]),
    ("santai", &["relaxation"]),
    ("kids", &["family"]),
    ("children", &["family"]),
    ("family", &["family"]),
    ("theme park", &["family"]),
    ("water park", &["family"]),
    ("cong vien nuoc", &["family"]),
    ("khu vui choi", &["family"]),
    ("theme parks", &["family"]),
    ("disney", &["family"]),
    ("zoo", &["family"]),
    ("aquarium", &["family"]),
    ("tre em", &["family"]),
    ("tre con", &["family"]),
    ("gia dinh", &["family"]),
    ("famille", &["family"]),
    ("enfants", &["family"]),
    ("familia", &["family"]),
    ("ninos", &["family"]),
    ("familie", &["family"]),
    ("kinder", &["family"]),
    ("keluarga", &["family"]),
];

/// The categories the dataset uses, most general last.
pub const CATEGORIES: &[&str] = &[
    "culture",
    "history",
    "food",
    "nature",
    "adventure",
    "beach",
    "nightlife",
    "shopping",
    "art",
    "relaxation",
    "family",
    "architecture",
];

pub(super) fn categories_for(keyword: &str) -> Option<&'static [&'static str]> {
    INTEREST_KEYWORDS
        .iter()
        .find(|(k, _)| *k == keyword)
        .map(|(_, cats)| *cats)
        .or_else(|| {
            CATEGORIES
                .iter()
                .position(|c| *c == keyword)
                .map(|p| &CATEGORIES[p..=p])
        })
}

pub(super) fn is_interest_word(word: &str) -> bool {
    INTEREST_KEYWORDS
        .iter()
        .any(|(k, _)| k.split(' ').any(|w| w == word))
}

/// Categories in order of first mention, longer phrases first ("street food").
pub(super) fn read_interests(tokens: &Tokens) -> Vec<String> {
    let keywords: Vec<&str> = INTEREST_KEYWORDS.iter().map(|(k, _)| *k).collect();
    let mut out: Vec<String> = Vec::new();
    let mut i = 0;
    while i < tokens.len() {
        let Some(len) = match_at(tokens, i, &keywords) else {
            i += 1;
            continue;
        };
        let phrase = tokens.phrase(i, len).unwrap_or_default();
        // "party of 5" is people; "bien" after "chuyen" is not the sea.
        let skip = phrase == "party" && tokens.word(i + 1) == Some("of");
        if !skip {
            for cat in categories_for(&phrase).unwrap_or_default() {
                if !out.iter().any(|c| c == cat) {
                    out.push((*cat).to_string());
                }
            }
        }
        i += len;
    }
    out
}

/// A list of free-form interests ("food, temples") as categories, for constraints.
pub(super) fn interests_of_words(words: &str) -> Vec<String> {
    read_interests(&Tokens::new(words))
}

pub(super) fn tier_word(word: &str) -> Option<Tier> {
    match word {
        "luxury" | "luxurious" | "upscale" | "splurge" | "lavish" | "sang chanh" | "cao cap"
        | "luxe" | "lujo" | "luxus" | "mewah" | "overwater" => Some(Tier::Luxury),
        "cheap" | "backpacking" | "backpacker" | "backpackers" | "hostel" | "hostels"
        | "shoestring" | "frugal" | "tiet kiem" | "gia re" | "bui" | "phuot" | "pas cher"
        | "economico" | "barato" | "gunstig" | "murah" => Some(Tier::Budget),
        "midrange" | "moderate" | "tam trung" => Some(Tier::Mid),
        _ => None,
    }
}

/// "budget" alone often introduces an amount ("a budget of 1500"), so it only sets the
/// tier in phrases like "on a budget" or "budget hotels".
pub(super) fn read_tier(tokens: &Tokens) -> Option<Tier> {
    const BUDGET_NOUNS: &str = "trip travel hotel hotels friendly stay stays option options \
        accommodation style traveller traveler backpacker honeymoon holiday vacation getaway \
        break escape";
    for i in 0..tokens.len() {
        for len in (1..=2).rev() {
            if let Some(phrase) = tokens.phrase(i, len)
                && let Some(tier) = tier_word(&phrase)
            {
                return Some(tier);
            }
        }
        let Some(word) = tokens.word(i) else { continue };
        let next = tokens.word(i + 1);
        let prev = tokens.prev_word(i);
        let budget_style = next.is_some_and(|n| listed(BUDGET_NOUNS, n))
            || (prev == Some("a")
                && matches!(tokens.get(i + 1), None | Some(super::text::Token::Break)));
        match word {
            "budget" if budget_style => return Some(Tier::Budget),
            "star" | "sao" | "etoiles" | "estrellas" | "sterne"
                if prev == Some("five")
                    || (1..=2).any(|back| {
                        matches!(tokens.get(i.wrapping_sub(back)), Some(super::text::Token::Number { value, .. }) if *value == 5.0)
                    }) =>
            {
                return Some(Tier::Luxury);
            }
            "high" if next == Some("end") => return Some(Tier::Luxury),
            "mid" if next == Some("range") => return Some(Tier::Mid),
            _ => {}
        }
    }
    None
}

/// Experiences travellers ask for by name, in their languages, and the words that
/// find them among the attractions' names ("safari" finds "Serengeti game drive").
const FEATURES: &[(&[&str], &[&str])] = &[
    (
        &["safari", "safaris", "game drive"],
        &["safari", "game drive"],
    ),
    (
        &["skiing", "ski", "ski trip", "truot tuyet", "snowboarding"],
        &["ski"],
    ),
    (
        &[
            "northern lights",
            "aurora",
            "auroras",
            "cuc quang",
            "aurores boreales",
            "auroras boreales",
            "polarlichter",
            "nordlichter",
        ],
        &["northern lights", "aurora"],
    ),
    (
        &[
            "cherry blossom",
            "cherry blossoms",
            "sakura",
            "hanami",
            "hoa anh dao",
        ],
        &["cherry blossom", "sakura", "hanami"],
    ),
    (
        &[
            "hoa dao",
            "hoa man",
            "peach blossom",
            "plum blossom",
            "hoa tam giac mach",
            "blossoms",
        ],
        &["blossom", "plum", "peach", "buckwheat"],
    ),
    (
        &["hot springs", "hot spring", "onsen", "suoi nuoc nong"],
        &["onsen", "hot spring"],
    ),
    (
        &[
            "snorkelling",
            "snorkeling",
            "snorkel",
            "diving",
            "scuba",
            "lan bien",
            "plongee",
            "buceo",
        ],
        &["snorkel", "dive", "diving", "reef"],
    ),
    (
        &["wine", "wineries", "vineyards", "ruou vang", "vin", "vino"],
        &["wine", "vineyard", "winery"],
    ),
    (&["whales", "whale watching", "ca voi"], &["whale"]),
    (
        &["volcano", "volcanoes", "nui lua", "volcan"],
        &["volcano", "volcan"],
    ),
    (&["desert", "dunes", "sa mac"], &["desert", "dune"]),
    (
        &["caves", "cave", "hang dong", "grottes"],
        &["cave", "grotto"],
    ),
    (&["rice terraces", "ruong bac thang"], &["terrace"]),
    (&["glaciers", "glacier"], &["glacier"]),
    (
        &[
            "theme park",
            "theme parks",
            "disney",
            "disneyland",
            "universal studios",
        ],
        &["disney", "universal", "theme park", "legoland"],
    ),
    (
        &["overwater", "overwater villa", "overwater bungalow"],
        &["overwater", "lagoon", "atoll"],
    ),
];

/// The attraction-name stems of the experiences the text asks for.
pub(super) fn read_features(tokens: &Tokens) -> Vec<String> {
    let mut stems: Vec<String> = Vec::new();
    for (phrases, found) in FEATURES {
        if (0..tokens.len()).any(|i| match_at(tokens, i, phrases).is_some()) {
            for stem in *found {
                if !stems.iter().any(|s| s == stem) {
                    stems.push((*stem).to_string());
                }
            }
        }
    }
    stems
}

/// "nước ngoài", "abroad": away from the traveller's own country; "trong nước",
/// "domestic": within it.
pub(super) fn read_scope(tokens: &Tokens) -> (bool, bool) {
    const ABROAD: &[&str] = &[
        "abroad",
        "overseas",
        "nuoc ngoai",
        "a l etranger",
        "al extranjero",
        "ins ausland",
        "luar negeri",
        "international trip",
    ];
    const DOMESTIC: &[&str] = &[
        "domestic",
        "trong nuoc",
        "o vn",
        "o viet nam",
        "quanh vn",
        "en france",
        "dans le pays",
        "dalam negeri",
        "inland",
    ];
    let any = |list: &[&str]| (0..tokens.len()).any(|i| match_at(tokens, i, list).is_some());
    (any(ABROAD), any(DOMESTIC))
}

/// The weather a traveller wishes for, when they name no place.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(super) struct Weather {
    pub warm: bool,
    pub cool: bool,
}

pub(super) fn read_weather(tokens: &Tokens) -> Weather {
    const WARM: &[&str] = &[
        "warm",
        "hot",
        "sunny",
        "sun",
        "tropical",
        "am ap",
        "nong",
        "troi nang",
        "chaud",
        "chaude",
        "soleil",
        "au soleil",
        "calor",
        "caluroso",
        "sol",
        "warm",
        "warme",
        "sonne",
        "hangat",
        "panas",
        "caldo",
    ];
    const COOL: &[&str] = &[
        "cool", "cold", "snow", "snowy", "chilly", "mat me", "lanh", "se lanh", "tuyet", "frais",
        "fraiche", "froid", "neige", "fresco", "frio", "nieve", "kuhl", "kalt", "schnee", "sejuk",
        "dingin",
    ];
    // "hot springs" and "onsen" are a bath, not the weather.
    let any = |list: &[&str]| {
        (0..tokens.len()).any(|i| {
            match_at(tokens, i, list).is_some()
                && !(tokens.word(i) == Some("hot")
                    && matches!(tokens.word(i + 1), Some("spring" | "springs" | "pot")))
        })
    };
    Weather {
        warm: any(WARM),
        cool: any(COOL),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_interests_in_several_languages() {
        let read = |s: &str| read_interests(&Tokens::new(s));
        assert_eq!(read("I love art and food"), ["art", "food"]);
        assert_eq!(read("thích biển và ẩm thực"), ["beach", "food"]);
        assert_eq!(read("randonnée en montagne"), ["adventure", "nature"]);
        assert_eq!(read("street food and temples"), ["food", "culture"]);
        assert_eq!(read("a party of 5"), Vec::<String>::new());
    }

    #[test]
    fn reads_tier_and_weather() {
        assert_eq!(read_tier(&Tokens::new("on a budget")), Some(Tier::Budget));
        assert_eq!(read_tier(&Tokens::new("5-star hotels")), Some(Tier::Luxury));
        assert_eq!(read_tier(&Tokens::new("a budget of 1500")), None);
        let w = read_weather(&Tokens::new("đi đâu đó mát mẻ"));
        assert!(w.cool && !w.warm);
    }
}
