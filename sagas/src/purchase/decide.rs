//! What the saga does next for a purchase, and what an outcome means: pure, so every
//! branch is tested without Kafka or HTTP.
//!
//! The decision is a function of the purchase's state (from the log) and the time: the
//! saga keeps nothing else, so after a restart it simply decides again and repeats the
//! awaited step, which every party deduplicates by the derived ids.

use std::time::Duration;

use domain::{
    FailureReason, GrantId, PoolId, Purchase, PurchaseCommand, PurchaseId, PurchaseStep, Timestamp,
    Tokens,
};

use super::ids;

/// How long each forward step may stay pending before it fails as timed out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StepTimeouts {
    /// Reserving the payment.
    pub reserve: Duration,
    /// Granting the tokens.
    pub grant: Duration,
    /// Capturing the payment.
    pub capture: Duration,
}

impl StepTimeouts {
    fn of(&self, step: PurchaseStep) -> Option<Duration> {
        match step {
            PurchaseStep::ReservePayment => Some(self.reserve),
            PurchaseStep::GrantTokens => Some(self.grant),
            PurchaseStep::CapturePayment => Some(self.capture),
            // Compensations are retried until they succeed: there is nothing to fall back to.
            PurchaseStep::RevokeGrant | PurchaseStep::ReleasePayment => None,
        }
    }
}

/// One thing the saga does for a purchase.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Ask the provider to hold the price.
    ReservePayment {
        /// The provider's idempotency key.
        payment_id: String,
        /// What the payment is for (the purchase id).
        reference: PurchaseId,
        /// The price in cents.
        amount_cents: u64,
        /// The buyer's payment method.
        payment_method: String,
    },
    /// Ask the pool for the tokens.
    GrantTokens {
        /// The pool.
        pool: PoolId,
        /// The grant (its idempotency key in the pool).
        grant_id: GrantId,
        /// Tokens to grant.
        amount: Tokens,
    },
    /// Ask the provider to charge the held amount.
    CapturePayment {
        /// The provider's payment id.
        payment_id: String,
    },
    /// Ask the pool to take the grant back.
    RevokeGrant {
        /// The pool.
        pool: PoolId,
        /// The grant.
        grant_id: GrantId,
    },
    /// Ask the provider to void the hold or refund the charge.
    ReleasePayment {
        /// The provider's payment id.
        payment_id: String,
    },
    /// Record an outcome the saga decided itself: a step that took too long.
    Record(PurchaseCommand),
}

/// What the saga does next for `purchase` at `now`; `None` once it is done.
pub fn next_action(purchase: &Purchase, now: Timestamp, timeouts: &StepTimeouts) -> Option<Action> {
    let step = purchase.awaiting()?;
    let purchase_id = purchase.id()?;
    let order = purchase.order()?;
    let since = purchase.since()?;
    if let Some(limit) = timeouts.of(step) {
        let waited = now.saturating_duration_since(since).as_millis();
        if u128::from(waited) >= limit.as_millis() {
            return Some(Action::Record(PurchaseCommand::RecordStepFailed {
                reason: timed_out(step),
            }));
        }
    }
    let payment_id = ids::payment_id(purchase_id);
    Some(match step {
        PurchaseStep::ReservePayment => Action::ReservePayment {
            payment_id,
            reference: purchase_id,
            amount_cents: order.price.get(),
            payment_method: order.payment_method.to_string(),
        },
        PurchaseStep::GrantTokens => Action::GrantTokens {
            pool: order.pool.clone(),
            grant_id: ids::grant_id(purchase_id),
            amount: order.tokens,
        },
        PurchaseStep::CapturePayment => Action::CapturePayment { payment_id },
        PurchaseStep::RevokeGrant => Action::RevokeGrant {
            pool: order.pool.clone(),
            grant_id: purchase.grant_id().unwrap_or(ids::grant_id(purchase_id)),
        },
        PurchaseStep::ReleasePayment => Action::ReleasePayment { payment_id },
    })
}

fn timed_out(step: PurchaseStep) -> FailureReason {
    match step {
        PurchaseStep::ReservePayment => FailureReason::PaymentTimedOut,
        PurchaseStep::GrantTokens => FailureReason::GrantTimedOut,
        _ => FailureReason::CaptureTimedOut,
    }
}

/// What the payment provider answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PaymentAnswer {
    /// The operation was done (or had been).
    Done,
    /// A definite refusal (a declined card, a refused capture).
    Refused {
        /// The provider's reason.
        message: String,
    },
    /// No usable answer (timeout, connection error, 5xx, conflict): try again later.
    Unknown,
}

/// What the pool answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PoolAnswer {
    /// Accepted (or already applied).
    Accepted,
    /// Refused by the pool.
    Rejected {
        /// The rejection code.
        code: String,
        /// The reason.
        message: String,
    },
    /// No reply in time, or the command expired unhandled: try again later.
    Unknown,
}

/// The purchase command recording a provider's answer to `step`; `None`: retry later.
pub fn payment_outcome(step: PurchaseStep, answer: PaymentAnswer) -> Option<PurchaseCommand> {
    match (step, answer) {
        (_, PaymentAnswer::Unknown) => None,
        (PurchaseStep::ReservePayment, PaymentAnswer::Done) => {
            Some(PurchaseCommand::RecordPaymentReserved)
        }
        (PurchaseStep::ReservePayment, PaymentAnswer::Refused { message }) => {
            Some(PurchaseCommand::RecordStepFailed {
                reason: FailureReason::PaymentDeclined { message },
            })
        }
        (PurchaseStep::CapturePayment, PaymentAnswer::Done) => {
            Some(PurchaseCommand::RecordPaymentCaptured)
        }
        (PurchaseStep::CapturePayment, PaymentAnswer::Refused { message }) => {
            Some(PurchaseCommand::RecordStepFailed {
                reason: FailureReason::CaptureFailed { message },
            })
        }
        (PurchaseStep::ReleasePayment, PaymentAnswer::Done) => {
            Some(PurchaseCommand::RecordPaymentReleased)
        }
        // A release is never refused for good; grant steps are not the provider's.
        _ => None,
    }
}

/// The purchase command recording the pool's answer to `step`; `None`: retry later.
pub fn pool_outcome(
    step: PurchaseStep,
    grant_id: GrantId,
    answer: PoolAnswer,
) -> Option<PurchaseCommand> {
    match (step, answer) {
        (_, PoolAnswer::Unknown) => None,
        (PurchaseStep::GrantTokens, PoolAnswer::Accepted) => {
            Some(PurchaseCommand::RecordTokensGranted { grant_id })
        }
        (PurchaseStep::GrantTokens, PoolAnswer::Rejected { code, message }) => {
            Some(PurchaseCommand::RecordStepFailed {
                reason: FailureReason::GrantRefused { code, message },
            })
        }
        (PurchaseStep::RevokeGrant, PoolAnswer::Accepted) => {
            Some(PurchaseCommand::RecordGrantRevoked)
        }
        // A pool that does not exist holds no grant: there is nothing to take back.
        (PurchaseStep::RevokeGrant, PoolAnswer::Rejected { code, .. })
            if code == "pool_not_provisioned" =>
        {
            Some(PurchaseCommand::RecordGrantRevoked)
        }
        _ => None,
    }
}
