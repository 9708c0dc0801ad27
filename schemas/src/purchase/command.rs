//! `purchase.commands` values: a [`PurchaseCommand`] with who sent it and until when.

use apache_avro::types::Value;
use domain::{Actor, CommandId, PurchaseCommand, PurchaseId, Timestamp};

use super::parts::{order_value, reason_value, take_order, take_reason};
use crate::datum::TopicRecord;
use crate::topic::TopicKind;
use crate::value::{Fields, MappingError, Union, record, string, timestamp, uuid};

/// The `command` union: one record per [`PurchaseCommand`] variant, named like it.
pub(crate) const PURCHASE_COMMAND: Union = Union {
    record: "PurchaseCommandRecord",
    field: "command",
    branches: &[
        "RequestPurchase",
        "RecordPaymentReserved",
        "RecordTokensGranted",
        "RecordPaymentCaptured",
        "RecordStepFailed",
        "RecordGrantRevoked",
        "RecordPaymentReleased",
    ],
};

/// A purchase command record: the command and what the processor needs to answer it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PurchaseCommandEnvelope {
    /// Identifies the command; the processor deduplicates on it.
    pub command_id: CommandId,
    /// The purchase, also the record key.
    pub purchase_id: PurchaseId,
    /// The instance waiting for the reply (the reply's record key).
    pub reply_to: String,
    /// On whose behalf the command was issued.
    pub actor: Actor,
    /// When the issuer sent it.
    pub issued_at: Timestamp,
    /// After this the processor answers `EXPIRED` instead of handling it.
    pub deadline: Timestamp,
    /// What is asked of the purchase.
    pub command: PurchaseCommand,
}

impl PurchaseCommandEnvelope {
    /// Whether the deadline has passed at `now` (the processor then replies `EXPIRED`).
    pub fn is_past_deadline(&self, now: Timestamp) -> bool {
        now > self.deadline
    }
}

impl TopicRecord for PurchaseCommandEnvelope {
    const KIND: TopicKind = TopicKind::PurchaseCommands;

    fn to_avro(&self) -> Result<Value, MappingError> {
        Ok(record(vec![
            ("command_id", uuid(self.command_id)),
            ("purchase_id", uuid(self.purchase_id)),
            ("reply_to", string(&self.reply_to)),
            ("actor", string(&self.actor)),
            ("issued_at", timestamp(self.issued_at)),
            ("deadline", timestamp(self.deadline)),
            ("command", command_value(&self.command)?),
        ]))
    }

    fn from_avro(value: Value) -> Result<Self, MappingError> {
        let mut f = Fields::of("PurchaseCommandRecord", value)?;
        let command_id = f.uuid("command_id")?;
        let purchase_id = f.uuid("purchase_id")?;
        Ok(Self {
            command_id,
            purchase_id,
            reply_to: f.string("reply_to")?,
            actor: f.parse("actor")?,
            issued_at: f.timestamp("issued_at")?,
            deadline: f.timestamp("deadline")?,
            command: take_command(f.take("command")?, purchase_id)?,
        })
    }
}

fn command_value(command: &PurchaseCommand) -> Result<Value, MappingError> {
    use PurchaseCommand as C;
    let fields = match command {
        // The purchase id is the envelope's: the record cannot name two different ones.
        C::RequestPurchase { order, .. } => vec![("order", order_value(order))],
        C::RecordTokensGranted { grant_id } => vec![("grant_id", uuid(*grant_id))],
        C::RecordStepFailed { reason } => vec![("reason", reason_value(reason)?)],
        C::RecordPaymentReserved
        | C::RecordPaymentCaptured
        | C::RecordGrantRevoked
        | C::RecordPaymentReleased => vec![],
    };
    PURCHASE_COMMAND.wrap(command.name(), record(fields))
}

fn take_command(value: Value, purchase_id: PurchaseId) -> Result<PurchaseCommand, MappingError> {
    use PurchaseCommand as C;
    let (branch, value) = PURCHASE_COMMAND.unwrap(value)?;
    let mut f = Fields::of(branch, value)?;
    Ok(match branch {
        "RequestPurchase" => C::RequestPurchase {
            purchase_id,
            order: take_order(&mut f, "order")?,
        },
        "RecordPaymentReserved" => C::RecordPaymentReserved,
        "RecordTokensGranted" => C::RecordTokensGranted {
            grant_id: f.uuid("grant_id")?,
        },
        "RecordPaymentCaptured" => C::RecordPaymentCaptured,
        "RecordStepFailed" => C::RecordStepFailed {
            reason: take_reason(&mut f, "reason")?,
        },
        "RecordGrantRevoked" => C::RecordGrantRevoked,
        "RecordPaymentReleased" => C::RecordPaymentReleased,
        other => return Err(PURCHASE_COMMAND.unknown(other)),
    })
}
