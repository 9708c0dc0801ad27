//! Holding, settling, releasing, expiring and consuming tokens.

use super::{Outcome, require_positive};
use crate::ids::ReservationId;
use crate::policy::OverageRule;
use crate::pool::event::TokenPoolEvent;
use crate::pool::rejection::{AmountField, ConflictSubject, ResolutionKind, TokenPoolRejection};
use crate::pool::state::PoolState;
use crate::time::{DurationMs, Timestamp};
use crate::tokens::{TokenTotal, Tokens};

/// The expiries a command records before its own events, and the tokens they free.
pub(super) struct Expiry {
    pub(super) events: Vec<TokenPoolEvent>,
    pub(super) freed: TokenTotal,
}

/// Expires every hold that has lapsed at `now`.
pub(super) fn expire_due(s: &PoolState, now: Timestamp) -> Expiry {
    let due = s.due_for_expiry(now);
    let freed = due
        .iter()
        .fold(TokenTotal::ZERO, |sum, r| sum.saturating_add(r.amount));
    let events = due
        .into_iter()
        .map(|r| TokenPoolEvent::ReservationExpired {
            reservation_id: r.id,
            amount: r.amount,
            expires_at: r.expires_at,
            at: now,
        })
        .collect();
    Expiry { events, freed }
}

/// Whether `amount` may be taken now: balance, then periodic quota, then rate limits.
///
/// Quota comes first because waiting does not fix it; rate limits say when to retry.
fn check_admission(
    s: &PoolState,
    now: Timestamp,
    amount: Tokens,
    freed: TokenTotal,
) -> Result<(), TokenPoolRejection> {
    let reserved = s.ledger.reserved.saturating_sub(freed);
    let available = s.ledger.available_with(reserved);
    if amount > available {
        return Err(TokenPoolRejection::QuotaExhausted {
            requested: amount,
            available,
        });
    }
    if let Some(quota) = &s.policy.periodic_quota {
        let period = s.quota_period_at(now);
        let remaining = period.remaining(quota, reserved);
        if amount > remaining {
            return Err(TokenPoolRejection::PeriodicQuotaExhausted {
                requested: amount,
                remaining,
                period_ends_at: period.ends_at(quota),
            });
        }
    }
    s.limiters
        .check(&s.policy, now, amount)
        .map_err(|(limit, retry_after)| TokenPoolRejection::RateLimited { limit, retry_after })
}

/// Idempotent by id (same amount, and same TTL if one is given); lapsed holds expire first.
pub(super) fn reserve(
    s: &PoolState,
    reservation_id: ReservationId,
    amount: Tokens,
    ttl_ms: Option<DurationMs>,
    now: Timestamp,
) -> Outcome {
    require_positive(amount, AmountField::ReserveAmount)?;
    if ttl_ms.is_some_and(DurationMs::is_zero) {
        return Err(TokenPoolRejection::InvalidAmount {
            field: AmountField::ReservationTtl,
        });
    }
    let ttl = s.policy.reservation_ttl.resolve(ttl_ms);
    let seen = s
        .open
        .get(&reservation_id)
        .map(|r| (r.amount, r.ttl()))
        .or_else(|| s.resolved.get(&reservation_id).map(|r| (r.amount, r.ttl)));
    if let Some((seen_amount, seen_ttl)) = seen {
        let same = seen_amount == amount && ttl_ms.is_none_or(|_| seen_ttl == ttl);
        return if same {
            Ok(vec![])
        } else {
            Err(TokenPoolRejection::Conflict {
                subject: ConflictSubject::Reservation(reservation_id),
            })
        };
    }
    let expiry = expire_due(s, now);
    check_admission(s, now, amount, expiry.freed)?;
    let mut events = expiry.events;
    events.push(TokenPoolEvent::TokensReserved {
        reservation_id,
        amount,
        expires_at: now.saturating_add(ttl),
        at: now,
    });
    Ok(events)
}

/// Takes tokens without a hold; lapsed holds expire first. Not idempotent by itself: the
/// processor's `command_id` deduplication is what makes a retried consume safe.
pub(super) fn consume(s: &PoolState, amount: Tokens, now: Timestamp) -> Outcome {
    require_positive(amount, AmountField::ConsumeAmount)?;
    let expiry = expire_due(s, now);
    check_admission(s, now, amount, expiry.freed)?;
    let mut events = expiry.events;
    events.push(TokenPoolEvent::TokensConsumed { amount, at: now });
    Ok(events)
}

/// Settles exactly once. A hold past its `expires_at` cannot be settled, even if its expiry
/// is not recorded yet (as a TigerBeetle pending transfer past its timeout cannot be
/// posted): the answer is `AlreadyResolved { how: Expired }`, and the caller may charge the
/// usage with `Consume`, which is checked like any new spend.
pub(super) fn settle(
    s: &PoolState,
    reservation_id: ReservationId,
    actual: Tokens,
    now: Timestamp,
) -> Outcome {
    let Some(open) = s.open.get(&reservation_id) else {
        return match s.resolved.get(&reservation_id) {
            Some(done) if done.settled_actual() == Some(actual) => Ok(vec![]),
            Some(done) => Err(TokenPoolRejection::AlreadyResolved {
                reservation_id,
                how: done.resolution.kind(),
            }),
            None => Err(TokenPoolRejection::ReservationNotFound { reservation_id }),
        };
    };
    if open.is_expired_at(now) {
        return Err(TokenPoolRejection::AlreadyResolved {
            reservation_id,
            how: ResolutionKind::Expired,
        });
    }
    let reserved = open.amount;
    let consumed = match actual.checked_sub(reserved) {
        None | Some(Tokens::ZERO) => actual,
        Some(_) if s.policy.overage == OverageRule::Cap => reserved,
        Some(_) => {
            return Err(TokenPoolRejection::SettleExceedsReservation {
                reservation_id,
                reserved,
                actual,
            });
        }
    };
    Ok(vec![TokenPoolEvent::ReservationSettled {
        reservation_id,
        reserved,
        consumed,
        released: reserved.saturating_sub(consumed),
        uncharged_overage: actual.saturating_sub(reserved),
        at: now,
    }])
}

/// Releases exactly once; a repeat is answered with no events. Lapsed holds, as for
/// `settle`, are already resolved by expiry.
pub(super) fn release(s: &PoolState, reservation_id: ReservationId, now: Timestamp) -> Outcome {
    let Some(open) = s.open.get(&reservation_id) else {
        return match s.resolved.get(&reservation_id) {
            Some(done) if done.resolution.kind() == ResolutionKind::Released => Ok(vec![]),
            Some(done) => Err(TokenPoolRejection::AlreadyResolved {
                reservation_id,
                how: done.resolution.kind(),
            }),
            None => Err(TokenPoolRejection::ReservationNotFound { reservation_id }),
        };
    };
    if open.is_expired_at(now) {
        return Err(TokenPoolRejection::AlreadyResolved {
            reservation_id,
            how: ResolutionKind::Expired,
        });
    }
    Ok(vec![TokenPoolEvent::ReservationReleased {
        reservation_id,
        amount: open.amount,
        at: now,
    }])
}
