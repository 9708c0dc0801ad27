//! Why a purchase step failed, and which step that was.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::step::PurchaseStep;

/// Why a forward step failed; each reason belongs to exactly one step.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "reason", rename_all = "snake_case")]
pub enum FailureReason {
    /// The provider refused the payment: nothing was reserved.
    PaymentDeclined {
        /// The provider's reason.
        message: String,
    },
    /// The provider did not answer in time: a reservation may exist and must be released.
    PaymentTimedOut,
    /// The pool refused the grant (e.g. `quota_cap_exceeded`): nothing was granted, and the
    /// captured payment is refunded.
    GrantRefused {
        /// The pool's rejection code.
        code: String,
        /// The pool's reason.
        message: String,
    },
    /// The pool did not answer in time: the grant may exist and must be revoked.
    GrantTimedOut,
    /// The provider refused to capture the reserved payment: nothing was granted.
    CaptureFailed {
        /// The provider's reason.
        message: String,
    },
    /// The provider did not confirm the capture in time: it may have happened, so it is
    /// released (voided or refunded) like any other.
    CaptureTimedOut,
}

impl FailureReason {
    /// The step this reason is a failure of.
    pub fn step(&self) -> PurchaseStep {
        match self {
            Self::PaymentDeclined { .. } | Self::PaymentTimedOut => PurchaseStep::ReservePayment,
            Self::CaptureFailed { .. } | Self::CaptureTimedOut => PurchaseStep::CapturePayment,
            Self::GrantRefused { .. } | Self::GrantTimedOut => PurchaseStep::GrantTokens,
        }
    }

    /// Stable machine-readable code (also the serde tag `reason`).
    pub fn code(&self) -> &'static str {
        match self {
            Self::PaymentDeclined { .. } => "payment_declined",
            Self::PaymentTimedOut => "payment_timed_out",
            Self::GrantRefused { .. } => "grant_refused",
            Self::GrantTimedOut => "grant_timed_out",
            Self::CaptureFailed { .. } => "capture_failed",
            Self::CaptureTimedOut => "capture_timed_out",
        }
    }

    /// What must be undone after this failure, given it happened at its own step (the
    /// steps run reserve, capture, grant).
    ///
    /// Only a definite "no" leaves its own step's effect out: a timeout may hide a success.
    /// Every failure after the reservation releases the payment (a void, or a refund once
    /// captured); only a grant that may exist is revoked.
    pub fn compensation(&self) -> Compensation {
        match self {
            Self::PaymentDeclined { .. } => Compensation {
                revoke_grant: false,
                release_payment: false,
            },
            Self::PaymentTimedOut
            | Self::CaptureFailed { .. }
            | Self::CaptureTimedOut
            | Self::GrantRefused { .. } => Compensation {
                revoke_grant: false,
                release_payment: true,
            },
            Self::GrantTimedOut => Compensation {
                revoke_grant: true,
                release_payment: true,
            },
        }
    }
}

impl fmt::Display for FailureReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::PaymentDeclined { message } => write!(f, "payment declined: {message}"),
            Self::PaymentTimedOut => f.write_str("the payment provider did not answer in time"),
            Self::GrantRefused { code, message } => {
                write!(f, "the pool refused the grant ({code}): {message}")
            }
            Self::GrantTimedOut => f.write_str("the pool did not answer the grant in time"),
            Self::CaptureFailed { message } => write!(f, "capture failed: {message}"),
            Self::CaptureTimedOut => {
                f.write_str("the payment provider did not confirm the capture in time")
            }
        }
    }
}

/// The undo steps a failure calls for, run in reverse order of the forward steps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Compensation {
    /// The grant must be revoked (first).
    pub revoke_grant: bool,
    /// The payment must be released (then).
    pub release_payment: bool,
}
