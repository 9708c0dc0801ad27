//! What a reply says besides the outcome: why it was refused, the balance after it.

use domain::{Timestamp, TokenPool, TokenPoolRejection, TokenTotal, Tokens};
use serde_json::json;

/// How a command ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ReplyOutcome {
    /// Handled; its events (none for a repeat) are in the log.
    Accepted,
    /// Refused by the pool; nothing was written but the reply (and maybe a rejection record).
    Rejected,
    /// Its deadline passed before the processor got to it; it was not handled.
    Expired,
}

/// A refusal as the API reports it: a pool rejection or an expired deadline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplyRejection {
    /// Machine-readable reason, e.g. `quota_exhausted` or `deadline_exceeded`.
    pub code: String,
    /// Human-readable reason.
    pub message: String,
    /// The reason as a JSON object: `code` and the reason's own fields.
    pub detail: serde_json::Value,
}

impl ReplyRejection {
    /// The code of an expired command.
    pub const DEADLINE_EXCEEDED: &'static str = "deadline_exceeded";

    /// The reply form of a pool's rejection; `detail` is its serde form.
    pub fn from_rejection(rejection: &TokenPoolRejection) -> Self {
        Self {
            code: rejection.code().to_owned(),
            message: rejection.to_string(),
            // A rejection is plain data with string keys, so it always serialises; the
            // fallback only keeps this infallible without hiding a failure if it ever did.
            detail: serde_json::to_value(rejection)
                .unwrap_or_else(|e| json!({ "code": rejection.code(), "error": e.to_string() })),
        }
    }

    /// The refusal of a command whose `deadline` had passed at `now`.
    pub fn deadline_exceeded(deadline: Timestamp, now: Timestamp) -> Self {
        Self {
            code: Self::DEADLINE_EXCEEDED.to_owned(),
            message: format!(
                "the command's deadline ({} ms) had passed when it was handled ({} ms)",
                deadline.as_millis(),
                now.as_millis()
            ),
            detail: json!({
                "code": Self::DEADLINE_EXCEEDED,
                "deadline": deadline.as_millis(),
                "now": now.as_millis(),
            }),
        }
    }

    /// The pool rejection this came from, if it was one (not for `deadline_exceeded`).
    pub fn pool_rejection(&self) -> Option<TokenPoolRejection> {
        serde_json::from_value(self.detail.clone()).ok()
    }
}

/// A pool's token totals, as a reply reports them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Balance {
    /// Tokens granted and not taken back.
    pub granted: TokenTotal,
    /// Tokens charged over the pool's lifetime.
    pub consumed: TokenTotal,
    /// Tokens on hold in open reservations.
    pub reserved: TokenTotal,
    /// Tokens free for new holds.
    pub available: Tokens,
}

impl Balance {
    /// The balance of `pool` as recorded.
    pub fn of(pool: &TokenPool) -> Self {
        Self {
            granted: pool.granted(),
            consumed: pool.consumed(),
            reserved: pool.reserved(),
            available: pool.available(),
        }
    }
}
