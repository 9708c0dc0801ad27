//! Purchases: `purchase.*` topics, keyed by purchase id, answered with where the purchase
//! stands (on the shared `replies` topic).

use domain::{
    Actor, CommandId, Purchase, PurchaseCommand, PurchaseEvent, PurchaseId, PurchaseRejection,
    Timestamp,
};
use eventlog::{TopicSpec, Topics};
use schemas::{
    CommandReply, ConsistencyToken, PoolRejectionRecord, PurchaseCommandEnvelope,
    PurchaseEventEnvelope, PurchaseSnapshot, ReplyOutcome,
};

use super::Kind;
use crate::processor::ledger::{Decision, RememberedOutcome};
use crate::processor::reply::id_conflict;

/// The purchase aggregate kind.
#[derive(Debug, Clone, Copy)]
pub struct PurchaseKind;

impl Kind for PurchaseKind {
    const NAME: &'static str = "purchase";
    const GROUP: &'static str = "purchase-processor";

    type Aggregate = Purchase;
    type Key = PurchaseId;
    type Envelope = PurchaseCommandEnvelope;
    type EventRecord = PurchaseEventEnvelope;
    type Snapshot = PurchaseSnapshot;
    /// Purchases keep no refusals for analytics ([`Self::kept_rejection`] is always `None`).
    type KeptRejection = PoolRejectionRecord;

    fn commands_topic(topics: &Topics) -> String {
        topics.purchase_commands()
    }

    fn events_topic(topics: &Topics) -> String {
        topics.purchase_events()
    }

    fn state_topic(topics: &Topics) -> String {
        topics.purchase_state()
    }

    fn rejections_topic(topics: &Topics) -> String {
        topics.pool_rejections()
    }

    fn topic_specs(topics: &Topics, partitions: u32) -> Vec<TopicSpec> {
        topics.purchase_topic_specs(partitions)
    }

    fn key(command: &PurchaseCommandEnvelope) -> &PurchaseId {
        &command.purchase_id
    }

    fn command_id(command: &PurchaseCommandEnvelope) -> CommandId {
        command.command_id
    }

    fn reply_to(command: &PurchaseCommandEnvelope) -> &str {
        &command.reply_to
    }

    fn actor(command: &PurchaseCommandEnvelope) -> &Actor {
        &command.actor
    }

    fn command(command: &PurchaseCommandEnvelope) -> &PurchaseCommand {
        &command.command
    }

    fn is_past_deadline(command: &PurchaseCommandEnvelope, now: Timestamp) -> bool {
        command.is_past_deadline(now)
    }

    fn deadline(command: &PurchaseCommandEnvelope) -> Timestamp {
        command.deadline
    }

    fn rejection_code(rejection: &PurchaseRejection) -> &'static str {
        rejection.code()
    }

    fn event_name(event: &PurchaseEvent) -> &'static str {
        event.name()
    }

    fn event_record(
        command: &PurchaseCommandEnvelope,
        event: &PurchaseEvent,
    ) -> PurchaseEventEnvelope {
        PurchaseEventEnvelope::caused_by(command, event.clone())
    }

    fn logged_event(record: PurchaseEventEnvelope) -> (PurchaseId, CommandId, PurchaseEvent) {
        (record.purchase_id, record.command_id, record.event)
    }

    fn snapshot(
        key: &PurchaseId,
        state: &Purchase,
        recent_commands: serde_json::Value,
        next_event_offset: i64,
    ) -> PurchaseSnapshot {
        PurchaseSnapshot {
            purchase_id: *key,
            next_event_offset,
            state: state.clone(),
            recent_commands,
        }
    }

    fn restored(snapshot: PurchaseSnapshot) -> (PurchaseId, Purchase, serde_json::Value, i64) {
        (
            snapshot.purchase_id,
            snapshot.state,
            snapshot.recent_commands,
            snapshot.next_event_offset,
        )
    }

    fn kept_rejection(
        _command: &PurchaseCommandEnvelope,
        _rejection: &PurchaseRejection,
        _now: Timestamp,
    ) -> Option<PoolRejectionRecord> {
        None
    }

    fn reply(
        command: &PurchaseCommandEnvelope,
        decision: &Decision<Purchase>,
        token: Option<ConsistencyToken>,
        purchase: &Purchase,
        now: Timestamp,
    ) -> Option<CommandReply> {
        match decision {
            Decision::Accepted(events) => {
                CommandReply::purchase_accepted(command, events, token, purchase)
            }
            Decision::Rejected(rejection) => {
                CommandReply::purchase_rejected(command, rejection, purchase)
            }
            Decision::Expired => CommandReply::purchase_expired(command, now),
            Decision::Repeated(remembered) => repeated(command, remembered, purchase),
            Decision::IdConflict => Some(CommandReply {
                rejection: Some(id_conflict(command.command_id)),
                ..CommandReply::about_purchase(command, ReplyOutcome::Rejected, purchase)?
            }),
        }
    }
}

/// The first answer again, with where the purchase stands now.
fn repeated(
    command: &PurchaseCommandEnvelope,
    remembered: &RememberedOutcome<PurchaseRejection>,
    purchase: &Purchase,
) -> Option<CommandReply> {
    match &remembered.rejection {
        Some(rejection) => CommandReply::purchase_rejected(command, rejection, purchase),
        None => Some(CommandReply {
            events: remembered.events.clone(),
            consistency_token: remembered
                .consistency_token
                .as_deref()
                .and_then(|t| t.parse().ok()),
            ..CommandReply::about_purchase(command, ReplyOutcome::Accepted, purchase)?
        }),
    }
}

#[cfg(test)]
mod tests {
    use domain::{Cents, PurchaseOrder, PurchaseStatus, Tokens};
    use uuid::Uuid;

    use super::*;
    use crate::processor::ledger::{PartitionLedger, Undo};

    fn t(ms: i64) -> Timestamp {
        Timestamp::from_millis(ms).unwrap()
    }

    fn envelope(n: u128, command: PurchaseCommand) -> PurchaseCommandEnvelope {
        PurchaseCommandEnvelope {
            command_id: CommandId::from_uuid(Uuid::from_u128(n)),
            purchase_id: PurchaseId::from_uuid(Uuid::from_u128(7)),
            reply_to: "command-api-1".into(),
            actor: "user:alice".parse().unwrap(),
            issued_at: t(0),
            deadline: t(10_000),
            command,
        }
    }

    fn request(tokens: u64) -> PurchaseCommand {
        PurchaseCommand::RequestPurchase {
            purchase_id: PurchaseId::from_uuid(Uuid::from_u128(7)),
            order: PurchaseOrder {
                pool: "org:acme/openai".parse().unwrap(),
                tokens: Tokens::new(tokens).unwrap(),
                price: Cents::new(100).unwrap(),
                payment_method: "pm_card_visa".parse().unwrap(),
            },
        }
    }

    fn decide_and_reply(
        ledger: &mut PartitionLedger<PurchaseKind>,
        command: &PurchaseCommandEnvelope,
    ) -> Option<CommandReply> {
        let decision = ledger.decide(command, t(1), &mut Undo::default());
        let purchase = ledger
            .slot(&command.purchase_id)
            .map(|s| s.state.clone())
            .unwrap_or_default();
        PurchaseKind::reply(command, &decision, None, &purchase, t(1))
    }

    #[test]
    fn a_placed_purchase_is_answered_with_its_pool_and_status() {
        let mut ledger = PartitionLedger::default();
        let reply = decide_and_reply(&mut ledger, &envelope(1, request(10))).unwrap();
        assert_eq!(reply.outcome, ReplyOutcome::Accepted);
        assert_eq!(reply.pool_id.to_string(), "org:acme/openai");
        assert_eq!(reply.purchase.unwrap().status, PurchaseStatus::Requested);
        assert_eq!(reply.events, ["PurchaseRequested"]);
    }

    #[test]
    fn a_retry_gets_the_first_answer_and_another_payload_under_its_id_is_a_conflict() {
        let mut ledger = PartitionLedger::default();
        decide_and_reply(&mut ledger, &envelope(1, request(10)));
        let again = decide_and_reply(&mut ledger, &envelope(1, request(10))).unwrap();
        assert_eq!(again.outcome, ReplyOutcome::Accepted);
        assert_eq!(again.events, ["PurchaseRequested"]);
        let conflict = decide_and_reply(&mut ledger, &envelope(1, request(11))).unwrap();
        assert_eq!(conflict.outcome, ReplyOutcome::Rejected);
        assert_eq!(conflict.rejection.unwrap().code, "idempotency_conflict");
        let other_command = decide_and_reply(&mut ledger, &envelope(2, request(11))).unwrap();
        assert_eq!(other_command.rejection.unwrap().code, "conflict");
    }

    #[test]
    fn an_outcome_for_a_purchase_never_placed_names_no_pool_so_gets_no_reply() {
        let mut ledger = PartitionLedger::default();
        let outcome = envelope(3, PurchaseCommand::RecordPaymentReserved);
        assert!(decide_and_reply(&mut ledger, &outcome).is_none());
    }
}
