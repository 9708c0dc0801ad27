//! What the single writer needs to know about an aggregate kind: its topics and records,
//! how its commands are addressed, and how they are answered. The processor is generic
//! over it, so pools and purchases are written by the same code.

mod pool;
mod purchase;

use std::fmt::{Debug, Display};
use std::hash::Hash;

use domain::{Actor, Aggregate, CommandId, Timestamp};
use eventlog::{TopicSpec, Topics};
use schemas::{CommandReply, ConsistencyToken, TopicRecord};
use serde::Serialize;
use serde::de::DeserializeOwned;

pub use pool::PoolKind;
pub use purchase::PurchaseKind;

use super::ledger::{Decision, PartitionLedger};

/// An aggregate kind the processor can be the single writer of.
pub trait Kind: Send + Sync + Sized + 'static {
    /// Transactional ids are `<topic prefix><NAME>-p<partition>`.
    const NAME: &'static str;
    /// The consumer group of this kind's processors.
    const GROUP: &'static str;

    /// The aggregate.
    type Aggregate: Aggregate<
            Command: Serialize + Debug + Send + Sync,
            Event: Clone + Debug + Send + Sync,
            Rejection: Clone + Debug + PartialEq + Serialize + DeserializeOwned + Send + Sync,
        > + Debug
        + PartialEq
        + Serialize
        + DeserializeOwned
        + Send
        + Sync;
    /// What its records are keyed by (one aggregate per key).
    type Key: Clone + Eq + Hash + Ord + Display + Debug + Send + Sync;
    /// A command record.
    type Envelope: TopicRecord + Clone + Debug + Send + Sync;
    /// An event record.
    type EventRecord: TopicRecord + Send + Sync;
    /// A state snapshot record.
    type Snapshot: TopicRecord + Send + Sync;
    /// A refusal kept for analytics.
    type KeptRejection: TopicRecord + Send + Sync;

    /// Its commands topic.
    fn commands_topic(topics: &Topics) -> String;
    /// Its events topic.
    fn events_topic(topics: &Topics) -> String;
    /// Its compacted state topic.
    fn state_topic(topics: &Topics) -> String;
    /// Where kept refusals go.
    fn rejections_topic(topics: &Topics) -> String;
    /// Every topic it needs, as created.
    fn topic_specs(topics: &Topics, partitions: u32) -> Vec<TopicSpec>;

    /// The aggregate a command is for (its record key).
    fn key(command: &Self::Envelope) -> &Self::Key;
    /// The command's id, deduplicated on.
    fn command_id(command: &Self::Envelope) -> CommandId;
    /// Whom to answer (the reply's record key).
    fn reply_to(command: &Self::Envelope) -> &str;
    /// On whose behalf it was issued.
    fn actor(command: &Self::Envelope) -> &Actor;
    /// What it asks.
    fn command(command: &Self::Envelope) -> &<Self::Aggregate as Aggregate>::Command;
    /// Whether it arrived too late to be applied.
    fn is_past_deadline(command: &Self::Envelope, now: Timestamp) -> bool;
    /// After this it is never applied (a copy of its record arriving later neither).
    fn deadline(command: &Self::Envelope) -> Timestamp;

    /// A rejection's machine-readable code, for metrics.
    fn rejection_code(rejection: &<Self::Aggregate as Aggregate>::Rejection) -> &'static str;
    /// An event's type name.
    fn event_name(event: &<Self::Aggregate as Aggregate>::Event) -> &'static str;
    /// The record of `event`, caused by `command`.
    fn event_record(
        command: &Self::Envelope,
        event: &<Self::Aggregate as Aggregate>::Event,
    ) -> Self::EventRecord;
    /// An event read back: its aggregate, the command that caused it, the event.
    fn logged_event(
        record: Self::EventRecord,
    ) -> (Self::Key, CommandId, <Self::Aggregate as Aggregate>::Event);
    /// The snapshot record of an aggregate.
    fn snapshot(
        key: &Self::Key,
        state: &Self::Aggregate,
        recent_commands: serde_json::Value,
        next_event_offset: i64,
    ) -> Self::Snapshot;
    /// A snapshot read back: key, state, remembered commands, next event offset.
    fn restored(snapshot: Self::Snapshot) -> (Self::Key, Self::Aggregate, serde_json::Value, i64);

    /// The record of a refusal worth keeping for analytics, if this one is.
    fn kept_rejection(
        command: &Self::Envelope,
        rejection: &<Self::Aggregate as Aggregate>::Rejection,
        now: Timestamp,
    ) -> Option<Self::KeptRejection>;

    /// The reply to `command`, given the decision, the token of its last event and the
    /// aggregate after the batch; `None` when there is nobody it could be addressed to.
    fn reply(
        command: &Self::Envelope,
        decision: &Decision<Self::Aggregate>,
        token: Option<ConsistencyToken>,
        state: &Self::Aggregate,
        now: Timestamp,
    ) -> Option<CommandReply>;

    /// Holds (reservations) open in `state`, for metrics; none by default.
    fn open_holds(_state: &Self::Aggregate) -> usize {
        0
    }

    /// Commands the processor issues to itself for what `ledger` holds at `now` (pools:
    /// expiring lapsed reservations). None by default.
    fn due_commands(_ledger: &PartitionLedger<Self>, _now: Timestamp) -> Vec<Self::Envelope> {
        Vec::new()
    }
}
