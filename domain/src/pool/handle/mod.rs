//! Deciding: a command and the current state become events, or a rejection.
//!
//! Handlers only read state. Where a command first expires lapsed holds, it computes the
//! effect of those expiries arithmetically (tokens freed) instead of applying them to a copy,
//! and emits the `ReservationExpired` events ahead of its own.

mod grants;
mod reservations;

use super::command::TokenPoolCommand;
use super::event::TokenPoolEvent;
use super::holder::Holder;
use super::rejection::{AmountField, TokenPoolRejection};
use super::state::PoolState;
use crate::aggregate::Ctx;
use crate::policy::EffectivePolicy;
use crate::pool_id::PoolId;
use crate::tier::Tier;
use crate::time::Timestamp;
use crate::tokens::Tokens;

/// What handling a command produces.
pub(super) type Outcome = Result<Vec<TokenPoolEvent>, TokenPoolRejection>;

pub(super) fn handle(state: Option<&PoolState>, cmd: &TokenPoolCommand, ctx: &Ctx) -> Outcome {
    use TokenPoolCommand as C;
    let now = ctx.now;
    let holder = |via: &Option<_>| Holder::new(ctx.actor.clone(), via.clone());
    match cmd {
        C::ProvisionPool { pool, tier, policy } => provision(state, pool, *tier, policy, now),
        C::GrantTokens {
            grant_id,
            amount,
            source,
        } => grants::grant(provisioned(state)?, *grant_id, *amount, *source, now),
        C::RevokeGrant { grant_id } => grants::revoke(provisioned(state)?, *grant_id, now),
        C::Reserve {
            reservation_id,
            amount,
            ttl_ms,
            via,
        } => reservations::reserve(
            provisioned(state)?,
            reservations::Hold {
                id: *reservation_id,
                amount: *amount,
                ttl_ms: *ttl_ms,
                holder: holder(via),
            },
            now,
        ),
        C::Settle {
            reservation_id,
            actual,
            via,
        } => reservations::settle(
            provisioned(state)?,
            *reservation_id,
            *actual,
            &holder(via),
            now,
        ),
        C::Release {
            reservation_id,
            via,
        } => reservations::release(provisioned(state)?, *reservation_id, &holder(via), now),
        C::ExpireReservations => Ok(reservations::expire_due(provisioned(state)?, now).events),
        C::Consume { amount } => reservations::consume(provisioned(state)?, *amount, now),
        C::ChargeUsage { amount } => reservations::charge_usage(provisioned(state)?, *amount, now),
        C::ChangePolicy { tier, policy } => change_policy(provisioned(state)?, *tier, policy, now),
        C::ResetQuotaPeriod { period_start } => {
            reset_quota_period(provisioned(state)?, *period_start, now)
        }
    }
}

fn provisioned(state: Option<&PoolState>) -> Result<&PoolState, TokenPoolRejection> {
    state.ok_or(TokenPoolRejection::PoolNotProvisioned)
}

fn require_positive(amount: Tokens, field: AmountField) -> Result<(), TokenPoolRejection> {
    if amount.is_zero() {
        return Err(TokenPoolRejection::InvalidAmount { field });
    }
    Ok(())
}

/// Same pool, tier and policy as now: nothing to do. Anything else: use `ChangePolicy`.
fn provision(
    state: Option<&PoolState>,
    pool: &PoolId,
    tier: Tier,
    policy: &EffectivePolicy,
    now: Timestamp,
) -> Outcome {
    match state {
        None => Ok(vec![TokenPoolEvent::PoolProvisioned {
            pool: pool.clone(),
            tier,
            policy: *policy,
            at: now,
        }]),
        Some(s) if s.pool == *pool && s.tier == tier && s.policy == *policy => Ok(vec![]),
        Some(s) => Err(TokenPoolRejection::AlreadyProvisioned {
            pool: s.pool.clone(),
        }),
    }
}

fn change_policy(s: &PoolState, tier: Tier, policy: &EffectivePolicy, now: Timestamp) -> Outcome {
    if s.tier == tier && s.policy == *policy {
        return Ok(vec![]);
    }
    Ok(vec![TokenPoolEvent::PolicyChanged {
        tier,
        policy: *policy,
        at: now,
    }])
}

/// A start at or before the current period's is stale or a repeat: nothing to do.
fn reset_quota_period(s: &PoolState, period_start: Timestamp, now: Timestamp) -> Outcome {
    if period_start > now {
        return Err(TokenPoolRejection::InvalidPeriodStart { period_start, now });
    }
    if period_start <= s.quota_period_at(now).start {
        return Ok(vec![]);
    }
    Ok(vec![TokenPoolEvent::QuotaPeriodReset {
        period_start,
        at: now,
    }])
}
