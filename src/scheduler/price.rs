//! Price monitor: today's fare per watched route against the last one seen
//! and the user's target. A drop of at least `drop_threshold_pct`, or a
//! fare at or under `target_price_usd`, is a `price_drop` finding.

use chrono::{DateTime, Days, NaiveDate, Utc};
use serde_json::{Map, json};

use super::store::{SeenPrice, WatchStoreError};
use super::watchlist::{PriceWatch, Route, Watchlist};
use super::{Finding, Scheduler, WatchlistCheck, usd};
use crate::jobs::Trigger;

/// Routes without a date are watched this far out: near enough to book,
/// far enough to avoid last-minute fares.
const UNDATED_LEAD_DAYS: u64 = 30;

pub(super) async fn check(
    scheduler: &Scheduler,
    watchlist: &Watchlist,
    watch: &PriceWatch,
    now: DateTime<Utc>,
) -> Result<WatchlistCheck, WatchStoreError> {
    let today = scheduler.today(now);
    let seen = scheduler.watchlists.prices(watchlist.id).await?;
    let mut outcome = WatchlistCheck::default();
    for route in &watch.routes {
        let date = route
            .departure_date
            .unwrap_or(today + Days::new(UNDATED_LEAD_DAYS));
        if date < today {
            outcome
                .problems
                .push(format!("{}: departure {date} has passed", route.key()));
            continue;
        }
        let price = match scheduler.fares.fare_usd(route, date, today).await {
            Ok(price) => price,
            Err(e) => {
                outcome.problems.push(format!("{}: {e}", route.key()));
                continue;
            }
        };
        let last = seen.get(&route.key()).map(|s| s.price_usd);
        let seen_now = SeenPrice {
            price_usd: price,
            seen_at: now,
        };
        scheduler
            .watchlists
            .record_price(watchlist.id, &route.key(), seen_now)
            .await?;
        if let Some(finding) = evaluate(route, date, last, price, watch, scheduler.fares.name()) {
            outcome.choices.push(vec![finding]);
        }
    }
    Ok(outcome)
}

/// The finding for one route, if any. A drop is measured from the last
/// fare seen; a fare under the target is measured from the target, so
/// `savings` is never negative.
pub(super) fn evaluate(
    route: &Route,
    date: NaiveDate,
    last: Option<f64>,
    price: f64,
    watch: &PriceWatch,
    source: &str,
) -> Option<Finding> {
    let drop_pct = last.filter(|l| *l > 0.0).map(|l| (l - price) / l * 100.0);
    let dropped = drop_pct.is_some_and(|d| d >= watch.drop_threshold_pct);
    let under_target = watch.target_price_usd.is_some_and(|t| price <= t);
    let (reason, reference) = match (dropped, last, watch.target_price_usd) {
        (true, Some(last), _) => ("drop", last),
        (false, _, Some(target)) if under_target => ("target", target),
        _ => return None,
    };
    let mut context = Map::new();
    context.insert("route".into(), json!(route.label()));
    context.insert("origin".into(), json!(route.origin));
    context.insert("destination".into(), json!(route.destination));
    context.insert("departure_date".into(), json!(date.to_string()));
    context.insert("old_price".into(), usd(reference));
    context.insert("new_price".into(), usd(price));
    context.insert("savings".into(), usd(reference - price));
    context.insert("reason".into(), json!(reason));
    context.insert(
        "drop_pct".into(),
        json!(drop_pct.map(|d| (d * 10.0).round() / 10.0)),
    );
    context.insert("target_price_usd".into(), json!(watch.target_price_usd));
    context.insert("fare_source".into(), json!(source));
    Some(Finding {
        trigger: Trigger::PriceDrop,
        key: format!(
            "{}|{}|{date}|{:.2}",
            Trigger::PriceDrop,
            route.label(),
            price
        ),
        context,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn watch(target: Option<f64>) -> PriceWatch {
        PriceWatch {
            routes: Vec::new(),
            target_price_usd: target,
            drop_threshold_pct: 15.0,
        }
    }

    fn route() -> Route {
        Route {
            origin: "LAX".into(),
            destination: "NRT".into(),
            departure_date: None,
        }
    }

    fn date() -> NaiveDate {
        NaiveDate::from_ymd_opt(2027, 4, 1).unwrap()
    }

    #[test]
    fn a_drop_past_the_threshold_is_a_finding_with_savings() {
        let f = evaluate(&route(), date(), Some(850.0), 650.0, &watch(None), "feed").unwrap();
        assert_eq!(f.trigger, Trigger::PriceDrop);
        assert_eq!(f.context["route"], "LAX->NRT");
        assert_eq!(f.context["old_price"], 850.0);
        assert_eq!(f.context["new_price"], 650.0);
        assert_eq!(f.context["savings"], 200.0);
        assert_eq!(f.context["reason"], "drop");
    }

    #[test]
    fn small_drops_rises_and_first_sightings_are_not() {
        assert!(evaluate(&route(), date(), Some(850.0), 800.0, &watch(None), "feed").is_none());
        assert!(evaluate(&route(), date(), Some(650.0), 850.0, &watch(None), "feed").is_none());
        assert!(evaluate(&route(), date(), None, 650.0, &watch(None), "feed").is_none());
    }

    #[test]
    fn a_fare_under_the_target_counts_from_the_target() {
        let f = evaluate(&route(), date(), None, 550.0, &watch(Some(600.0)), "feed").unwrap();
        assert_eq!(f.context["reason"], "target");
        assert_eq!(f.context["old_price"], 600.0);
        assert_eq!(f.context["savings"], 50.0);
    }

    #[test]
    fn the_same_fare_is_the_same_finding() {
        let a = evaluate(&route(), date(), None, 550.0, &watch(Some(600.0)), "feed").unwrap();
        let b = evaluate(
            &route(),
            date(),
            Some(550.0),
            550.0,
            &watch(Some(600.0)),
            "feed",
        )
        .unwrap();
        let c = evaluate(
            &route(),
            date(),
            Some(550.0),
            540.0,
            &watch(Some(600.0)),
            "feed",
        )
        .unwrap();
        assert_eq!(a.key, b.key);
        assert_ne!(a.key, c.key);
    }
}
