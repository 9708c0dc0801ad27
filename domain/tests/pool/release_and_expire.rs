//! Release and ExpireReservations, and how long resolved holds are remembered.

use domain::TokenPoolCommand::ExpireReservations;
use domain::TokenPoolEvent::*;
use domain::TokenPoolRejection::*;
use domain::{MAX_RESOLVED, RESOLVED_RETENTION, ResolutionKind, Tokens};

use crate::support::*;

fn held() -> Vec<domain::TokenPoolEvent> {
    vec![provisioned(), granted(1, 1_000), reserved(1, 300, 0)]
}

#[test]
fn releasing_frees_the_whole_hold() {
    let pool = given(held())
        .when(t(1_000), release(1))
        .then([released(1, 300, 1_000)]);
    assert_eq!(pool.available(), tokens(1_000));
    assert_eq!(pool.consumed().get(), 0);
}

#[test]
fn releasing_twice_changes_nothing_the_second_time() {
    let mut history = held();
    history.push(released(1, 300, 1_000));
    given(history).when(t(2_000), release(1)).then_nothing();
}

#[test]
fn releasing_a_settled_hold_is_refused_as_already_settled() {
    let mut history = held();
    history.push(settled(1, 300, 100, 1_000));
    given(history)
        .when(t(2_000), release(1))
        .then_rejected(AlreadyResolved {
            reservation_id: rid(1),
            how: ResolutionKind::Settled,
        });
}

#[test]
fn releasing_an_unknown_hold_is_refused_as_not_found() {
    given(held())
        .when(t(1_000), release(9))
        .then_rejected(ReservationNotFound {
            reservation_id: rid(9),
        });
}

#[test]
fn releasing_a_lapsed_hold_is_refused_as_already_expired() {
    given(held())
        .when(t(DEFAULT_TTL), release(1))
        .then_rejected(AlreadyResolved {
            reservation_id: rid(1),
            how: ResolutionKind::Expired,
        });
}

#[test]
fn expiring_resolves_every_lapsed_hold_in_expiry_order() {
    let pool = given([
        provisioned(),
        granted(1, 1_000),
        reserved(3, 100, 0),
        reserved(1, 100, 10),
        reserved(2, 100, 10),
        reserved(4, 100, 50_000),
    ])
    .when(t(DEFAULT_TTL + 10), ExpireReservations)
    .then([
        ReservationExpired {
            reservation_id: rid(3),
            amount: tokens(100),
            expires_at: t(DEFAULT_TTL),
            at: t(DEFAULT_TTL + 10),
        },
        ReservationExpired {
            reservation_id: rid(1),
            amount: tokens(100),
            expires_at: t(DEFAULT_TTL + 10),
            at: t(DEFAULT_TTL + 10),
        },
        ReservationExpired {
            reservation_id: rid(2),
            amount: tokens(100),
            expires_at: t(DEFAULT_TTL + 10),
            at: t(DEFAULT_TTL + 10),
        },
    ]);
    assert_eq!(pool.open_reservations().count(), 1);
    assert_eq!(pool.reserved().get(), 100);
    assert_eq!(pool.available(), tokens(900));
}

#[test]
fn expiring_with_nothing_lapsed_changes_nothing() {
    given(held())
        .when(t(DEFAULT_TTL - 1), ExpireReservations)
        .then_nothing();
}

#[test]
fn resolved_holds_are_forgotten_after_the_retention_horizon() {
    let mut history = held();
    history.push(released(1, 300, 1_000));
    let horizon = 1_000 + RESOLVED_RETENTION.as_millis() as i64;
    // Any event at or after the horizon prunes it; a later repeat is then unknown.
    history.push(consumed(1, horizon));
    let pool = given(history.clone()).state();
    assert!(pool.resolved_reservation(&rid(1)).is_none());
    given(history)
        .when(t(horizon + 1), release(1))
        .then_rejected(ReservationNotFound {
            reservation_id: rid(1),
        });
}

#[test]
fn resolved_holds_are_remembered_until_the_horizon() {
    let mut history = held();
    history.push(released(1, 300, 1_000));
    let horizon = 1_000 + RESOLVED_RETENTION.as_millis() as i64;
    history.push(consumed(1, horizon - 1));
    given(history)
        .when(t(horizon - 1), release(1))
        .then_nothing();
}

#[test]
fn at_most_max_resolved_holds_are_remembered_oldest_forgotten_first() {
    let mut history = vec![provisioned(), granted(1, CAP)];
    let count = MAX_RESOLVED as u128 + 2;
    for n in 1..=count {
        history.push(reserved(n, 1, 0));
        history.push(released(n, 1, 0));
    }
    let pool = given(history).state();
    assert_eq!(pool.resolved_count(), MAX_RESOLVED);
    assert!(pool.resolved_reservation(&rid(1)).is_none());
    assert!(pool.resolved_reservation(&rid(2)).is_none());
    assert!(pool.resolved_reservation(&rid(3)).is_some());
    assert!(pool.resolved_reservation(&rid(count)).is_some());
    assert_eq!(pool.available(), tokens(CAP));
    assert_eq!(pool.reserved().get(), Tokens::ZERO.get());
}
