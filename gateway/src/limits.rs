//! The pool's answer as HTTP: OpenAI-style `x-ratelimit-*` headers on every call, and a
//! 429 naming the limit that was hit, with `Retry-After` when it is known.

use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use domain::{LimitSnapshot, PoolRateLimits, RetryAfter, TokenPoolRejection};
use problem::Problem;
use schemas::ReplyRejection;
use serde_json::json;

/// The header naming which limit refused a call (`requests`, `tokens`, `quota`).
pub const LIMIT_HIT: &str = "x-ratelimit-limit-hit";

/// `x-ratelimit-{limit,remaining,reset}-{requests,tokens}`, as OpenAI sends them.
pub fn headers(limits: &PoolRateLimits) -> HeaderMap {
    let mut headers = HeaderMap::new();
    for (kind, snapshot) in [("requests", &limits.requests), ("tokens", &limits.tokens)] {
        put(
            &mut headers,
            &format!("x-ratelimit-limit-{kind}"),
            snapshot.limit.to_string(),
        );
        put(
            &mut headers,
            &format!("x-ratelimit-remaining-{kind}"),
            snapshot.remaining.to_string(),
        );
        put(
            &mut headers,
            &format!("x-ratelimit-reset-{kind}"),
            reset(snapshot),
        );
    }
    headers
}

fn put(headers: &mut HeaderMap, name: &str, value: String) {
    if let (Ok(name), Ok(value)) = (HeaderName::try_from(name), HeaderValue::try_from(value)) {
        headers.insert(name, value);
    }
}

/// OpenAI's duration format: `20ms`, `1.5s`, `6m0s`.
fn reset(snapshot: &LimitSnapshot) -> String {
    let ms = snapshot.reset_after.as_millis();
    if ms < 1_000 {
        format!("{ms}ms")
    } else if ms < 60_000 {
        let seconds = ms as f64 / 1_000.0;
        format!("{}s", (seconds * 1_000.0).round() / 1_000.0)
    } else {
        let seconds = ms.div_ceil(1_000);
        format!("{}m{}s", seconds / 60, seconds % 60)
    }
}

/// The answer to a reserve the pool refused.
pub fn refusal(
    rejection: &ReplyRejection,
    limits: Option<&PoolRateLimits>,
) -> (Problem, HeaderMap) {
    let mut headers = limits.map(headers).unwrap_or_default();
    let problem = match rejection.pool_rejection() {
        Some(TokenPoolRejection::RateLimited { limit, retry_after }) => {
            let hit = limit.to_string();
            put(&mut headers, LIMIT_HIT, hit.clone());
            let problem = Problem::new(
                StatusCode::TOO_MANY_REQUESTS,
                "rate-limited",
                "Rate limit exceeded",
                rejection.message.clone(),
            )
            .with("limit", json!(hit));
            match retry_after {
                RetryAfter::After(wait) => {
                    problem.retry_after(wait.as_millis().div_ceil(1_000).max(1))
                }
                RetryAfter::Never => problem,
            }
        }
        Some(TokenPoolRejection::QuotaExhausted { .. })
        | Some(TokenPoolRejection::PeriodicQuotaExhausted { .. }) => {
            put(&mut headers, LIMIT_HIT, "quota".into());
            Problem::new(
                StatusCode::TOO_MANY_REQUESTS,
                "quota-exhausted",
                "Not enough tokens left",
                rejection.message.clone(),
            )
            .with("limit", json!("quota"))
        }
        Some(TokenPoolRejection::PoolNotProvisioned) => Problem::new(
            StatusCode::FORBIDDEN,
            "no-pool",
            "No token pool for this provider",
            "the caller has no pool for this provider; ask an admin to provision one",
        ),
        // Shortening the hold would let it lapse mid-call; the pool's policy must change.
        Some(TokenPoolRejection::TtlAboveMaximum { .. }) => Problem::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "pool-hold-too-short",
            "The pool's longest hold is shorter than a call may last",
            format!(
                "{}; ask an admin to raise the pool's reservation_ttl.max_ms",
                rejection.message
            ),
        ),
        _ => Problem::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "refused",
            "The pool refused the call",
            rejection.message.clone(),
        ),
    };
    let problem = problem
        .with("code", json!(rejection.code))
        .with("reason", rejection.detail.clone());
    (problem, headers)
}

#[cfg(test)]
mod tests {
    use domain::DurationMs;

    use super::*;

    fn snapshot(limit: u64, remaining: u64, reset_ms: u64) -> LimitSnapshot {
        LimitSnapshot {
            limit,
            remaining,
            reset_after: DurationMs::from_millis(reset_ms).unwrap(),
        }
    }

    #[test]
    fn headers_follow_openai_names_and_duration_format() {
        let limits = PoolRateLimits {
            requests: snapshot(60, 59, 1_000),
            tokens: snapshot(100_000, 99_000, 360_000),
        };
        let headers = headers(&limits);
        assert_eq!(headers["x-ratelimit-limit-requests"], "60");
        assert_eq!(headers["x-ratelimit-remaining-requests"], "59");
        assert_eq!(headers["x-ratelimit-reset-requests"], "1s");
        assert_eq!(headers["x-ratelimit-limit-tokens"], "100000");
        assert_eq!(headers["x-ratelimit-remaining-tokens"], "99000");
        assert_eq!(headers["x-ratelimit-reset-tokens"], "6m0s");
        assert_eq!(reset(&snapshot(1, 1, 20)), "20ms");
        assert_eq!(reset(&snapshot(1, 1, 1_500)), "1.5s");
    }
}
