//! Token pools: `token-pool.*` topics, keyed by pool id, answered with the pool's balance
//! and limits, refusals by policy kept in `token-pool.rejections`, lapsed holds expired.

use domain::{
    Actor, CommandId, PoolId, Timestamp, TokenPool, TokenPoolCommand, TokenPoolEvent,
    TokenPoolRejection,
};
use eventlog::{TopicSpec, Topics};
use schemas::{
    Balance, CommandReply, ConsistencyToken, PoolCommandEnvelope, PoolEventEnvelope,
    PoolRejectionRecord, PoolSnapshot, ReplyOutcome,
};
use uuid::Uuid;

use super::Kind;
use crate::processor::ledger::{Decision, PartitionLedger, RememberedOutcome};
use crate::processor::reply::id_conflict;

/// Replies to the processor's own expiry commands go here; nobody waits for them.
const SWEEPER_REPLY_TO: &str = "reservation-sweeper";

/// The token-pool aggregate kind.
#[derive(Debug, Clone, Copy)]
pub struct PoolKind;

impl Kind for PoolKind {
    const NAME: &'static str = "token-pool";
    const GROUP: &'static str = "pool-processor";

    type Aggregate = TokenPool;
    type Key = PoolId;
    type Envelope = PoolCommandEnvelope;
    type EventRecord = PoolEventEnvelope;
    type Snapshot = PoolSnapshot;
    type KeptRejection = PoolRejectionRecord;

    fn commands_topic(topics: &Topics) -> String {
        topics.pool_commands()
    }

    fn events_topic(topics: &Topics) -> String {
        topics.pool_events()
    }

    fn state_topic(topics: &Topics) -> String {
        topics.pool_state()
    }

    fn rejections_topic(topics: &Topics) -> String {
        topics.pool_rejections()
    }

    fn topic_specs(topics: &Topics, partitions: u32) -> Vec<TopicSpec> {
        topics.pool_topic_specs(partitions)
    }

    fn key(command: &PoolCommandEnvelope) -> &PoolId {
        &command.pool_id
    }

    fn command_id(command: &PoolCommandEnvelope) -> CommandId {
        command.command_id
    }

    fn reply_to(command: &PoolCommandEnvelope) -> &str {
        &command.reply_to
    }

    fn actor(command: &PoolCommandEnvelope) -> &Actor {
        &command.actor
    }

    fn command(command: &PoolCommandEnvelope) -> &TokenPoolCommand {
        &command.command
    }

    fn is_past_deadline(command: &PoolCommandEnvelope, now: Timestamp) -> bool {
        command.is_past_deadline(now)
    }

    fn deadline(command: &PoolCommandEnvelope) -> Timestamp {
        command.deadline
    }

    fn rejection_code(rejection: &TokenPoolRejection) -> &'static str {
        rejection.code()
    }

    fn event_name(event: &TokenPoolEvent) -> &'static str {
        event.name()
    }

    fn event_record(command: &PoolCommandEnvelope, event: &TokenPoolEvent) -> PoolEventEnvelope {
        PoolEventEnvelope::caused_by(command, event.clone())
    }

    fn logged_event(record: PoolEventEnvelope) -> (PoolId, CommandId, TokenPoolEvent) {
        (record.pool_id, record.command_id, record.event)
    }

    fn snapshot(
        key: &PoolId,
        state: &TokenPool,
        recent_commands: serde_json::Value,
        next_event_offset: i64,
    ) -> PoolSnapshot {
        PoolSnapshot {
            pool_id: key.clone(),
            next_event_offset,
            state: state.clone(),
            recent_commands,
        }
    }

    fn restored(snapshot: PoolSnapshot) -> (PoolId, TokenPool, serde_json::Value, i64) {
        (
            snapshot.pool_id,
            snapshot.state,
            snapshot.recent_commands,
            snapshot.next_event_offset,
        )
    }

    fn kept_rejection(
        command: &PoolCommandEnvelope,
        rejection: &TokenPoolRejection,
        now: Timestamp,
    ) -> Option<PoolRejectionRecord> {
        rejection
            .is_decision()
            .then(|| PoolRejectionRecord::new(command, now, rejection.clone()))
    }

    fn reply(
        command: &PoolCommandEnvelope,
        decision: &Decision<TokenPool>,
        token: Option<ConsistencyToken>,
        pool: &TokenPool,
        now: Timestamp,
    ) -> Option<CommandReply> {
        Some(match decision {
            Decision::Accepted(events) => CommandReply::accepted(command, events, token, pool, now),
            Decision::Rejected(rejection) => CommandReply::rejected(command, rejection, pool, now),
            Decision::Expired => CommandReply::expired(command, now),
            Decision::Repeated(remembered) => repeated(command, remembered, pool, now),
            Decision::IdConflict => CommandReply {
                command_id: command.command_id,
                pool_id: command.pool_id.clone(),
                outcome: ReplyOutcome::Rejected,
                consistency_token: None,
                events: Vec::new(),
                rejection: Some(id_conflict(command.command_id)),
                balance: None,
                limits: None,
                purchase: None,
            },
        })
    }

    fn open_holds(pool: &TokenPool) -> usize {
        pool.open_reservations().count()
    }

    /// One `ExpireReservations` per pool holding a reservation that has lapsed at `now`:
    /// a lapsed hold already counts as free inside the aggregate, but the views and the
    /// audit trail need the `ReservationExpired` fact.
    fn due_commands(ledger: &PartitionLedger<Self>, now: Timestamp) -> Vec<PoolCommandEnvelope> {
        let Ok(deadline) = Timestamp::from_millis(now.as_millis() + 60_000) else {
            return Vec::new();
        };
        let Ok(actor) = "system:reservation-sweeper".parse::<Actor>() else {
            return Vec::new();
        };
        lapsed_pools(ledger, now)
            .into_iter()
            .map(|pool_id| PoolCommandEnvelope {
                command_id: CommandId::from_uuid(Uuid::new_v4()),
                pool_id,
                reply_to: SWEEPER_REPLY_TO.to_owned(),
                actor: actor.clone(),
                issued_at: now,
                deadline,
                command: TokenPoolCommand::ExpireReservations,
            })
            .collect()
    }
}

/// Pools of `ledger` holding a reservation that has lapsed at `now`.
pub fn lapsed_pools(ledger: &PartitionLedger<PoolKind>, now: Timestamp) -> Vec<PoolId> {
    ledger
        .slots()
        .filter(|(_, slot)| slot.state.open_reservations().any(|r| r.expires_at <= now))
        .map(|(pool_id, _)| pool_id.clone())
        .collect()
}

/// The first answer again, with the pool's current balance.
fn repeated(
    command: &PoolCommandEnvelope,
    remembered: &RememberedOutcome<TokenPoolRejection>,
    pool: &TokenPool,
    now: Timestamp,
) -> CommandReply {
    let token = remembered
        .consistency_token
        .as_deref()
        .and_then(|t| t.parse().ok());
    match &remembered.rejection {
        Some(rejection) => CommandReply::rejected(command, rejection, pool, now),
        None => CommandReply {
            events: remembered.events.clone(),
            consistency_token: token,
            balance: pool.is_provisioned().then(|| Balance::of(pool)),
            ..CommandReply::accepted(command, &[], token, pool, now)
        },
    }
}
