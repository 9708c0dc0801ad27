//! The state of a provisioned pool: ledger, holds, grants, limiters, quota period.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::grants::GrantRecord;
use super::limiters::PoolLimiters;
use super::quota_period::QuotaPeriod;
use super::reservations::{OpenReservation, ResolvedLog};
use crate::ids::{GrantId, ReservationId};
use crate::policy::EffectivePolicy;
use crate::pool_id::PoolId;
use crate::tier::Tier;
use crate::time::Timestamp;
use crate::tokens::{TokenTotal, Tokens};

/// The pool's token ledger; its fields and invariant are described in the `pool` module.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub(crate) struct Ledger {
    pub(crate) granted: TokenTotal,
    pub(crate) consumed: TokenTotal,
    pub(crate) reserved: TokenTotal,
    pub(crate) overdraft: TokenTotal,
}

impl Ledger {
    /// Tokens free for new holds if `reserved` were on hold instead of `self.reserved`.
    ///
    /// Never above `unspent`, which only a grant raises and only up to the cap then in
    /// force (at most `Tokens::MAX`), so the conversion never actually saturates.
    pub(crate) fn available_with(&self, reserved: TokenTotal) -> Tokens {
        self.granted
            .saturating_sub(self.consumed)
            .saturating_sub(reserved)
            .saturating_sub(self.overdraft)
            .to_tokens_saturating()
    }

    /// Tokens free for new holds.
    pub(crate) fn available(&self) -> Tokens {
        self.available_with(self.reserved)
    }

    /// Granted, not consumed and not owed back: what the quota cap limits (holds included).
    pub(crate) fn unspent(&self) -> TokenTotal {
        self.granted
            .saturating_sub(self.consumed)
            .saturating_sub(self.overdraft)
    }
}

/// Everything a provisioned pool knows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct PoolState {
    pub(crate) pool: PoolId,
    pub(crate) tier: Tier,
    pub(crate) policy: EffectivePolicy,
    pub(crate) ledger: Ledger,
    /// Open holds by id (a `BTreeMap` so iteration, snapshots and equality are deterministic).
    pub(crate) open: BTreeMap<ReservationId, OpenReservation>,
    /// Recently resolved holds, for exactly-once answers to retries.
    pub(crate) resolved: ResolvedLog,
    /// Every grant seen, for idempotency and revocation.
    pub(crate) grants: BTreeMap<GrantId, GrantRecord>,
    pub(crate) limiters: PoolLimiters,
    pub(crate) quota_period: QuotaPeriod,
}

impl PoolState {
    pub(crate) fn new(pool: PoolId, tier: Tier, policy: EffectivePolicy, at: Timestamp) -> Self {
        Self {
            pool,
            tier,
            policy,
            ledger: Ledger::default(),
            open: BTreeMap::new(),
            resolved: ResolvedLog::default(),
            grants: BTreeMap::new(),
            limiters: PoolLimiters::fresh(policy.strategy),
            quota_period: QuotaPeriod::starting(at),
        }
    }

    /// Open holds that have lapsed at `now`, in the order their expiries are recorded.
    pub(crate) fn due_for_expiry(&self, now: Timestamp) -> Vec<&OpenReservation> {
        let mut due: Vec<_> = self
            .open
            .values()
            .filter(|r| r.is_expired_at(now))
            .collect();
        due.sort_by_key(|r| (r.expires_at, r.id));
        due
    }

    /// The quota period in force at `now`.
    pub(crate) fn quota_period_at(&self, now: Timestamp) -> QuotaPeriod {
        self.quota_period
            .at(self.policy.periodic_quota.as_ref(), now)
    }
}
