//! What can be asked of a purchase: placing it, and recording each step's outcome.

use serde::{Deserialize, Serialize};

use super::failure::FailureReason;
use super::order::PurchaseOrder;
use super::step::PurchaseStep;
use crate::ids::{GrantId, PurchaseId};

/// A command to a purchase; the purchase id is the Kafka key of the command record.
///
/// Only `RequestPurchase` comes from a buyer; the others are the saga reporting what a
/// step did. Each outcome is accepted only while its step is the one awaited; repeating
/// an outcome already recorded changes nothing (the saga retries after a crash).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type")]
pub enum PurchaseCommand {
    /// Places the purchase; repeating it with the same order changes nothing.
    RequestPurchase {
        /// The purchase (must equal the record key).
        purchase_id: PurchaseId,
        /// What is bought and how it is paid.
        order: PurchaseOrder,
    },
    /// The provider reserved the payment.
    RecordPaymentReserved,
    /// The pool granted the tokens under `grant_id`.
    RecordTokensGranted {
        /// The grant, for revoking it later if need be.
        grant_id: GrantId,
    },
    /// The provider captured the payment.
    RecordPaymentCaptured,
    /// A forward step failed (refused or timed out); compensation starts.
    RecordStepFailed {
        /// Why, which also says which step.
        reason: FailureReason,
    },
    /// Compensation: the pool revoked the grant.
    RecordGrantRevoked,
    /// Compensation: the provider released the payment.
    RecordPaymentReleased,
}

impl PurchaseCommand {
    /// The step whose outcome this records; `None` for `RequestPurchase`.
    pub fn step(&self) -> Option<PurchaseStep> {
        match self {
            Self::RequestPurchase { .. } => None,
            Self::RecordPaymentReserved => Some(PurchaseStep::ReservePayment),
            Self::RecordTokensGranted { .. } => Some(PurchaseStep::GrantTokens),
            Self::RecordPaymentCaptured => Some(PurchaseStep::CapturePayment),
            Self::RecordStepFailed { reason } => Some(reason.step()),
            Self::RecordGrantRevoked => Some(PurchaseStep::RevokeGrant),
            Self::RecordPaymentReleased => Some(PurchaseStep::ReleasePayment),
        }
    }

    /// The command's type name, as used for the Avro record and metrics labels.
    pub fn name(&self) -> &'static str {
        match self {
            Self::RequestPurchase { .. } => "RequestPurchase",
            Self::RecordPaymentReserved => "RecordPaymentReserved",
            Self::RecordTokensGranted { .. } => "RecordTokensGranted",
            Self::RecordPaymentCaptured => "RecordPaymentCaptured",
            Self::RecordStepFailed { .. } => "RecordStepFailed",
            Self::RecordGrantRevoked => "RecordGrantRevoked",
            Self::RecordPaymentReleased => "RecordPaymentReleased",
        }
    }
}
