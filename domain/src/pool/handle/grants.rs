//! Granting and revoking tokens.

use super::reservations::expire_due;
use super::{Outcome, require_positive};
use crate::ids::GrantId;
use crate::pool::command::GrantSource;
use crate::pool::event::TokenPoolEvent;
use crate::pool::rejection::{AmountField, ConflictSubject, TokenPoolRejection};
use crate::pool::state::PoolState;
use crate::time::Timestamp;
use crate::tokens::{TokenTotal, Tokens};

/// Idempotent by id; refused when the pool would hold more unspent tokens than its cap.
pub(super) fn grant(
    s: &PoolState,
    grant_id: GrantId,
    amount: Tokens,
    source: GrantSource,
    now: Timestamp,
) -> Outcome {
    require_positive(amount, AmountField::GrantAmount)?;
    if let Some(seen) = s.grants.get(&grant_id) {
        return match seen.source {
            None => Err(TokenPoolRejection::GrantAlreadyRevoked { grant_id }),
            Some(src) if src == source && seen.amount == amount => Ok(vec![]),
            Some(_) => Err(TokenPoolRejection::Conflict {
                subject: ConflictSubject::Grant(grant_id),
            }),
        };
    }
    // The overdraft is repaid first, so it does not add to what the pool holds.
    let unspent = s.ledger.unspent();
    let unspent_after = s
        .ledger
        .granted
        .saturating_add(amount)
        .saturating_sub(s.ledger.consumed)
        .saturating_sub(s.ledger.overdraft);
    if unspent_after > TokenTotal::from(s.policy.quota_cap) {
        return Err(TokenPoolRejection::QuotaCapExceeded {
            requested: amount,
            unspent: unspent.to_tokens_saturating(),
            cap: s.policy.quota_cap,
        });
    }
    let overdraft_repaid = s.ledger.overdraft.to_tokens_saturating().min(amount);
    Ok(vec![TokenPoolEvent::TokensGranted {
        grant_id,
        amount,
        source,
        overdraft_repaid,
        at: now,
    }])
}

/// Takes back what is available now and records the rest as overdraft; idempotent.
///
/// Lapsed holds are expired first, so tokens they held count as available. An id the
/// pool has never seen is marked revoked (with amount zero) so that its grant, should it
/// arrive late, is refused instead of undoing the compensation.
pub(super) fn revoke(s: &PoolState, grant_id: GrantId, now: Timestamp) -> Outcome {
    let Some(seen) = s.grants.get(&grant_id) else {
        return Ok(vec![TokenPoolEvent::GrantRevoked {
            grant_id,
            amount: Tokens::ZERO,
            recovered: Tokens::ZERO,
            overdraft_added: Tokens::ZERO,
            at: now,
        }]);
    };
    if seen.revoked {
        return Ok(vec![]);
    }
    let expiry = expire_due(s, now);
    let available = s
        .ledger
        .available_with(s.ledger.reserved.saturating_sub(expiry.freed));
    let recovered = seen.amount.min(available);
    let mut events = expiry.events;
    events.push(TokenPoolEvent::GrantRevoked {
        grant_id,
        amount: seen.amount,
        recovered,
        overdraft_added: seen.amount.saturating_sub(recovered),
        at: now,
    });
    Ok(events)
}
