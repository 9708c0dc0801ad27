//! Every failure and its compensation, run in reverse: revoke the grant if it may have
//! happened, release the payment if it may have been reserved, then failed with the reason.

use domain::PurchaseEvent::*;
use domain::PurchaseRejection::*;
use domain::{Compensation, FailureReason, PurchaseCommand, PurchaseStatus, PurchaseStep};

use crate::support::*;

#[test]
fn a_declined_payment_fails_at_once_with_nothing_to_undo() {
    let declined = FailureReason::PaymentDeclined {
        message: "card declined".into(),
    };
    let purchase = given([requested()])
        .when(t(10), fail(declined.clone()))
        .then([
            StepFailed {
                reason: declined.clone(),
                compensation: Compensation {
                    revoke_grant: false,
                    release_payment: false,
                },
                at: t(10),
            },
            PurchaseFailed {
                reason: declined.clone(),
                at: t(10),
            },
        ]);
    assert_eq!(purchase.status(), Some(PurchaseStatus::Failed));
    assert_eq!(purchase.failure(), Some(&declined));
}

#[test]
fn a_payment_timeout_releases_the_payment_it_may_have_reserved() {
    let purchase = given([requested()])
        .when(t(10), fail(FailureReason::PaymentTimedOut))
        .then([StepFailed {
            reason: FailureReason::PaymentTimedOut,
            compensation: Compensation {
                revoke_grant: false,
                release_payment: true,
            },
            at: t(10),
        }]);
    assert_eq!(purchase.status(), Some(PurchaseStatus::Compensating));
    assert_eq!(purchase.awaiting(), Some(PurchaseStep::ReleasePayment));

    given([requested(), step_failed(FailureReason::PaymentTimedOut, 10)])
        .when(t(20), PurchaseCommand::RecordPaymentReleased)
        .then([
            PaymentReleased { at: t(20) },
            PurchaseFailed {
                reason: FailureReason::PaymentTimedOut,
                at: t(20),
            },
        ]);
}

#[test]
fn a_grant_refused_by_the_quota_cap_refunds_the_captured_payment_only() {
    let refused = FailureReason::GrantRefused {
        code: "quota_cap_exceeded".into(),
        message: "granting 5000 tokens would exceed the cap".into(),
    };
    let purchase = given([requested(), reserved(), captured()])
        .when(t(30), fail(refused.clone()))
        .then([StepFailed {
            reason: refused.clone(),
            compensation: Compensation {
                revoke_grant: false,
                release_payment: true,
            },
            at: t(30),
        }]);
    assert_eq!(purchase.awaiting(), Some(PurchaseStep::ReleasePayment));
}

#[test]
fn a_grant_timeout_revokes_the_grant_then_refunds_the_payment() {
    let history = [
        requested(),
        reserved(),
        captured(),
        step_failed(FailureReason::GrantTimedOut, 20),
    ];
    assert_eq!(
        given(history.clone()).state().awaiting(),
        Some(PurchaseStep::RevokeGrant)
    );
    let purchase = given(history.clone())
        .when(t(30), PurchaseCommand::RecordGrantRevoked)
        .then([GrantRevoked { at: t(30) }]);
    assert_eq!(purchase.awaiting(), Some(PurchaseStep::ReleasePayment));
    let purchase = given(history.into_iter().chain([GrantRevoked { at: t(30) }]))
        .when(t(40), PurchaseCommand::RecordPaymentReleased)
        .then([
            PaymentReleased { at: t(40) },
            PurchaseFailed {
                reason: FailureReason::GrantTimedOut,
                at: t(40),
            },
        ]);
    assert!(purchase.grant_revoked() && purchase.payment_released());
    assert_eq!(purchase.status(), Some(PurchaseStatus::Failed));
}

#[test]
fn a_failed_capture_voids_the_payment_and_has_no_grant_to_take_back() {
    let purchase = given([requested(), reserved()])
        .when(t(20), fail(capture_failed()))
        .then([StepFailed {
            reason: capture_failed(),
            compensation: Compensation {
                revoke_grant: false,
                release_payment: true,
            },
            at: t(20),
        }]);
    assert_eq!(purchase.awaiting(), Some(PurchaseStep::ReleasePayment));
    assert_eq!(purchase.grant_id(), None);
}

#[test]
fn a_capture_timeout_compensates_like_a_failed_capture() {
    assert_eq!(
        FailureReason::CaptureTimedOut.compensation(),
        capture_failed().compensation()
    );
    let purchase = given([requested(), reserved()])
        .when(t(20), fail(FailureReason::CaptureTimedOut))
        .then([step_failed(FailureReason::CaptureTimedOut, 20)]);
    assert_eq!(purchase.awaiting(), Some(PurchaseStep::ReleasePayment));
}

#[test]
fn a_failed_capture_of_a_purchase_granted_under_the_old_order_revokes_the_grant_first() {
    let history = [requested(), reserved(), granted_before_capture()];
    given(history.clone())
        .when(t(30), fail(capture_failed()))
        .then([StepFailed {
            reason: capture_failed(),
            compensation: Compensation {
                revoke_grant: true,
                release_payment: true,
            },
            at: t(30),
        }]);
    let failed = StepFailed {
        reason: capture_failed(),
        compensation: Compensation {
            revoke_grant: true,
            release_payment: true,
        },
        at: t(30),
    };
    let history: Vec<_> = history.into_iter().chain([failed]).collect();
    given(history.clone())
        .when(t(40), PurchaseCommand::RecordPaymentReleased)
        .then_rejected(OutOfStep {
            step: PurchaseStep::ReleasePayment,
            status: PurchaseStatus::Compensating,
        });
    given(history)
        .when(t(40), PurchaseCommand::RecordGrantRevoked)
        .then([GrantRevoked { at: t(40) }]);
}

#[test]
fn a_late_success_after_a_timeout_is_refused() {
    given([requested(), step_failed(FailureReason::PaymentTimedOut, 10)])
        .when(t(11), PurchaseCommand::RecordPaymentReserved)
        .then_rejected(OutOfStep {
            step: PurchaseStep::ReservePayment,
            status: PurchaseStatus::Compensating,
        });
    given([
        requested(),
        reserved(),
        captured(),
        step_failed(FailureReason::GrantTimedOut, 20),
    ])
    .when(
        t(21),
        PurchaseCommand::RecordTokensGranted { grant_id: gid() },
    )
    .then_rejected(OutOfStep {
        step: PurchaseStep::GrantTokens,
        status: PurchaseStatus::Compensating,
    });
}

#[test]
fn a_failure_reported_twice_changes_nothing_and_another_one_is_refused() {
    let history = [requested(), step_failed(FailureReason::PaymentTimedOut, 10)];
    given(history.clone())
        .when(t(12), fail(FailureReason::PaymentTimedOut))
        .then_nothing();
    given(history)
        .when(
            t(12),
            fail(FailureReason::PaymentDeclined {
                message: "late".into(),
            }),
        )
        .then_rejected(OutOfStep {
            step: PurchaseStep::ReservePayment,
            status: PurchaseStatus::Compensating,
        });
}

#[test]
fn a_failure_of_a_step_not_awaited_is_refused() {
    given([requested()])
        .when(t(10), fail(capture_failed()))
        .then_rejected(OutOfStep {
            step: PurchaseStep::CapturePayment,
            status: PurchaseStatus::Requested,
        });
}
