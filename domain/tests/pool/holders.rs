//! Who may resolve a hold, and usage charged whatever became of its hold (issue 21).

use domain::TokenPoolRejection::*;

use crate::support::*;

/// A pool of 1,000 in which the gateway holds 300 for alice's call.
fn gateway_holding() -> Vec<domain::TokenPoolEvent> {
    vec![
        provisioned(),
        granted(1, 1_000),
        reserved_by(1, 300, 0, gateway_holder("user:alice")),
    ]
}

#[test]
fn the_gateway_may_settle_the_hold_it_made() {
    given_as(gateway_holding(), "user:alice")
        .when(t(1_000), gateway_settle(1, 120))
        .then([settled(1, 300, 120, 1_000)]);
}

#[test]
fn the_tenant_cannot_release_the_gateways_hold_on_its_own_pool() {
    given_as(gateway_holding(), "user:alice")
        .when(t(1_000), release(1))
        .then_rejected(NotHolder {
            reservation_id: rid(1),
            held_by_service: true,
        });
}

#[test]
fn the_tenant_cannot_settle_the_gateways_hold_for_less() {
    given_as(gateway_holding(), "user:alice")
        .when(t(1_000), settle(1, 0))
        .then_rejected(NotHolder {
            reservation_id: rid(1),
            held_by_service: true,
        });
}

#[test]
fn an_org_member_cannot_release_another_members_hold() {
    let history = vec![
        provisioned(),
        granted(1, 1_000),
        reserved_by(
            1,
            300,
            0,
            domain::Holder::new("user:alice".parse().unwrap(), None),
        ),
    ];
    given_as(history, "user:bob")
        .when(t(1_000), release(1))
        .then_rejected(NotHolder {
            reservation_id: rid(1),
            held_by_service: false,
        });
}

#[test]
fn an_admin_cannot_release_the_gateways_hold_either() {
    given_as(gateway_holding(), "admin:root")
        .when(t(1_000), release(1))
        .then_rejected(NotHolder {
            reservation_id: rid(1),
            held_by_service: true,
        });
}

#[test]
fn a_hold_from_before_holders_were_recorded_is_anyones_who_may_use_the_pool() {
    let legacy = domain::TokenPoolEvent::TokensReserved {
        reservation_id: rid(1),
        amount: tokens(300),
        expires_at: t(DEFAULT_TTL),
        holder: None,
        at: t(0),
    };
    given_as([provisioned(), granted(1, 1_000), legacy], "user:bob")
        .when(t(1_000), release(1))
        .then([released(1, 300, 1_000)]);
}

#[test]
fn a_gateway_hold_longer_than_the_policy_allows_is_refused_not_shortened() {
    given_as([provisioned(), granted(1, 1_000)], "user:alice")
        .when(t(0), gateway_reserve(1, 300, MAX_TTL as u64 + 1))
        .then_rejected(TtlAboveMaximum {
            requested: ms(MAX_TTL as u64 + 1),
            max: ms(MAX_TTL as u64),
        });
}

#[test]
fn a_gateway_hold_records_the_gateway_as_holder() {
    given_as([provisioned(), granted(1, 1_000)], "user:alice")
        .when(t(0), gateway_reserve(1, 300, DEFAULT_TTL as u64))
        .then([reserved_by(1, 300, 0, gateway_holder("user:alice"))]);
}

#[test]
fn usage_charged_within_the_balance_is_not_overdrawn() {
    given([provisioned(), granted(1, 1_000)])
        .when(t(1_000), charge_usage(400))
        .then([charged(400, 0, 1_000)]);
}

#[test]
fn usage_charged_beyond_the_balance_is_charged_in_full_and_recorded_as_overdrawn() {
    let pool = given([provisioned(), granted(1, 100), consumed(80, 0)])
        .when(t(1_000), charge_usage(50))
        .then([charged(50, 30, 1_000)]);
    assert_eq!(pool.consumed().get(), 130);
    assert_eq!(pool.available(), tokens(0));
}

#[test]
fn usage_is_charged_even_when_a_rate_limit_would_refuse_a_new_spend() {
    let tight = policy_with(|p| p.tokens = limit(10, 10, 60_000));
    given([provisioned_with(tight), granted(1, 1_000)])
        .when(t(1_000), charge_usage(500))
        .then([charged(500, 0, 1_000)]);
}

#[test]
fn a_later_grant_repays_what_was_overdrawn_first() {
    let pool = given([
        provisioned(),
        granted(1, 100),
        charged(130, 30, 0),
        granted(2, 100),
    ])
    .state();
    assert_eq!(pool.available(), tokens(70));
}
