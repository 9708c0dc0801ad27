//! What can be asked of a token pool.

use serde::{Deserialize, Serialize};

use crate::ids::{GrantId, PurchaseId, ReservationId};
use crate::names::ServiceName;
use crate::policy::EffectivePolicy;
use crate::pool_id::PoolId;
use crate::tier::Tier;
use crate::time::{DurationMs, Timestamp};
use crate::tokens::Tokens;

/// Where granted tokens come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "SCREAMING_SNAKE_CASE")]
pub enum GrantSource {
    /// Paid for by a purchase (the purchase saga grants them).
    Purchase {
        /// The purchase that paid.
        purchase_id: PurchaseId,
    },
    /// Granted by an operator.
    Admin,
}

/// A command to a token pool; the pool is the Kafka key of the command record.
///
/// Amounts of zero are refused with `InvalidAmount` (except `Settle::actual`, where zero
/// means "nothing was used"). Policies arrive already resolved against the tier table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type")]
pub enum TokenPoolCommand {
    /// Creates the pool; repeating it with the same payload changes nothing.
    ProvisionPool {
        /// The pool being created (must equal the record key).
        pool: PoolId,
        /// The owner's tier.
        tier: Tier,
        /// The tier-resolved policy.
        policy: EffectivePolicy,
    },
    /// Adds tokens; idempotent by `grant_id`, refused past the tier's quota cap.
    GrantTokens {
        /// Idempotency key of the grant.
        grant_id: GrantId,
        /// Tokens to add.
        amount: Tokens,
        /// Who pays for them.
        source: GrantSource,
    },
    /// Takes a grant back (purchase compensation); what is already in use becomes overdraft.
    RevokeGrant {
        /// The grant to revoke.
        grant_id: GrantId,
    },
    /// Holds tokens for an upcoming call; idempotent by `reservation_id`.
    Reserve {
        /// Idempotency key of the hold, chosen by the client.
        reservation_id: ReservationId,
        /// Tokens to hold.
        amount: Tokens,
        /// How long to hold them; the policy default if absent, capped at the policy maximum
        /// for a tenant's own hold. A service's hold (`via`) above the maximum is refused
        /// (`TtlAboveMaximum`) instead: shortened, it would lapse before the call it covers.
        ttl_ms: Option<DurationMs>,
        /// The service reserving on the actor's behalf (the gateway); only the same actor
        /// through the same service may then settle or release the hold.
        #[serde(default)]
        via: Option<ServiceName>,
    },
    /// Resolves a hold with the real usage: consumes `actual`, releases the rest.
    Settle {
        /// The hold to settle.
        reservation_id: ReservationId,
        /// Tokens actually used.
        actual: Tokens,
        /// The service settling on the actor's behalf (must be the hold's).
        #[serde(default)]
        via: Option<ServiceName>,
    },
    /// Resolves a hold without using any of it.
    Release {
        /// The hold to release.
        reservation_id: ReservationId,
        /// The service releasing on the actor's behalf (must be the hold's).
        #[serde(default)]
        via: Option<ServiceName>,
    },
    /// Expires every hold whose `expires_at` is at or before now.
    ExpireReservations,
    /// Reserves and settles in one step (usage known up front).
    Consume {
        /// Tokens used.
        amount: Tokens,
    },
    /// Charges usage that has already happened (a provider billed it): never refused for
    /// lack of tokens or by a rate limit; what exceeds the available balance is recorded as
    /// overdrawn (`TokensConsumed::overdrawn`) and repaid by later grants. Issued by the
    /// gateway when a call's hold could not absorb its usage.
    ChargeUsage {
        /// Tokens the provider reported used.
        amount: Tokens,
    },
    /// Moves the pool to another tier or policy.
    ChangePolicy {
        /// The new tier.
        tier: Tier,
        /// The new tier-resolved policy.
        policy: EffectivePolicy,
    },
    /// Starts a new periodic-quota period; idempotent by `period_start`.
    ResetQuotaPeriod {
        /// When the new period starts (not after now).
        period_start: Timestamp,
    },
}
