//! Settle: exactly once, overage Reject vs Cap, and no settling past expiry.

use domain::TokenPoolEvent::*;
use domain::TokenPoolRejection::*;
use domain::{OverageRule, ResolutionKind, Tokens};

use crate::support::*;

fn held() -> Vec<domain::TokenPoolEvent> {
    vec![provisioned(), granted(1, 1_000), reserved(1, 300, 0)]
}

#[test]
fn settling_consumes_the_actual_usage_and_releases_the_rest() {
    let pool = given(held())
        .when(t(1_000), settle(1, 120))
        .then([ReservationSettled {
            reservation_id: rid(1),
            reserved: tokens(300),
            consumed: tokens(120),
            released: tokens(180),
            uncharged_overage: Tokens::ZERO,
            at: t(1_000),
        }]);
    assert_eq!(pool.consumed().get(), 120);
    assert_eq!(pool.reserved().get(), 0);
    assert_eq!(pool.available(), tokens(880));
    assert!(pool.reservation(&rid(1)).is_none());
}

#[test]
fn settling_with_zero_usage_releases_everything() {
    given(held())
        .when(t(1_000), settle(1, 0))
        .then([settled(1, 300, 0, 1_000)]);
}

#[test]
fn settling_the_exact_amount_held_consumes_it_all() {
    given(held())
        .when(t(1_000), settle(1, 300))
        .then([settled(1, 300, 300, 1_000)]);
}

#[test]
fn usage_above_the_hold_is_refused_under_the_reject_rule() {
    given(held())
        .when(t(1_000), settle(1, 301))
        .then_rejected(SettleExceedsReservation {
            reservation_id: rid(1),
            reserved: tokens(300),
            actual: tokens(301),
        });
}

#[test]
fn after_a_refused_overage_the_hold_can_still_be_settled() {
    let pool = given(held()).state();
    assert!(pool.reservation(&rid(1)).is_some());
    given(held())
        .when(t(1_000), settle(1, 250))
        .then([settled(1, 300, 250, 1_000)]);
}

#[test]
fn usage_above_the_hold_is_capped_and_recorded_under_the_cap_rule() {
    let capped = policy_with(|p| p.overage = OverageRule::Cap);
    let pool = given([
        provisioned_with(capped),
        granted(1, 1_000),
        reserved(1, 300, 0),
    ])
    .when(t(1_000), settle(1, 450))
    .then([ReservationSettled {
        reservation_id: rid(1),
        reserved: tokens(300),
        consumed: tokens(300),
        released: Tokens::ZERO,
        uncharged_overage: tokens(150),
        at: t(1_000),
    }]);
    assert_eq!(pool.consumed().get(), 300, "never more than was held");
}

#[test]
fn repeating_a_capped_settlement_with_the_same_usage_changes_nothing() {
    let capped = policy_with(|p| p.overage = OverageRule::Cap);
    given([
        provisioned_with(capped),
        granted(1, 1_000),
        reserved(1, 300, 0),
        ReservationSettled {
            reservation_id: rid(1),
            reserved: tokens(300),
            consumed: tokens(300),
            released: Tokens::ZERO,
            uncharged_overage: tokens(150),
            at: t(1_000),
        },
    ])
    .when(t(2_000), settle(1, 450))
    .then_nothing();
}

#[test]
fn repeating_a_settlement_with_the_same_usage_changes_nothing() {
    let mut history = held();
    history.push(settled(1, 300, 120, 1_000));
    given(history).when(t(2_000), settle(1, 120)).then_nothing();
}

#[test]
fn settling_again_with_other_usage_is_refused_as_already_settled() {
    let mut history = held();
    history.push(settled(1, 300, 120, 1_000));
    given(history)
        .when(t(2_000), settle(1, 121))
        .then_rejected(AlreadyResolved {
            reservation_id: rid(1),
            how: ResolutionKind::Settled,
        });
}

#[test]
fn settling_a_released_hold_is_refused_as_already_released() {
    let mut history = held();
    history.push(released(1, 300, 1_000));
    given(history)
        .when(t(2_000), settle(1, 0))
        .then_rejected(AlreadyResolved {
            reservation_id: rid(1),
            how: ResolutionKind::Released,
        });
}

#[test]
fn settling_an_unknown_hold_is_refused_as_not_found() {
    given(held())
        .when(t(1_000), settle(2, 10))
        .then_rejected(ReservationNotFound {
            reservation_id: rid(2),
        });
}

#[test]
fn a_hold_past_its_expiry_can_no_longer_be_settled_even_before_the_expiry_is_recorded() {
    // Like a TigerBeetle pending transfer past its timeout: it cannot be posted.
    given(held())
        .when(t(DEFAULT_TTL), settle(1, 10))
        .then_rejected(AlreadyResolved {
            reservation_id: rid(1),
            how: ResolutionKind::Expired,
        });
}

#[test]
fn a_hold_can_be_settled_until_the_millisecond_before_its_expiry() {
    given(held())
        .when(t(DEFAULT_TTL - 1), settle(1, 10))
        .then([settled(1, 300, 10, DEFAULT_TTL - 1)]);
}

#[test]
fn settling_a_recorded_expiry_is_refused_as_already_expired() {
    let mut history = held();
    history.push(ReservationExpired {
        reservation_id: rid(1),
        amount: tokens(300),
        expires_at: t(DEFAULT_TTL),
        at: t(DEFAULT_TTL + 5),
    });
    given(history)
        .when(t(DEFAULT_TTL + 10), settle(1, 10))
        .then_rejected(AlreadyResolved {
            reservation_id: rid(1),
            how: ResolutionKind::Expired,
        });
}

#[test]
fn settled_usage_counts_against_the_periodic_quota() {
    let daily = policy_with(|p| p.periodic_quota = Some(periodic(1_000, 86_400_000)));
    let pool = given([
        provisioned_with(daily),
        granted(1, 5_000),
        reserved(1, 300, 0),
    ])
    .when(t(1_000), settle(1, 200))
    .then([settled(1, 300, 200, 1_000)]);
    let period = pool.quota_period_at(t(1_000)).expect("provisioned");
    assert_eq!(period.consumed.get(), 200);
}
