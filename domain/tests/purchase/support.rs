//! Fixtures for the purchase's specification, and its entry to the given/when/then
//! harness (`crate::spec`).

use domain::{
    Cents, FailureReason, GrantId, Purchase, PurchaseCommand, PurchaseEvent, PurchaseId,
    PurchaseOrder, Timestamp, Tokens,
};
use uuid::Uuid;

/// An instant `ms` milliseconds after the epoch.
pub fn t(ms: i64) -> Timestamp {
    Timestamp::from_millis(ms).expect("test timestamp in range")
}

/// Purchase number 7.
pub fn pid() -> PurchaseId {
    PurchaseId::from_uuid(Uuid::from_u128(7))
}

/// The grant the saga derives for purchase 7.
pub fn gid() -> GrantId {
    GrantId::from_uuid(Uuid::from_u128(70))
}

/// 5,000 tokens for `user:alice/openai`, 1,250 cents, paid with a test card.
pub fn order() -> PurchaseOrder {
    PurchaseOrder {
        pool: "user:alice/openai".parse().expect("valid pool"),
        tokens: Tokens::new(5_000).expect("valid amount"),
        price: Cents::new(1_250).expect("valid price"),
        payment_method: "pm_card_visa".parse().expect("valid payment method"),
    }
}

// ---- given: past events ------------------------------------------------------------

/// Placed at 0.
pub fn requested() -> PurchaseEvent {
    PurchaseEvent::PurchaseRequested {
        purchase_id: pid(),
        order: order(),
        at: t(0),
    }
}

/// Payment reserved at 10.
pub fn reserved() -> PurchaseEvent {
    PurchaseEvent::PaymentReserved { at: t(10) }
}

/// Payment captured at 20.
pub fn captured() -> PurchaseEvent {
    PurchaseEvent::PaymentCaptured { at: t(20) }
}

/// Tokens granted at 30.
pub fn granted() -> PurchaseEvent {
    PurchaseEvent::TokensGranted {
        grant_id: gid(),
        at: t(30),
    }
}

/// Tokens granted at 20, before the capture: the order of purchases placed before
/// captures came first, still in the log.
pub fn granted_before_capture() -> PurchaseEvent {
    PurchaseEvent::TokensGranted {
        grant_id: gid(),
        at: t(20),
    }
}

/// `reason` recorded at `at`, with the compensation it calls for.
pub fn step_failed(reason: FailureReason, at: i64) -> PurchaseEvent {
    PurchaseEvent::StepFailed {
        compensation: reason.compensation(),
        reason,
        at: t(at),
    }
}

/// Why a capture fails.
pub fn capture_failed() -> FailureReason {
    FailureReason::CaptureFailed {
        message: "insufficient funds".into(),
    }
}

// ---- when: commands ----------------------------------------------------------------

/// Place purchase 7 with [`order`].
pub fn request() -> PurchaseCommand {
    PurchaseCommand::RequestPurchase {
        purchase_id: pid(),
        order: order(),
    }
}

/// Record `reason`.
pub fn fail(reason: FailureReason) -> PurchaseCommand {
    PurchaseCommand::RecordStepFailed { reason }
}

// ---- the harness -------------------------------------------------------------------

/// The purchase's history before the command under test (issued by the saga).
pub fn given(events: impl IntoIterator<Item = PurchaseEvent>) -> crate::spec::Given<Purchase> {
    crate::spec::given(events, "system:sagas")
}
