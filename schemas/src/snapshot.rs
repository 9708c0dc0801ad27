//! What every `*.state` value carries besides its key: an aggregate's whole state as JSON,
//! the events offset it ends at, and the processor's memory of answered commands.
//!
//! The state travels as JSON inside the Avro record on purpose: the aggregate's internal
//! state changes shape with the code and is a recovery artifact, not a published contract,
//! so it is versioned by `format` rather than by the registry. A snapshot this code cannot
//! read is no loss: the processor rebuilds the aggregate from its events topic instead.

use apache_avro::types::Value;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::value::{Fields, MappingError};

/// A snapshot `format` this code cannot read.
#[derive(Debug, thiserror::Error)]
#[error("snapshot format {found} is not the supported format {supported}")]
pub struct UnsupportedFormat {
    /// The format found.
    pub found: i32,
    /// The format this code reads.
    pub supported: i32,
}

/// The fields after the key, as read.
pub(crate) struct SnapshotBody<S> {
    pub next_event_offset: i64,
    pub state: S,
    pub recent_commands: serde_json::Value,
}

/// The Avro fields after the key, in schema order, written in `format`.
pub(crate) fn body_fields(
    record: &'static str,
    format: i32,
    next_event_offset: i64,
    state: &impl Serialize,
    recent_commands: &serde_json::Value,
) -> Result<Vec<(&'static str, Value)>, MappingError> {
    let state_json = serde_json::to_string(state).map_err(|e| MappingError::Invalid {
        record,
        field: "state_json",
        source: Box::new(e),
    })?;
    Ok(vec![
        ("format", Value::Int(format)),
        ("next_event_offset", Value::Long(next_event_offset)),
        ("state_json", Value::String(state_json)),
        (
            "recent_commands_json",
            Value::String(recent_commands.to_string()),
        ),
    ])
}

impl<S: DeserializeOwned> SnapshotBody<S> {
    /// Reads the fields after the key, refusing any format but `format`.
    pub(crate) fn read(f: &mut Fields, format: i32) -> Result<Self, MappingError> {
        let found = f.int("format")?;
        if found != format {
            let error = UnsupportedFormat {
                found,
                supported: format,
            };
            return Err(f.invalid("format", error));
        }
        let next_event_offset = f.long("next_event_offset")?;
        let json = f.string("state_json")?;
        let state = serde_json::from_str(&json).map_err(|e| f.invalid("state_json", e))?;
        let recent = f.string("recent_commands_json")?;
        let recent_commands =
            serde_json::from_str(&recent).map_err(|e| f.invalid("recent_commands_json", e))?;
        Ok(Self {
            next_event_offset,
            state,
            recent_commands,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::value::record;

    fn written(format: i32) -> Value {
        let fields = body_fields(
            "T",
            format,
            42,
            &vec![1, 2, 3],
            &serde_json::json!({"a": 1}),
        );
        record(fields.expect("serializable"))
    }

    #[test]
    fn a_body_reads_back_as_written() {
        let mut f = Fields::of("T", written(1)).unwrap();
        let body: SnapshotBody<Vec<i32>> = SnapshotBody::read(&mut f, 1).unwrap();
        assert_eq!(body.next_event_offset, 42);
        assert_eq!(body.state, vec![1, 2, 3]);
        assert_eq!(body.recent_commands, serde_json::json!({"a": 1}));
    }

    #[test]
    fn another_format_is_refused_so_the_aggregate_is_rebuilt_from_events() {
        let mut f = Fields::of("T", written(2)).unwrap();
        let refused = SnapshotBody::<Vec<i32>>::read(&mut f, 1)
            .err()
            .expect("refused");
        assert!(
            refused
                .to_string()
                .contains("format 2 is not the supported format 1"),
            "{refused}"
        );
    }
}
