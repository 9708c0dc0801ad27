//! ChangePolicy and ResetQuotaPeriod.

use domain::TokenPoolCommand::{ChangePolicy, ResetQuotaPeriod};
use domain::TokenPoolEvent::*;
use domain::TokenPoolRejection::*;
use domain::{LimitKind, RateLimitStrategy, RetryAfter, Tier};

use crate::support::*;

#[test]
fn changing_the_policy_records_the_new_tier_and_numbers() {
    let bigger = policy_with(|p| p.quota_cap = tokens(CAP * 2));
    let pool = given([provisioned()])
        .when(
            t(1_000),
            ChangePolicy {
                tier: Tier::Enterprise,
                policy: bigger,
            },
        )
        .then([PolicyChanged {
            tier: Tier::Enterprise,
            policy: bigger,
            at: t(1_000),
        }]);
    assert_eq!(pool.tier(), Some(Tier::Enterprise));
    assert_eq!(pool.policy(), Some(&bigger));
}

#[test]
fn changing_to_the_current_policy_changes_nothing() {
    given([provisioned()])
        .when(
            t(1_000),
            ChangePolicy {
                tier: Tier::Pro,
                policy: policy(),
            },
        )
        .then_nothing();
}

#[test]
fn a_limiter_whose_numbers_change_starts_fresh() {
    let one_per_minute = policy_with(|p| p.requests = limit(1, 1, 60_000));
    let two_per_minute = policy_with(|p| p.requests = limit(2, 2, 60_000));
    let history = [
        provisioned_with(one_per_minute),
        granted(1, 1_000),
        consumed(1, 0),
    ];
    given(history.clone())
        .when(t(1), consume(1))
        .then_rejected(RateLimited {
            limit: LimitKind::Requests,
            retry_after: RetryAfter::After(ms(59_999)),
        });
    let mut history = history.to_vec();
    history.push(PolicyChanged {
        tier: Tier::Pro,
        policy: two_per_minute,
        at: t(1),
    });
    let pool = given(history).state();
    let limits = pool.rate_limits_at(t(1)).expect("provisioned");
    assert_eq!(limits.requests.remaining, 2);
}

#[test]
fn a_new_strategy_applies_from_the_change_on() {
    let fixed = policy_with(|p| {
        p.strategy = RateLimitStrategy::FixedWindow;
        p.requests = limit(1, 1, 60_000);
    });
    let pool = given([
        provisioned(),
        PolicyChanged {
            tier: Tier::Pro,
            policy: fixed,
            at: t(0),
        },
        consumed(1, 30_000),
    ])
    .state();
    let limits = pool.rate_limits_at(t(45_000)).expect("provisioned");
    assert_eq!(limits.requests.remaining, 0);
    assert_eq!(limits.requests.reset_after, ms(15_000));
}

#[test]
fn resetting_the_quota_period_starts_a_new_one() {
    let daily = policy_with(|p| p.periodic_quota = Some(periodic(1_000, 86_400_000)));
    let history = [
        provisioned_with(daily),
        granted(1, 5_000),
        consumed(1_000, 10),
    ];
    given(history.clone())
        .when(t(2_000), consume(1))
        .then_rejected(PeriodicQuotaExhausted {
            requested: tokens(1),
            remaining: tokens(0),
            period_ends_at: t(86_400_000),
        });
    let pool = given(history.clone())
        .when(
            t(2_000),
            ResetQuotaPeriod {
                period_start: t(1_500),
            },
        )
        .then([QuotaPeriodReset {
            period_start: t(1_500),
            at: t(2_000),
        }]);
    assert_eq!(
        pool.quota_period_at(t(2_000)).map(|p| p.consumed.get()),
        Some(0)
    );

    let mut history = history.to_vec();
    history.push(QuotaPeriodReset {
        period_start: t(1_500),
        at: t(2_000),
    });
    given(history)
        .when(t(3_000), consume(1_000))
        .then([consumed(1_000, 3_000)]);
}

#[test]
fn resetting_to_the_current_or_an_earlier_start_changes_nothing() {
    let reset = QuotaPeriodReset {
        period_start: t(1_500),
        at: t(2_000),
    };
    given([provisioned(), reset.clone()])
        .when(
            t(3_000),
            ResetQuotaPeriod {
                period_start: t(1_500),
            },
        )
        .then_nothing();
    given([provisioned(), reset])
        .when(
            t(3_000),
            ResetQuotaPeriod {
                period_start: t(1_000),
            },
        )
        .then_nothing();
}

#[test]
fn a_reset_to_a_start_the_period_already_rolled_to_changes_nothing() {
    let daily = policy_with(|p| p.periodic_quota = Some(periodic(1_000, 86_400_000)));
    given([provisioned_with(daily)])
        .when(
            t(86_400_005),
            ResetQuotaPeriod {
                period_start: t(86_400_000),
            },
        )
        .then_nothing();
}

#[test]
fn a_period_cannot_start_in_the_future() {
    given([provisioned()])
        .when(
            t(1_000),
            ResetQuotaPeriod {
                period_start: t(1_001),
            },
        )
        .then_rejected(InvalidPeriodStart {
            period_start: t(1_001),
            now: t(1_000),
        });
}
