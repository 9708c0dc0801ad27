//! How one event changes the quota view: a pure mapping, so the SQL that applies it stays
//! a thin, obviously-correct layer and the arithmetic can be tested without a database.
//!
//! The view mirrors `domain`'s ledger exactly: events on a pool that was never
//! provisioned, and closings of holds the view does not know, change nothing (as in
//! `TokenPool::apply`), and every subtraction saturates at zero.

use domain::{Owner, PoolId, TokenPoolEvent};
use uuid::Uuid;

/// What an event does to the rows of its pool.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum QuotaChange {
    /// A new pool row (ignored if the pool already has one).
    Provision {
        /// The owner's kind, `user` or `org`.
        owner_kind: &'static str,
        /// The owner's id.
        owner_id: String,
        /// The provider.
        provider: String,
        /// The tier's canonical name.
        tier: &'static str,
        /// The tier-resolved policy, as JSON.
        policy: String,
    },
    /// Ledger totals move: each field is added, then the subtraction saturates at zero.
    Ledger(LedgerDelta),
    /// A hold opens.
    OpenHold {
        /// The hold.
        reservation_id: Uuid,
        /// Tokens held.
        amount: i64,
        /// When it was made (epoch ms).
        reserved_at_ms: i64,
        /// When it lapses (epoch ms).
        expires_at_ms: i64,
        /// On whose behalf it is held (the actor), if recorded.
        held_by: Option<String>,
        /// The service holding it for them (`gateway`), if any.
        held_via: Option<String>,
    },
    /// A hold closes (if open): its tokens leave `reserved` and `charge` joins `consumed`.
    CloseHold {
        /// The hold.
        reservation_id: Uuid,
        /// Tokens charged by the closing (zero for a release or an expiry).
        charge: i64,
    },
    /// The pool moves to another tier or policy.
    Policy {
        /// The tier's canonical name.
        tier: &'static str,
        /// The tier-resolved policy, as JSON.
        policy: String,
    },
    /// Nothing the view shows changes; only the row's freshness moves.
    Touch,
}

/// Additions and saturating subtractions of the ledger totals.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LedgerDelta {
    /// Added to `granted`.
    pub granted_add: i64,
    /// Taken from `granted` (after the addition), not below zero.
    pub granted_sub: i64,
    /// Added to `overdraft`.
    pub overdraft_add: i64,
    /// Taken from `overdraft`, not below zero.
    pub overdraft_sub: i64,
    /// Added to `consumed`.
    pub consumed_add: i64,
}

/// The change `event` makes to the view of `pool`.
pub fn change_of(pool: &PoolId, event: &TokenPoolEvent) -> QuotaChange {
    use TokenPoolEvent as E;
    // Amounts are at most 10^12 and times fit i64 by construction, so the casts are exact.
    let tokens = |t: domain::Tokens| t.get() as i64;
    match event {
        E::PoolProvisioned { tier, policy, .. } => {
            let (owner_kind, owner_id) = owner_columns(pool.owner());
            QuotaChange::Provision {
                owner_kind,
                owner_id,
                provider: pool.provider().as_str().to_owned(),
                tier: tier.as_str(),
                policy: policy_json(policy),
            }
        }
        E::TokensGranted {
            amount,
            overdraft_repaid,
            ..
        } => QuotaChange::Ledger(LedgerDelta {
            granted_add: tokens(*amount),
            granted_sub: tokens(*overdraft_repaid),
            overdraft_sub: tokens(*overdraft_repaid),
            ..LedgerDelta::default()
        }),
        E::GrantRevoked {
            recovered,
            overdraft_added,
            ..
        } => QuotaChange::Ledger(LedgerDelta {
            granted_sub: tokens(*recovered),
            overdraft_add: tokens(*overdraft_added),
            ..LedgerDelta::default()
        }),
        E::TokensReserved {
            reservation_id,
            amount,
            expires_at,
            holder,
            at,
        } => QuotaChange::OpenHold {
            reservation_id: reservation_id.as_uuid(),
            amount: tokens(*amount),
            reserved_at_ms: at.as_millis(),
            expires_at_ms: expires_at.as_millis(),
            held_by: holder.as_ref().map(|h| h.actor.to_string()),
            held_via: holder
                .as_ref()
                .and_then(|h| h.via.as_ref())
                .map(ToString::to_string),
        },
        E::ReservationSettled {
            reservation_id,
            consumed,
            ..
        } => QuotaChange::CloseHold {
            reservation_id: reservation_id.as_uuid(),
            charge: tokens(*consumed),
        },
        E::ReservationReleased { reservation_id, .. }
        | E::ReservationExpired { reservation_id, .. } => QuotaChange::CloseHold {
            reservation_id: reservation_id.as_uuid(),
            charge: 0,
        },
        E::TokensConsumed { amount, .. } => QuotaChange::Ledger(LedgerDelta {
            consumed_add: tokens(*amount),
            ..LedgerDelta::default()
        }),
        E::PolicyChanged { tier, policy, .. } => QuotaChange::Policy {
            tier: tier.as_str(),
            policy: policy_json(policy),
        },
        E::QuotaPeriodReset { .. } => QuotaChange::Touch,
    }
}

/// `(owner_kind, owner_id)` columns of an owner.
pub fn owner_columns(owner: &Owner) -> (&'static str, String) {
    match owner {
        Owner::User(id) => ("user", id.as_str().to_owned()),
        Owner::Org(id) => ("org", id.as_str().to_owned()),
    }
}

fn policy_json(policy: &domain::EffectivePolicy) -> String {
    // A policy is plain numbers and enums: serialising it cannot fail.
    serde_json::to_string(policy).expect("a policy serialises to JSON")
}

#[cfg(test)]
mod tests {
    use domain::{GrantId, GrantSource, ReservationId, Timestamp, Tokens};

    use super::*;

    fn pool() -> PoolId {
        "org:acme/openai".parse().unwrap()
    }

    fn at(ms: i64) -> Timestamp {
        Timestamp::from_millis(ms).unwrap()
    }

    fn tokens(n: u64) -> Tokens {
        Tokens::new(n).unwrap()
    }

    #[test]
    fn a_grant_that_repays_an_overdraft_takes_the_repaid_part_out_of_both_totals() {
        let event = TokenPoolEvent::TokensGranted {
            grant_id: GrantId::from_uuid(Uuid::nil()),
            amount: tokens(100),
            source: GrantSource::Admin,
            overdraft_repaid: tokens(30),
            at: at(1),
        };
        assert_eq!(
            change_of(&pool(), &event),
            QuotaChange::Ledger(LedgerDelta {
                granted_add: 100,
                granted_sub: 30,
                overdraft_sub: 30,
                ..LedgerDelta::default()
            })
        );
    }

    #[test]
    fn a_hold_is_shown_with_its_holder_so_a_tenant_sees_which_are_the_gateways() {
        let event = TokenPoolEvent::TokensReserved {
            reservation_id: ReservationId::from_uuid(Uuid::nil()),
            amount: tokens(91),
            expires_at: at(5_000),
            holder: Some(domain::Holder::new(
                "user:alice".parse().unwrap(),
                Some("gateway".parse().unwrap()),
            )),
            at: at(1),
        };
        assert_eq!(
            change_of(&pool(), &event),
            QuotaChange::OpenHold {
                reservation_id: Uuid::nil(),
                amount: 91,
                reserved_at_ms: 1,
                expires_at_ms: 5_000,
                held_by: Some("user:alice".into()),
                held_via: Some("gateway".into()),
            }
        );
    }

    #[test]
    fn a_revocation_takes_back_what_it_recovered_and_owes_the_rest() {
        let event = TokenPoolEvent::GrantRevoked {
            grant_id: GrantId::from_uuid(Uuid::nil()),
            amount: tokens(100),
            recovered: tokens(60),
            overdraft_added: tokens(40),
            at: at(1),
        };
        assert_eq!(
            change_of(&pool(), &event),
            QuotaChange::Ledger(LedgerDelta {
                granted_sub: 60,
                overdraft_add: 40,
                ..LedgerDelta::default()
            })
        );
    }

    #[test]
    fn a_settlement_closes_its_hold_and_charges_only_what_was_consumed() {
        let id = Uuid::from_u128(7);
        let event = TokenPoolEvent::ReservationSettled {
            reservation_id: ReservationId::from_uuid(id),
            reserved: tokens(50),
            consumed: tokens(20),
            released: tokens(30),
            uncharged_overage: tokens(0),
            at: at(5),
        };
        assert_eq!(
            change_of(&pool(), &event),
            QuotaChange::CloseHold {
                reservation_id: id,
                charge: 20
            }
        );
    }

    #[test]
    fn releases_and_expiries_close_holds_without_charging() {
        let id = ReservationId::from_uuid(Uuid::from_u128(9));
        for event in [
            TokenPoolEvent::ReservationReleased {
                reservation_id: id,
                amount: tokens(5),
                at: at(2),
            },
            TokenPoolEvent::ReservationExpired {
                reservation_id: id,
                amount: tokens(5),
                expires_at: at(1),
                at: at(2),
            },
        ] {
            assert_eq!(
                change_of(&pool(), &event),
                QuotaChange::CloseHold {
                    reservation_id: id.as_uuid(),
                    charge: 0
                }
            );
        }
    }

    #[test]
    fn the_owner_of_a_pool_becomes_its_kind_and_id_columns() {
        let user: PoolId = "user:alice/gemini".parse().unwrap();
        assert_eq!(owner_columns(user.owner()), ("user", "alice".to_owned()));
        assert_eq!(owner_columns(pool().owner()), ("org", "acme".to_owned()));
    }
}
