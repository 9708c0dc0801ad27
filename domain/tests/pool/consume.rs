//! Consume: a reserve and settle in one step, checked the same way.

use domain::TokenPoolEvent::*;
use domain::TokenPoolRejection::*;
use domain::{AmountField, LimitKind, RetryAfter};

use crate::support::*;

#[test]
fn consuming_charges_tokens_directly() {
    let pool = given([provisioned(), granted(1, 1_000)])
        .when(t(1_000), consume(250))
        .then([consumed(250, 1_000)]);
    assert_eq!(pool.consumed().get(), 250);
    assert_eq!(pool.available(), tokens(750));
}

#[test]
fn consuming_more_than_is_available_is_refused_as_quota_exhausted() {
    given([provisioned(), granted(1, 1_000), reserved(1, 800, 0)])
        .when(t(1_000), consume(201))
        .then_rejected(QuotaExhausted {
            requested: tokens(201),
            available: tokens(200),
        });
}

#[test]
fn consuming_zero_tokens_is_invalid() {
    given([provisioned(), granted(1, 1_000)])
        .when(t(1_000), consume(0))
        .then_rejected(InvalidAmount {
            field: AmountField::ConsumeAmount,
        });
}

#[test]
fn consuming_counts_one_request_against_the_request_limit() {
    let one_per_second = policy_with(|p| p.requests = limit(1, 1, 1_000));
    given([
        provisioned_with(one_per_second),
        granted(1, 1_000),
        consumed(1, 0),
    ])
    .when(t(400), consume(1))
    .then_rejected(RateLimited {
        limit: LimitKind::Requests,
        retry_after: RetryAfter::After(ms(600)),
    });
}

#[test]
fn consuming_counts_its_amount_against_the_token_limit() {
    let hundred_per_second = policy_with(|p| p.tokens = limit(100, 100, 1_000));
    given([
        provisioned_with(hundred_per_second),
        granted(1, 1_000),
        consumed(100, 0),
    ])
    .when(t(0), consume(10))
    .then_rejected(RateLimited {
        limit: LimitKind::Tokens,
        retry_after: RetryAfter::After(ms(100)),
    });
}

#[test]
fn consuming_expires_lapsed_holds_first() {
    given([provisioned(), granted(1, 1_000), reserved(1, 1_000, 0)])
        .when(t(DEFAULT_TTL), consume(1_000))
        .then([
            ReservationExpired {
                reservation_id: rid(1),
                amount: tokens(1_000),
                expires_at: t(DEFAULT_TTL),
                at: t(DEFAULT_TTL),
            },
            consumed(1_000, DEFAULT_TTL),
        ]);
}
