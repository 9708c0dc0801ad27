//! The reply to each command: what the waiting HTTP request answers with.

use domain::{Timestamp, TokenPool};
use schemas::{
    Balance, CommandReply, ConsistencyToken, PoolCommandEnvelope, ReplyOutcome, ReplyRejection,
};

use super::ledger::{Decision, RememberedOutcome};

/// Code of a reply to a command id seen before with another payload.
pub const IDEMPOTENCY_CONFLICT: &str = "idempotency_conflict";

/// The reply to `command` given what was decided, the token of its last event, and the
/// pool as it is after the batch.
pub fn reply_for(
    command: &PoolCommandEnvelope,
    decision: &Decision,
    token: Option<ConsistencyToken>,
    pool: &TokenPool,
    now: Timestamp,
) -> CommandReply {
    match decision {
        Decision::Accepted(events) => CommandReply::accepted(command, events, token, pool, now),
        Decision::Rejected(rejection) => CommandReply::rejected(command, rejection, pool, now),
        Decision::Expired => CommandReply::expired(command, now),
        Decision::Repeated(remembered) => repeated(command, remembered, pool, now),
        Decision::IdConflict => CommandReply {
            command_id: command.command_id,
            pool_id: command.pool_id.clone(),
            outcome: ReplyOutcome::Rejected,
            consistency_token: None,
            events: Vec::new(),
            rejection: Some(ReplyRejection {
                code: IDEMPOTENCY_CONFLICT.to_owned(),
                message: format!(
                    "command {} was already received with another payload",
                    command.command_id
                ),
                detail: serde_json::json!({ "code": IDEMPOTENCY_CONFLICT, "command_id": command.command_id.to_string() }),
            }),
            balance: None,
            limits: None,
        },
    }
}

/// The first answer again, with the pool's current balance.
fn repeated(
    command: &PoolCommandEnvelope,
    remembered: &RememberedOutcome,
    pool: &TokenPool,
    now: Timestamp,
) -> CommandReply {
    let token = remembered
        .consistency_token
        .as_deref()
        .and_then(|t| t.parse().ok());
    match &remembered.rejection {
        Some(rejection) => CommandReply::rejected(command, rejection, pool, now),
        None => CommandReply {
            events: remembered.events.clone(),
            consistency_token: token,
            balance: pool.is_provisioned().then(|| Balance::of(pool)),
            ..CommandReply::accepted(command, &[], token, pool, now)
        },
    }
}
