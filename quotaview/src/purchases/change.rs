//! How one purchase event changes its row: a pure mapping mirroring `Purchase::apply`, so
//! the SQL stays a thin layer and the mapping is tested without a database.

use domain::{PurchaseEvent, PurchaseId, PurchaseStatus};
use uuid::Uuid;

use crate::change::owner_columns;

/// What an event does to its purchase's row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PurchaseChange {
    /// A new row (ignored if the purchase already has one).
    Placed(NewPurchase),
    /// Columns of an existing row move (a purchase never placed is left alone).
    Progress(Progress),
}

/// The row of a purchase just placed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewPurchase {
    pub purchase_id: Uuid,
    pub owner_kind: &'static str,
    pub owner_id: String,
    pub pool_id: String,
    pub provider: String,
    pub tokens: i64,
    pub price_cents: i64,
    pub payment_method: String,
}

/// The columns an event sets; `None` / `false` leaves a column as it is.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Progress {
    /// The new status.
    pub status: Option<&'static str>,
    /// The payment is reserved.
    pub payment_reserved: bool,
    /// The pool's grant.
    pub grant_id: Option<Uuid>,
    /// The payment is captured.
    pub payment_captured: bool,
    /// The failure (code, explanation) and the undo steps it calls for
    /// (revoke the grant, release the payment).
    pub failure: Option<(&'static str, String, bool, bool)>,
    /// Compensation: the grant was revoked.
    pub grant_revoked: bool,
    /// Compensation: the payment was released.
    pub payment_released: bool,
}

/// The change `event` makes to the row of `purchase`.
pub fn purchase_change(purchase: PurchaseId, event: &PurchaseEvent) -> PurchaseChange {
    use PurchaseEvent as E;
    let status = |s: PurchaseStatus| Some(s.code());
    // Amounts are at most 10^12 by construction, so the casts are exact.
    let progress = match event {
        E::PurchaseRequested { order, .. } => {
            let (owner_kind, owner_id) = owner_columns(order.pool.owner());
            return PurchaseChange::Placed(NewPurchase {
                purchase_id: purchase.as_uuid(),
                owner_kind,
                owner_id,
                pool_id: order.pool.to_string(),
                provider: order.pool.provider().to_string(),
                tokens: order.tokens.get() as i64,
                price_cents: order.price.get() as i64,
                payment_method: order.payment_method.to_string(),
            });
        }
        E::PaymentReserved { .. } => Progress {
            status: status(PurchaseStatus::PaymentReserved),
            payment_reserved: true,
            ..Progress::default()
        },
        E::TokensGranted { grant_id, .. } => Progress {
            status: status(PurchaseStatus::TokensGranted),
            grant_id: Some(grant_id.as_uuid()),
            ..Progress::default()
        },
        E::PaymentCaptured { .. } => Progress {
            status: status(PurchaseStatus::PaymentCaptured),
            payment_captured: true,
            ..Progress::default()
        },
        E::PurchaseCompleted { .. } => Progress {
            status: status(PurchaseStatus::Completed),
            ..Progress::default()
        },
        E::StepFailed {
            reason,
            compensation,
            ..
        } => Progress {
            status: status(PurchaseStatus::Compensating),
            failure: Some((
                reason.code(),
                reason.to_string(),
                compensation.revoke_grant,
                compensation.release_payment,
            )),
            ..Progress::default()
        },
        E::GrantRevoked { .. } => Progress {
            grant_revoked: true,
            ..Progress::default()
        },
        E::PaymentReleased { .. } => Progress {
            payment_released: true,
            ..Progress::default()
        },
        E::PurchaseFailed { .. } => Progress {
            status: status(PurchaseStatus::Failed),
            ..Progress::default()
        },
    };
    PurchaseChange::Progress(progress)
}

#[cfg(test)]
mod tests {
    use domain::{FailureReason, Timestamp};

    use super::*;

    fn id() -> PurchaseId {
        PurchaseId::from_uuid(Uuid::from_u128(7))
    }

    fn at() -> Timestamp {
        Timestamp::from_millis(1_000).unwrap()
    }

    #[test]
    fn a_placed_purchase_is_a_row_of_its_order() {
        let order = domain::PurchaseOrder {
            pool: "org:acme/gemini".parse().unwrap(),
            tokens: domain::Tokens::new(5_000).unwrap(),
            price: domain::Cents::new(51).unwrap(),
            payment_method: "pm_card_visa".parse().unwrap(),
        };
        let change = purchase_change(
            id(),
            &PurchaseEvent::PurchaseRequested {
                purchase_id: id(),
                order,
                at: at(),
            },
        );
        assert_eq!(
            change,
            PurchaseChange::Placed(NewPurchase {
                purchase_id: id().as_uuid(),
                owner_kind: "org",
                owner_id: "acme".into(),
                pool_id: "org:acme/gemini".into(),
                provider: "gemini".into(),
                tokens: 5_000,
                price_cents: 51,
                payment_method: "pm_card_visa".into(),
            })
        );
    }

    #[test]
    fn a_failed_step_records_its_reason_and_the_undo_steps_it_calls_for() {
        let reason = FailureReason::GrantTimedOut;
        let change = purchase_change(
            id(),
            &PurchaseEvent::StepFailed {
                compensation: reason.compensation(),
                reason,
                at: at(),
            },
        );
        let PurchaseChange::Progress(progress) = change else {
            panic!("a failure moves an existing row");
        };
        assert_eq!(progress.status, Some("COMPENSATING"));
        assert_eq!(
            progress.failure,
            Some((
                "grant_timed_out",
                "the pool did not answer the grant in time".into(),
                true,
                true
            ))
        );
    }

    #[test]
    fn a_capture_moves_on_to_the_grant_and_marks_the_payment_captured() {
        let PurchaseChange::Progress(progress) =
            purchase_change(id(), &PurchaseEvent::PaymentCaptured { at: at() })
        else {
            panic!("a capture moves an existing row");
        };
        assert_eq!(progress.status, Some("PAYMENT_CAPTURED"));
        assert!(progress.payment_captured);
    }
}
