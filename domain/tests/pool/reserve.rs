//! Reserve: availability, TTLs, idempotency, expiry of lapsed holds, rate limits, periodic quota.

use domain::TokenPoolEvent::*;
use domain::TokenPoolRejection::*;
use domain::{
    AmountField, ConflictSubject, LimitKind, RateLimitStrategy, RejectionKind, RetryAfter,
};

use crate::support::*;

#[test]
fn a_reservation_holds_tokens_until_the_default_ttl() {
    let pool = given([provisioned(), granted(1, 500)])
        .when(t(1_000), reserve(7, 300))
        .then([TokensReserved {
            reservation_id: rid(7),
            amount: tokens(300),
            expires_at: t(1_000 + DEFAULT_TTL),
            holder: Some(test_holder()),
            at: t(1_000),
        }]);
    assert_eq!(pool.reserved().get(), 300);
    assert_eq!(pool.available(), tokens(200));
    assert_eq!(
        pool.reservation(&rid(7)).map(|r| r.amount),
        Some(tokens(300))
    );
}

#[test]
fn a_reservation_may_ask_for_a_shorter_ttl() {
    given([provisioned(), granted(1, 500)])
        .when(t(1_000), reserve_for(7, 300, 5_000))
        .then([TokensReserved {
            reservation_id: rid(7),
            amount: tokens(300),
            expires_at: t(6_000),
            holder: Some(test_holder()),
            at: t(1_000),
        }]);
}

#[test]
fn a_longer_ttl_than_the_policy_allows_is_capped() {
    given([provisioned(), granted(1, 500)])
        .when(t(1_000), reserve_for(7, 300, 10_000_000))
        .then([TokensReserved {
            reservation_id: rid(7),
            amount: tokens(300),
            expires_at: t(1_000 + MAX_TTL),
            holder: Some(test_holder()),
            at: t(1_000),
        }]);
}

#[test]
fn zero_tokens_or_a_zero_ttl_are_invalid() {
    given([provisioned(), granted(1, 500)])
        .when(t(1_000), reserve(7, 0))
        .then_rejected(InvalidAmount {
            field: AmountField::ReserveAmount,
        });
    given([provisioned(), granted(1, 500)])
        .when(t(1_000), reserve_for(7, 10, 0))
        .then_rejected(InvalidAmount {
            field: AmountField::ReservationTtl,
        });
}

#[test]
fn more_than_is_available_is_refused_as_quota_exhausted() {
    given([provisioned(), granted(1, 500), reserved(1, 400, 0)])
        .when(t(1_000), reserve(2, 101))
        .then_rejected(QuotaExhausted {
            requested: tokens(101),
            available: tokens(100),
        });
}

#[test]
fn all_that_is_available_can_be_held() {
    given([provisioned(), granted(1, 500), reserved(1, 400, 0)])
        .when(t(1_000), reserve(2, 100))
        .then([TokensReserved {
            reservation_id: rid(2),
            amount: tokens(100),
            expires_at: t(1_000 + DEFAULT_TTL),
            holder: Some(test_holder()),
            at: t(1_000),
        }]);
}

#[test]
fn repeating_a_reservation_changes_nothing() {
    given([provisioned(), granted(1, 500), reserved(1, 100, 0)])
        .when(t(1_000), reserve(1, 100))
        .then_nothing();
}

#[test]
fn repeating_a_reservation_with_its_effective_ttl_changes_nothing() {
    given([provisioned(), granted(1, 500), reserved(1, 100, 0)])
        .when(t(1_000), reserve_for(1, 100, DEFAULT_TTL as u64))
        .then_nothing();
}

#[test]
fn repeating_a_reservation_after_it_was_settled_changes_nothing() {
    given([
        provisioned(),
        granted(1, 500),
        reserved(1, 100, 0),
        settled(1, 100, 40, 10),
    ])
    .when(t(1_000), reserve(1, 100))
    .then_nothing();
}

#[test]
fn reusing_a_reservation_id_with_another_amount_is_a_conflict() {
    let conflict = Conflict {
        subject: ConflictSubject::Reservation(rid(1)),
    };
    given([provisioned(), granted(1, 500), reserved(1, 100, 0)])
        .when(t(1_000), reserve(1, 101))
        .then_rejected(conflict.clone());
    given([
        provisioned(),
        granted(1, 500),
        reserved(1, 100, 0),
        released(1, 100, 5),
    ])
    .when(t(1_000), reserve(1, 101))
    .then_rejected(conflict);
}

#[test]
fn reusing_a_reservation_id_with_another_ttl_is_a_conflict() {
    given([provisioned(), granted(1, 500), reserved(1, 100, 0)])
        .when(t(1_000), reserve_for(1, 100, 5_000))
        .then_rejected(Conflict {
            subject: ConflictSubject::Reservation(rid(1)),
        });
}

#[test]
fn lapsed_holds_are_expired_first_so_they_never_block() {
    // Hold 1 lapses at exactly 60_000, the instant of the new reserve.
    given([provisioned(), granted(1, 500), reserved(1, 400, 0)])
        .when(t(60_000), reserve(2, 500))
        .then([
            ReservationExpired {
                reservation_id: rid(1),
                amount: tokens(400),
                expires_at: t(60_000),
                at: t(60_000),
            },
            TokensReserved {
                reservation_id: rid(2),
                amount: tokens(500),
                expires_at: t(120_000),
                holder: Some(test_holder()),
                at: t(60_000),
            },
        ]);
}

#[test]
fn a_hold_is_not_expired_one_millisecond_before_its_expiry() {
    given([provisioned(), granted(1, 500), reserved(1, 400, 0)])
        .when(t(59_999), reserve(2, 500))
        .then_rejected(QuotaExhausted {
            requested: tokens(500),
            available: tokens(100),
        });
}

#[test]
fn the_request_limit_says_exactly_when_to_retry() {
    // Two requests per minute, leaky: one drains every 30 s.
    let two_per_minute = policy_with(|p| p.requests = limit(2, 2, 60_000));
    let history = [
        provisioned_with(two_per_minute),
        granted(1, 500),
        reserved(1, 10, 0),
        reserved(2, 10, 0),
    ];
    given(history.clone())
        .when(t(0), reserve(3, 10))
        .then_rejected(RateLimited {
            limit: LimitKind::Requests,
            retry_after: RetryAfter::After(ms(30_000)),
        });
    given(history.clone())
        .when(t(10_000), reserve(3, 10))
        .then_rejected(RateLimited {
            limit: LimitKind::Requests,
            retry_after: RetryAfter::After(ms(20_000)),
        });
    given(history)
        .when(t(30_000), reserve(3, 10))
        .then([TokensReserved {
            reservation_id: rid(3),
            amount: tokens(10),
            expires_at: t(30_000 + DEFAULT_TTL),
            holder: Some(test_holder()),
            at: t(30_000),
        }]);
}

#[test]
fn the_token_limit_counts_the_amount_held() {
    let thousand_per_minute = policy_with(|p| p.tokens = limit(1_000, 1_000, 60_000));
    given([
        provisioned_with(thousand_per_minute),
        granted(1, 5_000),
        reserved(1, 1_000, 0),
    ])
    .when(t(0), reserve(2, 1))
    .then_rejected(RateLimited {
        limit: LimitKind::Tokens,
        retry_after: RetryAfter::After(ms(60)),
    });
}

#[test]
fn an_amount_above_the_token_capacity_can_never_pass() {
    let thousand_per_minute = policy_with(|p| p.tokens = limit(1_000, 1_000, 60_000));
    given([provisioned_with(thousand_per_minute), granted(1, 5_000)])
        .when(t(0), reserve(1, 1_001))
        .then_rejected(RateLimited {
            limit: LimitKind::Tokens,
            retry_after: RetryAfter::Never,
        });
}

#[test]
fn when_both_limits_refuse_the_later_one_is_reported() {
    let tight = policy_with(|p| {
        p.requests = limit(1, 1, 60_000);
        p.tokens = limit(100, 100, 60_000);
    });
    // Requests free up after 60 s; 50 more tokens after 30 s: the request waits 60 s.
    given([
        provisioned_with(tight),
        granted(1, 5_000),
        reserved(1, 100, 0),
    ])
    .when(t(0), reserve(2, 50))
    .then_rejected(RateLimited {
        limit: LimitKind::Requests,
        retry_after: RetryAfter::After(ms(60_000)),
    });
}

#[test]
fn a_fixed_window_refuses_until_the_next_window() {
    let fixed = policy_with(|p| {
        p.strategy = RateLimitStrategy::FixedWindow;
        p.requests = limit(1, 1, 60_000);
    });
    given([
        provisioned_with(fixed),
        granted(1, 5_000),
        reserved(1, 10, 45_000),
    ])
    .when(t(50_000), reserve(2, 10))
    .then_rejected(RateLimited {
        limit: LimitKind::Requests,
        retry_after: RetryAfter::After(ms(10_000)),
    });
}

#[test]
fn the_periodic_quota_counts_consumed_and_held_tokens() {
    let daily = policy_with(|p| p.periodic_quota = Some(periodic(1_000, 86_400_000)));
    given([
        provisioned_with(daily),
        granted(1, 10_000),
        consumed(600, 10),
        reserved(1, 300, 20),
    ])
    .when(t(1_000), reserve(2, 101))
    .then_rejected(PeriodicQuotaExhausted {
        requested: tokens(101),
        remaining: tokens(100),
        period_ends_at: t(86_400_000),
    });
}

#[test]
fn the_periodic_quota_rolls_over_by_itself() {
    let daily = policy_with(|p| p.periodic_quota = Some(periodic(1_000, 86_400_000)));
    given([
        provisioned_with(daily),
        granted(1, 10_000),
        consumed(1_000, 10),
    ])
    .when(t(86_400_000), reserve(2, 1_000))
    .then([TokensReserved {
        reservation_id: rid(2),
        amount: tokens(1_000),
        expires_at: t(86_400_000 + DEFAULT_TTL),
        holder: Some(test_holder()),
        at: t(86_400_000),
    }]);
}

#[test]
fn quota_and_rate_refusals_are_decisions_the_rest_are_errors() {
    let quota = QuotaExhausted {
        requested: tokens(1),
        available: tokens(0),
    };
    let rate = RateLimited {
        limit: LimitKind::Requests,
        retry_after: RetryAfter::Never,
    };
    assert_eq!(quota.kind(), RejectionKind::Decision);
    assert!(rate.is_decision());
    assert_eq!(PoolNotProvisioned.kind(), RejectionKind::Error);
    assert!(
        !ReservationNotFound {
            reservation_id: rid(1)
        }
        .is_decision()
    );
    assert_eq!(quota.code(), "quota_exhausted");
}
