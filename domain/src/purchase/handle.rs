//! Deciding what a command means for a purchase.

use super::command::PurchaseCommand;
use super::event::PurchaseEvent;
use super::rejection::PurchaseRejection;
use super::state::PurchaseState;
use crate::time::Timestamp;

type Outcome = Result<Vec<PurchaseEvent>, PurchaseRejection>;

/// What `cmd` does to the purchase in `state` at `now`.
pub(crate) fn handle(
    state: Option<&PurchaseState>,
    cmd: &PurchaseCommand,
    now: Timestamp,
) -> Outcome {
    let at = now;
    match (state, cmd) {
        (None, PurchaseCommand::RequestPurchase { purchase_id, order }) => {
            Ok(vec![PurchaseEvent::PurchaseRequested {
                purchase_id: *purchase_id,
                order: order.clone(),
                at,
            }])
        }
        (Some(s), PurchaseCommand::RequestPurchase { purchase_id, order }) => {
            if s.id == *purchase_id && s.order == *order {
                Ok(vec![])
            } else {
                Err(PurchaseRejection::Conflict { purchase_id: s.id })
            }
        }
        (None, _) => Err(PurchaseRejection::NotRequested),
        (Some(s), cmd) => record_outcome(s, cmd, at),
    }
}

/// A step's outcome: progress if the step is awaited, nothing if it is a repeat.
fn record_outcome(s: &PurchaseState, cmd: &PurchaseCommand, at: Timestamp) -> Outcome {
    let Some(step) = cmd.step() else {
        return Ok(vec![]);
    };
    if s.awaiting() != Some(step) {
        return if already_recorded(s, cmd) {
            Ok(vec![])
        } else {
            Err(PurchaseRejection::OutOfStep {
                step,
                status: s.status,
            })
        };
    }
    Ok(match cmd {
        PurchaseCommand::RequestPurchase { .. } => vec![],
        PurchaseCommand::RecordPaymentReserved => vec![PurchaseEvent::PaymentReserved { at }],
        PurchaseCommand::RecordTokensGranted { grant_id } => {
            let granted = PurchaseEvent::TokensGranted {
                grant_id: *grant_id,
                at,
            };
            completed_by(granted, s.payment_captured, at)
        }
        PurchaseCommand::RecordPaymentCaptured => {
            completed_by(PurchaseEvent::PaymentCaptured { at }, s.grant.is_some(), at)
        }
        PurchaseCommand::RecordStepFailed { reason } => {
            let mut compensation = reason.compensation();
            // A purchase placed when grants came before captures may hold a grant already.
            compensation.revoke_grant |= s.grant.is_some() && !s.grant_revoked;
            let mut events = vec![PurchaseEvent::StepFailed {
                reason: reason.clone(),
                compensation,
                at,
            }];
            if !compensation.revoke_grant && !compensation.release_payment {
                events.push(PurchaseEvent::PurchaseFailed {
                    reason: reason.clone(),
                    at,
                });
            }
            events
        }
        PurchaseCommand::RecordGrantRevoked => {
            let mut events = vec![PurchaseEvent::GrantRevoked { at }];
            if !s.pending.release_payment {
                events.extend(failed(s, at));
            }
            events
        }
        PurchaseCommand::RecordPaymentReleased => {
            let mut events = vec![PurchaseEvent::PaymentReleased { at }];
            events.extend(failed(s, at));
            events
        }
    })
}

/// `last`, then the purchase is complete if `other_done` (paid and granted).
fn completed_by(last: PurchaseEvent, other_done: bool, at: Timestamp) -> Vec<PurchaseEvent> {
    let mut events = vec![last];
    if other_done {
        events.push(PurchaseEvent::PurchaseCompleted { at });
    }
    events
}

/// The closing event of a compensated purchase.
fn failed(s: &PurchaseState, at: Timestamp) -> Option<PurchaseEvent> {
    s.failure
        .clone()
        .map(|reason| PurchaseEvent::PurchaseFailed { reason, at })
}

/// Whether `cmd` reports exactly what the purchase already recorded.
fn already_recorded(s: &PurchaseState, cmd: &PurchaseCommand) -> bool {
    match cmd {
        PurchaseCommand::RequestPurchase { .. } => false,
        PurchaseCommand::RecordPaymentReserved => s.payment_reserved,
        PurchaseCommand::RecordTokensGranted { grant_id } => s.grant == Some(*grant_id),
        PurchaseCommand::RecordPaymentCaptured => s.payment_captured,
        PurchaseCommand::RecordStepFailed { reason } => s.failure.as_ref() == Some(reason),
        PurchaseCommand::RecordGrantRevoked => s.grant_revoked,
        PurchaseCommand::RecordPaymentReleased => s.payment_released,
    }
}
