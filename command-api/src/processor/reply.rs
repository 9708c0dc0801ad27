//! What replies of every aggregate kind share.

use domain::CommandId;
use schemas::ReplyRejection;

/// Code of a reply to a command id seen before with another payload.
pub const IDEMPOTENCY_CONFLICT: &str = "idempotency_conflict";

/// The refusal of a command whose id was seen before with another payload.
pub fn id_conflict(command_id: CommandId) -> ReplyRejection {
    ReplyRejection {
        code: IDEMPOTENCY_CONFLICT.to_owned(),
        message: format!("command {command_id} was already received with another payload"),
        detail: serde_json::json!({ "code": IDEMPOTENCY_CONFLICT, "command_id": command_id.to_string() }),
    }
}
