//! The purchase part of a reply: where a purchase stands after a command to it.

use apache_avro::types::Value;
use domain::{
    PoolId, Purchase, PurchaseCommand, PurchaseEvent, PurchaseId, PurchaseRejection,
    PurchaseStatus, Timestamp,
};

use super::{CommandReply, ConsistencyToken, ReplyOutcome, ReplyRejection};
use crate::purchase::PurchaseCommandEnvelope;
use crate::value::{Fields, MappingError, Symbols, nullable, record, string, uuid};

/// The `status` enum of `PurchaseReplyPart`.
pub(crate) const PURCHASE_STATUS: Symbols<PurchaseStatus> = Symbols {
    record: "PurchaseReplyPart",
    field: "status",
    table: &[
        ("REQUESTED", PurchaseStatus::Requested),
        ("PAYMENT_RESERVED", PurchaseStatus::PaymentReserved),
        ("TOKENS_GRANTED", PurchaseStatus::TokensGranted),
        ("COMPLETED", PurchaseStatus::Completed),
        ("COMPENSATING", PurchaseStatus::Compensating),
        ("FAILED", PurchaseStatus::Failed),
        // Added in v3; new symbols go last, where the schema has them.
        ("PAYMENT_CAPTURED", PurchaseStatus::PaymentCaptured),
    ],
};

/// A purchase as a reply reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PurchaseReplyPart {
    /// The purchase.
    pub purchase_id: PurchaseId,
    /// Where it stands after the command.
    pub status: PurchaseStatus,
    /// Why it failed (`FailureReason::code`), once a step failed.
    pub failure_code: Option<String>,
    /// The failure, for people.
    pub failure_message: Option<String>,
}

impl PurchaseReplyPart {
    /// The part describing `purchase`; `None` if it was never placed.
    pub fn of(purchase: &Purchase) -> Option<Self> {
        Some(Self {
            purchase_id: purchase.id()?,
            status: purchase.status()?,
            failure_code: purchase.failure().map(|f| f.code().to_owned()),
            failure_message: purchase.failure().map(ToString::to_string),
        })
    }
}

/// The `PurchaseReplyPart` record value.
pub(crate) fn purchase_value(part: &PurchaseReplyPart) -> Result<Value, MappingError> {
    Ok(record(vec![
        ("purchase_id", uuid(part.purchase_id)),
        ("status", PURCHASE_STATUS.value(part.status)?),
        (
            "failure_code",
            nullable(part.failure_code.as_ref().map(string)),
        ),
        (
            "failure_message",
            nullable(part.failure_message.as_ref().map(string)),
        ),
    ]))
}

/// The `PurchaseReplyPart` record in `field`.
pub(crate) fn take_purchase(
    f: &mut Fields,
    field: &'static str,
) -> Result<PurchaseReplyPart, MappingError> {
    let mut p = f.record(field, "PurchaseReplyPart")?;
    Ok(PurchaseReplyPart {
        purchase_id: p.uuid("purchase_id")?,
        status: PURCHASE_STATUS.take(&mut p)?,
        failure_code: p.optional("failure_code", Fields::string)?,
        failure_message: p.optional("failure_message", Fields::string)?,
    })
}

/// The pool a purchase command is about: the order's, from the command or the purchase.
fn pool_of(command: &PurchaseCommandEnvelope, purchase: &Purchase) -> Option<PoolId> {
    match &command.command {
        PurchaseCommand::RequestPurchase { order, .. } => Some(order.pool.clone()),
        _ => purchase.order().map(|o| o.pool.clone()),
    }
}

impl CommandReply {
    /// The reply to a purchase command, `purchase` as after it; `None` when neither names
    /// a pool (an outcome for a purchase never placed: nobody waits for that answer).
    pub fn about_purchase(
        command: &PurchaseCommandEnvelope,
        outcome: ReplyOutcome,
        purchase: &Purchase,
    ) -> Option<Self> {
        Some(Self {
            command_id: command.command_id,
            pool_id: pool_of(command, purchase)?,
            outcome,
            consistency_token: None,
            events: Vec::new(),
            rejection: None,
            balance: None,
            limits: None,
            purchase: PurchaseReplyPart::of(purchase),
        })
    }

    /// The reply to a purchase command accepted with `events` (the last at `token`).
    pub fn purchase_accepted(
        command: &PurchaseCommandEnvelope,
        events: &[PurchaseEvent],
        token: Option<ConsistencyToken>,
        purchase: &Purchase,
    ) -> Option<Self> {
        Some(Self {
            consistency_token: token,
            events: events.iter().map(|e| e.name().to_owned()).collect(),
            ..Self::about_purchase(command, ReplyOutcome::Accepted, purchase)?
        })
    }

    /// The reply to a purchase command refused with `rejection`.
    pub fn purchase_rejected(
        command: &PurchaseCommandEnvelope,
        rejection: &PurchaseRejection,
        purchase: &Purchase,
    ) -> Option<Self> {
        Some(Self {
            rejection: Some(ReplyRejection::from_purchase_rejection(rejection)),
            ..Self::about_purchase(command, ReplyOutcome::Rejected, purchase)?
        })
    }

    /// The reply to a purchase command not handled because its deadline had passed at `now`.
    pub fn purchase_expired(command: &PurchaseCommandEnvelope, now: Timestamp) -> Option<Self> {
        Some(Self {
            rejection: Some(ReplyRejection::deadline_exceeded(command.deadline, now)),
            ..Self::about_purchase(command, ReplyOutcome::Expired, &Purchase::default())?
        })
    }
}

impl ReplyRejection {
    /// The reply form of a purchase's rejection; `detail` is its serde form.
    pub fn from_purchase_rejection(rejection: &PurchaseRejection) -> Self {
        Self {
            code: rejection.code().to_owned(),
            message: rejection.to_string(),
            // Plain data with string keys: it always serialises (see `from_rejection`).
            detail: serde_json::to_value(rejection).unwrap_or_else(
                |e| serde_json::json!({ "code": rejection.code(), "error": e.to_string() }),
            ),
        }
    }
}
