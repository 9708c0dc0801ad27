//! Topic values to Confluent-framed Avro and back, through the schema registry.

use std::sync::Arc;

use settings::RegistrySettings;

use crate::datum::TopicRecord;
use crate::error::{DecodeError, EncodeError, SchemaError, SetupError};
use crate::pool::{PoolCommandEnvelope, PoolEventEnvelope, PoolRejectionRecord, PoolSnapshot};
use crate::prepared::{PreparedSchema, prepare};
use crate::registry::SchemaRegistry;
use crate::reply::CommandReply;
use crate::topic::{TopicKind, value_subject};
use crate::wire::{frame, unframe};

/// Encodes and decodes the values of every pool topic and of `replies`; `encode` and
/// `decode` take any [`TopicRecord`] (see [`PurchaseCodec`](crate::PurchaseCodec)).
///
/// Encoding registers the current schema under `<topic>-value` on first use per topic and
/// frames with its id; decoding looks the payload's schema id up once per id and resolves
/// the writer's schema to the current one, so records written by older code stay
/// readable. After warm-up neither costs a registry call. Cheap to clone (shared caches).
#[derive(Debug, Clone)]
pub struct PoolCodec {
    registry: SchemaRegistry,
    /// The current schema of each kind, in `TopicKind::ALL` order, prepared once.
    current: Arc<[&'static PreparedSchema]>,
}

impl PoolCodec {
    /// A codec using the registry in `settings`.
    pub fn new(settings: &RegistrySettings) -> Result<Self, SetupError> {
        Self::with_registry(SchemaRegistry::from_settings(settings)?)
    }

    /// A codec using `registry` (e.g. one shared with other codecs).
    pub fn with_registry(registry: SchemaRegistry) -> Result<Self, SetupError> {
        let current = TopicKind::ALL
            .into_iter()
            .map(|kind| {
                prepare(kind.current()).map_err(|source| SchemaError {
                    kind,
                    version: kind.versions().len(),
                    source,
                })
            })
            .collect::<Result<Arc<[_]>, _>>()?;
        Ok(Self { registry, current })
    }

    /// The registry client, e.g. for the kcat decoder or a readiness check.
    pub fn registry(&self) -> &SchemaRegistry {
        &self.registry
    }

    /// `record` framed for `topic`, whose name must end with the record's topic kind.
    pub async fn encode<R: TopicRecord>(
        &self,
        topic: &str,
        record: &R,
    ) -> Result<Vec<u8>, EncodeError> {
        if !R::KIND.matches(topic) {
            return Err(EncodeError::WrongTopic {
                topic: topic.to_owned(),
                kind: R::KIND,
            });
        }
        // Map first: a value with no Avro form should not register anything.
        let datum = self.schema(R::KIND).write(record)?;
        let subject = value_subject(topic);
        let id = self
            .registry
            .register(&subject, R::KIND.current())
            .await
            .map_err(|source| EncodeError::Registry { subject, source })?;
        Ok(frame(id, &datum))
    }

    /// The record in framed `bytes` from a topic of the record's kind.
    pub async fn decode<R: TopicRecord>(&self, bytes: &[u8]) -> Result<R, DecodeError> {
        let (id, datum) = unframe(bytes)?;
        let writer = self.registry.prepared(id).await?;
        writer
            .read(self.schema(R::KIND), datum)
            .map_err(|source| DecodeError::DoesNotMatch {
                id,
                expected: R::KIND.record_name(),
                source,
            })
    }

    /// A command framed for `topic` (`<prefix>token-pool.commands`).
    pub async fn encode_command(
        &self,
        topic: &str,
        command: &PoolCommandEnvelope,
    ) -> Result<Vec<u8>, EncodeError> {
        self.encode(topic, command).await
    }

    /// A command from `token-pool.commands` bytes.
    pub async fn decode_command(&self, bytes: &[u8]) -> Result<PoolCommandEnvelope, DecodeError> {
        self.decode(bytes).await
    }

    /// An event framed for `topic` (`<prefix>token-pool.events`).
    pub async fn encode_event(
        &self,
        topic: &str,
        event: &PoolEventEnvelope,
    ) -> Result<Vec<u8>, EncodeError> {
        self.encode(topic, event).await
    }

    /// An event from `token-pool.events` bytes.
    pub async fn decode_event(&self, bytes: &[u8]) -> Result<PoolEventEnvelope, DecodeError> {
        self.decode(bytes).await
    }

    /// A snapshot framed for `topic` (`<prefix>token-pool.state`).
    pub async fn encode_snapshot(
        &self,
        topic: &str,
        snapshot: &PoolSnapshot,
    ) -> Result<Vec<u8>, EncodeError> {
        self.encode(topic, snapshot).await
    }

    /// A snapshot from `token-pool.state` bytes.
    pub async fn decode_snapshot(&self, bytes: &[u8]) -> Result<PoolSnapshot, DecodeError> {
        self.decode(bytes).await
    }

    /// A rejection framed for `topic` (`<prefix>token-pool.rejections`).
    pub async fn encode_rejection(
        &self,
        topic: &str,
        rejection: &PoolRejectionRecord,
    ) -> Result<Vec<u8>, EncodeError> {
        self.encode(topic, rejection).await
    }

    /// A rejection from `token-pool.rejections` bytes.
    pub async fn decode_rejection(&self, bytes: &[u8]) -> Result<PoolRejectionRecord, DecodeError> {
        self.decode(bytes).await
    }

    /// A reply framed for `topic` (`<prefix>replies`).
    pub async fn encode_reply(
        &self,
        topic: &str,
        reply: &CommandReply,
    ) -> Result<Vec<u8>, EncodeError> {
        self.encode(topic, reply).await
    }

    /// A reply from `replies` bytes.
    pub async fn decode_reply(&self, bytes: &[u8]) -> Result<CommandReply, DecodeError> {
        self.decode(bytes).await
    }

    fn schema(&self, kind: TopicKind) -> &'static PreparedSchema {
        self.current[kind.index()]
    }
}
