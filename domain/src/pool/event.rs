//! What happened to a token pool. Every event carries `at` (the command's `now`), because
//! rate-limit state and quota periods are functions of event times.

use serde::{Deserialize, Serialize};

use super::command::GrantSource;
use super::holder::Holder;
use crate::ids::{GrantId, ReservationId};
use crate::policy::EffectivePolicy;
use crate::pool_id::PoolId;
use crate::tier::Tier;
use crate::time::Timestamp;
use crate::tokens::Tokens;

/// A fact about a token pool, as written to `token-pool.events`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type")]
pub enum TokenPoolEvent {
    /// The pool was created.
    PoolProvisioned {
        /// The pool.
        pool: PoolId,
        /// Its tier.
        tier: Tier,
        /// Its tier-resolved policy.
        policy: EffectivePolicy,
        /// When.
        at: Timestamp,
    },
    /// Tokens were added; the first `overdraft_repaid` of them paid off an overdraft.
    TokensGranted {
        /// The grant.
        grant_id: GrantId,
        /// Tokens granted.
        amount: Tokens,
        /// Who paid.
        source: GrantSource,
        /// Part of `amount` that went to the overdraft instead of the balance.
        overdraft_repaid: Tokens,
        /// When.
        at: Timestamp,
    },
    /// A grant was revoked: `recovered` taken back now, `overdraft_added` owed by later grants.
    ///
    /// A revoke of a grant the pool never saw has `amount` zero: it marks the id so that a
    /// late-arriving grant with it is refused rather than granted after its own compensation.
    GrantRevoked {
        /// The grant.
        grant_id: GrantId,
        /// The grant's amount (zero if it was never granted).
        amount: Tokens,
        /// Taken back from the available balance.
        recovered: Tokens,
        /// Already spent or held, so recorded as overdraft.
        overdraft_added: Tokens,
        /// When.
        at: Timestamp,
    },
    /// Tokens were put on hold until `expires_at`.
    TokensReserved {
        /// The hold.
        reservation_id: ReservationId,
        /// Tokens held.
        amount: Tokens,
        /// When the hold lapses if not resolved.
        expires_at: Timestamp,
        /// Who may settle or release it; `None` on holds recorded before holders were
        /// (anyone who may use the pool may resolve those).
        #[serde(default)]
        holder: Option<Holder>,
        /// When.
        at: Timestamp,
    },
    /// A hold was settled: `consumed` charged, `released` freed.
    ReservationSettled {
        /// The hold.
        reservation_id: ReservationId,
        /// Tokens that were held.
        reserved: Tokens,
        /// Tokens charged (never more than `reserved`).
        consumed: Tokens,
        /// Tokens freed (`reserved - consumed`).
        released: Tokens,
        /// Usage above the hold that was not charged (overage rule `Cap`); never silent.
        uncharged_overage: Tokens,
        /// When.
        at: Timestamp,
    },
    /// A hold was released unused.
    ReservationReleased {
        /// The hold.
        reservation_id: ReservationId,
        /// Tokens freed.
        amount: Tokens,
        /// When.
        at: Timestamp,
    },
    /// A hold lapsed at `expires_at` and was freed.
    ReservationExpired {
        /// The hold.
        reservation_id: ReservationId,
        /// Tokens freed.
        amount: Tokens,
        /// When it had lapsed.
        expires_at: Timestamp,
        /// When the expiry was recorded.
        at: Timestamp,
    },
    /// Tokens were consumed without a hold.
    TokensConsumed {
        /// Tokens charged.
        amount: Tokens,
        /// Part of `amount` above the available balance (only `ChargeUsage` overdraws):
        /// usage a provider billed that the pool had no tokens left for, owed to later grants.
        #[serde(default)]
        overdrawn: Tokens,
        /// When.
        at: Timestamp,
    },
    /// The pool moved to another tier or policy.
    PolicyChanged {
        /// The new tier.
        tier: Tier,
        /// The new tier-resolved policy.
        policy: EffectivePolicy,
        /// When.
        at: Timestamp,
    },
    /// A new periodic-quota period started.
    QuotaPeriodReset {
        /// Its start.
        period_start: Timestamp,
        /// When.
        at: Timestamp,
    },
}

impl TokenPoolEvent {
    /// When the event happened.
    pub fn at(&self) -> Timestamp {
        match self {
            Self::PoolProvisioned { at, .. }
            | Self::TokensGranted { at, .. }
            | Self::GrantRevoked { at, .. }
            | Self::TokensReserved { at, .. }
            | Self::ReservationSettled { at, .. }
            | Self::ReservationReleased { at, .. }
            | Self::ReservationExpired { at, .. }
            | Self::TokensConsumed { at, .. }
            | Self::PolicyChanged { at, .. }
            | Self::QuotaPeriodReset { at, .. } => *at,
        }
    }

    /// The event's type name, as used for the Avro record and metrics labels.
    pub fn name(&self) -> &'static str {
        match self {
            Self::PoolProvisioned { .. } => "PoolProvisioned",
            Self::TokensGranted { .. } => "TokensGranted",
            Self::GrantRevoked { .. } => "GrantRevoked",
            Self::TokensReserved { .. } => "TokensReserved",
            Self::ReservationSettled { .. } => "ReservationSettled",
            Self::ReservationReleased { .. } => "ReservationReleased",
            Self::ReservationExpired { .. } => "ReservationExpired",
            Self::TokensConsumed { .. } => "TokensConsumed",
            Self::PolicyChanged { .. } => "PolicyChanged",
            Self::QuotaPeriodReset { .. } => "QuotaPeriodReset",
        }
    }
}
