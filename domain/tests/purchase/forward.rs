//! The forward path: placing a purchase, each step's success, repeats and stray outcomes.

use domain::PurchaseEvent::*;
use domain::PurchaseRejection::*;
use domain::{Cents, PurchaseCommand, PurchaseStatus, PurchaseStep, Tokens};

use crate::support::*;

#[test]
fn a_placed_purchase_awaits_its_payment() {
    let purchase = given([]).when(t(0), request()).then([PurchaseRequested {
        purchase_id: pid(),
        order: order(),
        at: t(0),
    }]);
    assert_eq!(purchase.status(), Some(PurchaseStatus::Requested));
    assert_eq!(purchase.awaiting(), Some(PurchaseStep::ReservePayment));
    assert_eq!(purchase.since(), Some(t(0)));
}

#[test]
fn placing_it_again_with_the_same_order_changes_nothing() {
    given([requested()]).when(t(5), request()).then_nothing();
}

#[test]
fn placing_it_again_with_another_order_is_a_conflict() {
    let mut other = order();
    other.price = Cents::new(1).expect("valid price");
    given([requested()])
        .when(
            t(5),
            PurchaseCommand::RequestPurchase {
                purchase_id: pid(),
                order: other,
            },
        )
        .then_rejected(Conflict { purchase_id: pid() });
    let mut more_tokens = order();
    more_tokens.tokens = Tokens::new(5_001).expect("valid amount");
    given([requested()])
        .when(
            t(5),
            PurchaseCommand::RequestPurchase {
                purchase_id: pid(),
                order: more_tokens,
            },
        )
        .then_rejected(Conflict { purchase_id: pid() });
}

#[test]
fn an_outcome_for_a_purchase_never_placed_is_refused() {
    given([])
        .when(t(5), PurchaseCommand::RecordPaymentReserved)
        .then_rejected(NotRequested);
}

#[test]
fn a_reserved_payment_moves_on_to_the_capture() {
    let purchase = given([requested()])
        .when(t(10), PurchaseCommand::RecordPaymentReserved)
        .then([PaymentReserved { at: t(10) }]);
    assert_eq!(purchase.status(), Some(PurchaseStatus::PaymentReserved));
    assert_eq!(purchase.awaiting(), Some(PurchaseStep::CapturePayment));
    assert_eq!(purchase.since(), Some(t(10)));
}

#[test]
fn a_captured_payment_moves_on_to_the_grant() {
    let purchase = given([requested(), reserved()])
        .when(t(20), PurchaseCommand::RecordPaymentCaptured)
        .then([PaymentCaptured { at: t(20) }]);
    assert_eq!(purchase.status(), Some(PurchaseStatus::PaymentCaptured));
    assert_eq!(purchase.awaiting(), Some(PurchaseStep::GrantTokens));
    assert!(purchase.payment_captured());
}

#[test]
fn granted_tokens_complete_the_paid_purchase() {
    let purchase = given([requested(), reserved(), captured()])
        .when(
            t(30),
            PurchaseCommand::RecordTokensGranted { grant_id: gid() },
        )
        .then([
            TokensGranted {
                grant_id: gid(),
                at: t(30),
            },
            PurchaseCompleted { at: t(30) },
        ]);
    assert_eq!(purchase.status(), Some(PurchaseStatus::Completed));
    assert_eq!(purchase.awaiting(), None);
    assert_eq!(purchase.grant_id(), Some(gid()));
    assert!(!purchase.grant_revoked() && !purchase.payment_released());
}

#[test]
fn no_token_is_granted_before_the_payment_is_captured() {
    given([requested(), reserved()])
        .when(
            t(20),
            PurchaseCommand::RecordTokensGranted { grant_id: gid() },
        )
        .then_rejected(OutOfStep {
            step: PurchaseStep::GrantTokens,
            status: PurchaseStatus::PaymentReserved,
        });
}

#[test]
fn a_purchase_granted_before_its_capture_under_the_old_order_still_captures_and_completes() {
    let history = [requested(), reserved(), granted_before_capture()];
    assert_eq!(
        given(history.clone()).state().awaiting(),
        Some(PurchaseStep::CapturePayment)
    );
    let purchase = given(history)
        .when(t(30), PurchaseCommand::RecordPaymentCaptured)
        .then([
            PaymentCaptured { at: t(30) },
            PurchaseCompleted { at: t(30) },
        ]);
    assert_eq!(purchase.status(), Some(PurchaseStatus::Completed));
}

#[test]
fn a_repeated_outcome_changes_nothing() {
    given([requested(), reserved()])
        .when(t(15), PurchaseCommand::RecordPaymentReserved)
        .then_nothing();
    given([requested(), reserved(), captured()])
        .when(t(25), PurchaseCommand::RecordPaymentCaptured)
        .then_nothing();
    given([
        requested(),
        reserved(),
        captured(),
        granted(),
        PurchaseCompleted { at: t(30) },
    ])
    .when(
        t(35),
        PurchaseCommand::RecordTokensGranted { grant_id: gid() },
    )
    .then_nothing();
}

#[test]
fn an_outcome_of_a_step_not_reached_yet_is_refused() {
    given([requested()])
        .when(t(10), PurchaseCommand::RecordPaymentCaptured)
        .then_rejected(OutOfStep {
            step: PurchaseStep::CapturePayment,
            status: PurchaseStatus::Requested,
        });
    given([requested()])
        .when(t(10), PurchaseCommand::RecordGrantRevoked)
        .then_rejected(OutOfStep {
            step: PurchaseStep::RevokeGrant,
            status: PurchaseStatus::Requested,
        });
}

#[test]
fn a_completed_purchase_cannot_fail_afterwards() {
    given([
        requested(),
        reserved(),
        captured(),
        granted(),
        PurchaseCompleted { at: t(30) },
    ])
    .when(t(40), fail(capture_failed()))
    .then_rejected(OutOfStep {
        step: PurchaseStep::CapturePayment,
        status: PurchaseStatus::Completed,
    });
}

#[test]
fn an_order_cannot_hold_a_free_price_or_a_malformed_payment_method() {
    assert!(Cents::new(0).is_err());
    assert!(Cents::new(Cents::MAX + 1).is_err());
    assert_eq!(Cents::new(Cents::MAX).map(Cents::get), Ok(Cents::MAX));
    for bad in ["", "pm card", "pm/card", &"x".repeat(65)] {
        assert!(bad.parse::<domain::PaymentMethod>().is_err(), "{bad:?}");
    }
    assert!("pm_card-visa_42".parse::<domain::PaymentMethod>().is_ok());
}
