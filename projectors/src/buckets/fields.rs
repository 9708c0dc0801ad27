//! A pool's rate-limit buckets as the flat Redis hash the gateway pre-checks against: pure,
//! so the projector and the tests compute the same fields from the same snapshot.

use domain::{LimitSnapshot, RateLimit, RetryAfter, Timestamp, TokenPool, Tokens};

/// The hash fields of `pool` as of `at` (the snapshot's time), or `None` for a pool that is
/// not provisioned.
///
/// Per limit (`requests_*`, `tokens_*`): `capacity`, `rate` per `period_ms`, `level` (units
/// in the bucket or window), `remaining`, `reset_after_ms` (until full again). For the
/// pool: `strategy`, `updated_at_ms`, and `retry_after_ms`, how long until one request of
/// one token passes (0: now; -1: never). A reader ages `level` by `rate` per `period_ms`
/// since `updated_at_ms`, so a stale hash still gives a close answer without a round trip.
pub fn bucket_fields(
    pool: &TokenPool,
    at: Timestamp,
    next_event_offset: i64,
) -> Option<Vec<(String, String)>> {
    let policy = pool.policy()?;
    let limits = pool.rate_limits_at(at)?;
    let strategy = serde_json::to_value(policy.strategy)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default();
    let retry_after_ms = match pool.rate_limit_retry_at(at, Tokens::saturating_new(1)) {
        None => 0,
        Some((_, RetryAfter::After(wait))) => wait.as_millis() as i64,
        Some((_, RetryAfter::Never)) => -1,
    };
    let mut fields = vec![
        ("strategy".to_owned(), strategy),
        ("updated_at_ms".to_owned(), at.as_millis().to_string()),
        (
            "next_event_offset".to_owned(),
            next_event_offset.to_string(),
        ),
        ("retry_after_ms".to_owned(), retry_after_ms.to_string()),
    ];
    limit_fields(&mut fields, "requests", policy.requests, &limits.requests);
    limit_fields(&mut fields, "tokens", policy.tokens, &limits.tokens);
    Some(fields)
}

fn limit_fields(
    fields: &mut Vec<(String, String)>,
    kind: &str,
    limit: RateLimit,
    now: &LimitSnapshot,
) {
    let mut add = |name: &str, value: String| fields.push((format!("{kind}_{name}"), value));
    add("capacity", limit.capacity().to_string());
    add("rate", limit.rate().to_string());
    add("period_ms", limit.period().as_millis().to_string());
    add("level", now.limit.saturating_sub(now.remaining).to_string());
    add("remaining", now.remaining.to_string());
    add("reset_after_ms", now.reset_after.as_millis().to_string());
}

#[cfg(test)]
mod tests {
    use domain::{
        Aggregate, DurationMs, EffectivePolicy, OverageRule, RateLimit, RateLimitStrategy,
        ReservationTtl, Tier, TokenPoolEvent,
    };

    use super::*;

    fn at(ms: i64) -> Timestamp {
        Timestamp::from_millis(ms).unwrap()
    }

    fn limit(capacity: u64, rate: u64) -> RateLimit {
        RateLimit::new(capacity, rate, DurationMs::MINUTE).unwrap()
    }

    /// A leaky-bucket pool allowing 2 requests and 600 tokens, draining per minute.
    fn pool() -> TokenPool {
        let ms = |n| DurationMs::from_millis(n).unwrap();
        let policy = EffectivePolicy {
            strategy: RateLimitStrategy::LeakyBucket,
            requests: limit(2, 2),
            tokens: limit(600, 600),
            overage: OverageRule::Reject,
            reservation_ttl: ReservationTtl::new(ms(1_000), ms(60_000)).unwrap(),
            periodic_quota: None,
            quota_cap: Tokens::new(1_000_000).unwrap(),
        };
        let mut pool = TokenPool::default();
        pool.apply(&TokenPoolEvent::PoolProvisioned {
            pool: "user:alice/openai".parse().unwrap(),
            tier: Tier::User,
            policy,
            at: at(0),
        });
        pool
    }

    fn field<'a>(fields: &'a [(String, String)], name: &str) -> &'a str {
        &fields
            .iter()
            .find(|(k, _)| k == name)
            .unwrap_or_else(|| panic!("no field {name}"))
            .1
    }

    #[test]
    fn an_unprovisioned_pool_has_no_bucket() {
        assert_eq!(bucket_fields(&TokenPool::default(), at(0), 0), None);
    }

    #[test]
    fn a_consumption_fills_the_request_and_token_buckets() {
        let mut pool = pool();
        pool.apply(&TokenPoolEvent::TokensConsumed {
            amount: Tokens::new(150).unwrap(),
            overdrawn: Tokens::ZERO,
            at: at(1_000),
        });
        let fields = bucket_fields(&pool, at(1_000), 7).unwrap();
        assert_eq!(field(&fields, "strategy"), "LEAKY_BUCKET");
        assert_eq!(field(&fields, "updated_at_ms"), "1000");
        assert_eq!(field(&fields, "next_event_offset"), "7");
        assert_eq!(field(&fields, "requests_capacity"), "2");
        assert_eq!(field(&fields, "requests_level"), "1");
        assert_eq!(field(&fields, "requests_remaining"), "1");
        assert_eq!(field(&fields, "tokens_level"), "150");
        assert_eq!(field(&fields, "tokens_remaining"), "450");
        assert_eq!(field(&fields, "retry_after_ms"), "0");
    }

    #[test]
    fn a_full_bucket_says_how_long_until_the_next_request_passes() {
        let mut pool = pool();
        for ms in [1_000, 1_000] {
            pool.apply(&TokenPoolEvent::TokensConsumed {
                amount: Tokens::new(1).unwrap(),
                overdrawn: Tokens::ZERO,
                at: at(ms),
            });
        }
        let fields = bucket_fields(&pool, at(1_000), 0).unwrap();
        assert_eq!(field(&fields, "requests_remaining"), "0");
        // Two requests per minute drain one every 30 s.
        assert_eq!(field(&fields, "retry_after_ms"), "30000");
    }
}
