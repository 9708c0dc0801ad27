//! The purchase topics' values: every command and event variant round-trips through the
//! real schema registry in the Confluent wire format, snapshots keep the whole purchase,
//! and a purchase value sent to a topic of another kind is refused.

#[path = "support/mod.rs"]
mod support;

use domain::{
    Aggregate, Cents, Compensation, FailureReason, Purchase, PurchaseCommand, PurchaseEvent,
    PurchaseOrder, execute,
};
use schemas::{
    EncodeError, PurchaseCodec, PurchaseCommandEnvelope, PurchaseEventEnvelope, PurchaseSnapshot,
    TopicKind,
};
use serde_json::json;
use support::{alice, id, pool_id, t, tokens};

fn codec() -> PurchaseCodec {
    PurchaseCodec::new(&testkit::infra().registry).unwrap()
}

fn topic(kind: TopicKind) -> String {
    kind.topic(&format!("{}.", testkit::unique("purchase-codec")))
}

fn order() -> PurchaseOrder {
    PurchaseOrder {
        pool: pool_id(),
        tokens: tokens(5_000),
        price: Cents::new(1_250).unwrap(),
        payment_method: "pm_card_visa".parse().unwrap(),
    }
}

/// One of every failure reason.
fn reasons() -> Vec<FailureReason> {
    vec![
        FailureReason::PaymentDeclined {
            message: "card declined".into(),
        },
        FailureReason::PaymentTimedOut,
        FailureReason::GrantRefused {
            code: "quota_cap_exceeded".into(),
            message: "over the cap".into(),
        },
        FailureReason::GrantTimedOut,
        FailureReason::CaptureFailed {
            message: "insufficient funds".into(),
        },
        FailureReason::CaptureTimedOut,
    ]
}

/// One of every command (and every failure reason).
fn commands() -> Vec<PurchaseCommand> {
    let mut commands = vec![
        PurchaseCommand::RequestPurchase {
            purchase_id: id(7),
            order: order(),
        },
        PurchaseCommand::RecordPaymentReserved,
        PurchaseCommand::RecordTokensGranted { grant_id: id(70) },
        PurchaseCommand::RecordPaymentCaptured,
        PurchaseCommand::RecordGrantRevoked,
        PurchaseCommand::RecordPaymentReleased,
    ];
    commands.extend(
        reasons()
            .into_iter()
            .map(|reason| PurchaseCommand::RecordStepFailed { reason }),
    );
    commands
}

/// One of every event (and every failure reason).
fn events() -> Vec<PurchaseEvent> {
    let mut events = vec![
        PurchaseEvent::PurchaseRequested {
            purchase_id: id(7),
            order: order(),
            at: t(1),
        },
        PurchaseEvent::PaymentReserved { at: t(2) },
        PurchaseEvent::TokensGranted {
            grant_id: id(70),
            at: t(3),
        },
        PurchaseEvent::PaymentCaptured { at: t(4) },
        PurchaseEvent::PurchaseCompleted { at: t(4) },
        PurchaseEvent::GrantRevoked { at: t(5) },
        PurchaseEvent::PaymentReleased { at: t(6) },
    ];
    for reason in reasons() {
        events.push(PurchaseEvent::StepFailed {
            compensation: reason.compensation(),
            reason: reason.clone(),
            at: t(7),
        });
        events.push(PurchaseEvent::PurchaseFailed { reason, at: t(8) });
    }
    events.push(PurchaseEvent::StepFailed {
        reason: FailureReason::GrantTimedOut,
        compensation: Compensation {
            revoke_grant: false,
            release_payment: true,
        },
        at: t(9),
    });
    events
}

#[tokio::test]
async fn every_purchase_command_round_trips_through_the_registry() {
    let codec = codec();
    let topic = topic(TopicKind::PurchaseCommands);
    for (n, command) in (0..).zip(commands()) {
        let envelope = PurchaseCommandEnvelope {
            command_id: id(n),
            purchase_id: id(7),
            reply_to: "command-api-1".into(),
            actor: alice(),
            issued_at: t(1_000),
            deadline: t(61_000),
            command,
        };
        let bytes = codec.encode_command(&topic, &envelope).await.unwrap();
        assert_eq!(bytes[0], 0, "Confluent magic byte");
        assert_eq!(codec.decode_command(&bytes).await.unwrap(), envelope);
    }
}

#[tokio::test]
async fn every_purchase_event_round_trips_through_the_registry() {
    let codec = codec();
    let topic = topic(TopicKind::PurchaseEvents);
    for (n, event) in (0..).zip(events()) {
        let envelope = PurchaseEventEnvelope {
            purchase_id: id(7),
            command_id: id(n),
            actor: "system:sagas".parse().unwrap(),
            event,
        };
        let bytes = codec.encode_event(&topic, &envelope).await.unwrap();
        assert_eq!(codec.decode_event(&bytes).await.unwrap(), envelope);
    }
}

#[tokio::test]
async fn a_snapshot_keeps_the_whole_purchase() {
    let codec = codec();
    let topic = topic(TopicKind::PurchaseState);
    let ctx = domain::Ctx {
        now: t(10),
        command_id: id(1),
        actor: alice(),
    };
    let mut purchase = Purchase::default();
    for command in [
        PurchaseCommand::RequestPurchase {
            purchase_id: id(7),
            order: order(),
        },
        PurchaseCommand::RecordPaymentReserved,
        PurchaseCommand::RecordPaymentCaptured,
        PurchaseCommand::RecordStepFailed {
            reason: FailureReason::GrantTimedOut,
        },
    ] {
        execute(&mut purchase, &command, &ctx).unwrap();
    }
    assert!(
        purchase
            .handle(&PurchaseCommand::RecordGrantRevoked, &ctx)
            .is_ok()
    );
    let snapshot = PurchaseSnapshot {
        purchase_id: id(7),
        next_event_offset: 42,
        state: purchase,
        recent_commands: json!([{"command_id": "x"}]),
    };
    let bytes = codec.encode_snapshot(&topic, &snapshot).await.unwrap();
    assert_eq!(codec.decode_snapshot(&bytes).await.unwrap(), snapshot);
}

#[tokio::test]
async fn a_purchase_command_is_refused_for_a_pool_topic() {
    let envelope = PurchaseCommandEnvelope {
        command_id: id(1),
        purchase_id: id(7),
        reply_to: "x".into(),
        actor: alice(),
        issued_at: t(1),
        deadline: t(2),
        command: PurchaseCommand::RecordPaymentReserved,
    };
    let error = codec()
        .encode_command(&topic(TopicKind::PoolCommands), &envelope)
        .await
        .unwrap_err();
    assert!(
        matches!(
            error,
            EncodeError::WrongTopic {
                kind: TopicKind::PurchaseCommands,
                ..
            }
        ),
        "{error}"
    );
}
