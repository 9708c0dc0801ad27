//! `purchase.events` values: a [`PurchaseEvent`] with the command that caused it.

use apache_avro::types::Value;
use domain::{Actor, CommandId, Compensation, PurchaseEvent, PurchaseId};

use super::command::PurchaseCommandEnvelope;
use super::parts::{order_value, reason_value, take_order, take_reason};
use crate::datum::TopicRecord;
use crate::topic::TopicKind;
use crate::value::{Fields, MappingError, Union, record, timestamp, uuid};

/// The `event` union: one record per [`PurchaseEvent`] variant, named like it.
pub(crate) const PURCHASE_EVENT: Union = Union {
    record: "PurchaseEventRecord",
    field: "event",
    branches: &[
        "PurchaseRequested",
        "PaymentReserved",
        "TokensGranted",
        "PaymentCaptured",
        "PurchaseCompleted",
        "StepFailed",
        "GrantRevoked",
        "PaymentReleased",
        "PurchaseFailed",
    ],
};

/// A purchase event record: the fact, and the command and actor it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PurchaseEventEnvelope {
    /// The purchase, also the record key.
    pub purchase_id: PurchaseId,
    /// The command that caused the event.
    pub command_id: CommandId,
    /// On whose behalf that command was issued.
    pub actor: Actor,
    /// What happened.
    pub event: PurchaseEvent,
}

impl PurchaseEventEnvelope {
    /// The record of `event`, caused by `command`.
    pub fn caused_by(command: &PurchaseCommandEnvelope, event: PurchaseEvent) -> Self {
        Self {
            purchase_id: command.purchase_id,
            command_id: command.command_id,
            actor: command.actor.clone(),
            event,
        }
    }
}

impl TopicRecord for PurchaseEventEnvelope {
    const KIND: TopicKind = TopicKind::PurchaseEvents;

    fn to_avro(&self) -> Result<Value, MappingError> {
        Ok(record(vec![
            ("purchase_id", uuid(self.purchase_id)),
            ("command_id", uuid(self.command_id)),
            ("actor", crate::value::string(&self.actor)),
            ("event", event_value(&self.event)?),
        ]))
    }

    fn from_avro(value: Value) -> Result<Self, MappingError> {
        let mut f = Fields::of("PurchaseEventRecord", value)?;
        let purchase_id = f.uuid("purchase_id")?;
        Ok(Self {
            purchase_id,
            command_id: f.uuid("command_id")?,
            actor: f.parse("actor")?,
            event: take_event(f.take("event")?, purchase_id)?,
        })
    }
}

fn event_value(event: &PurchaseEvent) -> Result<Value, MappingError> {
    use PurchaseEvent as E;
    let fields = match event {
        E::PurchaseRequested { order, at, .. } => {
            vec![("order", order_value(order)), ("at", timestamp(*at))]
        }
        E::TokensGranted { grant_id, at } => {
            vec![("grant_id", uuid(*grant_id)), ("at", timestamp(*at))]
        }
        E::StepFailed {
            reason,
            compensation,
            at,
        } => vec![
            ("reason", reason_value(reason)?),
            ("revoke_grant", Value::Boolean(compensation.revoke_grant)),
            (
                "release_payment",
                Value::Boolean(compensation.release_payment),
            ),
            ("at", timestamp(*at)),
        ],
        E::PurchaseFailed { reason, at } => {
            vec![("reason", reason_value(reason)?), ("at", timestamp(*at))]
        }
        E::PaymentReserved { at }
        | E::PaymentCaptured { at }
        | E::PurchaseCompleted { at }
        | E::GrantRevoked { at }
        | E::PaymentReleased { at } => vec![("at", timestamp(*at))],
    };
    PURCHASE_EVENT.wrap(event.name(), record(fields))
}

fn take_event(value: Value, purchase_id: PurchaseId) -> Result<PurchaseEvent, MappingError> {
    use PurchaseEvent as E;
    let (branch, value) = PURCHASE_EVENT.unwrap(value)?;
    let mut f = Fields::of(branch, value)?;
    Ok(match branch {
        "PurchaseRequested" => E::PurchaseRequested {
            purchase_id,
            order: take_order(&mut f, "order")?,
            at: f.timestamp("at")?,
        },
        "PaymentReserved" => E::PaymentReserved {
            at: f.timestamp("at")?,
        },
        "TokensGranted" => E::TokensGranted {
            grant_id: f.uuid("grant_id")?,
            at: f.timestamp("at")?,
        },
        "PaymentCaptured" => E::PaymentCaptured {
            at: f.timestamp("at")?,
        },
        "PurchaseCompleted" => E::PurchaseCompleted {
            at: f.timestamp("at")?,
        },
        "StepFailed" => E::StepFailed {
            reason: take_reason(&mut f, "reason")?,
            compensation: Compensation {
                revoke_grant: f.boolean("revoke_grant")?,
                release_payment: f.boolean("release_payment")?,
            },
            at: f.timestamp("at")?,
        },
        "GrantRevoked" => E::GrantRevoked {
            at: f.timestamp("at")?,
        },
        "PaymentReleased" => E::PaymentReleased {
            at: f.timestamp("at")?,
        },
        "PurchaseFailed" => E::PurchaseFailed {
            reason: take_reason(&mut f, "reason")?,
            at: f.timestamp("at")?,
        },
        other => return Err(PURCHASE_EVENT.unknown(other)),
    })
}
