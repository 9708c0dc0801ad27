//! Avro values of every topic: schemas, mapping from and to the domain, the Confluent wire
//! format through the schema registry, and compatibility between schema versions.
//!
//! - [`topic`]: the topic kinds and every published schema version (`avro/<topic>/vN.avsc`).
//! - [`PoolCommandEnvelope`], [`PoolEventEnvelope`], [`PoolSnapshot`],
//!   [`PoolRejectionRecord`], [`CommandReply`]: the Rust value of each topic, mapped by hand
//!   to its Avro record ([`TopicRecord`]), every union branch chosen by name.
//! - [`PurchaseCommandEnvelope`], [`PurchaseEventEnvelope`], [`PurchaseSnapshot`]: the
//!   purchase topics' values, and [`PurchaseCodec`] for them.
//! - [`PoolCodec`]: those values to Confluent-framed bytes and back, registering schemas
//!   and looking writer schemas up through a caching [`SchemaRegistry`].
//! - [`AuthCodec`]: the values of `auth.events`, [`domain::AuthEvent`] itself mapped to
//!   its record (there is no envelope: the events carry no command or actor).
//! - [`compat`]: whether a schema version can read everything the older ones wrote.
//! - [`avro_json`], [`kcat`] and [`json`]: the `leaky-avro-json` decoder for `kcat` output.
#![forbid(unsafe_code)]

mod auth;
pub mod avro_json;
mod check;
mod codec;
pub mod compat;
mod datum;
mod error;
pub mod json;
pub mod kcat;
mod pool;
mod prepared;
mod purchase;
mod registry;
mod reply;
mod resolve;
#[cfg(test)]
mod schema_tables;
mod snapshot;
pub mod topic;
mod value;
pub mod wire;

pub use auth::AuthCodec;
pub use check::RegistryCheck;
pub use codec::PoolCodec;
pub use datum::{
    TopicRecord, current_schema, read_datum, read_value, read_written, schema_version, write_datum,
};
pub use error::{DecodeError, EncodeError, Mismatch, SchemaError, SetupError};
pub use pool::{
    CodeMismatch, PoolCommandEnvelope, PoolEventEnvelope, PoolRejectionRecord, PoolSnapshot,
    command_type,
};
pub use purchase::{
    PurchaseCodec, PurchaseCommandEnvelope, PurchaseEventEnvelope, PurchaseSnapshot,
};
pub use registry::SchemaRegistry;
pub use reply::{
    Balance, CommandReply, ConsistencyToken, ConsistencyTokenError, PurchaseReplyPart,
    ReplyOutcome, ReplyRejection,
};
pub use resolve::{ResolveError, ResolveErrorKind};
pub use snapshot::UnsupportedFormat;
pub use topic::{TopicKind, value_subject};
pub use value::MappingError;
