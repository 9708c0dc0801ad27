//! What happened to a purchase. Every event carries `at` (the command's `now`), so a
//! stuck step's age is a function of the log.

use serde::{Deserialize, Serialize};

use super::failure::{Compensation, FailureReason};
use super::order::PurchaseOrder;
use crate::ids::{GrantId, PurchaseId};
use crate::time::Timestamp;

/// A fact about a purchase, as written to `purchase.events`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type")]
pub enum PurchaseEvent {
    /// The purchase was placed.
    PurchaseRequested {
        /// The purchase.
        purchase_id: PurchaseId,
        /// What is bought and how it is paid.
        order: PurchaseOrder,
        /// When.
        at: Timestamp,
    },
    /// The provider reserved the payment.
    PaymentReserved {
        /// When.
        at: Timestamp,
    },
    /// The pool granted the tokens.
    TokensGranted {
        /// The grant.
        grant_id: GrantId,
        /// When.
        at: Timestamp,
    },
    /// The provider captured the payment.
    PaymentCaptured {
        /// When.
        at: Timestamp,
    },
    /// Paid and granted: the purchase is done.
    PurchaseCompleted {
        /// When.
        at: Timestamp,
    },
    /// A forward step failed; `compensation` says what must be undone.
    StepFailed {
        /// Why.
        reason: FailureReason,
        /// The undo steps still to run.
        compensation: Compensation,
        /// When.
        at: Timestamp,
    },
    /// Compensation: the grant was revoked.
    GrantRevoked {
        /// When.
        at: Timestamp,
    },
    /// Compensation: the payment was released.
    PaymentReleased {
        /// When.
        at: Timestamp,
    },
    /// Failed, every effect undone: the purchase is done.
    PurchaseFailed {
        /// The failure that started the compensation.
        reason: FailureReason,
        /// When.
        at: Timestamp,
    },
}

impl PurchaseEvent {
    /// When the event happened.
    pub fn at(&self) -> Timestamp {
        match self {
            Self::PurchaseRequested { at, .. }
            | Self::PaymentReserved { at }
            | Self::TokensGranted { at, .. }
            | Self::PaymentCaptured { at }
            | Self::PurchaseCompleted { at }
            | Self::StepFailed { at, .. }
            | Self::GrantRevoked { at }
            | Self::PaymentReleased { at }
            | Self::PurchaseFailed { at, .. } => *at,
        }
    }

    /// The event's type name, as used for the Avro record and metrics labels.
    pub fn name(&self) -> &'static str {
        match self {
            Self::PurchaseRequested { .. } => "PurchaseRequested",
            Self::PaymentReserved { .. } => "PaymentReserved",
            Self::TokensGranted { .. } => "TokensGranted",
            Self::PaymentCaptured { .. } => "PaymentCaptured",
            Self::PurchaseCompleted { .. } => "PurchaseCompleted",
            Self::StepFailed { .. } => "StepFailed",
            Self::GrantRevoked { .. } => "GrantRevoked",
            Self::PaymentReleased { .. } => "PaymentReleased",
            Self::PurchaseFailed { .. } => "PurchaseFailed",
        }
    }
}
