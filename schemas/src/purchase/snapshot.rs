//! `purchase.state` values: a purchase's whole state, for the processor's restart and for
//! the saga, which reads what each purchase awaits from here.
//!
//! Like `token-pool.state`, the state travels as JSON versioned by `format`: it is a
//! recovery artifact, and one this code cannot read is rebuilt from `purchase.events`.

use apache_avro::types::Value;
use domain::{Purchase, PurchaseId};

use crate::datum::TopicRecord;
use crate::pool::UnsupportedFormat;
use crate::topic::TopicKind;
use crate::value::{Fields, MappingError, record, uuid};

/// A purchase's state after a batch and where in the events topic that state ends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PurchaseSnapshot {
    /// The purchase, also the record key.
    pub purchase_id: PurchaseId,
    /// The events-topic offset after the last event folded into `state`.
    pub next_event_offset: i64,
    /// The purchase's state.
    pub state: Purchase,
    /// The processor's memory of recently answered commands (opaque here).
    pub recent_commands: serde_json::Value,
}

impl PurchaseSnapshot {
    /// The `format` this code writes and reads: the domain's serde_json form of `Purchase`.
    pub const FORMAT: i32 = 1;
}

impl TopicRecord for PurchaseSnapshot {
    const KIND: TopicKind = TopicKind::PurchaseState;

    fn to_avro(&self) -> Result<Value, MappingError> {
        let state_json = serde_json::to_string(&self.state).map_err(|e| MappingError::Invalid {
            record: "PurchaseSnapshotRecord",
            field: "state_json",
            source: Box::new(e),
        })?;
        Ok(record(vec![
            ("purchase_id", uuid(self.purchase_id)),
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
        let mut f = Fields::of("PurchaseSnapshotRecord", value)?;
        let purchase_id = f.uuid("purchase_id")?;
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
            purchase_id,
            next_event_offset,
            state,
            recent_commands,
        })
    }
}
