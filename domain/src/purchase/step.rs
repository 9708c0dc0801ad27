//! The steps of a purchase, forward and compensating, and where a purchase stands.

use std::fmt;

use serde::{Deserialize, Serialize};

/// One step the saga performs for a purchase.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum PurchaseStep {
    /// Reserve (authorise) the payment with the provider.
    ReservePayment,
    /// Capture the reserved payment (before any token is granted: a token is never
    /// spendable before it is paid for).
    CapturePayment,
    /// Grant the tokens to the pool.
    GrantTokens,
    /// Compensation: take the grant back.
    RevokeGrant,
    /// Compensation: void the reservation, or refund a capture.
    ReleasePayment,
}

impl PurchaseStep {
    /// Whether this step undoes another (compensations are retried, never failed).
    pub fn is_compensation(self) -> bool {
        matches!(self, Self::RevokeGrant | Self::ReleasePayment)
    }

    /// Stable machine-readable name.
    pub fn code(self) -> &'static str {
        match self {
            Self::ReservePayment => "reserve_payment",
            Self::GrantTokens => "grant_tokens",
            Self::CapturePayment => "capture_payment",
            Self::RevokeGrant => "revoke_grant",
            Self::ReleasePayment => "release_payment",
        }
    }
}

impl fmt::Display for PurchaseStep {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// Where a purchase stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum PurchaseStatus {
    /// Placed; the payment is being reserved.
    Requested,
    /// Paid for provisionally; the payment is being captured.
    PaymentReserved,
    /// Paid; the tokens are being granted.
    PaymentCaptured,
    /// Tokens granted before the payment was captured (the order of purchases placed
    /// before captures came first); the payment is being captured.
    TokensGranted,
    /// Paid and granted: done.
    Completed,
    /// A step failed; its effects are being undone.
    Compensating,
    /// Failed and fully undone: done.
    Failed,
}

impl PurchaseStatus {
    /// Whether nothing more will happen to the purchase.
    pub fn is_terminal(self) -> bool {
        matches!(self, Self::Completed | Self::Failed)
    }

    /// Stable machine-readable name (the Avro enum symbol).
    pub fn code(self) -> &'static str {
        match self {
            Self::Requested => "REQUESTED",
            Self::PaymentReserved => "PAYMENT_RESERVED",
            Self::PaymentCaptured => "PAYMENT_CAPTURED",
            Self::TokensGranted => "TOKENS_GRANTED",
            Self::Completed => "COMPLETED",
            Self::Compensating => "COMPENSATING",
            Self::Failed => "FAILED",
        }
    }
}

impl fmt::Display for PurchaseStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}
