//! Fixed window: at most `rate` units per epoch-aligned window of `period`.

use serde::{Deserialize, Serialize};

use super::{LimitSnapshot, Limiter, RateLimit, RetryAfter};
use crate::time::{DurationMs, Timestamp};

/// Admits `amount` when the current window's count leaves room for it.
///
/// Windows are aligned to the Unix epoch (not to the first request), so two replicas or a
/// replay agree on window boundaries from timestamps alone. Across a boundary up to twice
/// `rate` can pass in a short time: the known price of the fixed window.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FixedWindow {
    limit: RateLimit,
}

/// The window last admitted into and what it has admitted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct FixedWindowState {
    /// Start of the window `used` belongs to.
    pub window_start: Timestamp,
    /// Units admitted in that window.
    pub used: u64,
}

impl FixedWindow {
    /// A fixed window admitting `limit.rate()` per window of `limit.period()`.
    pub fn new(limit: RateLimit) -> Self {
        Self { limit }
    }

    /// `(window start, used)` as of `now`; a clock stepping back stays in the known window.
    fn current(&self, state: &FixedWindowState, now: Timestamp) -> (Timestamp, u64) {
        let start = now.floor_to(self.limit.period());
        if start > state.window_start {
            (start, 0)
        } else {
            (state.window_start, state.used)
        }
    }

    fn until_next_window(&self, window_start: Timestamp, now: Timestamp) -> DurationMs {
        window_start
            .saturating_add(self.limit.period())
            .saturating_duration_since(now)
    }
}

impl Limiter for FixedWindow {
    type State = FixedWindowState;

    fn check(&self, state: &Self::State, now: Timestamp, amount: u64) -> Result<(), RetryAfter> {
        if amount > self.limit.rate() {
            return Err(RetryAfter::Never);
        }
        let (start, used) = self.current(state, now);
        if used.saturating_add(amount) <= self.limit.rate() {
            return Ok(());
        }
        Err(RetryAfter::After(self.until_next_window(start, now)))
    }

    fn admit(&self, state: &mut Self::State, now: Timestamp, amount: u64) {
        let (start, used) = self.current(state, now);
        state.window_start = start;
        state.used = used.saturating_add(amount);
    }

    fn snapshot(&self, state: &Self::State, now: Timestamp) -> LimitSnapshot {
        let (start, used) = self.current(state, now);
        LimitSnapshot {
            limit: self.limit.rate(),
            remaining: self.limit.rate().saturating_sub(used),
            reset_after: if used == 0 {
                DurationMs::ZERO
            } else {
                self.until_next_window(start, now)
            },
        }
    }
}
