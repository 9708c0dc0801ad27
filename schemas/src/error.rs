//! Why encoding or decoding a topic value failed, classified for what the caller does next.

use schema_registry_converter::error::SRCError;

use crate::resolve::ResolveError;
use crate::topic::TopicKind;
use crate::value::MappingError;

/// An embedded `.avsc` file that apache-avro cannot parse (`tests/compat.rs` keeps this from shipping).
#[derive(Debug, thiserror::Error)]
#[error("{kind} schema v{version} does not parse: {source}")]
pub struct SchemaError {
    /// The topic kind.
    pub kind: TopicKind,
    /// The version (1-based, as in `vN.avsc`).
    pub version: usize,
    /// apache-avro's reason.
    #[source]
    pub source: apache_avro::Error,
}

/// Why a codec could not be built.
#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    /// An embedded schema does not parse.
    #[error(transparent)]
    Schema(#[from] SchemaError),
    /// The registry client could not be configured.
    #[error("cannot configure the schema registry client: {0}")]
    Registry(#[source] SRCError),
}

/// Why a value could not be encoded. None of these depend on the value's bytes alone:
/// they are bugs or an unavailable (or refusing) registry.
#[derive(Debug, thiserror::Error)]
pub enum EncodeError {
    /// The topic's name says it carries another kind of value.
    #[error("topic {topic} does not carry {kind} values (its name must end with {kind})")]
    WrongTopic {
        /// The topic asked for.
        topic: String,
        /// The kind being encoded.
        kind: TopicKind,
    },
    /// The value has no Avro form (e.g. a total above `i64::MAX`).
    #[error(transparent)]
    Mapping(#[from] MappingError),
    /// The Avro value does not fit the schema it was built for (a bug in this crate).
    #[error("the {kind} value does not fit its schema: {source}")]
    Avro {
        /// The kind being encoded.
        kind: TopicKind,
        /// apache-avro's reason.
        #[source]
        source: apache_avro::Error,
    },
    /// The registry could not be reached, or refused the schema (e.g. not BACKWARD compatible).
    #[error("cannot register the schema of subject {subject}: {source}")]
    Registry {
        /// The subject.
        subject: String,
        /// The registry client's reason; `source.retriable` says whether retrying may help.
        #[source]
        source: SRCError,
    },
}

/// Why well-framed bytes are not a value of the expected kind.
#[derive(Debug, thiserror::Error)]
pub enum Mismatch {
    /// The bytes do not decode with the writer's schema.
    #[error("not Avro of the writer's schema: {0}")]
    Avro(#[source] apache_avro::Error),
    /// The writer's schema decoded the value with bytes left over.
    #[error("{0} bytes left after the value")]
    TrailingBytes(usize),
    /// The writer's schema cannot be read as this code's schema.
    #[error("the writer's schema does not resolve to the reader's: {0}")]
    Resolve(#[source] ResolveError),
    /// The resolved value is not a valid domain value.
    #[error(transparent)]
    Mapping(#[from] MappingError),
}

/// Why bytes from a topic could not be decoded.
///
/// [`is_poison`](Self::is_poison) tells a consumer whether the record itself is at fault
/// (send it to the dead-letter topic with [`reason`](Self::reason) and go on) or the
/// registry is (retry later; the record is probably fine).
///
/// Only [`RegistryUnavailable`](Self::RegistryUnavailable) is transient: the registry did
/// not answer, so nothing is known about the record, and a consumer that must not lose
/// records (the auth log's followers: a skipped revocation fails open) retries it until it
/// decodes. Every other variant is an answer that asking again would not change: the bytes
/// are not framed (e.g. a JSON value), or the registry said it has no such schema id (ids
/// are never reused or deleted; a registry that lost its storage needs an operator), or
/// the writer's schema is not one this code can read as the expected kind.
#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    /// The payload does not start with the Confluent magic byte and a schema id.
    #[error("not in the Confluent wire format: {detail}")]
    NotConfluentFramed {
        /// What is wrong with the framing.
        detail: String,
    },
    /// The registry has no schema with the id in the payload.
    #[error("schema id {id} is not in the registry")]
    UnknownSchemaId {
        /// The id in the payload.
        id: u32,
    },
    /// The registry's schema with this id is not a usable Avro schema.
    #[error("schema id {id} is not a usable Avro schema: {detail}")]
    UnusableWriterSchema {
        /// The id in the payload.
        id: u32,
        /// Why.
        detail: String,
    },
    /// The payload is not a value of the expected kind.
    #[error("the payload (schema id {id}) is not {expected}: {source}")]
    DoesNotMatch {
        /// The id in the payload.
        id: u32,
        /// What was expected: the full name of the kind's Avro record, or its writer's schema.
        expected: &'static str,
        /// Why.
        #[source]
        source: Mismatch,
    },
    /// The registry could not be asked; nothing is known about the record yet.
    #[error("cannot look schema id {id} up in the registry: {source}")]
    RegistryUnavailable {
        /// The id in the payload.
        id: u32,
        /// The registry client's reason.
        #[source]
        source: SRCError,
    },
}

impl DecodeError {
    /// Whether the record itself is undecodable (dead-letter it) rather than the registry unavailable.
    pub fn is_poison(&self) -> bool {
        !matches!(self, Self::RegistryUnavailable { .. })
    }

    /// A short, stable label for dead-letter headers and metrics.
    pub fn reason(&self) -> &'static str {
        match self {
            Self::NotConfluentFramed { .. } => "not_confluent_framed",
            Self::UnknownSchemaId { .. } => "unknown_schema_id",
            Self::UnusableWriterSchema { .. } => "unusable_writer_schema",
            Self::DoesNotMatch { .. } => "does_not_match",
            Self::RegistryUnavailable { .. } => "registry_unavailable",
        }
    }
}
