//! What to pack, check and know about money before leaving, from the climate of the
//! travel months and the destinations' practical notes.

use chrono::{Datelike, Days, NaiveDate};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::dataset::{ClimateMonth, Destination};
use super::intake::TripRequest;
use super::itinerary::split_stays;

pub(crate) const MONTH_NAMES: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

/// Monthly rainfall above which an umbrella earns its place in the bag.
const WET_MONTH_MM: f64 = 100.0;
const CHILLY_NIGHT_C: f64 = 10.0;
const FREEZING_C: f64 = 0.0;
const HOT_DAY_C: f64 = 28.0;

/// Checklists for the days before departure.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct PreTripAdvice {
    pub packing: Vec<String>,
    pub checks: Vec<String>,
    pub money_tips: Vec<String>,
    pub weather: Vec<WeatherNote>,
}

/// Typical weather in one city for one month of the trip.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct WeatherNote {
    pub city: String,
    /// Month name, e.g. "March".
    pub month: String,
    pub high_c: f64,
    pub low_c: f64,
    pub rain_mm: f64,
    pub summary: String,
}

/// Advice for the whole trip; every city and month the itinerary touches is considered.
pub fn pretrip_advice(req: &TripRequest) -> PreTripAdvice {
    let visits = climate_visits(req);
    let places: Vec<&'static Destination> =
        unique_by(visits.iter().map(|v| v.destination), |d| d.id.clone());
    PreTripAdvice {
        packing: packing_list(req, &visits, &places),
        checks: checks(req, &visits, &places),
        money_tips: money_tips(req, &places),
        weather: visits.iter().map(weather_note).collect(),
    }
}

/// One city in one calendar month of the trip.
struct ClimateVisit {
    destination: &'static Destination,
    month: u32,
    climate: &'static ClimateMonth,
}

fn climate_visits(req: &TripRequest) -> Vec<ClimateVisit> {
    let mut visits: Vec<ClimateVisit> = Vec::new();
    for stay in split_stays(req) {
        for day in stay.first_day..stay.first_day + stay.days {
            let date = req
                .start_date
                .checked_add_days(Days::new(u64::from(day)))
                .unwrap_or(req.start_date);
            let month = date.month();
            let seen = visits
                .iter()
                .any(|v| v.destination.id == stay.destination.id && v.month == month);
            let climate = stay.destination.climate.get(month as usize - 1);
            if let (false, Some(climate)) = (seen, climate) {
                visits.push(ClimateVisit {
                    destination: stay.destination,
                    month,
                    climate,
                });
            }
        }
    }
    visits
}

fn weather_note(visit: &ClimateVisit) -> WeatherNote {
    WeatherNote {
        city: visit.destination.city.clone(),
        month: month_name(visit.month).to_string(),
        high_c: visit.climate.high_c,
        low_c: visit.climate.low_c,
        rain_mm: visit.climate.rain_mm,
        summary: visit.climate.summary.clone(),
    }
}

fn month_name(month: u32) -> &'static str {
    MONTH_NAMES
        .get(month.saturating_sub(1) as usize)
        .copied()
        .unwrap_or("Unknown")
}

fn where_when(visit: &ClimateVisit) -> String {
    format!("{} in {}", visit.destination.city, month_name(visit.month))
}

fn packing_list(
    req: &TripRequest,
    visits: &[ClimateVisit],
    places: &[&Destination],
) -> Vec<String> {
    let mut items: Vec<String> = [
        "Passport, printed or offline copies of bookings, and travel insurance details",
        "Comfortable walking shoes",
        "Phone charger and a plug adapter (see the checks for plug types)",
        "Any prescription medicines in their original packaging",
    ]
    .map(String::from)
    .to_vec();
    items.extend(climate_items(visits));
    items.extend(interest_items(req));
    if places.iter().any(|d| has_religious_sites(d)) {
        items.push(
            "Clothes that cover shoulders and knees for temples, mosques and churches".to_string(),
        );
    }
    items
}

/// Packs for the extremes of the trip: the wettest, coldest and hottest stop.
fn climate_items(visits: &[ClimateVisit]) -> Vec<String> {
    let mut items = Vec::new();
    let wettest = visits
        .iter()
        .max_by(|a, b| a.climate.rain_mm.total_cmp(&b.climate.rain_mm));
    if let Some(wet) = wettest.filter(|v| v.climate.rain_mm > WET_MONTH_MM) {
        let (mm, place) = (wet.climate.rain_mm, where_when(wet));
        items.push(format!(
            "Compact umbrella and a light rain jacket: about {mm} mm of rain falls in {place}"
        ));
    }
    let coldest = visits
        .iter()
        .min_by(|a, b| a.climate.low_c.total_cmp(&b.climate.low_c));
    if let Some(cold) = coldest.filter(|v| v.climate.low_c < CHILLY_NIGHT_C) {
        let (low, place) = (cold.climate.low_c, where_when(cold));
        items.push(if low <= FREEZING_C {
            format!("Winter coat, hat and gloves: nights drop to {low} °C in {place}")
        } else {
            format!("Warm layers (a fleece or sweater): nights drop to {low} °C in {place}")
        });
    }
    if visits.iter().any(|v| v.climate.high_c >= HOT_DAY_C) {
        items.push(
            "Light, breathable clothes, a sun hat, sunglasses and high-SPF sunscreen".to_string(),
        );
    }
    items
}

fn interest_items(req: &TripRequest) -> Vec<String> {
    let wants = |c: &str| req.interests.iter().any(|i| i == c);
    let mut items = Vec::new();
    if wants("beach") {
        items.push("Swimwear, sandals and a quick-dry towel".to_string());
    }
    if wants("adventure") {
        items.push("Hiking shoes with good grip and a small daypack".to_string());
    }
    if wants("nature") || wants("adventure") {
        items.push("Insect repellent and a refillable water bottle".to_string());
    }
    if wants("nightlife") {
        items.push("One smart-casual outfit for bars and clubs".to_string());
    }
    if wants("family") {
        items.push("Snacks, a small first-aid kit and entertainment for the kids".to_string());
    }
    items
}

fn has_religious_sites(dest: &Destination) -> bool {
    const SITES: [&str; 7] = [
        "temple",
        "pagoda",
        "mosque",
        "shrine",
        "basilica",
        "cathedral",
        "monastery",
    ];
    dest.attractions.iter().any(|a| {
        let name = a.name.to_lowercase();
        SITES.iter().any(|s| name.contains(s))
    })
}

fn checks(
    req: &TripRequest,
    visits: &[ClimateVisit],
    places: &[&'static Destination],
) -> Vec<String> {
    let countries = unique_by(places.iter().copied(), |d| d.country_code.clone());
    let mut out = vec![format!(
        "Check your passport is valid for at least six months after {} and has two blank pages.",
        trip_end(req)
    )];
    out.extend(
        countries
            .iter()
            .map(|d| format!("Visa for {}: {}", d.country, d.visa_note)),
    );
    let adventure = req.interests.iter().any(|i| i == "adventure");
    let cover = if adventure {
        ", including adventure activities such as trekking and diving"
    } else {
        ""
    };
    out.push(format!(
        "Buy travel insurance that covers medical care and cancellation{cover}."
    ));
    out.extend(countries.iter().map(|d| {
        format!(
            "Plugs in {}: type {}. Pack an adapter if yours differ.",
            d.country, d.plug_type
        )
    }));
    let names: Vec<&str> = countries.iter().map(|d| d.country.as_str()).collect();
    out.push(format!(
        "Set up a local SIM or an eSIM data plan for {} so maps and ride-hailing apps work on arrival.",
        names.join(" and ")
    ));
    out.extend(places.iter().filter_map(|d| {
        d.gateway_note
            .as_ref()
            .map(|g| format!("Getting to {}: {g}", d.city))
    }));
    out.extend(season_warnings(visits));
    out
}

/// Seasons that can cancel boats and flights deserve a warning, not just a packing item.
fn season_warnings(visits: &[ClimateVisit]) -> Vec<String> {
    const DISRUPTIVE: [&str; 4] = ["typhoon", "hurricane", "flood", "monsoon"];
    visits
        .iter()
        .filter(|v| DISRUPTIVE.iter().any(|w| v.climate.summary.contains(w)))
        .map(|v| {
            format!(
                "{}: {}. Keep plans flexible and check forecasts.",
                where_when(v),
                v.climate.summary
            )
        })
        .collect()
}

fn trip_end(req: &TripRequest) -> NaiveDate {
    let extra = u64::from(req.days.saturating_sub(1));
    req.start_date
        .checked_add_days(Days::new(extra))
        .unwrap_or(req.start_date)
}

fn money_tips(req: &TripRequest, places: &[&'static Destination]) -> Vec<String> {
    let countries = unique_by(places.iter().copied(), |d| d.country_code.clone());
    let mut out: Vec<String> = Vec::new();
    for d in &countries {
        out.push(format!(
            "{} uses {}: withdraw from bank ATMs and, when a card machine offers to charge in your home currency, choose {} instead.",
            d.country, d.currency, d.currency
        ));
        out.push(format!("Tipping in {}: {}", d.country, d.tipping));
    }
    for tip in places.iter().flat_map(|d| d.tips.iter()) {
        if !out.contains(tip) {
            out.push(tip.clone());
        }
    }
    if let Some(budget) = req.budget_usd {
        let per_day = budget / f64::from(req.travelers.max(1)) / f64::from(req.days.max(1));
        out.push(format!(
            "Your budget of ${budget:.0} works out to about ${per_day:.0} per person per day, flights included."
        ));
    }
    out
}

/// Keeps the first item for each key, in order.
fn unique_by<T, K: PartialEq>(items: impl Iterator<Item = T>, key: impl Fn(&T) -> K) -> Vec<T> {
    let mut keys: Vec<K> = Vec::new();
    let mut out = Vec::new();
    for item in items {
        let k = key(&item);
        if !keys.contains(&k) {
            keys.push(k);
            out.push(item);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::knowledge::dataset::Tier;

    fn request(
        destinations: &[&str],
        start: (i32, u32, u32),
        days: u32,
        interests: &[&str],
    ) -> TripRequest {
        TripRequest {
            notes: Vec::new(),
            stay_days: Vec::new(),
            budget_source: None,
            wish: None,
            origin: None,
            destinations: destinations.iter().map(|d| d.to_string()).collect(),
            start_date: NaiveDate::from_ymd_opt(start.0, start.1, start.2).unwrap(),
            days,
            nights: days.saturating_sub(1).max(1),
            travelers: 2,
            budget_usd: Some(3000.0),
            interests: interests.iter().map(|i| i.to_string()).collect(),
            tier: Tier::Mid,
            month: Some(start.1),
        }
    }

    fn mentions(list: &[String], needle: &str) -> bool {
        list.iter().any(|s| s.to_lowercase().contains(needle))
    }

    #[test]
    fn packs_rain_gear_for_a_wet_month_but_not_a_dry_one() {
        let wet = pretrip_advice(&request(&["hue"], (2027, 10, 5), 4, &[]));
        assert!(mentions(&wet.packing, "umbrella"), "{:?}", wet.packing);
        let dry = pretrip_advice(&request(&["dubai"], (2027, 3, 5), 4, &[]));
        assert!(!mentions(&dry.packing, "umbrella"), "{:?}", dry.packing);
    }

    #[test]
    fn packs_layers_for_cold_nights_and_sun_gear_for_hot_days() {
        let cold = pretrip_advice(&request(&["reykjavik"], (2027, 1, 5), 4, &[]));
        assert!(mentions(&cold.packing, "winter coat"), "{:?}", cold.packing);
        assert!(!mentions(&cold.packing, "sunscreen"));
        let cool = pretrip_advice(&request(&["sapa"], (2027, 2, 5), 3, &[]));
        assert!(mentions(&cool.packing, "warm layers"), "{:?}", cool.packing);
        let hot = pretrip_advice(&request(&["bangkok"], (2027, 4, 5), 3, &[]));
        assert!(mentions(&hot.packing, "sunscreen"));
        assert!(!mentions(&hot.packing, "warm layers"));
    }

    #[test]
    fn packs_for_interests() {
        let advice = pretrip_advice(&request(
            &["phu-quoc"],
            (2027, 2, 5),
            4,
            &["beach", "adventure"],
        ));
        assert!(mentions(&advice.packing, "swimwear"));
        assert!(mentions(&advice.packing, "hiking shoes"));
        let plain = pretrip_advice(&request(&["phu-quoc"], (2027, 2, 5), 4, &[]));
        assert!(!mentions(&plain.packing, "swimwear") && !mentions(&plain.packing, "hiking shoes"));
    }

    #[test]
    fn reports_weather_for_each_city_and_month() {
        let advice = pretrip_advice(&request(&["hanoi", "sapa"], (2027, 3, 29), 8, &[]));
        let notes: Vec<(String, String)> = advice
            .weather
            .iter()
            .map(|w| (w.city.clone(), w.month.clone()))
            .collect();
        let expected = [("Hanoi", "March"), ("Hanoi", "April"), ("Sapa", "April")];
        assert_eq!(notes, expected.map(|(c, m)| (c.to_string(), m.to_string())));
        assert_eq!(advice.weather[0].high_c, 23.0);
    }

    #[test]
    fn checks_cover_passport_visa_insurance_plugs_sim_and_gateways() {
        let advice = pretrip_advice(&request(&["hanoi", "sapa", "tokyo"], (2027, 3, 5), 9, &[]));
        for needle in [
            "passport",
            "visa for vietnam",
            "visa for japan",
            "insurance",
            "plugs in japan",
            "esim",
            "getting to sapa",
        ] {
            assert!(
                mentions(&advice.checks, needle),
                "missing {needle}: {:?}",
                advice.checks
            );
        }
        assert_eq!(
            advice
                .checks
                .iter()
                .filter(|c| c.starts_with("Visa for Vietnam"))
                .count(),
            1
        );
    }

    #[test]
    fn warns_about_typhoon_season() {
        let advice = pretrip_advice(&request(&["hue"], (2027, 10, 5), 4, &[]));
        assert!(mentions(&advice.checks, "typhoon"), "{:?}", advice.checks);
    }

    #[test]
    fn money_tips_cover_currency_tipping_and_local_tips_without_duplicates() {
        let advice = pretrip_advice(&request(&["hanoi", "hoi-an"], (2027, 3, 5), 6, &[]));
        assert!(mentions(&advice.money_tips, "vnd"));
        assert!(mentions(&advice.money_tips, "tipping in vietnam"));
        assert!(mentions(&advice.money_tips, "tailor"));
        let mut unique = advice.money_tips.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), advice.money_tips.len());
        assert!(mentions(&advice.money_tips, "per person per day"));
    }
}
