//! Holding, settling, releasing, expiring and consuming tokens.

use super::{Outcome, require_positive};
use crate::ids::ReservationId;
use crate::policy::OverageRule;
use crate::pool::event::TokenPoolEvent;
use crate::pool::holder::Holder;
use crate::pool::rejection::{AmountField, ConflictSubject, ResolutionKind, TokenPoolRejection};
use crate::pool::reservations::OpenReservation;
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

/// What a `Reserve` asks for, and who asks.
pub(super) struct Hold {
    pub(super) id: ReservationId,
    pub(super) amount: Tokens,
    pub(super) ttl_ms: Option<DurationMs>,
    pub(super) holder: Holder,
}

/// Idempotent by id (same amount, and same TTL if one is given); lapsed holds expire first.
///
/// A tenant's TTL above the policy's maximum is capped; a service's is refused, because the
/// service sized it to cover a call, and a hold that lapses mid-call cannot be settled.
pub(super) fn reserve(s: &PoolState, hold: Hold, now: Timestamp) -> Outcome {
    let Hold {
        id: reservation_id,
        amount,
        ttl_ms,
        holder,
    } = hold;
    require_positive(amount, AmountField::ReserveAmount)?;
    if ttl_ms.is_some_and(DurationMs::is_zero) {
        return Err(TokenPoolRejection::InvalidAmount {
            field: AmountField::ReservationTtl,
        });
    }
    let max = s.policy.reservation_ttl.max();
    if let Some(requested) = ttl_ms.filter(|t| holder.is_service() && *t > max) {
        return Err(TokenPoolRejection::TtlAboveMaximum { requested, max });
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
        holder: Some(holder),
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
    events.push(TokenPoolEvent::TokensConsumed {
        amount,
        overdrawn: Tokens::ZERO,
        at: now,
    });
    Ok(events)
}

/// Charges usage that already happened: no admission check (refusing would only leave it
/// unpaid), lapsed holds expire first, and the part above the available balance is
/// recorded as overdrawn. Like `consume`, made safe to retry by `command_id` deduplication.
pub(super) fn charge_usage(s: &PoolState, amount: Tokens, now: Timestamp) -> Outcome {
    require_positive(amount, AmountField::ConsumeAmount)?;
    let expiry = expire_due(s, now);
    let available = s
        .ledger
        .available_with(s.ledger.reserved.saturating_sub(expiry.freed));
    let mut events = expiry.events;
    events.push(TokenPoolEvent::TokensConsumed {
        amount,
        overdrawn: amount.saturating_sub(available),
        at: now,
    });
    Ok(events)
}

/// Refuses anyone but the holder of `open` (holds from before holders were recorded are
/// anyone's who may use the pool, as they were).
fn require_holder(open: &OpenReservation, by: &Holder) -> Result<(), TokenPoolRejection> {
    match &open.holder {
        Some(holder) if holder != by => Err(TokenPoolRejection::NotHolder {
            reservation_id: open.id,
            held_by_service: holder.is_service(),
        }),
        _ => Ok(()),
    }
}

/// Settles exactly once. A hold past its `expires_at` cannot be settled, even if its expiry
/// is not recorded yet (as a TigerBeetle pending transfer past its timeout cannot be
/// posted): the answer is `AlreadyResolved { how: Expired }`, and the caller may charge the
/// usage with `Consume`, which is checked like any new spend.
pub(super) fn settle(
    s: &PoolState,
    reservation_id: ReservationId,
    actual: Tokens,
    by: &Holder,
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
    require_holder(open, by)?;
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
pub(super) fn release(
    s: &PoolState,
    reservation_id: ReservationId,
    by: &Holder,
    now: Timestamp,
) -> Outcome {
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
    require_holder(open, by)?;
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
