//! Hotel stays and the trip budget built from flights, hotels and the day plans.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::catalog::{Catalog, Source};
use super::dataset::{Destination, Tier, find_destination};
use super::fares::FlightQuote;
use super::intake::TripRequest;
use super::itinerary::{DayPlan, apportion, split_stays};

/// Two travellers share a room.
const PEOPLE_PER_ROOM: u32 = 2;

/// Nights booked in one destination.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct HotelStay {
    pub city: String,
    /// A neighbourhood that suits the tier.
    pub area: String,
    pub tier: Tier,
    pub nights: u32,
    pub rooms: u32,
    /// Per room.
    pub price_per_night_usd: f64,
    pub total_usd: f64,
    pub estimated: bool,
    /// `"model"` when it came from the model alone; absent when from the curated dataset.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "Source::set_by_the_plan"
    )]
    pub source: Option<Source>,
}

/// Where the money goes; the parts add up exactly to the estimate's total.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct BudgetBreakdown {
    pub flights_usd: f64,
    pub lodging_usd: f64,
    pub food_usd: f64,
    pub activities_usd: f64,
    pub local_transport_usd: f64,
}

/// The estimated trip cost compared with the traveller's limit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct BudgetEstimate {
    pub limit_usd: Option<f64>,
    pub estimated_total_usd: f64,
    pub breakdown: BudgetBreakdown,
    /// True when there is no limit.
    pub within_budget: bool,
    /// How far over the limit the estimate is; 0 when within budget.
    pub overage_usd: f64,
}

/// One stay per destination, nights following the days spent there and summing to
/// `req.nights`. A destination left with no night (reached on the final day of a very
/// short itinerary) gets no hotel.
pub fn plan_hotels(req: &TripRequest, catalog: &Catalog) -> Vec<HotelStay> {
    let stays = split_stays(req, catalog);
    let days: Vec<u32> = stays.iter().map(|s| s.days).collect();
    let nights = nights_per_stay(req.nights, &days);
    let rooms = req.travelers.div_ceil(PEOPLE_PER_ROOM).max(1);
    stays
        .iter()
        .zip(nights)
        .filter(|(_, nights)| *nights > 0)
        .map(|(stay, nights)| hotel_stay(stay.destination, req.tier, nights, rooms))
        .collect()
}

/// You sleep where you spend each day except the last, when you fly home. Totals that
/// do not match that pattern (a one-day trip still books a night) are shared out in
/// proportion to days instead.
fn nights_per_stay(total_nights: u32, days: &[u32]) -> Vec<u32> {
    let mut natural = days.to_vec();
    if let Some(last) = natural.last_mut() {
        *last = last.saturating_sub(1);
    }
    if natural.iter().sum::<u32>() == total_nights {
        return natural;
    }
    let floor = u32::from(total_nights as usize >= days.len());
    apportion(total_nights, days, floor)
}

fn hotel_stay(dest: &Destination, tier: Tier, nights: u32, rooms: u32) -> HotelStay {
    let price = dest.nightly_usd.for_tier(tier);
    let area = dest
        .neighbourhoods
        .iter()
        .find(|n| n.tier == tier)
        .or(dest.neighbourhoods.first())
        .map_or_else(|| dest.city.clone(), |n| n.name.clone());
    HotelStay {
        city: dest.city.clone(),
        area,
        tier,
        nights,
        rooms,
        price_per_night_usd: price,
        total_usd: stay_total(price, nights, rooms),
        estimated: true,
        source: None,
    }
}

/// Adds everything up in whole dollars. Each part is rounded before summing so the
/// breakdown always matches the total exactly.
pub fn estimate_budget(
    req: &TripRequest,
    catalog: &Catalog,
    flights: &[FlightQuote],
    hotels: &[HotelStay],
    days: &[DayPlan],
) -> BudgetEstimate {
    let people = f64::from(req.travelers);
    let mut food = 0.0;
    let mut transport = 0.0;
    let mut activities = 0.0;
    for day in days {
        if let Some(dest) = day_destination(req, catalog, &day.location) {
            food += dest.daily_food_usd.for_tier(req.tier) * people;
            transport += dest.daily_transport_usd * transport_factor(req.tier) * people;
        }
        activities += day.activities.iter().map(|a| a.cost_usd).sum::<f64>() * people;
    }
    let breakdown = BudgetBreakdown {
        flights_usd: whole_dollars(flights.iter().map(|f| f.total_usd).sum()),
        lodging_usd: whole_dollars(hotels.iter().map(|h| h.total_usd).sum()),
        food_usd: whole_dollars(food),
        activities_usd: whole_dollars(activities),
        local_transport_usd: whole_dollars(transport),
    };
    let mut budget = BudgetEstimate {
        limit_usd: req.budget_usd,
        estimated_total_usd: 0.0,
        breakdown,
        within_budget: true,
        overage_usd: 0.0,
    };
    budget.settle();
    budget
}

/// A stay's total: the price per night times nights and rooms.
pub fn stay_total(price_per_night_usd: f64, nights: u32, rooms: u32) -> f64 {
    round_cents(price_per_night_usd * f64::from(nights) * f64::from(rooms))
}

impl HotelStay {
    /// Sets the total from the price, nights and rooms: arithmetic is done
    /// here, never taken from a model.
    pub fn settle(&mut self) {
        self.total_usd = stay_total(self.price_per_night_usd, self.nights, self.rooms);
    }
}

impl BudgetEstimate {
    /// Sets what follows from the breakdown and the limit: each part in whole
    /// dollars, the total (which the parts then match exactly), whether it is
    /// within the limit and by how much it is over. Arithmetic is done here,
    /// never taken from a model.
    pub fn settle(&mut self) {
        let b = &mut self.breakdown;
        for part in [
            &mut b.flights_usd,
            &mut b.lodging_usd,
            &mut b.food_usd,
            &mut b.activities_usd,
            &mut b.local_transport_usd,
        ] {
            *part = whole_dollars(*part);
        }
        let total =
            b.flights_usd + b.lodging_usd + b.food_usd + b.activities_usd + b.local_transport_usd;
        let overage = self.limit_usd.map_or(0.0, |limit| (total - limit).max(0.0));
        self.estimated_total_usd = total;
        self.within_budget = overage == 0.0;
        self.overage_usd = round_cents(overage);
    }
}

/// Budget travellers ride buses and metros; luxury travellers take taxis and drivers.
fn transport_factor(tier: Tier) -> f64 {
    match tier {
        Tier::Budget => 0.75,
        Tier::Mid => 1.0,
        Tier::Luxury => 2.0,
    }
}

/// Day locations are city names; prefer the trip's own destinations over a global lookup.
fn day_destination<'a>(
    req: &'a TripRequest,
    catalog: &'a Catalog,
    city: &str,
) -> Option<&'a Destination> {
    catalog
        .trip_destination_named(req, city)
        .or_else(|| find_destination(city))
}

/// Adding 0.0 turns the -0.0 that an empty f64 sum yields into a plain 0.
fn whole_dollars(value: f64) -> f64 {
    value.round() + 0.0
}

fn round_cents(value: f64) -> f64 {
    (value * 100.0).round() / 100.0
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::knowledge::{find_airport, plan_days, quote_flight};
    use chrono::NaiveDate;

    fn request(
        destinations: &[&str],
        days: u32,
        travelers: u32,
        budget: Option<f64>,
    ) -> TripRequest {
        TripRequest {
            notes: Vec::new(),
            stay_days: Vec::new(),
            budget_source: None,
            wish: None,
            origin: Some("LAX".to_string()),
            destinations: destinations.iter().map(|d| d.to_string()).collect(),
            start_date: NaiveDate::from_ymd_opt(2027, 3, 10).unwrap(),
            days,
            nights: days.saturating_sub(1).max(1),
            travelers,
            budget_usd: budget,
            interests: vec!["food".to_string()],
            tier: Tier::Mid,
            month: Some(3),
        }
    }

    fn estimate(req: &TripRequest) -> BudgetEstimate {
        let today = NaiveDate::from_ymd_opt(2027, 1, 15).unwrap();
        let (lax, han) = (find_airport("LAX").unwrap(), find_airport("HAN").unwrap());
        let flights = [quote_flight(lax, han, req.start_date, req.travelers, today)];
        estimate_budget(
            req,
            &Catalog::curated(),
            &flights,
            &plan_hotels(req, &Catalog::curated()),
            &plan_days(req, &Catalog::curated()),
        )
    }

    #[test]
    fn hotel_nights_sum_to_requested_nights() {
        for (dests, days) in [
            (&["hanoi"][..], 5),
            (&["hanoi", "ha-long"][..], 6),
            (&["tokyo", "kyoto", "osaka"][..], 10),
            (&["hue"][..], 1),
        ] {
            let req = request(dests, days, 2, None);
            let nights: u32 = plan_hotels(&req, &Catalog::curated())
                .iter()
                .map(|h| h.nights)
                .sum();
            assert_eq!(nights, req.nights, "{dests:?}");
        }
    }

    #[test]
    fn one_stay_per_destination_in_order_with_rooms_for_the_party() {
        let stays = plan_hotels(
            &request(&["tokyo", "kyoto"], 7, 3, None),
            &Catalog::curated(),
        );
        let cities: Vec<&str> = stays.iter().map(|s| s.city.as_str()).collect();
        assert_eq!(cities, ["Tokyo", "Kyoto"]);
        assert_eq!(stays.iter().map(|s| s.nights).collect::<Vec<_>>(), [4, 2]);
        for stay in &stays {
            assert_eq!(stay.rooms, 2);
            assert_eq!(
                stay.total_usd,
                stay.price_per_night_usd * f64::from(stay.nights * stay.rooms)
            );
            assert!(stay.estimated);
        }
        assert_eq!(stays[0].area, "Shinjuku", "first mid-tier neighbourhood");
    }

    #[test]
    fn a_city_reached_on_the_last_day_gets_no_hotel() {
        let stays = plan_hotels(
            &request(&["hanoi", "ha-long", "sapa"], 3, 1, None),
            &Catalog::curated(),
        );
        let cities: Vec<(&str, u32)> = stays.iter().map(|s| (s.city.as_str(), s.nights)).collect();
        assert_eq!(cities, [("Hanoi", 1), ("Ha Long", 1)]);
    }

    #[test]
    fn a_one_day_trip_still_books_one_night() {
        let stays = plan_hotels(&request(&["hue"], 1, 1, None), &Catalog::curated());
        assert_eq!((stays.len(), stays[0].nights), (1, 1));
    }

    #[test]
    fn hotel_price_follows_the_tier() {
        let mut req = request(&["hanoi"], 3, 1, None);
        req.tier = Tier::Luxury;
        let stay = &plan_hotels(&req, &Catalog::curated())[0];
        assert_eq!(stay.price_per_night_usd, 180.0);
        assert_eq!(stay.area, "French Quarter");
    }

    #[test]
    fn breakdown_sums_exactly_to_the_total() {
        for travelers in 1..=5 {
            let est = estimate(&request(&["hanoi", "ha-long"], 7, travelers, None));
            let b = &est.breakdown;
            let sum = b.flights_usd
                + b.lodging_usd
                + b.food_usd
                + b.activities_usd
                + b.local_transport_usd;
            assert_eq!(sum, est.estimated_total_usd);
            assert!(est.within_budget && est.overage_usd == 0.0 && est.limit_usd.is_none());
        }
    }

    #[test]
    fn food_transport_and_activities_scale_with_days_and_people() {
        let req = request(&["hanoi"], 4, 2, None);
        let est = estimate(&req);
        assert_eq!(est.breakdown.food_usd, 25.0 * 4.0 * 2.0);
        assert_eq!(est.breakdown.local_transport_usd, 5.0 * 4.0 * 2.0);
        let activity_cost: f64 = plan_days(&req, &Catalog::curated())
            .iter()
            .flat_map(|d| &d.activities)
            .map(|a| a.cost_usd)
            .sum();
        assert_eq!(est.breakdown.activities_usd, (activity_cost * 2.0).round());
    }

    #[test]
    fn empty_inputs_cost_nothing_and_never_negative_zero() {
        let req = request(&["hanoi"], 3, 1, None);
        let est = estimate_budget(&req, &Catalog::curated(), &[], &[], &[]);
        assert_eq!(est.estimated_total_usd, 0.0);
        assert!(est.breakdown.flights_usd.is_sign_positive());
        assert_eq!(
            serde_json::to_value(&est.breakdown).unwrap()["flights_usd"],
            serde_json::json!(0.0)
        );
    }

    #[test]
    fn reports_overage_when_over_budget() {
        let est = estimate(&request(&["hanoi"], 5, 2, Some(500.0)));
        assert!(!est.within_budget);
        assert_eq!(est.overage_usd, est.estimated_total_usd - 500.0);
        let est = estimate(&request(&["hanoi"], 5, 2, Some(1_000_000.0)));
        assert!(est.within_budget);
        assert_eq!(est.overage_usd, 0.0);
    }
}
