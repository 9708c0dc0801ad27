//! `token-pool.state` values: a pool's whole state, for a fast restart of its processor.
//!
//! The state travels as JSON inside the Avro record on purpose: the aggregate's internal
//! state changes shape with the code and is a recovery artifact, not a published contract,
//! so it is versioned by `format` rather than by the registry. A snapshot this code cannot
//! read is no loss: the processor rebuilds the pool from `token-pool.events` instead.

use apache_avro::types::Value;
use domain::{PoolId, TokenPool};

use crate::datum::TopicRecord;
use crate::topic::TopicKind;
use crate::value::{Fields, MappingError, record, string};

/// A pool's state after a batch and where in the events topic that state ends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PoolSnapshot {
    /// The pool, also the record key.
    pub pool_id: PoolId,
    /// The events-topic offset after the last event folded into `state`: replay from here.
    pub next_event_offset: i64,
    /// The pool's state.
    pub state: TokenPool,
    /// The processor's memory of recently answered commands (opaque here: the processor
    /// owns its layout), so retries are answered alike across restarts.
    pub recent_commands: serde_json::Value,
}

impl PoolSnapshot {
    /// The `format` this code writes and reads: the domain's serde_json form of `TokenPool`.
    pub const FORMAT: i32 = 1;
}

/// A snapshot `format` this code cannot read.
#[derive(Debug, thiserror::Error)]
#[error("snapshot format {found} is not the supported format {supported}")]
pub struct UnsupportedFormat {
    /// The format found.
    pub found: i32,
    /// The format this code reads.
    pub supported: i32,
}

impl TopicRecord for PoolSnapshot {
    const KIND: TopicKind = TopicKind::PoolState;

    fn to_avro(&self) -> Result<Value, MappingError> {
        let state_json = serde_json::to_string(&self.state).map_err(|e| MappingError::Invalid {
            record: "PoolSnapshotRecord",
            field: "state_json",
            source: Box::new(e),
        })?;
        Ok(record(vec![
            ("pool_id", string(&self.pool_id)),
            ("format", Value::Int(Self::FORMAT)),
            ("next_event_offset", Value::Long(self.next_event_offset)),
            ("state_json", Value::String(state_json)),
            (
                "recent_commands_json",
                Value::String(self.recent_commands.to_string()),
            ),
        ]))
    }

    fn from_avro(value: Value) -> Result<Self, MappingError> {
        let mut f = Fields::of("PoolSnapshotRecord", value)?;
        let pool_id = f.parse("pool_id")?;
        let format = f.int("format")?;
        if format != Self::FORMAT {
            let error = UnsupportedFormat {
                found: format,
                supported: Self::FORMAT,
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
            pool_id,
            next_event_offset,
            state,
            recent_commands,
        })
    }
}
