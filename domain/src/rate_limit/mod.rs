//! Rate-limit strategies as pure values over explicit state.
//!
//! A limiter is the limit's numbers ([`RateLimit`]) plus a state that is a pure function of
//! the times and amounts it admitted, so replaying the admitting events rebuilds it. All
//! arithmetic is integer: bucket levels are kept in units × milliseconds of period, which
//! makes every answer exact — [`RetryAfter::After`] is the smallest wait after which the
//! same amount passes, not an estimate.
//!
//! Leaky bucket (as a meter) and token bucket are the same policer seen from two sides:
//! one tracks how full the bucket is, the other how many whole tokens are left. Both are
//! offered because operators ask for them by name; a property test checks that they admit
//! exactly the same sequences. The fixed window is genuinely different: it allows up to
//! twice its rate across a window boundary, in exchange for the simplest possible state.
//!
//! Instants earlier than the state's last update (a clock stepping back) are treated as
//! that last update: a limiter never gives back capacity because time ran backwards, and a
//! retry time given at such an instant includes the wait until the last update.

mod fixed_window;
mod leaky_bucket;
mod limit;
mod token_bucket;

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::time::{DurationMs, Timestamp};

pub use fixed_window::{FixedWindow, FixedWindowState};
pub use leaky_bucket::{LeakyBucket, LeakyBucketState};
pub use limit::{RateLimit, RateLimitError};
pub use token_bucket::{TokenBucket, TokenBucketState};

/// Which algorithm a pool's limiters use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum RateLimitStrategy {
    /// Smooth drain at `rate` per `period`, bursts up to `capacity`.
    LeakyBucket,
    /// Whole tokens refilled at `rate` per `period`, bursts up to `capacity`.
    TokenBucket,
    /// At most `rate` per epoch-aligned window of `period`.
    FixedWindow,
}

/// Which of a pool's two limits a figure is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum LimitKind {
    /// Requests: every reserve or consume counts one.
    Requests,
    /// Tokens: every reserve or consume counts its amount.
    Tokens,
}

impl fmt::Display for LimitKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Requests => "requests",
            Self::Tokens => "tokens",
        })
    }
}

/// When a refused amount would be admitted, if nothing else is admitted meanwhile.
///
/// Ordered so that the later answer is the greater: `Never` is after every `After`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum RetryAfter {
    /// Exactly this long from now; one millisecond less is still too early.
    After(DurationMs),
    /// Never: the amount is larger than the limit can ever hold.
    Never,
}

impl fmt::Display for RetryAfter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::After(d) => write!(f, "retry after {} ms", d.as_millis()),
            Self::Never => f.write_str("the amount exceeds the limit and can never pass"),
        }
    }
}

/// A limiter at one instant, as rate-limit response headers need it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct LimitSnapshot {
    /// The limit (`x-ratelimit-limit-*`): bucket capacity, or a window's allowance.
    pub limit: u64,
    /// Units that would be admitted right now (`x-ratelimit-remaining-*`).
    pub remaining: u64,
    /// Time until the limiter is back to full (`x-ratelimit-reset-*`).
    pub reset_after: DurationMs,
}

/// A rate-limit strategy: decides over an explicit state, never holding state itself.
pub trait Limiter {
    /// What the strategy remembers of the admissions so far.
    type State;

    /// Whether `amount` may be admitted at `now`; if not, when exactly it could be.
    fn check(&self, state: &Self::State, now: Timestamp, amount: u64) -> Result<(), RetryAfter>;

    /// Records that `amount` was admitted at `now` (callers `check` first).
    fn admit(&self, state: &mut Self::State, now: Timestamp, amount: u64);

    /// The limit, what remains and when it is full again, at `now`.
    fn snapshot(&self, state: &Self::State, now: Timestamp) -> LimitSnapshot;
}

/// The state of one limiter under whichever strategy was chosen; the variant is the choice.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "strategy", rename_all = "SCREAMING_SNAKE_CASE")]
pub enum LimiterState {
    /// State of a [`LeakyBucket`].
    LeakyBucket(LeakyBucketState),
    /// State of a [`TokenBucket`].
    TokenBucket(TokenBucketState),
    /// State of a [`FixedWindow`].
    FixedWindow(FixedWindowState),
}

impl LimiterState {
    /// A limiter that has admitted nothing yet (full capacity available).
    pub fn fresh(strategy: RateLimitStrategy) -> Self {
        match strategy {
            RateLimitStrategy::LeakyBucket => Self::LeakyBucket(LeakyBucketState::default()),
            RateLimitStrategy::TokenBucket => Self::TokenBucket(TokenBucketState::default()),
            RateLimitStrategy::FixedWindow => Self::FixedWindow(FixedWindowState::default()),
        }
    }

    /// The strategy this state belongs to.
    pub fn strategy(&self) -> RateLimitStrategy {
        match self {
            Self::LeakyBucket(_) => RateLimitStrategy::LeakyBucket,
            Self::TokenBucket(_) => RateLimitStrategy::TokenBucket,
            Self::FixedWindow(_) => RateLimitStrategy::FixedWindow,
        }
    }

    /// [`Limiter::check`] with this state's strategy and `limit`.
    pub fn check(&self, limit: RateLimit, now: Timestamp, amount: u64) -> Result<(), RetryAfter> {
        match self {
            Self::LeakyBucket(s) => LeakyBucket::new(limit).check(s, now, amount),
            Self::TokenBucket(s) => TokenBucket::new(limit).check(s, now, amount),
            Self::FixedWindow(s) => FixedWindow::new(limit).check(s, now, amount),
        }
    }

    /// [`Limiter::admit`] with this state's strategy and `limit`.
    pub fn admit(&mut self, limit: RateLimit, now: Timestamp, amount: u64) {
        match self {
            Self::LeakyBucket(s) => LeakyBucket::new(limit).admit(s, now, amount),
            Self::TokenBucket(s) => TokenBucket::new(limit).admit(s, now, amount),
            Self::FixedWindow(s) => FixedWindow::new(limit).admit(s, now, amount),
        }
    }

    /// [`Limiter::snapshot`] with this state's strategy and `limit`.
    pub fn snapshot(&self, limit: RateLimit, now: Timestamp) -> LimitSnapshot {
        match self {
            Self::LeakyBucket(s) => LeakyBucket::new(limit).snapshot(s, now),
            Self::TokenBucket(s) => TokenBucket::new(limit).snapshot(s, now),
            Self::FixedWindow(s) => FixedWindow::new(limit).snapshot(s, now),
        }
    }
}

/// Milliseconds, rounded up, for `scaled` units to pass at `rate` units per ms of period.
fn ceil_millis(scaled: u128, rate: u64) -> DurationMs {
    let ms = scaled.div_ceil(u128::from(rate.max(1)));
    DurationMs::saturating_from_millis(u64::try_from(ms).unwrap_or(u64::MAX))
}

/// `value`, clamped into a `u64`.
fn clamp_u64(value: u128) -> u64 {
    u64::try_from(value).unwrap_or(u64::MAX)
}
