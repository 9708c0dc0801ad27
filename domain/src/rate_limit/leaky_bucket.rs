//! Leaky bucket as a meter: admissions pour into the bucket, which drains continuously.

use serde::{Deserialize, Serialize};

use super::{LimitSnapshot, Limiter, RateLimit, RetryAfter, ceil_millis, clamp_u64};
use crate::time::{DurationMs, Timestamp};

/// Admits `amount` when the bucket, drained since the last admission, has room for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct LeakyBucket {
    limit: RateLimit,
}

/// How full the bucket was when it was last poured into.
///
/// The level is kept in units × ms of period so that draining `rate` units per `period`
/// is exactly `rate` per millisecond: no fractions, no drift.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct LeakyBucketState {
    /// Level in units × ms of period, as of `updated_at`.
    pub level: u64,
    /// When `level` was last computed.
    pub updated_at: Timestamp,
}

impl LeakyBucket {
    /// A leaky bucket holding `limit.capacity()`, draining `limit.rate()` per period.
    pub fn new(limit: RateLimit) -> Self {
        Self { limit }
    }

    fn scaled(&self, units: u64) -> u128 {
        u128::from(units) * u128::from(self.limit.period().as_millis())
    }

    fn level_at(&self, state: &LeakyBucketState, now: Timestamp) -> u128 {
        let elapsed = now.saturating_duration_since(state.updated_at).as_millis();
        let drained = u128::from(self.limit.rate()) * u128::from(elapsed);
        u128::from(state.level).saturating_sub(drained)
    }
}

impl Limiter for LeakyBucket {
    type State = LeakyBucketState;

    fn check(&self, state: &Self::State, now: Timestamp, amount: u64) -> Result<(), RetryAfter> {
        if amount > self.limit.capacity() {
            return Err(RetryAfter::Never);
        }
        let needed = self.level_at(state, now) + self.scaled(amount);
        let room = self.scaled(self.limit.capacity());
        if needed <= room {
            return Ok(());
        }
        // The level only falls while nothing is admitted, so the first instant with room
        // is when the excess has drained — counted from the last update if `now` is before it.
        let drain = ceil_millis(needed - room, self.limit.rate());
        Err(RetryAfter::After(lag(state, now).saturating_add(drain)))
    }

    fn admit(&self, state: &mut Self::State, now: Timestamp, amount: u64) {
        let level = self.level_at(state, now) + self.scaled(amount);
        state.level = clamp_u64(level);
        state.updated_at = state.updated_at.max(now);
    }

    fn snapshot(&self, state: &Self::State, now: Timestamp) -> LimitSnapshot {
        let level = self.level_at(state, now);
        let room = self.scaled(self.limit.capacity()).saturating_sub(level);
        let period = u128::from(self.limit.period().as_millis());
        LimitSnapshot {
            limit: self.limit.capacity(),
            remaining: clamp_u64(room / period),
            reset_after: match level {
                0 => DurationMs::ZERO,
                _ => lag(state, now).saturating_add(ceil_millis(level, self.limit.rate())),
            },
        }
    }
}

/// How far `now` is behind the last update (a clock that stepped back), else zero.
fn lag(state: &LeakyBucketState, now: Timestamp) -> DurationMs {
    state.updated_at.saturating_duration_since(now)
}
