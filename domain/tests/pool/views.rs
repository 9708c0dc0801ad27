//! What views and the gateway read from a pool, and its snapshot form.

use domain::{Aggregate, LimitSnapshot, OpenReservation, TokenPool, Tokens};

use crate::support::*;

#[test]
fn an_unprovisioned_pool_reads_as_empty() {
    let pool = TokenPool::default();
    assert!(!pool.is_provisioned());
    assert_eq!(pool.available(), Tokens::ZERO);
    assert_eq!(pool.open_reservations().count(), 0);
    assert!(pool.rate_limits_at(t(0)).is_none());
}

#[test]
fn rate_limit_headers_show_limit_remaining_and_reset_for_both_limits() {
    let tight = policy_with(|p| {
        p.requests = limit(10, 10, 60_000);
        p.tokens = limit(1_000, 1_000, 60_000);
    });
    let pool = given([
        provisioned_with(tight),
        granted(1, 5_000),
        reserved(1, 400, 0),
    ])
    .state();
    let limits = pool.rate_limits_at(t(6_000)).expect("provisioned");
    // One request drains in 6 s; 400 tokens drain in 24 s, 100 of them by now.
    assert_eq!(
        limits.requests,
        LimitSnapshot {
            limit: 10,
            remaining: 10,
            reset_after: ms(0),
        }
    );
    assert_eq!(
        limits.tokens,
        LimitSnapshot {
            limit: 1_000,
            remaining: 700,
            reset_after: ms(18_000),
        }
    );
}

#[test]
fn availability_at_a_later_instant_counts_lapsed_holds_as_free() {
    let pool = given([provisioned(), granted(1, 1_000), reserved(1, 400, 0)]).state();
    assert_eq!(pool.available(), tokens(600));
    assert_eq!(pool.available_at(t(DEFAULT_TTL - 1)), tokens(600));
    assert_eq!(pool.available_at(t(DEFAULT_TTL)), tokens(1_000));
}

#[test]
fn open_reservations_list_amount_and_expiry() {
    let pool = given([
        provisioned(),
        granted(1, 1_000),
        reserved(2, 50, 5),
        reserved(1, 40, 7),
    ])
    .state();
    let open: Vec<OpenReservation> = pool.open_reservations().cloned().collect();
    assert_eq!(open.len(), 2);
    assert_eq!(open[0].id, rid(1));
    assert_eq!(open[0].expires_at, t(7 + DEFAULT_TTL));
    assert_eq!(open[1].ttl(), ms(DEFAULT_TTL as u64));
}

#[test]
fn a_snapshot_round_trips_through_json() {
    let pool = given([
        provisioned(),
        granted(1, 1_000),
        reserved(1, 400, 0),
        reserved(2, 100, 1),
        settled(2, 100, 30, 5),
    ])
    .state();
    let json = serde_json::to_string(&pool).expect("serialises");
    let back: TokenPool = serde_json::from_str(&json).expect("deserialises");
    assert_eq!(back, pool);
    // And it keeps deciding the same way.
    let cmd = reserve(3, 500);
    assert_eq!(
        back.handle(&cmd, &ctx(t(10))),
        pool.handle(&cmd, &ctx(t(10)))
    );
}

#[test]
fn a_snapshot_with_a_bad_value_does_not_load() {
    let pool = given([provisioned(), granted(1, 1_000)]).state();
    let json = serde_json::to_string(&pool).expect("serialises");
    let bad = json.replace("user:alice/openai", "user:Alice/openai");
    assert!(serde_json::from_str::<TokenPool>(&bad).is_err());
}
