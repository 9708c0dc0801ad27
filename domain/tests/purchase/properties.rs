//! Invariants over any sequence of step outcomes, in any order, repeated or late.

use domain::{
    Aggregate, CommandId, Ctx, FailureReason, Purchase, PurchaseCommand, PurchaseEvent,
    PurchaseStatus, execute, replay,
};
use proptest::prelude::*;
use uuid::Uuid;

use crate::support::*;

fn any_reason() -> impl Strategy<Value = FailureReason> {
    prop_oneof![
        Just(FailureReason::PaymentDeclined {
            message: "declined".into()
        }),
        Just(FailureReason::PaymentTimedOut),
        Just(FailureReason::GrantRefused {
            code: "quota_cap_exceeded".into(),
            message: "cap".into()
        }),
        Just(FailureReason::GrantTimedOut),
        Just(FailureReason::CaptureFailed {
            message: "refused".into()
        }),
        Just(FailureReason::CaptureTimedOut),
    ]
}

fn any_command() -> impl Strategy<Value = PurchaseCommand> {
    prop_oneof![
        Just(request()),
        Just(PurchaseCommand::RecordPaymentReserved),
        Just(PurchaseCommand::RecordTokensGranted { grant_id: gid() }),
        Just(PurchaseCommand::RecordPaymentCaptured),
        any_reason().prop_map(|reason| PurchaseCommand::RecordStepFailed { reason }),
        Just(PurchaseCommand::RecordGrantRevoked),
        Just(PurchaseCommand::RecordPaymentReleased),
    ]
}

fn ctx(now: i64) -> Ctx {
    Ctx {
        now: t(now),
        command_id: CommandId::from_uuid(Uuid::from_u128(1)),
        actor: "system:sagas".parse().expect("valid actor"),
    }
}

/// Whether the buyer ends up holding tokens they were not charged for, or charged for
/// tokens they do not hold, once the purchase is done.
fn is_consistent_when_done(p: &Purchase) -> bool {
    match p.status() {
        Some(PurchaseStatus::Completed) => {
            p.payment_captured() && p.grant_id().is_some() && p.failure().is_none()
        }
        Some(PurchaseStatus::Failed) => {
            let Some(reason) = p.failure() else {
                return false;
            };
            let undo = reason.compensation();
            let granted_and_kept = p.grant_id().is_some() && !p.grant_revoked();
            (!undo.revoke_grant || p.grant_revoked())
                && (!undo.release_payment || p.payment_released())
                && !granted_and_kept
        }
        _ => true,
    }
}

proptest! {
    #[test]
    fn any_sequence_of_outcomes_tells_one_consistent_story(
        commands in proptest::collection::vec(any_command(), 0..40)
    ) {
        let mut live = Purchase::default();
        let mut history: Vec<PurchaseEvent> = Vec::new();
        for (i, command) in commands.iter().enumerate() {
            let before = live.clone();
            let now = i64::try_from(i).unwrap_or(0) * 10;
            match execute(&mut live, command, &ctx(now)) {
                Ok(events) => {
                    if before.status().is_some_and(PurchaseStatus::is_terminal) {
                        prop_assert!(events.is_empty(), "a finished purchase changed: {events:?}");
                    }
                    history.extend(events);
                }
                Err(_) => prop_assert_eq!(&live, &before, "a refused command changed the state"),
            }
            prop_assert_eq!(&replay::<Purchase>(&history), &live);
            prop_assert!(is_consistent_when_done(&live), "inconsistent end: {live:?}");
            // Tokens are never spendable before they are paid for.
            prop_assert!(live.grant_id().is_none() || live.payment_captured(),
                "granted before the capture: {live:?}");
            // A purchase is never both completed and compensated.
            prop_assert!(!(live.payment_captured() && live.failure().is_some()
                && live.status() == Some(PurchaseStatus::Completed)));
        }
    }

    #[test]
    fn the_happy_path_with_any_repeats_still_completes(
        repeats in proptest::collection::vec(0usize..3, 4)
    ) {
        let steps = [
            request(),
            PurchaseCommand::RecordPaymentReserved,
            PurchaseCommand::RecordPaymentCaptured,
            PurchaseCommand::RecordTokensGranted { grant_id: gid() },
        ];
        let mut purchase = Purchase::default();
        for (step, times) in steps.iter().zip(repeats) {
            for _ in 0..=times {
                prop_assert!(purchase.handle(step, &ctx(0)).is_ok());
                execute(&mut purchase, step, &ctx(0)).expect("accepted");
            }
        }
        prop_assert_eq!(purchase.status(), Some(PurchaseStatus::Completed));
    }
}
