//! Evolving: one event at a time, never failing.
//!
//! Events come from `handle`, which checked them against the same state, so the
//! saturating arithmetic here never actually saturates; it only keeps a corrupt log from
//! panicking the processor. Events for unknown holds are ignored for the same reason.

use super::event::TokenPoolEvent;
use super::grants::GrantRecord;
use super::quota_period::QuotaPeriod;
use super::reservations::{OpenReservation, Resolution, ResolvedReservation};
use super::state::PoolState;
use crate::ids::ReservationId;
use crate::time::Timestamp;
use crate::tokens::Tokens;

pub(super) fn apply(state: &mut Option<PoolState>, event: &TokenPoolEvent) {
    use TokenPoolEvent as E;
    let Some(s) = state.as_mut() else {
        if let E::PoolProvisioned {
            pool,
            tier,
            policy,
            at,
        } = event
        {
            *state = Some(PoolState::new(pool.clone(), *tier, *policy, *at));
        }
        return;
    };
    match *event {
        // A pool is provisioned once; `handle` never emits a second one.
        E::PoolProvisioned { .. } => {}
        E::TokensGranted {
            grant_id,
            amount,
            source,
            overdraft_repaid,
            ..
        } => {
            s.grants.insert(
                grant_id,
                GrantRecord {
                    amount,
                    source: Some(source),
                    revoked: false,
                },
            );
            // The repaid part settles tokens owed by an earlier revocation: it leaves the
            // ledger together with the debt instead of becoming available.
            let ledger = &mut s.ledger;
            ledger.granted = ledger
                .granted
                .saturating_add(amount)
                .saturating_sub(overdraft_repaid);
            ledger.overdraft = ledger.overdraft.saturating_sub(overdraft_repaid);
        }
        E::GrantRevoked {
            grant_id,
            amount,
            recovered,
            overdraft_added,
            ..
        } => {
            s.grants
                .entry(grant_id)
                .and_modify(|g| g.revoked = true)
                .or_insert(GrantRecord {
                    amount,
                    source: None,
                    revoked: true,
                });
            s.ledger.granted = s.ledger.granted.saturating_sub(recovered);
            s.ledger.overdraft = s.ledger.overdraft.saturating_add(overdraft_added);
        }
        E::TokensReserved {
            reservation_id,
            amount,
            expires_at,
            ref holder,
            at,
        } => {
            s.open.insert(
                reservation_id,
                OpenReservation {
                    id: reservation_id,
                    amount,
                    reserved_at: at,
                    expires_at,
                    holder: holder.clone(),
                },
            );
            s.ledger.reserved = s.ledger.reserved.saturating_add(amount);
            s.limiters.admit(&s.policy, at, amount);
        }
        E::ReservationSettled {
            reservation_id,
            consumed,
            uncharged_overage,
            at,
            ..
        } => {
            let resolution = Resolution::Settled {
                consumed,
                uncharged_overage,
            };
            if resolve(s, reservation_id, resolution, at) {
                charge(s, consumed, at);
            }
        }
        E::ReservationReleased {
            reservation_id, at, ..
        } => {
            resolve(s, reservation_id, Resolution::Released, at);
        }
        E::ReservationExpired {
            reservation_id, at, ..
        } => {
            resolve(s, reservation_id, Resolution::Expired, at);
        }
        E::TokensConsumed { amount, at, .. } => {
            charge(s, amount, at);
            s.limiters.admit(&s.policy, at, amount);
        }
        E::PolicyChanged { tier, policy, .. } => {
            s.limiters.on_policy_change(&s.policy, &policy);
            s.tier = tier;
            s.policy = policy;
        }
        E::QuotaPeriodReset { period_start, .. } => {
            s.quota_period = QuotaPeriod::starting(period_start);
        }
    }
    s.resolved.prune(event.at());
}

/// Closes an open hold, freeing its tokens; false if there was no such hold.
fn resolve(s: &mut PoolState, id: ReservationId, resolution: Resolution, at: Timestamp) -> bool {
    let Some(open) = s.open.remove(&id) else {
        return false;
    };
    s.ledger.reserved = s.ledger.reserved.saturating_sub(open.amount);
    s.resolved.record(ResolvedReservation {
        id,
        amount: open.amount,
        ttl: open.ttl(),
        resolution,
        resolved_at: at,
    });
    true
}

/// Charges consumed tokens to the ledger and to the quota period in force at `at`.
fn charge(s: &mut PoolState, amount: Tokens, at: Timestamp) {
    s.ledger.consumed = s.ledger.consumed.saturating_add(amount);
    let period = s.quota_period_at(at);
    s.quota_period = QuotaPeriod {
        consumed: period.consumed.saturating_add(amount),
        ..period
    };
}
