//! What one record adds to the usage analytics: pure, per (dimension, subject,
//! granularity, bucket), so replay and the live projection add exactly the same.

use domain::{Owner, PoolId, Timestamp, TokenPoolEvent};

/// The time buckets every figure is kept in, and their lengths in milliseconds.
pub const GRANULARITIES: [(&str, i64); 3] =
    [("minute", 60_000), ("hour", 3_600_000), ("day", 86_400_000)];

/// One analytics row, before the source partition that feeds it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct UsageKey {
    /// `provider`, `user` or `org`.
    pub dimension: &'static str,
    /// The provider name, user id or org id.
    pub subject: String,
    /// `minute`, `hour` or `day`.
    pub granularity: &'static str,
    /// Start of the bucket (epoch ms, aligned to the granularity in UTC).
    pub bucket_start_ms: i64,
}

/// Figures added to a row.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Usage {
    /// Tokens charged (consumed, or settled).
    pub tokens: i64,
    /// Requests admitted (each reserve or consume).
    pub requests: i64,
    /// Requests refused (quota exhausted, rate limited, ...).
    pub rejections: i64,
}

impl Usage {
    /// Whether it adds nothing.
    pub fn is_zero(&self) -> bool {
        *self == Self::default()
    }

    /// `self + other`.
    pub fn plus(self, other: Usage) -> Usage {
        Usage {
            tokens: self.tokens + other.tokens,
            requests: self.requests + other.requests,
            rejections: self.rejections + other.rejections,
        }
    }
}

/// What `event` on `pool` adds, to every row it counts in.
pub fn of_event(pool: &PoolId, event: &TokenPoolEvent) -> Vec<(UsageKey, Usage)> {
    use TokenPoolEvent as E;
    let usage = match event {
        E::TokensConsumed { amount, .. } => Usage {
            tokens: amount.get() as i64,
            requests: 1,
            rejections: 0,
        },
        E::TokensReserved { .. } => Usage {
            requests: 1,
            ..Usage::default()
        },
        E::ReservationSettled { consumed, .. } => Usage {
            tokens: consumed.get() as i64,
            ..Usage::default()
        },
        _ => Usage::default(),
    };
    spread(pool, event.at(), usage)
}

/// What a refused command on `pool` at `at` adds.
pub fn of_rejection(pool: &PoolId, at: Timestamp) -> Vec<(UsageKey, Usage)> {
    let usage = Usage {
        rejections: 1,
        ..Usage::default()
    };
    spread(pool, at, usage)
}

/// `usage` in every dimension and granularity it counts in.
fn spread(pool: &PoolId, at: Timestamp, usage: Usage) -> Vec<(UsageKey, Usage)> {
    if usage.is_zero() {
        return Vec::new();
    }
    let owner = match pool.owner() {
        Owner::User(id) => ("user", id.as_str()),
        Owner::Org(id) => ("org", id.as_str()),
    };
    let dimensions = [("provider", pool.provider().as_str()), owner];
    let at = at.as_millis();
    let mut rows = Vec::with_capacity(6);
    for (dimension, subject) in dimensions {
        for (granularity, length) in GRANULARITIES {
            rows.push((
                UsageKey {
                    dimension,
                    subject: subject.to_owned(),
                    granularity,
                    bucket_start_ms: at - at.rem_euclid(length),
                },
                usage,
            ));
        }
    }
    rows
}

#[cfg(test)]
mod tests {
    use domain::Tokens;

    use super::*;

    #[test]
    fn a_consumption_counts_for_its_provider_and_owner_in_every_granularity() {
        let pool: PoolId = "org:acme/openai".parse().unwrap();
        let event = TokenPoolEvent::TokensConsumed {
            amount: Tokens::new(120).unwrap(),
            overdrawn: Tokens::ZERO,
            // 2026-01-01T10:31:07.5Z
            at: Timestamp::from_millis(1_767_263_467_500).unwrap(),
        };
        let rows = of_event(&pool, &event);
        assert_eq!(rows.len(), 6);
        let starts: Vec<(&str, &str, i64)> = rows
            .iter()
            .map(|(k, _)| (k.dimension, k.granularity, k.bucket_start_ms))
            .collect();
        assert_eq!(
            starts,
            [
                ("provider", "minute", 1_767_263_460_000),
                ("provider", "hour", 1_767_261_600_000),
                ("provider", "day", 1_767_225_600_000),
                ("org", "minute", 1_767_263_460_000),
                ("org", "hour", 1_767_261_600_000),
                ("org", "day", 1_767_225_600_000),
            ]
        );
        assert!(rows.iter().all(|(_, u)| *u
            == Usage {
                tokens: 120,
                requests: 1,
                rejections: 0
            }));
        assert_eq!(rows[3].0.subject, "acme");
    }

    #[test]
    fn events_that_move_no_usage_add_no_rows() {
        let pool: PoolId = "user:alice/qwen".parse().unwrap();
        let event = TokenPoolEvent::QuotaPeriodReset {
            period_start: Timestamp::EPOCH,
            at: Timestamp::EPOCH,
        };
        assert!(of_event(&pool, &event).is_empty());
    }
}
