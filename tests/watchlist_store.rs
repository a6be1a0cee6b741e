//! One conformance suite for both watchlist stores: every test runs against
//! Redis (the local server, a unique key prefix) and the memory store.

mod support;

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use lotara::scheduler::watchlist::{Invalid, WatchlistFields};
use lotara::scheduler::{
    MemoryWatchlists, RedisWatchlists, SeenPrice, UpdateError, WatchKind, WatchSpec, Watchlist,
    WatchlistStore,
};

#[derive(Clone, Copy, Debug)]
enum Backend {
    Redis,
    Memory,
}

impl Backend {
    async fn store(self) -> Arc<dyn WatchlistStore> {
        match self {
            Backend::Redis => Arc::new(
                RedisWatchlists::connect(
                    &support::redis_url(),
                    &support::unique_prefix(),
                    Duration::from_secs(2),
                )
                .await
                .expect("local Redis answers"),
            ),
            Backend::Memory => Arc::new(MemoryWatchlists::new()),
        }
    }
}

const BACKENDS: [Backend; 2] = [Backend::Redis, Backend::Memory];

fn budget(user: &str, amount: f64) -> Watchlist {
    let fields = WatchlistFields {
        budget_usd: Some(amount),
        ..Default::default()
    };
    Watchlist::new(
        user.into(),
        None,
        WatchSpec::new(WatchKind::Budget, fields).unwrap(),
    )
}

fn calendar(user: &str) -> Watchlist {
    let fields = WatchlistFields {
        ics_url: Some(Some("https://calendar.example.com/u.ics".into())),
        ..Default::default()
    };
    Watchlist::new(
        user.into(),
        None,
        WatchSpec::new(WatchKind::Calendar, fields).unwrap(),
    )
}

fn spent(amount: f64) -> WatchlistFields {
    WatchlistFields {
        spent_usd: Some(amount),
        ..Default::default()
    }
}

#[tokio::test]
async fn created_watchlists_are_listed_by_user_and_by_kind() {
    for backend in BACKENDS {
        let store = backend.store().await;
        let (a, b, c) = (budget("ann", 100.0), calendar("ann"), budget("bob", 50.0));
        for w in [&a, &b, &c] {
            store.create(w).await.unwrap();
        }
        assert_eq!(
            store.get(a.id).await.unwrap(),
            Some(a.clone()),
            "{backend:?}"
        );
        let ann: Vec<_> = store
            .list_user("ann")
            .await
            .unwrap()
            .iter()
            .map(|w| w.id)
            .collect();
        assert_eq!(ann, [a.id, b.id], "{backend:?}: oldest first");
        let budgets: Vec<_> = store
            .list_kind(WatchKind::Budget)
            .await
            .unwrap()
            .iter()
            .map(|w| w.id)
            .collect();
        assert_eq!(budgets, [a.id, c.id], "{backend:?}");
        assert!(store.list_user("nobody").await.unwrap().is_empty());
    }
}

#[tokio::test]
async fn updates_apply_to_the_current_state_and_refusals_write_nothing() {
    for backend in BACKENDS {
        let store = backend.store().await;
        let w = budget("ann", 1000.0);
        store.create(&w).await.unwrap();
        let updated = store
            .update(w.id, &|w| w.apply(&spent(250.0)))
            .await
            .unwrap();
        let WatchSpec::Budget(b) = &updated.spec else {
            panic!("budget")
        };
        assert_eq!(b.spent_usd, 250.0);
        let refused = store
            .update(w.id, &|_| Err(vec![Invalid::new("spent_usd", "no")]))
            .await;
        assert!(
            matches!(refused, Err(UpdateError::Invalid(_))),
            "{backend:?}"
        );
        assert_eq!(store.get(w.id).await.unwrap(), Some(updated), "{backend:?}");
        let missing = store.update(uuid::Uuid::now_v7(), &|_| Ok(())).await;
        assert!(
            matches!(missing, Err(UpdateError::NotFound(_))),
            "{backend:?}"
        );
    }
}

#[tokio::test]
async fn concurrent_updates_are_never_lost() {
    for backend in BACKENDS {
        let store = backend.store().await;
        let w = budget("ann", 1000.0);
        store.create(&w).await.unwrap();
        let tasks: Vec<_> = (0..20)
            .map(|_| {
                let store = store.clone();
                tokio::spawn(async move {
                    store
                        .update(w.id, &|w| {
                            let WatchSpec::Budget(b) = &mut w.spec else {
                                return Ok(());
                            };
                            b.spent_usd += 1.0;
                            Ok(())
                        })
                        .await
                        .unwrap();
                })
            })
            .collect();
        for task in tasks {
            task.await.unwrap();
        }
        let WatchSpec::Budget(b) = store.get(w.id).await.unwrap().unwrap().spec else {
            panic!("budget")
        };
        assert_eq!(b.spent_usd, 20.0, "{backend:?}");
    }
}

#[tokio::test]
async fn delete_removes_the_watchlist_its_indexes_and_prices_and_an_update_cannot_revive_it() {
    for backend in BACKENDS {
        let store = backend.store().await;
        let w = budget("ann", 10.0);
        store.create(&w).await.unwrap();
        let seen = SeenPrice {
            price_usd: 500.0,
            seen_at: Utc::now(),
        };
        store.record_price(w.id, "LAX->NRT", seen).await.unwrap();
        assert_eq!(store.prices(w.id).await.unwrap()["LAX->NRT"], seen);

        assert!(store.delete(w.id).await.unwrap(), "{backend:?}");
        assert!(
            !store.delete(w.id).await.unwrap(),
            "{backend:?}: already gone"
        );
        assert_eq!(store.get(w.id).await.unwrap(), None);
        assert!(store.list_user("ann").await.unwrap().is_empty());
        assert!(store.list_kind(WatchKind::Budget).await.unwrap().is_empty());
        assert!(store.prices(w.id).await.unwrap().is_empty());
        let revived = store.update(w.id, &|w| w.apply(&spent(1.0))).await;
        assert!(
            matches!(revived, Err(UpdateError::NotFound(_))),
            "{backend:?}"
        );
        store.record_price(w.id, "LAX->NRT", seen).await.unwrap();
        assert!(
            store.prices(w.id).await.unwrap().is_empty(),
            "{backend:?}: no orphan prices"
        );
    }
}

#[tokio::test]
async fn a_firing_is_claimed_once_and_other_fire_times_stay_free() {
    for backend in BACKENDS {
        let store = backend.store().await;
        let at: DateTime<Utc> = "2027-03-01T06:00:00Z".parse().unwrap();
        let ttl = Duration::from_secs(60);
        assert!(
            store
                .claim_firing("price_check", at, ttl, "a")
                .await
                .unwrap()
        );
        assert!(
            !store
                .claim_firing("price_check", at, ttl, "b")
                .await
                .unwrap(),
            "{backend:?}"
        );
        let next = at + chrono::Duration::hours(6);
        assert!(
            store
                .claim_firing("price_check", next, ttl, "b")
                .await
                .unwrap(),
            "{backend:?}"
        );
        assert!(
            store
                .claim_firing("budget_check", at, ttl, "b")
                .await
                .unwrap(),
            "{backend:?}"
        );
    }
}

#[tokio::test]
async fn a_claim_expires_after_its_ttl() {
    for backend in BACKENDS {
        let store = backend.store().await;
        let at: DateTime<Utc> = "2027-03-01T06:00:00Z".parse().unwrap();
        let ttl = Duration::from_millis(150);
        assert!(
            store
                .claim_firing("price_check", at, ttl, "dead")
                .await
                .unwrap()
        );
        support::wait_for("the claim to expire", Duration::from_secs(3), || async {
            store
                .claim_firing("price_check", at, ttl, "alive")
                .await
                .unwrap()
                .then_some(())
        })
        .await;
    }
}

#[tokio::test]
async fn a_suggestion_mark_holds_for_its_cooldown_and_can_be_dropped() {
    for backend in BACKENDS {
        let store = backend.store().await;
        let id = uuid::Uuid::now_v7();
        let long = Duration::from_secs(60);
        assert!(store.mark_suggested(id, "f1", long).await.unwrap());
        assert!(
            !store.mark_suggested(id, "f1", long).await.unwrap(),
            "{backend:?}"
        );
        assert!(
            store.mark_suggested(id, "f2", long).await.unwrap(),
            "{backend:?}"
        );
        store.unmark_suggested(id, "f1").await.unwrap();
        assert!(
            store.mark_suggested(id, "f1", long).await.unwrap(),
            "{backend:?}"
        );

        let short = Duration::from_millis(100);
        assert!(store.mark_suggested(id, "f3", short).await.unwrap());
        support::wait_for("the cooldown to pass", Duration::from_secs(3), || async {
            store
                .mark_suggested(id, "f3", short)
                .await
                .unwrap()
                .then_some(())
        })
        .await;
    }
}

#[tokio::test]
async fn redis_keys_follow_the_documented_layout() {
    let prefix = support::unique_prefix();
    let store = RedisWatchlists::connect(&support::redis_url(), &prefix, Duration::from_secs(2))
        .await
        .unwrap();
    let w = budget("ann", 10.0);
    store.create(&w).await.unwrap();
    let at: DateTime<Utc> = "2027-03-01T06:00:00Z".parse().unwrap();
    store
        .claim_firing("price_check", at, Duration::from_secs(60), "me")
        .await
        .unwrap();
    let client = redis::Client::open(support::redis_url()).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    let keys = support::scan_keys(&format!("{prefix}*")).await;
    let expected = [
        format!("{prefix}lock:price_check:{}", at.timestamp()),
        format!("{prefix}user:{{ann}}:watchlists"),
        format!("{prefix}watchlist:{{{}}}", w.id),
        format!("{prefix}watchlists:budget"),
    ];
    assert_eq!(keys, expected);
    let ttl: i64 = redis::cmd("PTTL")
        .arg(&expected[0])
        .query_async(&mut conn)
        .await
        .unwrap();
    assert!((1..=60_000).contains(&ttl), "the lock expires: {ttl}");
}
