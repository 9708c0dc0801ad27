//! Why a purchase refused a command. A rejection produces no events.

use serde::{Deserialize, Serialize};

use super::step::{PurchaseStatus, PurchaseStep};
use crate::ids::PurchaseId;

/// Why a purchase refused a command; `code` is the machine-readable name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
#[serde(tag = "code", rename_all = "snake_case")]
pub enum PurchaseRejection {
    /// A step outcome for a purchase nobody placed.
    #[error("the purchase has not been requested")]
    NotRequested,
    /// The purchase id was placed before with another order.
    #[error("purchase {purchase_id} already exists with a different order")]
    Conflict {
        /// The existing purchase.
        purchase_id: PurchaseId,
    },
    /// An outcome for a step that is not awaited and did not end that way (e.g. a late
    /// success after the step had timed out).
    #[error("the purchase is {status}; an outcome of step {step} is not expected now")]
    OutOfStep {
        /// The step the outcome is about.
        step: PurchaseStep,
        /// Where the purchase stands.
        status: PurchaseStatus,
    },
}

impl PurchaseRejection {
    /// Stable machine-readable code (also the serde tag).
    pub fn code(&self) -> &'static str {
        match self {
            Self::NotRequested => "not_requested",
            Self::Conflict { .. } => "conflict",
            Self::OutOfStep { .. } => "out_of_step",
        }
    }
}
