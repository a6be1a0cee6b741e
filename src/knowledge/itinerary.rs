//! Day-by-day plans: which city each day is spent in and what to do there.

use chrono::{Days, NaiveDate};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::dataset::{Attraction, Destination, destination};
use super::intake::TripRequest;

/// Keeps days humane: nobody enjoys more than this many hours of scheduled sights.
const MAX_DAY_HOURS: f64 = 8.0;
const FREE_TIME_HOURS: f64 = 3.0;
/// The category of a free slot (no attraction planned).
pub const FREE_TIME_CATEGORY: &str = "leisure";

/// One scheduled item; `cost_usd` is per person.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct PlannedActivity {
    /// "morning" | "afternoon" | "evening"
    pub time_of_day: String,
    pub name: String,
    pub category: String,
    pub duration_hours: f64,
    pub cost_usd: f64,
}

/// One calendar day of the trip.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct DayPlan {
    pub day_number: u32,
    pub date: NaiveDate,
    /// City name of the destination this day is spent in.
    pub location: String,
    pub focus: String,
    /// "easy" | "moderate" | "active"
    pub intensity: String,
    pub activities: Vec<PlannedActivity>,
}

/// A consecutive run of days in one destination.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Stay {
    pub destination: &'static Destination,
    /// Zero-based index of the stay's first trip day.
    pub first_day: u32,
    pub days: u32,
}

/// Splits the trip's days across its (known) destinations in order, as evenly as
/// possible, with at least one day each when there are enough days; earlier cities get
/// any extra day because travellers arrive there fresh.
pub(crate) fn split_stays(req: &TripRequest) -> Vec<Stay> {
    let places: Vec<&'static Destination> = req
        .destinations
        .iter()
        .filter_map(|id| destination(id))
        .collect();
    // Lengths the traveller gave per stop ("3 days in Sapa, 2 in Hanoi") are kept.
    let counts =
        if req.stay_days.len() == places.len() && req.stay_days.iter().sum::<u32>() == req.days {
            req.stay_days.clone()
        } else {
            apportion(req.days, &vec![1; places.len()], 1)
        };
    let mut first_day = 0;
    let mut stays = Vec::new();
    for (destination, days) in places.into_iter().zip(counts) {
        if days > 0 {
            stays.push(Stay {
                destination,
                first_day,
                days,
            });
        }
        first_day += days;
    }
    stays
}

/// Divides `total` into parts proportional to `weights` (largest remainder, ties to the
/// earlier part), giving each part at least `floor` while the total allows it.
pub(crate) fn apportion(total: u32, weights: &[u32], floor: u32) -> Vec<u32> {
    let n = weights.len() as u32;
    if n == 0 {
        return Vec::new();
    }
    if total < floor * n {
        let mut left = total;
        return weights
            .iter()
            .map(|_| {
                let part = floor.min(left);
                left -= part;
                part
            })
            .collect();
    }
    let spare = u64::from(total - floor * n);
    let weight_sum: u64 = weights.iter().map(|w| u64::from(*w)).sum();
    let effective: Vec<u64> = if weight_sum == 0 {
        vec![1; weights.len()]
    } else {
        weights.iter().map(|w| u64::from(*w)).collect()
    };
    let sum = effective.iter().sum::<u64>();
    let mut parts: Vec<u64> = effective.iter().map(|w| spare * w / sum).collect();
    let mut order: Vec<usize> = (0..weights.len()).collect();
    order.sort_by_key(|&i| std::cmp::Reverse(spare * effective[i] % sum));
    let handed_out: u64 = parts.iter().sum();
    for &i in order.iter().take((spare - handed_out) as usize) {
        parts[i] += 1;
    }
    parts.iter().map(|p| *p as u32 + floor).collect()
}

/// The role a day plays in the trip, which sets how much fits into it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum DayKind {
    Full,
    Arrival,
    Transfer,
    Departure,
    /// Arrive and leave on the same day.
    DayTrip,
}

impl DayKind {
    fn slots(self) -> &'static [&'static str] {
        match self {
            DayKind::Full => &["morning", "afternoon", "evening"],
            DayKind::Arrival | DayKind::Transfer => &["afternoon", "evening"],
            DayKind::Departure => &["morning"],
            DayKind::DayTrip => &["morning", "afternoon"],
        }
    }

    /// Travel days get less: jet lag, check-in and transfers eat the hours.
    fn hour_budget(self) -> f64 {
        match self {
            DayKind::Full => MAX_DAY_HOURS,
            DayKind::Arrival => 4.0,
            DayKind::Transfer | DayKind::DayTrip => 5.0,
            DayKind::Departure => 3.0,
        }
    }
}

fn day_kind(day: u32, total_days: u32, stay: &Stay) -> DayKind {
    let last = day + 1 == total_days;
    match (day == 0, last, day == stay.first_day) {
        (true, true, _) => DayKind::DayTrip,
        (true, false, _) => DayKind::Arrival,
        (false, true, _) => DayKind::Departure,
        (false, false, true) => DayKind::Transfer,
        _ => DayKind::Full,
    }
}

/// Builds exactly `req.days` consecutive days (none if no destination is known), each
/// with at most three activities and eight hours, preferring the traveller's interests.
pub fn plan_days(req: &TripRequest) -> Vec<DayPlan> {
    let stays = split_stays(req);
    let mut plans = Vec::with_capacity(req.days as usize);
    for stay in &stays {
        let mut picker = StayPicker::new(stay.destination, &req.interests);
        for day in stay.first_day..stay.first_day + stay.days {
            let kind = day_kind(day, req.days, stay);
            let (activities, intensity) = picker.fill_day(kind);
            plans.push(DayPlan {
                day_number: day + 1,
                date: req
                    .start_date
                    .checked_add_days(Days::new(u64::from(day)))
                    .unwrap_or(req.start_date),
                location: stay.destination.city.clone(),
                focus: day_focus(kind, &stay.destination.city, &activities),
                intensity: intensity.to_string(),
                activities,
            });
        }
    }
    plans
}

/// Hands out a destination's attractions across the days of a stay without repeats.
struct StayPicker {
    destination: &'static Destination,
    ranked: Vec<&'static Attraction>,
    used: Vec<bool>,
    explored: usize,
}

impl StayPicker {
    fn new(destination: &'static Destination, interests: &[String]) -> Self {
        let ranked = rank_attractions(destination, interests);
        let used = vec![false; ranked.len()];
        StayPicker {
            destination,
            ranked,
            used,
            explored: 0,
        }
    }

    /// Fills the day's slots in order, then adds free time when the list has run dry.
    fn fill_day(&mut self, kind: DayKind) -> (Vec<PlannedActivity>, &'static str) {
        let mut picked: Vec<(&str, &'static Attraction)> = Vec::new();
        for &slot in kind.slots() {
            let hours: f64 = picked.iter().map(|(_, a)| a.duration_hours).sum();
            if let Some(i) = self.pick(slot, kind.hour_budget() - hours, &picked) {
                self.used[i] = true;
                picked.push((slot, self.ranked[i]));
            }
        }
        let intensity = day_intensity(&picked);
        let mut activities: Vec<PlannedActivity> =
            picked.iter().map(|(slot, a)| planned(slot, a)).collect();
        let exhausted = self.used.iter().all(|u| *u);
        if activities.is_empty() || (exhausted && kind == DayKind::Full && activities.len() < 2) {
            self.add_free_time(kind, &mut activities);
        }
        activities.sort_by_key(|a| slot_order(&a.time_of_day));
        (activities, intensity)
    }

    /// Best-ranked unused attraction for this slot, preferring a category not yet seen today.
    fn pick(&self, slot: &str, hours_left: f64, today: &[(&str, &Attraction)]) -> Option<usize> {
        let fits = |i: &usize| {
            let a = self.ranked[*i];
            !self.used[*i]
                && (a.best_time == slot || a.best_time == "any")
                && a.duration_hours <= hours_left
        };
        let fresh = |i: &usize| {
            today
                .iter()
                .all(|(_, a)| a.category != self.ranked[*i].category)
        };
        let candidates = (0..self.ranked.len()).filter(fits);
        candidates
            .clone()
            .find(fresh)
            .or_else(|| candidates.clone().next())
    }

    fn add_free_time(&mut self, kind: DayKind, activities: &mut Vec<PlannedActivity>) {
        let hours: f64 = activities.iter().map(|a| a.duration_hours).sum();
        let free_slot = kind
            .slots()
            .iter()
            .find(|s| activities.iter().all(|a| a.time_of_day != **s));
        let Some(slot) = free_slot else { return };
        if hours + FREE_TIME_HOURS > kind.hour_budget() {
            return;
        }
        let hoods = &self.destination.neighbourhoods;
        let area = hoods
            .get(self.explored % hoods.len().max(1))
            .map_or(self.destination.city.as_str(), |h| h.name.as_str());
        self.explored += 1;
        activities.push(PlannedActivity {
            time_of_day: (*slot).to_string(),
            name: format!("Explore {area}"),
            category: FREE_TIME_CATEGORY.to_string(),
            duration_hours: FREE_TIME_HOURS,
            cost_usd: 0.0,
        });
    }
}

/// Interest matches first, taking turns between interests so each shows up early; then
/// everything else, taking turns between categories for variety. Theme parks and zoos
/// come last unless the traveller asked for family activities.
fn rank_attractions(
    destination: &'static Destination,
    interests: &[String],
) -> Vec<&'static Attraction> {
    let (wanted, rest): (Vec<&Attraction>, Vec<&Attraction>) = destination
        .attractions
        .iter()
        .partition(|a| interests.contains(&a.category));
    let (family, rest): (Vec<&Attraction>, Vec<&Attraction>) =
        rest.into_iter().partition(|a| a.category == "family");
    let mut other_categories: Vec<&str> = Vec::new();
    for a in &rest {
        if !other_categories.contains(&a.category.as_str()) {
            other_categories.push(&a.category);
        }
    }
    let interest_order: Vec<&str> = interests.iter().map(String::as_str).collect();
    let mut ranked = round_robin(&wanted, &interest_order);
    ranked.extend(round_robin(&rest, &other_categories));
    ranked.extend(family);
    ranked
}

/// Interleaves attractions by category in the given category order, keeping data order
/// within each category.
fn round_robin(
    attractions: &[&'static Attraction],
    categories: &[&str],
) -> Vec<&'static Attraction> {
    let groups: Vec<Vec<&'static Attraction>> = categories
        .iter()
        .map(|c| {
            attractions
                .iter()
                .copied()
                .filter(|a| a.category == *c)
                .collect()
        })
        .collect();
    let longest = groups.iter().map(Vec::len).max().unwrap_or(0);
    (0..longest)
        .flat_map(|round| groups.iter().filter_map(move |g| g.get(round).copied()))
        .collect()
}

fn planned(slot: &str, a: &Attraction) -> PlannedActivity {
    PlannedActivity {
        time_of_day: slot.to_string(),
        name: a.name.clone(),
        category: a.category.clone(),
        duration_hours: a.duration_hours,
        cost_usd: a.cost_usd,
    }
}

fn slot_order(slot: &str) -> u8 {
    match slot {
        "morning" => 0,
        "afternoon" => 1,
        _ => 2,
    }
}

/// The hardest activity sets the tone; a long day of easy sights still counts as moderate.
fn day_intensity(picked: &[(&str, &Attraction)]) -> &'static str {
    let rank = |level: &str| match level {
        "active" => 2,
        "moderate" => 1,
        _ => 0,
    };
    let hardest = picked
        .iter()
        .map(|(_, a)| rank(&a.intensity))
        .max()
        .unwrap_or(0);
    let hours: f64 = picked.iter().map(|(_, a)| a.duration_hours).sum();
    match hardest.max(if hours >= 7.0 { 1 } else { 0 }) {
        2 => "active",
        1 => "moderate",
        _ => "easy",
    }
}

/// A short headline such as "Food & culture" or "Arrival in Hanoi; food".
fn day_focus(kind: DayKind, city: &str, activities: &[PlannedActivity]) -> String {
    let mut labels: Vec<&str> = Vec::new();
    for a in activities {
        let label = if a.category == FREE_TIME_CATEGORY {
            "free time"
        } else {
            a.category.as_str()
        };
        if !labels.contains(&label) {
            labels.push(label);
        }
    }
    let theme = match labels.as_slice() {
        [] => "rest".to_string(),
        [one] => (*one).to_string(),
        [init @ .., last] => format!("{} & {last}", init.join(", ")),
    };
    match kind {
        DayKind::Full => capitalize(&theme),
        DayKind::Arrival | DayKind::DayTrip => format!("Arrival in {city}; {theme}"),
        DayKind::Transfer => format!("Travel to {city}; {theme}"),
        DayKind::Departure => format!("Departure day; {theme}"),
    }
}

fn capitalize(text: &str) -> String {
    let mut chars = text.chars();
    chars
        .next()
        .map(|c| c.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::knowledge::dataset::Tier;

    pub(crate) fn request(destinations: &[&str], days: u32, interests: &[&str]) -> TripRequest {
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
            travelers: 2,
            budget_usd: None,
            interests: interests.iter().map(|i| i.to_string()).collect(),
            tier: Tier::Mid,
            month: Some(3),
        }
    }

    #[test]
    fn plans_exactly_the_requested_number_of_consecutive_days() {
        for days in [1, 2, 5, 9, 30] {
            let plan = plan_days(&request(&["hanoi"], days, &[]));
            assert_eq!(plan.len(), days as usize);
            for (i, day) in plan.iter().enumerate() {
                assert_eq!(day.day_number as usize, i + 1);
                let expected = NaiveDate::from_ymd_opt(2027, 3, 10).unwrap() + Days::new(i as u64);
                assert_eq!(day.date, expected);
            }
        }
    }

    #[test]
    fn honours_interests_first() {
        let plan = plan_days(&request(&["hanoi"], 4, &["food", "history"]));
        let categories: Vec<&str> = plan
            .iter()
            .flat_map(|d| &d.activities)
            .map(|a| a.category.as_str())
            .collect();
        assert!(
            categories.contains(&"food") && categories.contains(&"history"),
            "{categories:?}"
        );
        let first_full_day = &plan[1].activities;
        assert!(
            first_full_day
                .iter()
                .any(|a| a.category == "food" || a.category == "history")
        );
    }

    #[test]
    fn never_exceeds_three_activities_or_eight_hours_and_respects_best_time() {
        for dest in crate::knowledge::destinations() {
            let plan = plan_days(&request(&[dest.id.as_str()], 12, &["adventure", "food"]));
            for day in &plan {
                assert!(
                    day.activities.len() <= 3,
                    "{} day {}",
                    dest.id,
                    day.day_number
                );
                let hours: f64 = day.activities.iter().map(|a| a.duration_hours).sum();
                assert!(
                    hours <= MAX_DAY_HOURS,
                    "{} day {} has {hours} h",
                    dest.id,
                    day.day_number
                );
                for a in &day.activities {
                    let best = dest
                        .attractions
                        .iter()
                        .find(|x| x.name == a.name)
                        .map(|x| x.best_time.as_str());
                    assert!(
                        best.is_none_or(|b| b == "any" || b == a.time_of_day),
                        "{}",
                        a.name
                    );
                }
            }
        }
    }

    #[test]
    fn does_not_repeat_attractions_and_falls_back_to_free_time() {
        let plan = plan_days(&request(&["hue"], 20, &[]));
        let names: Vec<&str> = plan
            .iter()
            .flat_map(|d| &d.activities)
            .filter(|a| a.category != FREE_TIME_CATEGORY)
            .map(|a| a.name.as_str())
            .collect();
        let mut unique = names.clone();
        unique.sort_unstable();
        unique.dedup();
        assert_eq!(unique.len(), names.len());
        assert!(
            plan.iter()
                .flat_map(|d| &d.activities)
                .any(|a| a.name.starts_with("Explore "))
        );
        assert!(plan.iter().all(|d| !d.activities.is_empty()));
    }

    #[test]
    fn splits_two_cities_in_order_with_lighter_travel_days() {
        let plan = plan_days(&request(&["tokyo", "kyoto"], 7, &[]));
        let cities: Vec<&str> = plan.iter().map(|d| d.location.as_str()).collect();
        assert_eq!(
            cities,
            [
                "Tokyo", "Tokyo", "Tokyo", "Tokyo", "Kyoto", "Kyoto", "Kyoto"
            ]
        );
        assert!(plan[0].focus.starts_with("Arrival in Tokyo"));
        assert!(plan[4].focus.starts_with("Travel to Kyoto"));
        assert!(plan[6].focus.starts_with("Departure day"));
        assert!(plan[0].activities.len() <= 2 && plan[6].activities.len() <= 1);
    }

    #[test]
    fn gives_every_destination_at_least_one_day() {
        let plan = plan_days(&request(&["hanoi", "ha-long", "sapa"], 3, &[]));
        let cities: Vec<&str> = plan.iter().map(|d| d.location.as_str()).collect();
        assert_eq!(cities, ["Hanoi", "Ha Long", "Sapa"]);
    }

    #[test]
    fn skips_unknown_destination_ids() {
        assert!(plan_days(&request(&["atlantis"], 3, &[])).is_empty());
        assert_eq!(plan_days(&request(&["atlantis", "hue"], 3, &[])).len(), 3);
    }

    #[test]
    fn summarises_focus_and_intensity() {
        let plan = plan_days(&request(&["sapa"], 4, &["adventure"]));
        assert!(plan.iter().any(|d| d.intensity == "active"), "{plan:#?}");
        for day in &plan {
            assert!(["easy", "moderate", "active"].contains(&day.intensity.as_str()));
            assert!(!day.focus.is_empty());
        }
        let full_day = &plan[1];
        let first = full_day.activities[0].category.to_string();
        assert!(
            full_day.focus.to_lowercase().contains(&first),
            "{}",
            full_day.focus
        );
    }

    #[test]
    fn keeps_theme_parks_for_families() {
        let adults = plan_days(&request(&["tokyo"], 4, &["food"]));
        assert!(
            adults
                .iter()
                .flat_map(|d| &d.activities)
                .all(|a| a.category != "family")
        );
        let family = plan_days(&request(&["tokyo"], 4, &["family"]));
        assert!(
            family
                .iter()
                .flat_map(|d| &d.activities)
                .any(|a| a.name == "Tokyo Disneyland")
        );
    }

    #[test]
    fn apportions_with_floors_and_largest_remainders() {
        assert_eq!(apportion(7, &[1, 1], 1), [4, 3]);
        assert_eq!(apportion(6, &[4, 3], 1), [3, 3]);
        assert_eq!(apportion(9, &[5, 2, 2], 1), [5, 2, 2]);
        assert_eq!(apportion(1, &[2, 1], 1), [1, 0]);
        assert_eq!(apportion(5, &[0, 0], 0), [3, 2]);
        assert!(apportion(3, &[], 1).is_empty());
    }
}
