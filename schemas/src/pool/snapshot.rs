//! `token-pool.state` values: a pool's whole state, for a fast restart of its processor
//! (the shared layout and why the state is JSON: [`crate::snapshot`]).

use apache_avro::types::Value;
use domain::{PoolId, TokenPool};

use crate::datum::TopicRecord;
use crate::snapshot::{SnapshotBody, body_fields};
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

impl TopicRecord for PoolSnapshot {
    const KIND: TopicKind = TopicKind::PoolState;

    fn to_avro(&self) -> Result<Value, MappingError> {
        let mut fields = vec![("pool_id", string(&self.pool_id))];
        fields.extend(body_fields(
            "PoolSnapshotRecord",
            Self::FORMAT,
            self.next_event_offset,
            &self.state,
            &self.recent_commands,
        )?);
        Ok(record(fields))
    }

    fn from_avro(value: Value) -> Result<Self, MappingError> {
        let mut f = Fields::of("PoolSnapshotRecord", value)?;
        let pool_id = f.parse("pool_id")?;
        let body = SnapshotBody::read(&mut f, Self::FORMAT)?;
        Ok(Self {
            pool_id,
            next_event_offset: body.next_event_offset,
            state: body.state,
            recent_commands: body.recent_commands,
        })
    }
}
