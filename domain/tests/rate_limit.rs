//! The three strategies by example: exact retry times, remaining and reset.

use domain::rate_limit::{
    FixedWindow, FixedWindowState, LeakyBucket, LeakyBucketState, TokenBucket, TokenBucketState,
};
use domain::{
    DurationMs, LimitSnapshot, Limiter, LimiterState, RateLimit, RateLimitStrategy, RetryAfter,
    Timestamp,
};

fn t(ms: i64) -> Timestamp {
    Timestamp::from_millis(ms).unwrap()
}

fn after(ms: u64) -> RetryAfter {
    RetryAfter::After(DurationMs::from_millis(ms).unwrap())
}

/// 10 units of burst, 10 per second: one unit every 100 ms.
fn ten_per_second() -> RateLimit {
    RateLimit::new(10, 10, DurationMs::SECOND).unwrap()
}

#[test]
fn a_leaky_bucket_admits_a_burst_up_to_capacity_then_drains_smoothly() {
    let bucket = LeakyBucket::new(ten_per_second());
    let mut s = LeakyBucketState::default();
    bucket.admit(&mut s, t(0), 10);
    assert_eq!(bucket.check(&s, t(0), 1), Err(after(100)));
    assert_eq!(bucket.check(&s, t(99), 1), Err(after(1)));
    assert_eq!(bucket.check(&s, t(100), 1), Ok(()));
    assert_eq!(bucket.check(&s, t(250), 3), Err(after(50)));
    assert_eq!(
        bucket.snapshot(&s, t(250)),
        LimitSnapshot {
            limit: 10,
            remaining: 2,
            reset_after: DurationMs::from_millis(750).unwrap(),
        }
    );
}

#[test]
fn an_amount_above_capacity_is_never_admitted() {
    let limit = ten_per_second();
    assert_eq!(
        LeakyBucket::new(limit).check(&LeakyBucketState::default(), t(0), 11),
        Err(RetryAfter::Never)
    );
    assert_eq!(
        TokenBucket::new(limit).check(&TokenBucketState::default(), t(0), 11),
        Err(RetryAfter::Never)
    );
    assert_eq!(
        FixedWindow::new(limit).check(&FixedWindowState::default(), t(0), 11),
        Err(RetryAfter::Never)
    );
}

#[test]
fn a_token_bucket_refills_one_whole_token_at_a_time() {
    // 3 tokens per second: a token every 333⅓ ms, kept exact without fractions.
    let bucket = TokenBucket::new(RateLimit::new(3, 3, DurationMs::SECOND).unwrap());
    let mut s = TokenBucketState::default();
    bucket.admit(&mut s, t(0), 3);
    assert_eq!(bucket.check(&s, t(0), 1), Err(after(334)));
    assert_eq!(bucket.check(&s, t(333), 1), Err(after(1)));
    assert_eq!(bucket.check(&s, t(334), 1), Ok(()));
    assert_eq!(bucket.check(&s, t(334), 2), Err(after(333)));
    assert_eq!(bucket.check(&s, t(1_000), 3), Ok(()));
    assert_eq!(bucket.snapshot(&s, t(500)).remaining, 1);
    assert_eq!(
        bucket.snapshot(&s, t(500)).reset_after,
        DurationMs::from_millis(500).unwrap()
    );
}

#[test]
fn a_fixed_window_resets_at_epoch_aligned_boundaries() {
    let window = FixedWindow::new(ten_per_second());
    let mut s = FixedWindowState::default();
    window.admit(&mut s, t(1_900), 10);
    assert_eq!(window.check(&s, t(1_950), 1), Err(after(50)));
    // The boundary lets a second full window through right away: the known trade-off.
    assert_eq!(window.check(&s, t(2_000), 10), Ok(()));
    assert_eq!(
        window.snapshot(&s, t(1_950)),
        LimitSnapshot {
            limit: 10,
            remaining: 0,
            reset_after: DurationMs::from_millis(50).unwrap(),
        }
    );
    assert_eq!(window.snapshot(&s, t(2_000)).reset_after, DurationMs::ZERO);
}

#[test]
fn a_clock_stepping_back_never_gives_capacity_back() {
    let limit = ten_per_second();
    for strategy in [
        RateLimitStrategy::LeakyBucket,
        RateLimitStrategy::TokenBucket,
        RateLimitStrategy::FixedWindow,
    ] {
        let mut s = LimiterState::fresh(strategy);
        s.admit(limit, t(5_000), 10);
        let retry_at = |now: i64| match s.check(limit, t(now), 1) {
            Err(RetryAfter::After(wait)) => now + wait.as_millis() as i64,
            other => panic!("{strategy:?} at {now}: expected a refusal, got {other:?}"),
        };
        // Asked earlier than the last admission, the answer points at the same instant.
        assert_eq!(retry_at(1_000), retry_at(5_000), "{strategy:?}");
        assert_eq!(
            s.check(limit, t(retry_at(1_000)), 1),
            Ok(()),
            "{strategy:?}"
        );
        assert_eq!(s.strategy(), strategy);
    }
}

#[test]
fn limiter_state_serialises_with_its_strategy() {
    let mut s = LimiterState::fresh(RateLimitStrategy::TokenBucket);
    s.admit(ten_per_second(), t(10), 4);
    let json = serde_json::to_value(s).unwrap();
    assert_eq!(json["strategy"], "TOKEN_BUCKET");
    assert_eq!(serde_json::from_value::<LimiterState>(json).unwrap(), s);
}
