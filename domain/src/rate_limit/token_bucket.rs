//! Token bucket: whole tokens are added one at a time, `rate` per `period`, up to capacity.

use serde::{Deserialize, Serialize};

use super::{LimitSnapshot, Limiter, RateLimit, RetryAfter, ceil_millis, clamp_u64};
use crate::time::{DurationMs, Timestamp};

/// Admits `amount` when at least that many whole tokens are in the bucket.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TokenBucket {
    limit: RateLimit,
}

/// What the bucket lacked when it was last drawn from.
///
/// Stored as "missing" rather than "present" so the default state is a full bucket without
/// knowing the capacity. `progress` is refill accumulated towards the next whole token, in
/// rate × ms; a token is complete when it reaches the period length.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct TokenBucketState {
    /// Whole tokens below capacity, as of `updated_at`.
    pub missing: u64,
    /// Refill progress towards the next token, in rate × ms (always below the period).
    pub progress: u64,
    /// When the state was last computed.
    pub updated_at: Timestamp,
}

impl TokenBucket {
    /// A token bucket holding `limit.capacity()`, refilled `limit.rate()` per period.
    pub fn new(limit: RateLimit) -> Self {
        Self { limit }
    }

    /// `(missing, progress)` after refilling up to `now`.
    fn refilled(&self, state: &TokenBucketState, now: Timestamp) -> (u128, u128) {
        let period = u128::from(self.limit.period().as_millis());
        let elapsed = now.saturating_duration_since(state.updated_at).as_millis();
        let total =
            u128::from(state.progress) + u128::from(self.limit.rate()) * u128::from(elapsed);
        let added = total / period;
        let missing = u128::from(state.missing);
        if added >= missing {
            // A full bucket does not bank progress towards tokens it cannot hold.
            (0, 0)
        } else {
            (missing - added, total % period)
        }
    }

    /// Time for `tokens` more whole tokens to arrive, given `progress` towards the next.
    fn time_for(&self, tokens: u128, progress: u128) -> DurationMs {
        let period = u128::from(self.limit.period().as_millis());
        ceil_millis(
            (tokens * period).saturating_sub(progress),
            self.limit.rate(),
        )
    }
}

impl Limiter for TokenBucket {
    type State = TokenBucketState;

    fn check(&self, state: &Self::State, now: Timestamp, amount: u64) -> Result<(), RetryAfter> {
        if amount > self.limit.capacity() {
            return Err(RetryAfter::Never);
        }
        let (missing, progress) = self.refilled(state, now);
        // Whole tokens still to arrive before `amount` fits.
        let short =
            (missing + u128::from(amount)).saturating_sub(u128::from(self.limit.capacity()));
        if short == 0 {
            return Ok(());
        }
        let lag = state.updated_at.saturating_duration_since(now);
        Err(RetryAfter::After(
            lag.saturating_add(self.time_for(short, progress)),
        ))
    }

    fn admit(&self, state: &mut Self::State, now: Timestamp, amount: u64) {
        let (missing, progress) = self.refilled(state, now);
        state.missing = clamp_u64(missing + u128::from(amount));
        state.progress = clamp_u64(progress);
        state.updated_at = state.updated_at.max(now);
    }

    fn snapshot(&self, state: &Self::State, now: Timestamp) -> LimitSnapshot {
        let (missing, progress) = self.refilled(state, now);
        LimitSnapshot {
            limit: self.limit.capacity(),
            remaining: clamp_u64(u128::from(self.limit.capacity()).saturating_sub(missing)),
            reset_after: match missing {
                0 => DurationMs::ZERO,
                _ => state
                    .updated_at
                    .saturating_duration_since(now)
                    .saturating_add(self.time_for(missing, progress)),
            },
        }
    }
}
