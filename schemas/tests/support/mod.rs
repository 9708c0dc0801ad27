//! Examples of every domain variant, generators, and helpers shared by the test binaries.
#![allow(dead_code)] // each test binary uses a different part of the support module

pub mod arbitrary;
pub mod examples;
pub mod fake_registry;

use std::fmt::Debug;

use apache_avro::Schema;
use domain::{Actor, CommandId, PoolId, Timestamp, Tokens};
use schemas::{TopicRecord, current_schema, read_datum, write_datum};
use uuid::Uuid;

/// An instant `ms` milliseconds after the epoch.
pub fn t(ms: i64) -> Timestamp {
    Timestamp::from_millis(ms).unwrap()
}

/// `n` tokens.
pub fn tokens(n: u64) -> Tokens {
    Tokens::new(n).unwrap()
}

/// Id number `n` of any uuid-based kind.
pub fn id<T: From<Uuid>>(n: u128) -> T {
    T::from(Uuid::from_u128(n))
}

/// `user:alice/openai`.
pub fn pool_id() -> PoolId {
    "user:alice/openai".parse().unwrap()
}

/// `user:alice`.
pub fn alice() -> Actor {
    "user:alice".parse().unwrap()
}

/// Command id number `n`.
pub fn command_id(n: u128) -> CommandId {
    id(n)
}

/// `record` through Avro binary of the current schema and back, without the registry.
pub fn round_trip<R: TopicRecord + Debug>(record: &R) -> R {
    let schema = current(R::KIND);
    let datum = write_datum(&schema, record).unwrap();
    read_datum(&schema, &schema, &datum).unwrap()
}

/// The current schema of `kind`.
pub fn current(kind: schemas::TopicKind) -> Schema {
    current_schema(kind).unwrap()
}

/// Branch names of the union field `field` of the top-level record of `kind`'s current schema.
pub fn top_level_branches(kind: schemas::TopicKind, field: &str) -> Vec<String> {
    let Schema::Record(record) = current(kind) else {
        panic!("{kind} is not a record")
    };
    let field = record.fields.iter().find(|f| f.name == field).unwrap();
    let Schema::Union(union) = &field.schema else {
        panic!("{} is not a union", field.name)
    };
    union
        .variants()
        .iter()
        .map(|v| v.name().unwrap().name().to_owned())
        .collect()
}
