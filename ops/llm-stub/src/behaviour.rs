//! How the stub answers a request: the defaults and random faults set on the admin
//! endpoint, overridden per request by `x-stub-*` headers.

use axum::http::HeaderMap;
use serde::{Deserialize, Serialize};

/// What one request gets.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Behaviour {
    /// Wait before answering (before the first byte of a stream).
    pub latency_ms: u64,
    /// Wait between streamed chunks.
    pub chunk_interval_ms: u64,
    /// Answer with this status and an error body instead of a completion.
    pub fail_status: Option<u16>,
    /// Stream this many content chunks, then cut the connection (no usage is sent).
    pub abort_after_chunks: Option<u64>,
    /// Never answer (the caller's timeout fires).
    pub hang: bool,
    /// Words in a full reply (fewer if the request's max tokens is lower).
    pub reply_tokens: u64,
}

impl Default for Behaviour {
    fn default() -> Self {
        Self {
            latency_ms: 0,
            chunk_interval_ms: 0,
            fail_status: None,
            abort_after_chunks: None,
            hang: false,
            reply_tokens: 16,
        }
    }
}

/// The admin-set defaults plus faults injected into a share of requests, chosen by a hash
/// of the request id (so a given id always gets the same fate, and a test can reproduce it).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Chaos {
    /// What a request gets when nothing else applies.
    pub default: Behaviour,
    /// Percent of requests answered with `fail_status` (default 503).
    pub fail_percent: u8,
    /// The status of injected failures.
    pub fail_status: Option<u16>,
    /// Percent of streamed requests cut after `abort_after_chunks` (default 2) chunks.
    pub abort_percent: u8,
}

/// Header overrides, each naming a [`Behaviour`] field.
const LATENCY: &str = "x-stub-latency-ms";
const CHUNK_INTERVAL: &str = "x-stub-chunk-interval-ms";
const FAIL_STATUS: &str = "x-stub-fail-status";
const ABORT_AFTER: &str = "x-stub-abort-after-chunks";
const HANG: &str = "x-stub-hang";
const REPLY_TOKENS: &str = "x-stub-reply-tokens";

impl Chaos {
    /// The behaviour of the request `request_id` with `headers`.
    pub fn behaviour_for(&self, request_id: &str, headers: &HeaderMap) -> Behaviour {
        let mut behaviour = self.default.clone();
        // Two independent rolls from one hash: low and high bits.
        let roll = fnv1a(request_id.as_bytes());
        if ((roll % 100) as u8) < self.fail_percent {
            behaviour.fail_status = Some(self.fail_status.unwrap_or(503));
        } else if (((roll >> 32) % 100) as u8) < self.abort_percent {
            behaviour.abort_after_chunks = Some(behaviour.abort_after_chunks.unwrap_or(2));
        }
        let number = |name: &str| {
            headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.parse::<u64>().ok())
        };
        if let Some(ms) = number(LATENCY) {
            behaviour.latency_ms = ms;
        }
        if let Some(ms) = number(CHUNK_INTERVAL) {
            behaviour.chunk_interval_ms = ms;
        }
        if let Some(status) = number(FAIL_STATUS) {
            behaviour.fail_status = u16::try_from(status).ok();
        }
        if let Some(chunks) = number(ABORT_AFTER) {
            behaviour.abort_after_chunks = Some(chunks);
        }
        if let Some(words) = number(REPLY_TOKENS) {
            behaviour.reply_tokens = words;
        }
        if headers.get(HANG).is_some_and(|v| v == "true") {
            behaviour.hang = true;
        }
        behaviour
    }
}

/// FNV-1a, 64 bit: a stable hash with no dependency and no per-process seed.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, byte| {
        (hash ^ u64::from(*byte)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_override_the_defaults() {
        let chaos = Chaos::default();
        let mut headers = HeaderMap::new();
        headers.insert(LATENCY, "250".parse().unwrap());
        headers.insert(FAIL_STATUS, "429".parse().unwrap());
        headers.insert(HANG, "true".parse().unwrap());
        let behaviour = chaos.behaviour_for("r1", &headers);
        assert_eq!(behaviour.latency_ms, 250);
        assert_eq!(behaviour.fail_status, Some(429));
        assert!(behaviour.hang);
        assert_eq!(
            chaos.behaviour_for("r1", &HeaderMap::new()),
            Behaviour::default()
        );
    }

    #[test]
    fn injected_failures_hit_about_their_share_and_always_the_same_ids() {
        let chaos = Chaos {
            fail_percent: 30,
            ..Chaos::default()
        };
        let failed = |id: &str| {
            chaos
                .behaviour_for(id, &HeaderMap::new())
                .fail_status
                .is_some()
        };
        let ids: Vec<String> = (0..2_000).map(|i| format!("request-{i}")).collect();
        let share = ids.iter().filter(|id| failed(id)).count();
        assert!((500..700).contains(&share), "{share} of 2000 failed");
        assert!(ids.iter().all(|id| failed(id) == failed(id)));
    }
}
