//! The usage the stub reported, per request id: what a test adds up to check the gateway
//! charged exactly what the provider said.

use std::collections::BTreeMap;
use std::sync::Mutex;

use serde::{Deserialize, Serialize};

/// Usage reported to the caller of one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Usage {
    /// Tokens of the prompt.
    pub prompt_tokens: u64,
    /// Tokens of the reply.
    pub completion_tokens: u64,
    /// Their sum, what a pool is charged.
    pub total_tokens: u64,
}

impl Usage {
    /// Usage of a prompt and a reply.
    pub fn new(prompt_tokens: u64, completion_tokens: u64) -> Self {
        Self {
            prompt_tokens,
            completion_tokens,
            total_tokens: prompt_tokens + completion_tokens,
        }
    }
}

/// Requests whose usage was delivered completely (a plain body returned, or a stream read
/// to its end), by request id. Failed, aborted and abandoned requests are not in it.
#[derive(Debug, Default)]
pub struct UsageLedger {
    reported: Mutex<BTreeMap<String, Usage>>,
}

impl UsageLedger {
    /// Records that `request_id` was told `usage`.
    pub fn record(&self, request_id: &str, usage: Usage) {
        self.lock().insert(request_id.to_owned(), usage);
    }

    /// Everything recorded so far.
    pub fn snapshot(&self) -> BTreeMap<String, Usage> {
        self.lock().clone()
    }

    /// Forgets everything (between test phases).
    pub fn clear(&self) {
        self.lock().clear();
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, Usage>> {
        self.reported.lock().unwrap_or_else(|p| p.into_inner())
    }
}
