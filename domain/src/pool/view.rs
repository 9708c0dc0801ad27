//! Read-only questions a view or the gateway asks of a pool.

use super::TokenPool;
use super::grants::GrantRecord;
use super::limiters::PoolRateLimits;
use super::quota_period::QuotaPeriod;
use super::reservations::{OpenReservation, ResolvedReservation};
use crate::ids::{GrantId, ReservationId};
use crate::policy::EffectivePolicy;
use crate::pool_id::PoolId;
use crate::rate_limit::{LimitKind, RetryAfter};
use crate::tier::Tier;
use crate::time::Timestamp;
use crate::tokens::{TokenTotal, Tokens};

impl TokenPool {
    /// Whether the pool has been provisioned.
    pub fn is_provisioned(&self) -> bool {
        self.state.is_some()
    }

    /// The pool's id, once provisioned.
    pub fn pool_id(&self) -> Option<&PoolId> {
        self.state.as_ref().map(|s| &s.pool)
    }

    /// The pool's tier, once provisioned.
    pub fn tier(&self) -> Option<Tier> {
        self.state.as_ref().map(|s| s.tier)
    }

    /// The policy in force, once provisioned.
    pub fn policy(&self) -> Option<&EffectivePolicy> {
        self.state.as_ref().map(|s| &s.policy)
    }

    /// Tokens granted and not taken back (includes tokens still owed as overdraft).
    pub fn granted(&self) -> TokenTotal {
        self.ledger().granted
    }

    /// Tokens charged over the pool's lifetime.
    pub fn consumed(&self) -> TokenTotal {
        self.ledger().consumed
    }

    /// Tokens on hold in open reservations (including lapsed ones not yet expired by event).
    pub fn reserved(&self) -> TokenTotal {
        self.ledger().reserved
    }

    /// Revoked tokens that were in use when revoked; later grants repay them first.
    pub fn overdraft(&self) -> TokenTotal {
        self.ledger().overdraft
    }

    /// Tokens free for new holds, as recorded.
    pub fn available(&self) -> Tokens {
        self.ledger().available()
    }

    /// Tokens a reserve at `now` could take: lapsed holds count as free, as they would be.
    pub fn available_at(&self, now: Timestamp) -> Tokens {
        let Some(s) = &self.state else {
            return Tokens::ZERO;
        };
        let lapsed = s
            .due_for_expiry(now)
            .iter()
            .fold(TokenTotal::ZERO, |sum, r| sum.saturating_add(r.amount));
        s.ledger
            .available_with(s.ledger.reserved.saturating_sub(lapsed))
    }

    /// Open holds in id order.
    pub fn open_reservations(&self) -> impl Iterator<Item = &OpenReservation> {
        self.state.iter().flat_map(|s| s.open.values())
    }

    /// One open hold.
    pub fn reservation(&self, id: &ReservationId) -> Option<&OpenReservation> {
        self.state.as_ref().and_then(|s| s.open.get(id))
    }

    /// One recently resolved hold (see `reservations` for how long they are kept).
    pub fn resolved_reservation(&self, id: &ReservationId) -> Option<&ResolvedReservation> {
        self.state.as_ref().and_then(|s| s.resolved.get(id))
    }

    /// How many resolved holds are remembered.
    pub fn resolved_count(&self) -> usize {
        self.state.as_ref().map_or(0, |s| s.resolved.len())
    }

    /// One grant.
    pub fn grant(&self, id: &GrantId) -> Option<&GrantRecord> {
        self.state.as_ref().and_then(|s| s.grants.get(id))
    }

    /// Both rate limits at `now` (limit, remaining, time to full), once provisioned.
    pub fn rate_limits_at(&self, now: Timestamp) -> Option<PoolRateLimits> {
        self.state
            .as_ref()
            .map(|s| s.limiters.snapshot(&s.policy, now))
    }

    /// Which limit refuses a request of `tokens` at `now` and for how long, if one does
    /// (the longer wait when both do); `None` when it would pass or the pool does not exist.
    pub fn rate_limit_retry_at(
        &self,
        now: Timestamp,
        tokens: Tokens,
    ) -> Option<(LimitKind, RetryAfter)> {
        let s = self.state.as_ref()?;
        s.limiters.check(&s.policy, now, tokens).err()
    }

    /// The quota period in force at `now`, once provisioned.
    pub fn quota_period_at(&self, now: Timestamp) -> Option<QuotaPeriod> {
        self.state.as_ref().map(|s| s.quota_period_at(now))
    }

    fn ledger(&self) -> super::state::Ledger {
        self.state.as_ref().map(|s| s.ledger).unwrap_or_default()
    }
}
