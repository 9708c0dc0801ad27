//! `auth.events` values to Confluent-framed Avro and back.

use domain::AuthEvent;
use settings::RegistrySettings;

use crate::codec::PoolCodec;
use crate::error::{DecodeError, EncodeError, SetupError};
use crate::registry::SchemaRegistry;

/// Encodes and decodes the values of `auth.events`.
///
/// A typed face over the same machinery as [`PoolCodec`]: encoding registers the schema
/// under `<topic>-value` on first use, decoding looks each writer schema id up once.
/// Cheap to clone.
#[derive(Debug, Clone)]
pub struct AuthCodec {
    inner: PoolCodec,
}

impl AuthCodec {
    /// A codec using the registry in `settings`.
    pub fn new(settings: &RegistrySettings) -> Result<Self, SetupError> {
        PoolCodec::new(settings).map(|inner| Self { inner })
    }

    /// A codec using `registry` (e.g. one shared with other codecs).
    pub fn with_registry(registry: SchemaRegistry) -> Result<Self, SetupError> {
        PoolCodec::with_registry(registry).map(|inner| Self { inner })
    }

    /// An event framed for `topic` (`<prefix>auth.events`).
    pub async fn encode_event(
        &self,
        topic: &str,
        event: &AuthEvent,
    ) -> Result<Vec<u8>, EncodeError> {
        self.inner.encode(topic, event).await
    }

    /// An event from `auth.events` bytes.
    ///
    /// [`DecodeError::is_poison`] tells a follower whether to skip the record (it will
    /// never decode) or to wait and try again (the registry could not be asked).
    pub async fn decode_event(&self, bytes: &[u8]) -> Result<AuthEvent, DecodeError> {
        self.inner.decode(bytes).await
    }
}
