//! `purchase.state` values: a purchase's whole state, for the processor's restart and for
//! the saga, which reads what each purchase awaits from here (layout: [`crate::snapshot`]).

use apache_avro::types::Value;
use domain::{Purchase, PurchaseId};

use crate::datum::TopicRecord;
use crate::snapshot::{SnapshotBody, body_fields};
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
        let mut fields = vec![("purchase_id", uuid(self.purchase_id))];
        fields.extend(body_fields(
            "PurchaseSnapshotRecord",
            Self::FORMAT,
            self.next_event_offset,
            &self.state,
            &self.recent_commands,
        )?);
        Ok(record(fields))
    }

    fn from_avro(value: Value) -> Result<Self, MappingError> {
        let mut f = Fields::of("PurchaseSnapshotRecord", value)?;
        let purchase_id = f.uuid("purchase_id")?;
        let body = SnapshotBody::read(&mut f, Self::FORMAT)?;
        Ok(Self {
            purchase_id,
            next_event_offset: body.next_event_offset,
            state: body.state,
            recent_commands: body.recent_commands,
        })
    }
}
