//! Deterministic one-way economy fare estimates. There is no live pricing here: the
//! numbers are shaped like real fares so budgets are plausible, and are always flagged
//! as estimates.

use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::dataset::Airport;
use super::geo::great_circle_km;

/// Taxes and fees every ticket carries regardless of distance.
const BASE_FEE_USD: f64 = 22.0;
/// Marginal price per km; ultra-long-haul kilometres are cheaper, so the average per-km
/// rate (base fee included) falls as routes get longer.
const RATE_BANDS: [(f64, f64); 2] = [(9000.0, 0.064), (f64::INFINITY, 0.055)];
/// Same route, different days: fares wobble by up to this share either way.
const DAILY_VARIATION: f64 = 0.08;

/// An estimated economy fare for a party on one route and day.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct FlightQuote {
    pub from_iata: String,
    pub from_city: String,
    pub to_iata: String,
    pub to_city: String,
    pub date: NaiveDate,
    pub distance_km: f64,
    pub price_per_person_usd: f64,
    pub travelers: u32,
    pub total_usd: f64,
    pub cabin: String,
    pub estimated: bool,
}

/// One-way economy fare per person, in whole dollars. Same inputs always give the same
/// price, so plans and their budgets stay reproducible.
pub fn estimate_fare_usd(
    from: &Airport,
    to: &Airport,
    departure: NaiveDate,
    today: NaiveDate,
) -> f64 {
    let km = great_circle_km(from.lat, from.lon, to.lat, to.lon);
    let days_ahead = (departure - today).num_days();
    let variation = route_day_variation(&from.iata, &to.iata, departure);
    let fare = distance_fare(km) * season_factor(departure.month()) * lead_time_factor(days_ahead);
    (fare * (1.0 + variation)).round()
}

/// Quotes `travelers` seats; `total_usd` is the per-person price times the party size.
pub fn quote_flight(
    from: &Airport,
    to: &Airport,
    date: NaiveDate,
    travelers: u32,
    today: NaiveDate,
) -> FlightQuote {
    let price = estimate_fare_usd(from, to, date, today);
    let km = great_circle_km(from.lat, from.lon, to.lat, to.lon);
    FlightQuote {
        from_iata: from.iata.clone(),
        from_city: from.city.clone(),
        to_iata: to.iata.clone(),
        to_city: to.city.clone(),
        date,
        distance_km: (km * 10.0).round() / 10.0,
        price_per_person_usd: price,
        travelers,
        total_usd: price * f64::from(travelers),
        cabin: "economy".to_string(),
        estimated: true,
    }
}

impl FlightQuote {
    /// Sets the total from the fare and the party size: arithmetic is done
    /// here, never taken from a model.
    pub fn settle(&mut self) {
        self.total_usd = self.price_per_person_usd * f64::from(self.travelers);
    }
}

fn distance_fare(km: f64) -> f64 {
    let mut fare = BASE_FEE_USD;
    let mut band_start = 0.0;
    for (band_end, rate) in RATE_BANDS {
        let in_band = km.min(band_end) - band_start;
        if in_band <= 0.0 {
            break;
        }
        fare += in_band * rate;
        band_start = band_end;
    }
    fare
}

/// Northern-summer holidays and December are peak; January, February and November are
/// the quiet months.
fn season_factor(month: u32) -> f64 {
    match month {
        7 | 12 => 1.25,
        8 => 1.2,
        6 => 1.1,
        4 => 1.05,
        1 | 2 | 11 => 0.9,
        9 => 0.95,
        _ => 1.0,
    }
}

/// Last-minute seats cost more; the sweet spot is three weeks to three months out.
fn lead_time_factor(days_ahead: i64) -> f64 {
    match days_ahead {
        i64::MIN..=6 => 1.45,
        7..=13 => 1.25,
        14..=20 => 1.08,
        21..=90 => 1.0,
        91..=180 => 1.05,
        _ => 1.1,
    }
}

/// A repeatable pseudo-random nudge in [-8%, +8%] for this route and day.
fn route_day_variation(from: &str, to: &str, date: NaiveDate) -> f64 {
    let key = format!("{from}-{to}-{date}");
    let bucket = fnv1a(key.as_bytes()) % 1601;
    (bucket as f64 / 1600.0) * 2.0 * DAILY_VARIATION - DAILY_VARIATION
}

/// 64-bit FNV-1a: tiny, dependency-free and stable across runs and platforms.
/// The crate's one stable hash (fares, rate-limit keys, finding ids).
pub fn fnv1a(bytes: &[u8]) -> u64 {
    const OFFSET_BASIS: u64 = 0xcbf2_9ce4_8422_2325;
    const PRIME: u64 = 0x0000_0100_0000_01b3;
    bytes.iter().fold(OFFSET_BASIS, |hash, &b| {
        (hash ^ u64::from(b)).wrapping_mul(PRIME)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::knowledge::find_airport;

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    fn fare(from: &str, to: &str, departure: NaiveDate, today: NaiveDate) -> f64 {
        estimate_fare_usd(
            find_airport(from).unwrap(),
            find_airport(to).unwrap(),
            departure,
            today,
        )
    }

    /// October, booked 45 days ahead: neutral season and lead-time factors.
    fn neutral() -> (NaiveDate, NaiveDate) {
        (date(2027, 10, 15), date(2027, 8, 31))
    }

    #[test]
    fn fnv1a_matches_reference_vectors() {
        assert_eq!(fnv1a(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a(b"a"), 0xaf63_dc4c_8601_ec8c);
    }

    #[test]
    fn same_inputs_give_same_fare() {
        let (dep, today) = neutral();
        assert_eq!(
            fare("HAN", "SGN", dep, today),
            fare("HAN", "SGN", dep, today)
        );
    }

    #[test]
    fn fares_are_whole_dollars_in_plausible_ranges() {
        let (dep, today) = neutral();
        let cases = [
            ("HAN", "SGN", 60.0, 110.0),
            ("LAX", "NRT", 500.0, 800.0),
            ("JFK", "CDG", 350.0, 600.0),
        ];
        for (from, to, low, high) in cases {
            let price = fare(from, to, dep, today);
            assert!((low..=high).contains(&price), "{from}->{to} {price}");
            assert_eq!(price, price.round());
        }
    }

    #[test]
    fn plausible_across_many_departure_days() {
        let today = date(2027, 1, 1);
        for offset in 30..90 {
            let dep = today + chrono::Days::new(offset);
            let price = fare("LAX", "NRT", dep, today);
            assert!((430.0..=800.0).contains(&price), "{dep} {price}");
        }
    }

    #[test]
    fn peak_season_costs_more_than_low_season() {
        let july = fare("JFK", "CDG", date(2027, 7, 15), date(2027, 5, 31));
        let november = fare("JFK", "CDG", date(2027, 11, 15), date(2027, 9, 30));
        assert!(july > november, "{july} vs {november}");
    }

    #[test]
    fn booking_close_to_departure_costs_more() {
        let dep = date(2027, 10, 15);
        let last_minute = fare("LAX", "NRT", dep, date(2027, 10, 12));
        let planned = fare("LAX", "NRT", dep, date(2027, 8, 31));
        assert!(last_minute > planned * 1.2, "{last_minute} vs {planned}");
    }

    #[test]
    fn longer_routes_cost_more_but_less_per_km() {
        assert!(distance_fare(8000.0) > distance_fare(1000.0));
        assert!(distance_fare(8000.0) / 8000.0 < distance_fare(1000.0) / 1000.0);
        assert!(distance_fare(12000.0) / 12000.0 < distance_fare(8000.0) / 8000.0);
    }

    #[test]
    fn daily_variation_stays_within_eight_percent() {
        let start = date(2027, 1, 1);
        for offset in 0..365 {
            let v = route_day_variation("HAN", "SGN", start + chrono::Days::new(offset));
            assert!((-DAILY_VARIATION..=DAILY_VARIATION).contains(&v), "{v}");
        }
    }

    #[test]
    fn quote_multiplies_by_travelers_and_is_flagged_estimated() {
        let (dep, today) = neutral();
        let (han, sgn) = (find_airport("HAN").unwrap(), find_airport("SGN").unwrap());
        let quote = quote_flight(han, sgn, dep, 3, today);
        assert_eq!(quote.total_usd, quote.price_per_person_usd * 3.0);
        assert!(quote.estimated);
        assert_eq!(quote.cabin, "economy");
        assert_eq!(quote.to_city, "Ho Chi Minh City");
        assert_eq!(quote.distance_km, (quote.distance_km * 10.0).round() / 10.0);
        assert!(
            (1100.0..1200.0).contains(&quote.distance_km),
            "{}",
            quote.distance_km
        );
    }
}
