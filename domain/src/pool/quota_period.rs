//! The periodic quota's current period: when it started and what was consumed in it.

use serde::{Deserialize, Serialize};

use crate::policy::PeriodicQuota;
use crate::time::{DurationMs, Timestamp};
use crate::tokens::{TokenTotal, Tokens};

/// A quota period and the tokens consumed in it.
///
/// Consumption counts in the period in which it is charged (settled or consumed), whenever
/// the hold was made. Periods roll over by themselves every `period` from `start`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct QuotaPeriod {
    /// When the period started.
    pub start: Timestamp,
    /// Tokens charged in it so far.
    pub consumed: TokenTotal,
}

impl QuotaPeriod {
    /// A fresh period starting at `start`.
    pub fn starting(start: Timestamp) -> Self {
        Self {
            start,
            consumed: TokenTotal::ZERO,
        }
    }

    /// The period in force at `now`: this one, or a fresh one if it has rolled over.
    ///
    /// Without a periodic quota there is no period length, so it never rolls.
    pub fn at(&self, quota: Option<&PeriodicQuota>, now: Timestamp) -> Self {
        let Some(quota) = quota else { return *self };
        let period = quota.period().as_millis();
        let elapsed = now.saturating_duration_since(self.start).as_millis();
        let rolled = elapsed / period;
        if rolled == 0 {
            return *self;
        }
        // `rolled * period <= elapsed`, so the new start is not after `now`.
        let offset = DurationMs::saturating_from_millis(rolled * period);
        Self::starting(self.start.saturating_add(offset))
    }

    /// When this period rolls over under `quota`.
    pub fn ends_at(&self, quota: &PeriodicQuota) -> Timestamp {
        self.start.saturating_add(quota.period())
    }

    /// Tokens of `quota` left in this period when `held` more are on hold.
    pub fn remaining(&self, quota: &PeriodicQuota, held: TokenTotal) -> Tokens {
        TokenTotal::from(quota.limit())
            .saturating_sub(self.consumed.saturating_add(held))
            .to_tokens_saturating()
    }
}
