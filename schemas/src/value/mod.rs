//! Building and taking apart Avro [`Value`]s field by field, with errors that name the field.
//!
//! Mapping is written by hand rather than derived through serde: the domain's serde form
//! (tagged JSON enums) is not the Avro form (unions of records), and a hand-written match
//! picks every union branch by the variant's name, never by trying branches in turn.

mod fields;
mod tables;

use std::error::Error as StdError;

use apache_avro::types::Value;
use domain::Timestamp;
use uuid::Uuid;

pub(crate) use fields::Fields;
pub(crate) use tables::{Symbols, Union};

/// Why a value does not map between its domain type and its Avro record.
#[derive(Debug, thiserror::Error)]
pub enum MappingError {
    /// A field the reader schema has was not in the value.
    #[error("{record}.{field} is missing")]
    MissingField {
        /// The Avro record.
        record: &'static str,
        /// The field.
        field: &'static str,
    },
    /// A field held another Avro type than the schema says.
    #[error("{record}.{field} should be {expected}, found {found}")]
    WrongType {
        /// The Avro record.
        record: &'static str,
        /// The field.
        field: &'static str,
        /// The Avro type expected.
        expected: &'static str,
        /// The Avro type found.
        found: &'static str,
    },
    /// A union branch or enum symbol this code does not know.
    #[error("{record}.{field} has no branch or symbol {found:?} (known: {known:?})")]
    UnknownBranch {
        /// The Avro record.
        record: &'static str,
        /// The field.
        field: &'static str,
        /// The branch index or symbol found.
        found: String,
        /// The branches or symbols known.
        known: Vec<&'static str>,
    },
    /// A well-typed value the domain refuses (a bad pool id, an amount above the maximum).
    #[error("{record}.{field} is invalid: {source}")]
    Invalid {
        /// The Avro record.
        record: &'static str,
        /// The field.
        field: &'static str,
        /// The domain's reason.
        #[source]
        source: Box<dyn StdError + Send + Sync>,
    },
    /// A number that does not fit an Avro `long`.
    #[error("{record}.{field} = {value} does not fit an Avro long")]
    OutOfRange {
        /// The Avro record.
        record: &'static str,
        /// The field.
        field: &'static str,
        /// The value.
        value: u64,
    },
}

/// A record value from named fields, in schema order.
pub(crate) fn record(fields: Vec<(&str, Value)>) -> Value {
    Value::Record(
        fields
            .into_iter()
            .map(|(name, value)| (name.to_owned(), value))
            .collect(),
    )
}

/// A `string` field value.
pub(crate) fn string(s: impl ToString) -> Value {
    Value::String(s.to_string())
}

/// A `{"type": "string", "logicalType": "uuid"}` value.
pub(crate) fn uuid(id: impl Into<Uuid>) -> Value {
    Value::Uuid(id.into())
}

/// A `timestamp-millis` value.
pub(crate) fn timestamp(t: Timestamp) -> Value {
    Value::TimestampMillis(t.as_millis())
}

/// A `long` holding a number the domain bounds well below `i64::MAX` (tokens, durations).
pub(crate) fn bounded_long(n: u64) -> Value {
    // Tokens stop at 10^12 and durations at ~2.5 * 10^14, so this never saturates.
    Value::Long(i64::try_from(n).unwrap_or(i64::MAX))
}

/// A `long` holding `n`, or `OutOfRange`.
pub(crate) fn long(
    record: &'static str,
    field: &'static str,
    n: u64,
) -> Result<Value, MappingError> {
    i64::try_from(n)
        .map(Value::Long)
        .map_err(|_| MappingError::OutOfRange {
            record,
            field,
            value: n,
        })
}

/// A `["null", T]` value.
pub(crate) fn nullable(value: Option<Value>) -> Value {
    match value {
        None => Value::Union(0, Box::new(Value::Null)),
        Some(value) => Value::Union(1, Box::new(value)),
    }
}

/// A `WrongType` error about `record.field` holding `found`.
pub(crate) fn wrong_type(
    record: &'static str,
    field: &'static str,
    expected: &'static str,
    found: &Value,
) -> MappingError {
    MappingError::WrongType {
        record,
        field,
        expected,
        found: kind(found),
    }
}

/// The Avro type of a value, for messages.
pub(crate) fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Boolean(_) => "boolean",
        Value::Int(_) => "int",
        Value::Long(_) => "long",
        Value::Float(_) => "float",
        Value::Double(_) => "double",
        Value::Bytes(_) => "bytes",
        Value::String(_) => "string",
        Value::Fixed(..) => "fixed",
        Value::Enum(..) => "enum",
        Value::Union(..) => "union",
        Value::Array(_) => "array",
        Value::Map(_) => "map",
        Value::Record(_) => "record",
        Value::Date(_) => "date",
        Value::Decimal(_) | Value::BigDecimal(_) => "decimal",
        Value::TimeMillis(_) | Value::TimeMicros(_) => "time",
        Value::TimestampMillis(_) => "timestamp-millis",
        Value::TimestampMicros(_)
        | Value::TimestampNanos(_)
        | Value::LocalTimestampMillis(_)
        | Value::LocalTimestampMicros(_)
        | Value::LocalTimestampNanos(_) => "timestamp",
        Value::Duration(_) => "duration",
        Value::Uuid(_) => "uuid",
    }
}
