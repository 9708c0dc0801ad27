//! Every strategy stays within its bound over any window, answers retries exactly, and
//! the leaky and token buckets (mirror images) agree on every decision.

use domain::{DurationMs, LimiterState, RateLimit, RateLimitStrategy, RetryAfter, Timestamp};
use proptest::prelude::*;

const STRATEGIES: [RateLimitStrategy; 3] = [
    RateLimitStrategy::LeakyBucket,
    RateLimitStrategy::TokenBucket,
    RateLimitStrategy::FixedWindow,
];

fn rate_limit() -> impl Strategy<Value = RateLimit> {
    (1..40u64, 1..40u64, 1..5_000u64).prop_map(|(capacity, rate, period)| {
        RateLimit::new(capacity, rate, DurationMs::from_millis(period).unwrap()).unwrap()
    })
}

fn attempts() -> impl Strategy<Value = Vec<(u64, u64)>> {
    prop::collection::vec((0..3_000u64, 0..45u64), 1..60)
}

fn at(ms: u64) -> Timestamp {
    Timestamp::from_millis(ms as i64).unwrap()
}

/// Largest amount the strategy can ever admit at once.
fn ceiling(strategy: RateLimitStrategy, limit: RateLimit) -> u64 {
    match strategy {
        RateLimitStrategy::FixedWindow => limit.rate(),
        _ => limit.capacity(),
    }
}

/// Runs `attempts`, admitting whatever passes; returns the admitted `(time, amount)`s and
/// checks every answer on the way.
fn run(
    strategy: RateLimitStrategy,
    limit: RateLimit,
    attempts: &[(u64, u64)],
) -> Result<Vec<(u64, u64)>, TestCaseError> {
    let mut state = LimiterState::fresh(strategy);
    let mut admitted = Vec::new();
    let mut now = 0;
    for &(dt, amount) in attempts {
        now += dt;
        match state.check(limit, at(now), amount) {
            Ok(()) => {
                state.admit(limit, at(now), amount);
                admitted.push((now, amount));
            }
            Err(RetryAfter::Never) => {
                prop_assert!(amount > ceiling(strategy, limit), "Never for {amount}");
            }
            Err(RetryAfter::After(wait)) => {
                let wait = wait.as_millis();
                prop_assert!(amount <= ceiling(strategy, limit));
                prop_assert!(wait >= 1);
                prop_assert_eq!(
                    state.check(limit, at(now + wait), amount),
                    Ok(()),
                    "passes after the wait"
                );
                prop_assert!(
                    state.check(limit, at(now + wait - 1), amount).is_err(),
                    "not a ms earlier"
                );
            }
        }
        let snap = state.snapshot(limit, at(now));
        prop_assert!(snap.remaining <= snap.limit);
        prop_assert_eq!(
            state.check(limit, at(now), snap.remaining),
            Ok(()),
            "remaining is admissible"
        );
        if snap.remaining < snap.limit {
            prop_assert!(
                state.check(limit, at(now), snap.remaining + 1).is_err(),
                "remaining is the most"
            );
        }
        let full = state.snapshot(limit, at(now + snap.reset_after.as_millis()));
        prop_assert_eq!(full.remaining, full.limit, "full again after reset_after");
    }
    Ok(admitted)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn buckets_never_admit_more_than_capacity_plus_rate_times_elapsed(
        limit in rate_limit(),
        attempts in attempts(),
    ) {
        for strategy in [RateLimitStrategy::LeakyBucket, RateLimitStrategy::TokenBucket] {
            let admitted = run(strategy, limit, &attempts)?;
            let period = u128::from(limit.period().as_millis());
            for i in 0..admitted.len() {
                let mut sum = 0u128;
                for j in i..admitted.len() {
                    sum += u128::from(admitted[j].1);
                    let elapsed = u128::from(admitted[j].0 - admitted[i].0);
                    // sum <= capacity + rate * elapsed / period, without division.
                    prop_assert!(
                        sum * period <= u128::from(limit.capacity()) * period + u128::from(limit.rate()) * elapsed,
                        "{strategy:?} admitted {sum} in {elapsed} ms"
                    );
                }
            }
        }
    }

    #[test]
    fn a_fixed_window_never_admits_more_than_its_rate_per_window_touched(
        limit in rate_limit(),
        attempts in attempts(),
    ) {
        let admitted = run(RateLimitStrategy::FixedWindow, limit, &attempts)?;
        let period = limit.period().as_millis();
        for i in 0..admitted.len() {
            let mut sum = 0u64;
            for j in i..admitted.len() {
                sum += admitted[j].1;
                let windows = admitted[j].0 / period - admitted[i].0 / period + 1;
                prop_assert!(sum <= limit.rate() * windows);
                // Hence at most 2 × rate + rate × elapsed / period over any interval.
                let elapsed = admitted[j].0 - admitted[i].0;
                prop_assert!(sum * period <= 2 * limit.rate() * period + limit.rate() * elapsed);
            }
        }
    }

    #[test]
    fn leaky_and_token_buckets_make_identical_decisions(
        limit in rate_limit(),
        attempts in attempts(),
    ) {
        let mut leaky = LimiterState::fresh(RateLimitStrategy::LeakyBucket);
        let mut token = LimiterState::fresh(RateLimitStrategy::TokenBucket);
        let mut now = 0;
        for (dt, amount) in attempts {
            now += dt;
            let decision = leaky.check(limit, at(now), amount);
            prop_assert_eq!(decision, token.check(limit, at(now), amount));
            prop_assert_eq!(leaky.snapshot(limit, at(now)), token.snapshot(limit, at(now)));
            if decision.is_ok() {
                leaky.admit(limit, at(now), amount);
                token.admit(limit, at(now), amount);
            }
        }
    }

    #[test]
    fn limiter_state_survives_a_serde_round_trip(
        limit in rate_limit(),
        attempts in attempts(),
    ) {
        for strategy in STRATEGIES {
            let mut state = LimiterState::fresh(strategy);
            let mut now = 0;
            for &(dt, amount) in &attempts {
                now += dt;
                if state.check(limit, at(now), amount).is_ok() {
                    state.admit(limit, at(now), amount);
                }
            }
            let json = serde_json::to_string(&state).unwrap();
            prop_assert_eq!(serde_json::from_str::<LimiterState>(&json).unwrap(), state);
        }
    }
}
