//! The processor's view of its topics: names, and the codec that turns records into
//! domain values and back, for the aggregate kind `K`.

use std::marker::PhantomData;

use domain::{Aggregate, CommandId, Timestamp};
use eventlog::Topics;
use schemas::{CommandReply, DecodeError, EncodeError, PoolCodec, TopicRecord};
use settings::RegistrySettings;

use super::kind::Kind;
use super::ledger::Slot;

/// An aggregate's slot as loaded from its snapshot.
#[derive(Debug)]
pub struct LoadedSnapshot<K: Kind> {
    pub key: K::Key,
    pub next_event_offset: i64,
    /// The first command record not decided when it was taken (`None` in old snapshots).
    pub commands_from: Option<i64>,
    pub slot: Slot<K::Aggregate>,
}

/// Topic names plus the codec.
#[derive(Debug)]
pub struct Wire<K: Kind> {
    pub topics: Topics,
    /// Partition count of the replies topic, to route each reply to its waiting instance.
    pub replies_partitions: u32,
    codec: PoolCodec,
    kind: PhantomData<fn() -> K>,
}

impl<K: Kind> Clone for Wire<K> {
    fn clone(&self) -> Self {
        Self {
            topics: self.topics.clone(),
            replies_partitions: self.replies_partitions,
            codec: self.codec.clone(),
            kind: PhantomData,
        }
    }
}

impl<K: Kind> Wire<K> {
    /// The wire for `topics`, with schemas registered in `registry`.
    pub fn new(
        topics: Topics,
        registry: &RegistrySettings,
        replies_partitions: u32,
    ) -> anyhow::Result<Self> {
        Ok(Self {
            topics,
            replies_partitions,
            codec: PoolCodec::new(registry)?,
            kind: PhantomData,
        })
    }

    /// Its commands topic.
    pub fn commands_topic(&self) -> String {
        K::commands_topic(&self.topics)
    }

    /// Decodes a command record (a record with no value is poison, like undecodable bytes).
    pub async fn receive(&self, payload: Option<&[u8]>) -> Result<K::Envelope, DecodeError> {
        self.codec.decode(payload.unwrap_or_default()).await
    }

    /// Decodes a snapshot record into a ledger slot.
    pub async fn decode_snapshot(&self, bytes: &[u8]) -> anyhow::Result<LoadedSnapshot<K>> {
        let snapshot: K::Snapshot = self.codec.decode(bytes).await?;
        let (key, state, memory, next_event_offset) = K::restored(snapshot);
        let (slot, commands_from) = Slot::restore(state, memory)?;
        Ok(LoadedSnapshot {
            slot,
            key,
            next_event_offset,
            commands_from,
        })
    }

    /// Decodes an event record: its aggregate, the command that caused it, the event.
    pub async fn decode_event(
        &self,
        bytes: &[u8],
    ) -> Result<(K::Key, CommandId, <K::Aggregate as Aggregate>::Event), DecodeError> {
        let record: K::EventRecord = self.codec.decode(bytes).await?;
        Ok(K::logged_event(record))
    }

    /// Encodes a command (the processor's own, e.g. expiring lapsed reservations).
    pub async fn encode_command(&self, command: &K::Envelope) -> Result<Vec<u8>, EncodeError> {
        self.codec.encode(&self.commands_topic(), command).await
    }

    /// Encodes an event caused by `command`.
    pub async fn encode_event(
        &self,
        command: &K::Envelope,
        event: &<K::Aggregate as Aggregate>::Event,
    ) -> Result<Vec<u8>, EncodeError> {
        let record = K::event_record(command, event);
        self.codec
            .encode(&K::events_topic(&self.topics), &record)
            .await
    }

    /// Encodes a rejection worth keeping for analytics, if this one is.
    pub async fn encode_rejection(
        &self,
        command: &K::Envelope,
        rejection: &<K::Aggregate as Aggregate>::Rejection,
        at: Timestamp,
    ) -> Result<Option<Vec<u8>>, EncodeError> {
        let Some(record) = K::kept_rejection(command, rejection, at) else {
            return Ok(None);
        };
        self.encode(&K::rejections_topic(&self.topics), &record)
            .await
            .map(Some)
    }

    /// Encodes a reply.
    pub async fn encode_reply(&self, reply: &CommandReply) -> Result<Vec<u8>, EncodeError> {
        self.codec.encode_reply(&self.topics.replies(), reply).await
    }

    /// Encodes the snapshot of an aggregate after a batch: its events up to
    /// `next_event_offset` and its commands up to `commands_from` are in it.
    pub async fn encode_snapshot(
        &self,
        key: &K::Key,
        slot: &Slot<K::Aggregate>,
        next_event_offset: i64,
        commands_from: i64,
    ) -> Result<Vec<u8>, EncodeError> {
        let snapshot = K::snapshot(
            key,
            &slot.state,
            slot.memory_json(commands_from),
            next_event_offset,
        );
        self.encode(&K::state_topic(&self.topics), &snapshot).await
    }

    async fn encode<R: TopicRecord>(
        &self,
        topic: &str,
        record: &R,
    ) -> Result<Vec<u8>, EncodeError> {
        self.codec.encode(topic, record).await
    }
}

/// The processor's clock: the `now` of every command of a batch.
pub fn now() -> Timestamp {
    Timestamp::from_system_time(std::time::SystemTime::now())
}
