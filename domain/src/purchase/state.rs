//! The state of a placed purchase and how each event evolves it.

use serde::{Deserialize, Serialize};

use super::event::PurchaseEvent;
use super::failure::{Compensation, FailureReason};
use super::order::PurchaseOrder;
use super::step::{PurchaseStatus, PurchaseStep};
use crate::ids::{GrantId, PurchaseId};
use crate::time::Timestamp;

/// A placed purchase: its order, where it stands, and which effects happened.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct PurchaseState {
    pub(crate) id: PurchaseId,
    pub(crate) order: PurchaseOrder,
    pub(crate) status: PurchaseStatus,
    /// When the current status began: a step awaited since then times out from it.
    pub(crate) since: Timestamp,
    pub(crate) payment_reserved: bool,
    pub(crate) grant: Option<GrantId>,
    pub(crate) payment_captured: bool,
    pub(crate) failure: Option<FailureReason>,
    /// Undo steps not done yet (while compensating).
    pub(crate) pending: Compensation,
    pub(crate) grant_revoked: bool,
    pub(crate) payment_released: bool,
}

impl PurchaseState {
    /// The step the saga must perform next; `None` once the purchase is done.
    pub(crate) fn awaiting(&self) -> Option<PurchaseStep> {
        match self.status {
            PurchaseStatus::Requested => Some(PurchaseStep::ReservePayment),
            PurchaseStatus::PaymentReserved | PurchaseStatus::TokensGranted => {
                Some(PurchaseStep::CapturePayment)
            }
            PurchaseStatus::PaymentCaptured => Some(PurchaseStep::GrantTokens),
            PurchaseStatus::Compensating if self.pending.revoke_grant => {
                Some(PurchaseStep::RevokeGrant)
            }
            PurchaseStatus::Compensating if self.pending.release_payment => {
                Some(PurchaseStep::ReleasePayment)
            }
            PurchaseStatus::Compensating | PurchaseStatus::Completed | PurchaseStatus::Failed => {
                None
            }
        }
    }
}

/// Evolves `state` by `event`; events are facts, so this never fails.
pub(crate) fn apply(state: &mut Option<PurchaseState>, event: &PurchaseEvent) {
    if let PurchaseEvent::PurchaseRequested {
        purchase_id,
        order,
        at,
    } = event
    {
        *state = Some(PurchaseState {
            id: *purchase_id,
            order: order.clone(),
            status: PurchaseStatus::Requested,
            since: *at,
            payment_reserved: false,
            grant: None,
            payment_captured: false,
            failure: None,
            pending: Compensation {
                revoke_grant: false,
                release_payment: false,
            },
            grant_revoked: false,
            payment_released: false,
        });
        return;
    }
    // Every other event follows a PurchaseRequested (handle never produces one without it).
    let Some(s) = state.as_mut() else {
        return;
    };
    s.since = event.at();
    match event {
        PurchaseEvent::PurchaseRequested { .. } => {}
        PurchaseEvent::PaymentReserved { .. } => {
            s.payment_reserved = true;
            s.status = PurchaseStatus::PaymentReserved;
        }
        PurchaseEvent::TokensGranted { grant_id, .. } => {
            s.grant = Some(*grant_id);
            s.status = PurchaseStatus::TokensGranted;
        }
        PurchaseEvent::PaymentCaptured { .. } => {
            s.payment_captured = true;
            s.status = PurchaseStatus::PaymentCaptured;
        }
        PurchaseEvent::PurchaseCompleted { .. } => s.status = PurchaseStatus::Completed,
        PurchaseEvent::StepFailed {
            reason,
            compensation,
            ..
        } => {
            s.failure = Some(reason.clone());
            s.pending = *compensation;
            s.status = PurchaseStatus::Compensating;
        }
        PurchaseEvent::GrantRevoked { .. } => {
            s.grant_revoked = true;
            s.pending.revoke_grant = false;
        }
        PurchaseEvent::PaymentReleased { .. } => {
            s.payment_released = true;
            s.pending.release_payment = false;
        }
        PurchaseEvent::PurchaseFailed { .. } => s.status = PurchaseStatus::Failed,
    }
}
