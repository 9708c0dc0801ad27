//! The saga's decisions, without Kafka or HTTP: which step comes next with which derived
//! ids, when a step times out, and what each answer of the provider or the pool records.

use std::time::Duration;

use domain::{
    Cents, CommandId, Ctx, FailureReason, GrantId, Purchase, PurchaseCommand, PurchaseId,
    PurchaseOrder, PurchaseStep, Timestamp, Tokens, execute,
};
use sagas::purchase::decide::{
    Action, PaymentAnswer, PoolAnswer, StepTimeouts, next_action, payment_outcome, pool_outcome,
};
use sagas::purchase::ids;
use uuid::Uuid;

const TIMEOUTS: StepTimeouts = StepTimeouts {
    reserve: Duration::from_secs(10),
    grant: Duration::from_secs(20),
    capture: Duration::from_secs(30),
};

fn t(ms: i64) -> Timestamp {
    Timestamp::from_millis(ms).unwrap()
}

fn pid() -> PurchaseId {
    PurchaseId::from_uuid(Uuid::from_u128(7))
}

fn order() -> PurchaseOrder {
    PurchaseOrder {
        pool: "org:acme/openai".parse().unwrap(),
        tokens: Tokens::new(5_000).unwrap(),
        price: Cents::new(1_250).unwrap(),
        payment_method: "pm_card_visa".parse().unwrap(),
    }
}

/// A purchase after `commands`, each handled at time 0.
fn purchase_after(commands: &[PurchaseCommand]) -> Purchase {
    let ctx = Ctx {
        now: t(0),
        command_id: CommandId::from_uuid(Uuid::from_u128(1)),
        actor: "system:sagas".parse().unwrap(),
    };
    let mut purchase = Purchase::default();
    let request = PurchaseCommand::RequestPurchase {
        purchase_id: pid(),
        order: order(),
    };
    for command in std::iter::once(&request).chain(commands) {
        execute(&mut purchase, command, &ctx).unwrap();
    }
    purchase
}

#[test]
fn a_new_purchase_reserves_its_price_under_the_derived_payment_id() {
    let action = next_action(&purchase_after(&[]), t(1), &TIMEOUTS);
    assert_eq!(
        action,
        Some(Action::ReservePayment {
            payment_id: ids::payment_id(pid()),
            reference: pid(),
            amount_cents: 1_250,
            payment_method: "pm_card_visa".into(),
        })
    );
}

#[test]
fn each_step_has_its_action_and_a_done_purchase_has_none() {
    let reserved = purchase_after(&[PurchaseCommand::RecordPaymentReserved]);
    assert_eq!(
        next_action(&reserved, t(1), &TIMEOUTS),
        Some(Action::CapturePayment {
            payment_id: ids::payment_id(pid())
        })
    );
    // Paid before anything is granted: a failed capture leaves nothing to take back.
    let captured = [
        PurchaseCommand::RecordPaymentReserved,
        PurchaseCommand::RecordPaymentCaptured,
    ];
    assert_eq!(
        next_action(&purchase_after(&captured), t(1), &TIMEOUTS),
        Some(Action::GrantTokens {
            pool: order().pool,
            grant_id: ids::grant_id(pid()),
            amount: order().tokens,
        })
    );
    let mut completed = captured.to_vec();
    completed.push(PurchaseCommand::RecordTokensGranted {
        grant_id: ids::grant_id(pid()),
    });
    assert_eq!(
        next_action(&purchase_after(&completed), t(1), &TIMEOUTS),
        None
    );
    assert_eq!(next_action(&Purchase::default(), t(1), &TIMEOUTS), None);
}

#[test]
fn compensation_revokes_then_releases_and_never_times_out() {
    let failed = [
        PurchaseCommand::RecordPaymentReserved,
        PurchaseCommand::RecordPaymentCaptured,
        PurchaseCommand::RecordStepFailed {
            reason: FailureReason::GrantTimedOut,
        },
    ];
    let late = t(1_000_000_000);
    assert_eq!(
        next_action(&purchase_after(&failed), late, &TIMEOUTS),
        Some(Action::RevokeGrant {
            pool: order().pool,
            grant_id: ids::grant_id(pid()),
        })
    );
    let mut revoked = failed.to_vec();
    revoked.push(PurchaseCommand::RecordGrantRevoked);
    assert_eq!(
        next_action(&purchase_after(&revoked), late, &TIMEOUTS),
        Some(Action::ReleasePayment {
            payment_id: ids::payment_id(pid())
        })
    );
}

#[test]
fn a_step_pending_for_its_timeout_fails_as_timed_out() {
    let cases = [
        (vec![], 10_000, FailureReason::PaymentTimedOut),
        (
            vec![PurchaseCommand::RecordPaymentReserved],
            30_000,
            FailureReason::CaptureTimedOut,
        ),
        (
            vec![
                PurchaseCommand::RecordPaymentReserved,
                PurchaseCommand::RecordPaymentCaptured,
            ],
            20_000,
            FailureReason::GrantTimedOut,
        ),
    ];
    for (history, limit, reason) in cases {
        let purchase = purchase_after(&history);
        assert!(
            !matches!(
                next_action(&purchase, t(limit - 1), &TIMEOUTS),
                Some(Action::Record(_))
            ),
            "{reason:?} one ms early"
        );
        assert_eq!(
            next_action(&purchase, t(limit), &TIMEOUTS),
            Some(Action::Record(PurchaseCommand::RecordStepFailed {
                reason: reason.clone()
            })),
            "{reason:?}"
        );
    }
}

#[test]
fn provider_answers_record_the_step_or_wait_for_a_retry() {
    let refused = || PaymentAnswer::Refused {
        message: "no".into(),
    };
    assert_eq!(
        payment_outcome(PurchaseStep::ReservePayment, PaymentAnswer::Done),
        Some(PurchaseCommand::RecordPaymentReserved)
    );
    assert_eq!(
        payment_outcome(PurchaseStep::ReservePayment, refused()),
        Some(PurchaseCommand::RecordStepFailed {
            reason: FailureReason::PaymentDeclined {
                message: "no".into()
            }
        })
    );
    assert_eq!(
        payment_outcome(PurchaseStep::CapturePayment, PaymentAnswer::Done),
        Some(PurchaseCommand::RecordPaymentCaptured)
    );
    assert_eq!(
        payment_outcome(PurchaseStep::CapturePayment, refused()),
        Some(PurchaseCommand::RecordStepFailed {
            reason: FailureReason::CaptureFailed {
                message: "no".into()
            }
        })
    );
    assert_eq!(
        payment_outcome(PurchaseStep::ReleasePayment, PaymentAnswer::Done),
        Some(PurchaseCommand::RecordPaymentReleased)
    );
    assert_eq!(
        payment_outcome(PurchaseStep::ReleasePayment, refused()),
        None
    );
    for step in [
        PurchaseStep::ReservePayment,
        PurchaseStep::CapturePayment,
        PurchaseStep::ReleasePayment,
    ] {
        assert_eq!(
            payment_outcome(step, PaymentAnswer::Unknown),
            None,
            "{step}"
        );
    }
}

#[test]
fn pool_answers_record_the_step_or_wait_for_a_retry() {
    let grant: GrantId = ids::grant_id(pid());
    let rejected = |code: &str| PoolAnswer::Rejected {
        code: code.into(),
        message: "m".into(),
    };
    assert_eq!(
        pool_outcome(PurchaseStep::GrantTokens, grant, PoolAnswer::Accepted),
        Some(PurchaseCommand::RecordTokensGranted { grant_id: grant })
    );
    assert_eq!(
        pool_outcome(
            PurchaseStep::GrantTokens,
            grant,
            rejected("quota_cap_exceeded")
        ),
        Some(PurchaseCommand::RecordStepFailed {
            reason: FailureReason::GrantRefused {
                code: "quota_cap_exceeded".into(),
                message: "m".into()
            }
        })
    );
    assert_eq!(
        pool_outcome(PurchaseStep::RevokeGrant, grant, PoolAnswer::Accepted),
        Some(PurchaseCommand::RecordGrantRevoked)
    );
    assert_eq!(
        pool_outcome(
            PurchaseStep::RevokeGrant,
            grant,
            rejected("pool_not_provisioned")
        ),
        Some(PurchaseCommand::RecordGrantRevoked)
    );
    assert_eq!(
        pool_outcome(PurchaseStep::RevokeGrant, grant, rejected("conflict")),
        None
    );
    assert_eq!(
        pool_outcome(PurchaseStep::GrantTokens, grant, PoolAnswer::Unknown),
        None
    );
}
