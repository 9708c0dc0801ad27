//! The processor's view of its topics: names, and the codec that turns records into
//! domain values and back.

use domain::{PoolId, Timestamp, TokenPoolEvent, TokenPoolRejection};
use eventlog::Topics;
use schemas::{
    CommandReply, DecodeError, EncodeError, PoolCodec, PoolCommandEnvelope, PoolEventEnvelope,
    PoolRejectionRecord, PoolSnapshot,
};
use settings::RegistrySettings;

use super::ledger::PoolSlot;

/// A pool's slot as loaded from its snapshot.
#[derive(Debug)]
pub struct LoadedSnapshot {
    pub pool_id: PoolId,
    pub next_event_offset: i64,
    pub slot: PoolSlot,
}

/// Topic names plus the codec.
#[derive(Debug, Clone)]
pub struct PoolWire {
    pub topics: Topics,
    /// Partition count of the replies topic, to route each reply to its waiting instance.
    pub replies_partitions: u32,
    codec: PoolCodec,
}

impl PoolWire {
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
        })
    }

    /// Decodes a command record (a record with no value is poison, like undecodable bytes).
    pub async fn receive(
        &self,
        payload: Option<&[u8]>,
    ) -> Result<PoolCommandEnvelope, DecodeError> {
        self.codec.decode_command(payload.unwrap_or_default()).await
    }

    /// Decodes a snapshot record into a ledger slot.
    pub async fn decode_snapshot(&self, bytes: &[u8]) -> anyhow::Result<LoadedSnapshot> {
        let snapshot: PoolSnapshot = self.codec.decode_snapshot(bytes).await?;
        Ok(LoadedSnapshot {
            slot: PoolSlot::restore(snapshot.state, snapshot.recent_commands)?,
            pool_id: snapshot.pool_id,
            next_event_offset: snapshot.next_event_offset,
        })
    }

    /// Decodes an event record.
    pub async fn decode_event(&self, bytes: &[u8]) -> Result<PoolEventEnvelope, DecodeError> {
        self.codec.decode_event(bytes).await
    }

    /// Encodes a command (the processor's own, e.g. expiring lapsed reservations).
    pub async fn encode_command(
        &self,
        command: &PoolCommandEnvelope,
    ) -> Result<Vec<u8>, EncodeError> {
        self.codec
            .encode_command(&self.topics.pool_commands(), command)
            .await
    }

    /// Encodes an event caused by `command`.
    pub async fn encode_event(
        &self,
        command: &PoolCommandEnvelope,
        event: &TokenPoolEvent,
    ) -> Result<Vec<u8>, EncodeError> {
        let envelope = PoolEventEnvelope::caused_by(command, event.clone());
        self.codec
            .encode_event(&self.topics.pool_events(), &envelope)
            .await
    }

    /// Encodes a rejection worth keeping for analytics.
    pub async fn encode_rejection(
        &self,
        command: &PoolCommandEnvelope,
        rejection: &TokenPoolRejection,
        at: Timestamp,
    ) -> Result<Vec<u8>, EncodeError> {
        let record = PoolRejectionRecord::new(command, at, rejection.clone());
        self.codec
            .encode_rejection(&self.topics.pool_rejections(), &record)
            .await
    }

    /// Encodes a reply.
    pub async fn encode_reply(&self, reply: &CommandReply) -> Result<Vec<u8>, EncodeError> {
        self.codec.encode_reply(&self.topics.replies(), reply).await
    }

    /// Encodes the snapshot of a pool after a batch.
    pub async fn encode_snapshot(
        &self,
        pool_id: &PoolId,
        slot: &PoolSlot,
        next_event_offset: i64,
    ) -> Result<Vec<u8>, EncodeError> {
        let snapshot = PoolSnapshot {
            pool_id: pool_id.clone(),
            next_event_offset,
            state: slot.pool.clone(),
            recent_commands: slot.recent_json(),
        };
        self.codec
            .encode_snapshot(&self.topics.pool_state(), &snapshot)
            .await
    }
}

/// The processor's clock: the `now` of every command of a batch.
pub fn now() -> Timestamp {
    let millis = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64);
    Timestamp::from_millis(millis)
        .unwrap_or_else(|_| Timestamp::from_millis(0).expect("the epoch is a valid timestamp"))
}
