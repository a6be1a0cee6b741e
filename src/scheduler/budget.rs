//! Budget monitor: a surplus (`budget_usd - spent_usd`) of at least
//! `min_surplus_usd` is a `budget_surplus` finding. The finding changes
//! with the budget, the spending or the period.

use serde_json::{Map, Value, json};

use super::watchlist::BudgetWatch;
use super::{Finding, WatchlistCheck, usd};
use crate::jobs::Trigger;

pub(super) fn check(watch: &BudgetWatch) -> WatchlistCheck {
    let surplus = watch.budget_usd - watch.spent_usd;
    let mut outcome = WatchlistCheck::default();
    if surplus >= watch.min_surplus_usd && surplus > 0.0 {
        let mut context = Map::new();
        context.insert("surplus_usd".into(), usd(surplus));
        context.insert("budget_usd".into(), usd(watch.budget_usd));
        context.insert("spent_usd".into(), usd(watch.spent_usd));
        context.insert("period".into(), json!(watch.period));
        context.insert(
            "preferences".into(),
            Value::Object(watch.preferences.clone()),
        );
        outcome.choices.push(vec![Finding {
            trigger: Trigger::BudgetSurplus,
            key: format!(
                "{}|{}|{:.2}|{:.2}",
                Trigger::BudgetSurplus,
                watch.period.as_deref().unwrap_or(""),
                watch.budget_usd,
                watch.spent_usd
            ),
            context,
        }]);
    }
    outcome
}

#[cfg(test)]
mod tests {
    use super::*;

    fn watch(budget: f64, spent: f64) -> BudgetWatch {
        BudgetWatch {
            budget_usd: budget,
            spent_usd: spent,
            period: Some("2027-03".into()),
            min_surplus_usd: 200.0,
            preferences: Map::new(),
        }
    }

    #[test]
    fn a_surplus_at_the_minimum_is_a_finding() {
        let outcome = check(&watch(1000.0, 800.0));
        let finding = &outcome.choices[0][0];
        assert_eq!(finding.trigger, Trigger::BudgetSurplus);
        // The cooldown mark is a hash of the key: it must not change.
        assert_eq!(finding.key, "budget_surplus|2027-03|1000.00|800.00");
        assert_eq!(finding.context["surplus_usd"], 200.0);
    }

    #[test]
    fn a_smaller_surplus_or_overspending_is_not() {
        assert!(check(&watch(1000.0, 801.0)).choices.is_empty());
        assert!(check(&watch(1000.0, 1500.0)).choices.is_empty());
    }
}
