//! The bundled destination and airport tables, parsed once on first use.
//!
//! All figures are rounded editorial estimates (see `README.md` in this folder); they are
//! good enough to size a trip, not to quote a booking.

use std::collections::HashMap;
use std::sync::LazyLock;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::gazetteer;

/// Comfort level of a trip; drives hotel class, meal spend and how people get around.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Tier {
    Budget,
    #[default]
    Mid,
    Luxury,
}

impl Tier {
    /// The lowercase wire name, handy for user-facing text.
    pub fn as_str(self) -> &'static str {
        match self {
            Tier::Budget => "budget",
            Tier::Mid => "mid",
            Tier::Luxury => "luxury",
        }
    }
}

/// A price in US dollars for each comfort tier.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TierPrices {
    pub budget: f64,
    pub mid: f64,
    pub luxury: f64,
}

impl TierPrices {
    pub fn for_tier(&self, tier: Tier) -> f64 {
        match tier {
            Tier::Budget => self.budget,
            Tier::Mid => self.mid,
            Tier::Luxury => self.luxury,
        }
    }
}

/// Climate normals for one calendar month.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ClimateMonth {
    pub high_c: f64,
    pub low_c: f64,
    pub rain_mm: f64,
    pub summary: String,
}

/// An area to stay in, tagged with the hotel tier it suits best.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Neighbourhood {
    pub name: String,
    pub tier: Tier,
    pub vibe: String,
}

/// Something to see or do; `cost_usd` is per person, `best_time` is
/// "morning" | "afternoon" | "evening" | "any", `intensity` is "easy" | "moderate" | "active".
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Attraction {
    pub name: String,
    pub category: String,
    pub duration_hours: f64,
    pub cost_usd: f64,
    pub best_time: String,
    pub intensity: String,
}

/// A city travellers can plan a stay in, with prices, climate and things to do.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Destination {
    pub id: String,
    pub city: String,
    pub country: String,
    pub country_code: String,
    pub region: String,
    /// The airport travellers fly into, which may serve several destinations.
    pub airport_iata: String,
    /// How to get there when the airport is not in the city itself.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gateway_note: Option<String>,
    pub aliases: Vec<String>,
    pub lat: f64,
    pub lon: f64,
    pub currency: String,
    pub timezone: String,
    /// Per room per night.
    pub nightly_usd: TierPrices,
    /// Per person per day.
    pub daily_food_usd: TierPrices,
    /// Per person per day on public transport and occasional taxis.
    pub daily_transport_usd: f64,
    /// Exactly 12 entries, January first.
    pub climate: Vec<ClimateMonth>,
    pub neighbourhoods: Vec<Neighbourhood>,
    pub attractions: Vec<Attraction>,
    pub visa_note: String,
    pub tips: Vec<String>,
    pub plug_type: String,
    pub tipping: String,
}

/// An airport travellers can depart from or arrive at.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Airport {
    pub iata: String,
    pub city: String,
    pub country: String,
    pub lat: f64,
    pub lon: f64,
    pub aliases: Vec<String>,
}

static DESTINATIONS: LazyLock<Vec<Destination>> = LazyLock::new(|| {
    serde_json::from_str(include_str!("data/destinations.json"))
        .expect("bundled data/destinations.json must parse")
});

static AIRPORTS: LazyLock<Vec<Airport>> = LazyLock::new(|| {
    serde_json::from_str(include_str!("data/airports.json"))
        .expect("bundled data/airports.json must parse")
});

/// Normalised name (city, alias or slug) to destination index; the first listed wins.
static DESTINATION_NAMES: LazyLock<HashMap<String, usize>> = LazyLock::new(|| {
    let mut index = HashMap::new();
    for (i, dest) in destinations().iter().enumerate() {
        let names = [dest.city.as_str(), dest.id.as_str()]
            .into_iter()
            .chain(dest.aliases.iter().map(String::as_str));
        for name in names {
            index.entry(normalize_name(name)).or_insert(i);
        }
    }
    index
});

/// Normalised city or alias to airport index; the first listed wins.
static AIRPORT_NAMES: LazyLock<HashMap<String, usize>> = LazyLock::new(|| {
    let mut index = HashMap::new();
    for (i, airport) in airports().iter().enumerate() {
        let names = std::iter::once(airport.city.as_str())
            .chain(airport.aliases.iter().map(String::as_str));
        for name in names {
            index.entry(normalize_name(name)).or_insert(i);
        }
    }
    index
});

pub fn destinations() -> &'static [Destination] {
    &DESTINATIONS
}

pub fn airports() -> &'static [Airport] {
    &AIRPORTS
}

/// Looks a destination up by its exact slug, e.g. "tokyo".
pub fn destination(id: &str) -> Option<&'static Destination> {
    destinations().iter().find(|d| d.id == id)
}

/// Resolves free-form user input: a city, an alias ("saigon", "nyc") or an IATA code,
/// ignoring case and diacritics. Names win over codes so "Hue" is the city, not a code.
pub fn find_destination(name_or_iata: &str) -> Option<&'static Destination> {
    if normalize_name(name_or_iata).is_empty() {
        return None;
    }
    destination_by_name(name_or_iata).or_else(|| destination_by_iata(name_or_iata.trim()))
}

/// Name or alias lookup only, for running text where "dad" is a word, not an airport.
pub(crate) fn destination_by_name(name: &str) -> Option<&'static Destination> {
    DESTINATION_NAMES
        .get(&normalize_name(name))
        .and_then(|&i| destinations().get(i))
}

/// Several destinations can share an airport (Da Nang and Hoi An use DAD); prefer the
/// one the airport is named after, else the first listed.
fn destination_by_iata(code: &str) -> Option<&'static Destination> {
    if code.len() != 3 || !code.chars().all(|c| c.is_ascii_alphabetic()) {
        return None;
    }
    let code = code.to_ascii_uppercase();
    let served: Vec<&'static Destination> = destinations()
        .iter()
        .filter(|d| d.airport_iata == code)
        .collect();
    let airport_city = airports()
        .iter()
        .find(|a| a.iata == code)
        .map(|a| normalize_name(&a.city));
    served
        .iter()
        .find(|d| Some(normalize_name(&d.city)) == airport_city)
        .or(served.first())
        .copied()
}

/// Resolves an IATA code, a destination (to the airport it is reached through), an
/// airport's own city/alias ("Chicago", "heathrow") or any city of the world gazetteer
/// with a scheduled airport ("Denver", "Lyon", "Cần Thơ").
pub fn find_airport(name_or_iata: &str) -> Option<&'static Airport> {
    let trimmed = name_or_iata.trim();
    if trimmed.len() == 3
        && let Some(airport) = airport_by_iata(trimmed)
    {
        return Some(airport);
    }
    if let Some(dest) = find_destination(trimmed) {
        return airport_by_iata(&dest.airport_iata);
    }
    let key = normalize_name(trimmed);
    if let Some(airport) = AIRPORT_NAMES.get(&key).and_then(|&i| airports().get(i)) {
        return Some(airport);
    }
    gazetteer::places_named(trimmed)
        .into_iter()
        .find_map(|p| p.airports.first())
        .and_then(|code| airport_by_iata(code))
}

/// The bundled airport, or else the gazetteer's (every scheduled airport in the world).
fn airport_by_iata(code: &str) -> Option<&'static Airport> {
    airports()
        .iter()
        .find(|a| a.iata.eq_ignore_ascii_case(code))
        .or_else(|| WORLD_AIRPORTS.get(code.to_ascii_uppercase().as_str()))
}

/// Gazetteer airports in the bundled shape, built once on first use.
static WORLD_AIRPORTS: LazyLock<HashMap<&'static str, Airport>> = LazyLock::new(|| {
    gazetteer::all_airports()
        .iter()
        .map(|a| {
            let country = gazetteer::country(a.country_code).map_or(a.country_code, |c| c.name);
            let airport = Airport {
                iata: a.iata.to_string(),
                city: a.city.to_string(),
                country: country.to_string(),
                lat: a.lat,
                lon: a.lon,
                aliases: Vec::new(),
            };
            (a.iata, airport)
        })
        .collect()
});

/// Latin letters with diacritics and the plain letter they fold to; covers Vietnamese
/// and the common Western European, Turkish and Central European accents.
const DIACRITIC_FOLDS: &[(char, &str)] = &[
    ('a', "àáâãäåāăąạảấầẩẫậắằẳẵặ"),
    ('c', "çćč"),
    ('d', "đďð"),
    ('e', "èéêëēėęěẹẻẽếềểễệ"),
    ('g', "ğ"),
    ('i', "ìíîïīįịỉĩı"),
    ('l', "ł"),
    ('n', "ñńň"),
    ('o', "òóôõöøōőọỏốồổỗộơớờởỡợ"),
    ('r', "ř"),
    ('s', "śšş"),
    ('t', "ť"),
    ('u', "ùúûüūůűụủưứừửữự"),
    ('y', "ýÿỳỵỷỹ"),
    ('z', "źżž"),
];

fn fold_char(c: char) -> Option<&'static str> {
    const PLAIN: &str = "abcdefghijklmnopqrstuvwxyz";
    match c {
        'ß' => return Some("ss"),
        'æ' => return Some("ae"),
        'œ' => return Some("oe"),
        'þ' => return Some("th"),
        _ => {}
    }
    let (base, _) = DIACRITIC_FOLDS
        .iter()
        .find(|(_, accented)| accented.contains(c))?;
    let offset = (*base as usize).checked_sub('a' as usize)?;
    PLAIN.get(offset..offset + 1)
}

/// Lowercases, strips diacritics and turns punctuation into single spaces, so that
/// "Đà Nẵng", "da-nang" and "DA NANG" all compare equal.
pub(crate) fn normalize_name(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut pending_space = false;
    for c in text.chars().flat_map(char::to_lowercase) {
        if ('\u{300}'..='\u{36f}').contains(&c) {
            continue; // combining accent left over from decomposed input
        }
        let piece = if c.is_alphanumeric() {
            fold_char(c)
        } else {
            None
        };
        if c.is_alphanumeric() {
            if pending_space && !out.is_empty() {
                out.push(' ');
            }
            pending_space = false;
            match piece {
                Some(folded) => out.push_str(folded),
                None => out.push(c),
            }
        } else {
            pending_space = true;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::knowledge::ATTRACTION_CATEGORIES as CATEGORIES;

    #[test]
    fn bundled_data_parses() {
        assert!(!destinations().is_empty());
        assert!(!airports().is_empty());
    }

    #[test]
    fn has_at_least_42_destinations_including_ten_in_vietnam() {
        assert!(destinations().len() >= 42, "{}", destinations().len());
        let vietnam = [
            "hanoi",
            "ha-long",
            "sapa",
            "hue",
            "hoi-an",
            "da-nang",
            "nha-trang",
            "da-lat",
            "ho-chi-minh-city",
            "phu-quoc",
        ];
        for id in vietnam {
            let dest = destination(id).unwrap_or_else(|| panic!("missing {id}"));
            assert_eq!(dest.country_code, "VN");
        }
    }

    #[test]
    fn has_at_least_65_airports_with_unique_codes() {
        assert!(airports().len() >= 65);
        let mut codes: Vec<&str> = airports().iter().map(|a| a.iata.as_str()).collect();
        codes.sort_unstable();
        codes.dedup();
        assert_eq!(codes.len(), airports().len());
        for code in [
            "LAX", "SFO", "JFK", "ORD", "SEA", "BOS", "ATL", "DFW", "MIA", "IAD",
        ] {
            assert!(airport_by_iata(code).is_some(), "{code}");
        }
    }

    #[test]
    fn every_destination_is_complete_and_reachable() {
        for d in destinations() {
            assert!(d.attractions.len() >= 10, "{} attractions", d.id);
            assert_eq!(d.climate.len(), 12, "{} climate", d.id);
            assert!(d.neighbourhoods.len() >= 3, "{} neighbourhoods", d.id);
            assert!((2..=4).contains(&d.tips.len()), "{} tips", d.id);
            assert!(
                airport_by_iata(&d.airport_iata).is_some(),
                "{} airport",
                d.id
            );
            assert!(
                d.nightly_usd.budget < d.nightly_usd.mid
                    && d.nightly_usd.mid < d.nightly_usd.luxury
            );
            assert_eq!(d.country_code.len(), 2);
            assert!(d.aliases.iter().all(|a| *a == a.to_lowercase()), "{}", d.id);
        }
    }

    #[test]
    fn the_whole_dataset_is_sane() {
        assert!(destinations().len() >= 200, "{}", destinations().len());
        let mut ids: Vec<&str> = destinations().iter().map(|d| d.id.as_str()).collect();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), destinations().len(), "duplicate ids");
        for d in destinations() {
            for (m, c) in d.climate.iter().enumerate() {
                let where_ = format!("{} month {}", d.id, m + 1);
                assert!(c.low_c <= c.high_c, "{where_}");
                assert!(
                    (-40.0..=50.0).contains(&c.low_c) && (-30.0..=50.0).contains(&c.high_c),
                    "{where_}"
                );
                assert!((0.0..=1500.0).contains(&c.rain_mm), "{where_}");
                assert!(!c.summary.trim().is_empty(), "{where_}");
            }
            assert!(
                d.nightly_usd.budget > 0.0 && d.daily_food_usd.budget > 0.0,
                "{}",
                d.id
            );
            assert!(
                d.daily_food_usd.budget < d.daily_food_usd.mid
                    && d.daily_food_usd.mid < d.daily_food_usd.luxury,
                "{}",
                d.id
            );
            assert!(d.daily_transport_usd > 0.0, "{}", d.id);
            assert!(
                !d.visa_note.is_empty() && !d.plug_type.is_empty() && !d.tipping.is_empty(),
                "{}",
                d.id
            );
            // Coordinates within the country: the arrival airport is in the same country
            // and within a drive of the destination.
            let airport = gazetteer::airport(&d.airport_iata)
                .unwrap_or_else(|| panic!("{}: airport {} unknown", d.id, d.airport_iata));
            // A cross-border gateway (Chamonix via Geneva) must say so.
            assert!(
                airport.country_code == d.country_code || d.gateway_note.is_some(),
                "{}: airport in {}",
                d.id,
                airport.country_code
            );
            let km = crate::knowledge::great_circle_km(d.lat, d.lon, airport.lat, airport.lon);
            assert!(km < 450.0, "{}: {km:.0} km from {}", d.id, d.airport_iata);
            assert!(
                gazetteer::country(&d.country_code).is_some(),
                "{} country",
                d.id
            );
        }
    }

    #[test]
    fn attractions_use_known_categories_times_and_intensities() {
        for d in destinations() {
            for a in &d.attractions {
                assert!(CATEGORIES.contains(&a.category.as_str()), "{}", a.name);
                assert!(["morning", "afternoon", "evening", "any"].contains(&a.best_time.as_str()));
                assert!(["easy", "moderate", "active"].contains(&a.intensity.as_str()));
                assert!((0.5..=8.0).contains(&a.duration_hours), "{}", a.name);
                assert!(a.cost_usd >= 0.0);
            }
        }
    }

    #[test]
    fn prices_are_realistic_for_known_cities() {
        let mid = |id: &str| destination(id).map(|d| d.nightly_usd.mid).unwrap_or(0.0);
        assert!((35.0..=60.0).contains(&mid("hanoi")));
        assert!((130.0..=200.0).contains(&mid("tokyo")));
        assert!((160.0..=230.0).contains(&mid("paris")));
    }

    #[test]
    fn finds_destinations_despite_diacritics_and_case() {
        let id = |q: &str| find_destination(q).map(|d| d.id.as_str());
        assert_eq!(id("Đà Nẵng"), Some("da-nang"));
        assert_eq!(id("da nang"), Some("da-nang"));
        assert_eq!(id("HỘI AN"), Some("hoi-an"));
        assert_eq!(id("Reykjavík"), Some("reykjavik"));
    }

    #[test]
    fn finds_destinations_by_alias() {
        let id = |q: &str| find_destination(q).map(|d| d.id.as_str());
        assert_eq!(id("saigon"), Some("ho-chi-minh-city"));
        assert_eq!(id("HCMC"), Some("ho-chi-minh-city"));
        assert_eq!(id("nyc"), Some("new-york"));
        assert_eq!(id("New York City"), Some("new-york"));
        assert_eq!(id("Halong Bay"), Some("ha-long"));
    }

    #[test]
    fn shared_airport_code_resolves_to_the_city_it_is_named_after() {
        let id = |q: &str| find_destination(q).map(|d| d.id.as_str());
        assert_eq!(id("DAD"), Some("da-nang"));
        assert_eq!(id("dad"), Some("da-nang"));
        assert_eq!(id("HAN"), Some("hanoi"));
        assert_eq!(id("KIX"), Some("osaka"));
        assert_eq!(id("SGN"), Some("ho-chi-minh-city"));
        assert_eq!(id("Atlantis"), None);
        assert_eq!(id("  "), None);
    }

    #[test]
    fn finds_airports_by_code_city_alias_or_destination() {
        let code = |q: &str| find_airport(q).map(|a| a.iata.as_str());
        assert_eq!(code("lax"), Some("LAX"));
        assert_eq!(code("Tokyo"), Some("NRT"));
        assert_eq!(code("Sapa"), Some("HAN"));
        assert_eq!(code("Hoi An"), Some("DAD"));
        assert_eq!(code("Chicago"), Some("ORD"));
        assert_eq!(code("heathrow"), Some("LHR"));
        assert_eq!(code("Saigon"), Some("SGN"));
        assert_eq!(code("Nowhere"), None);
    }

    #[test]
    fn normalizes_names_for_matching() {
        assert_eq!(normalize_name("  Hồ Chí Minh City! "), "ho chi minh city");
        assert_eq!(normalize_name("da-nang"), "da nang");
        assert_eq!(normalize_name("Zürich"), "zurich");
        assert_eq!(normalize_name("İstanbul"), "istanbul");
    }
}
