//! The purchase topics' values to Confluent-framed Avro and back.

use settings::RegistrySettings;

use super::{PurchaseCommandEnvelope, PurchaseEventEnvelope, PurchaseSnapshot};
use crate::codec::PoolCodec;
use crate::error::{DecodeError, EncodeError, SetupError};
use crate::registry::SchemaRegistry;

/// Encodes and decodes the values of `purchase.commands`, `.events` and `.state`.
///
/// A typed face over the same machinery as [`PoolCodec`] (one registry client and schema
/// cache), so a service handling both kinds shares them. Cheap to clone.
#[derive(Debug, Clone)]
pub struct PurchaseCodec {
    inner: PoolCodec,
}

impl PurchaseCodec {
    /// A codec using the registry in `settings`.
    pub fn new(settings: &RegistrySettings) -> Result<Self, SetupError> {
        PoolCodec::new(settings).map(Self::sharing)
    }

    /// A codec using `registry` (e.g. one shared with other codecs).
    pub fn with_registry(registry: SchemaRegistry) -> Result<Self, SetupError> {
        PoolCodec::with_registry(registry).map(Self::sharing)
    }

    /// A codec sharing `codec`'s registry client and caches.
    pub fn sharing(codec: PoolCodec) -> Self {
        Self { inner: codec }
    }

    /// The general codec underneath, e.g. for replies.
    pub fn general(&self) -> &PoolCodec {
        &self.inner
    }

    /// A command framed for `topic` (`<prefix>purchase.commands`).
    pub async fn encode_command(
        &self,
        topic: &str,
        command: &PurchaseCommandEnvelope,
    ) -> Result<Vec<u8>, EncodeError> {
        self.inner.encode(topic, command).await
    }

    /// A command from `purchase.commands` bytes.
    pub async fn decode_command(
        &self,
        bytes: &[u8],
    ) -> Result<PurchaseCommandEnvelope, DecodeError> {
        self.inner.decode(bytes).await
    }

    /// An event framed for `topic` (`<prefix>purchase.events`).
    pub async fn encode_event(
        &self,
        topic: &str,
        event: &PurchaseEventEnvelope,
    ) -> Result<Vec<u8>, EncodeError> {
        self.inner.encode(topic, event).await
    }

    /// An event from `purchase.events` bytes.
    pub async fn decode_event(&self, bytes: &[u8]) -> Result<PurchaseEventEnvelope, DecodeError> {
        self.inner.decode(bytes).await
    }

    /// A snapshot framed for `topic` (`<prefix>purchase.state`).
    pub async fn encode_snapshot(
        &self,
        topic: &str,
        snapshot: &PurchaseSnapshot,
    ) -> Result<Vec<u8>, EncodeError> {
        self.inner.encode(topic, snapshot).await
    }

    /// A snapshot from `purchase.state` bytes.
    pub async fn decode_snapshot(&self, bytes: &[u8]) -> Result<PurchaseSnapshot, DecodeError> {
        self.inner.decode(bytes).await
    }
}
