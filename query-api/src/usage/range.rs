//! The parameters of a usage read: whose usage, over which range, in which buckets.

use crate::problem::Problem;

/// Most buckets one read may span.
pub const MAX_BUCKETS: i64 = 1_000;

/// A validated usage query.
#[derive(Debug, Clone, PartialEq)]
pub struct UsageQuery {
    pub dimension: &'static str,
    pub subject: String,
    pub granularity: &'static str,
    /// Bucket length in ms.
    pub bucket_ms: i64,
    /// Start of the first bucket (aligned).
    pub from_ms: i64,
    /// End of the range (exclusive, aligned).
    pub to_ms: i64,
    /// Anomaly threshold, in spreads above the baseline.
    pub threshold: f64,
    /// Most subjects a top list names.
    pub limit: usize,
}

/// The parameter a read accepts beyond the range.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Extra {
    None,
    /// `threshold` (anomalies).
    Threshold,
    /// `limit` (top consumers).
    Limit,
}

/// Most subjects a top list may name.
pub const MAX_LIMIT: usize = 100;

/// Parses the path's dimension and subject and the query (`granularity`, `from`, `to` in
/// epoch ms, and, if `with_threshold`, `threshold`), at time `now_ms`.
pub fn usage_query(
    dimension: &str,
    subject: &str,
    query: &[(String, String)],
    extra: Extra,
    now_ms: i64,
) -> Result<UsageQuery, Problem> {
    let dimension = match dimension {
        "provider" => "provider",
        "user" => "user",
        "org" => "org",
        other => {
            return Err(Problem::invalid_parameter(
                "dimension",
                format!("must be provider, user or org, got {other:?}"),
            ));
        }
    };
    let valid = match dimension {
        // A top list is over every subject of the dimension.
        _ if extra == Extra::Limit => Ok(()),
        "provider" => subject
            .parse::<domain::ProviderName>()
            .map(|_| ())
            .map_err(|e| e.to_string()),
        "user" => subject
            .parse::<domain::UserId>()
            .map(|_| ())
            .map_err(|e| e.to_string()),
        _ => subject
            .parse::<domain::OrgId>()
            .map(|_| ())
            .map_err(|e| e.to_string()),
    };
    valid.map_err(|error| Problem::invalid_parameter("subject", error))?;
    let (mut granularity, mut bucket_ms) = ("hour", 3_600_000);
    let (mut from, mut to, mut threshold, mut limit) = (None, None, 3.0, 10);
    for (name, value) in query {
        match name.as_str() {
            "granularity" => {
                (granularity, bucket_ms) = match value.as_str() {
                    "minute" => ("minute", 60_000),
                    "hour" => ("hour", 3_600_000),
                    "day" => ("day", 86_400_000),
                    other => {
                        return Err(Problem::invalid_parameter(
                            name,
                            format!("must be minute, hour or day, got {other:?}"),
                        ));
                    }
                }
            }
            "from" => from = Some(millis(name, value)?),
            "to" => to = Some(millis(name, value)?),
            "limit" if extra == Extra::Limit => {
                limit = value
                    .parse::<usize>()
                    .ok()
                    .filter(|n| (1..=MAX_LIMIT).contains(n))
                    .ok_or_else(|| {
                        Problem::invalid_parameter(name, format!("a count from 1 to {MAX_LIMIT}"))
                    })?;
            }
            "threshold" if extra == Extra::Threshold => {
                threshold = value
                    .parse::<f64>()
                    .ok()
                    .filter(|t| *t > 0.0 && *t <= 100.0)
                    .ok_or_else(|| {
                        Problem::invalid_parameter(name, "a number above 0 and at most 100")
                    })?;
            }
            other => {
                return Err(Problem::invalid_parameter(
                    other,
                    "unknown parameter (accepted: granularity, from, to; threshold for anomalies; limit for top)",
                ));
            }
        }
    }
    let align = |ms: i64| ms - ms.rem_euclid(bucket_ms);
    let to_ms = align(to.unwrap_or(now_ms)) + if to.is_some() { 0 } else { bucket_ms };
    let from_ms = align(from.unwrap_or(to_ms - 24 * bucket_ms));
    if from_ms >= to_ms {
        return Err(Problem::invalid_parameter("from", "must be before to"));
    }
    if (to_ms - from_ms) / bucket_ms > MAX_BUCKETS {
        return Err(Problem::invalid_parameter(
            "from",
            format!("the range spans more than {MAX_BUCKETS} {granularity} buckets"),
        ));
    }
    Ok(UsageQuery {
        dimension,
        subject: subject.to_owned(),
        granularity,
        bucket_ms,
        from_ms,
        to_ms,
        threshold,
        limit,
    })
}

fn millis(name: &str, value: &str) -> Result<i64, Problem> {
    value
        .parse::<i64>()
        .ok()
        .filter(|ms| (0..=253_402_300_799_999).contains(ms))
        .ok_or_else(|| {
            Problem::invalid_parameter(name, format!("not epoch milliseconds: {value:?}"))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).into(), (*v).into()))
            .collect()
    }

    #[test]
    fn a_range_is_aligned_to_its_buckets() {
        let query = usage_query(
            "provider",
            "openai",
            &q(&[
                ("granularity", "minute"),
                ("from", "90000"),
                ("to", "300001"),
            ]),
            Extra::None,
            0,
        )
        .unwrap();
        assert_eq!((query.from_ms, query.to_ms), (60_000, 300_000));
    }

    #[test]
    fn without_a_range_it_is_the_last_24_buckets_including_the_current_one() {
        let now = 10 * 3_600_000 + 5;
        let query = usage_query("user", "alice", &[], Extra::None, now).unwrap();
        assert_eq!(query.to_ms, 11 * 3_600_000);
        assert_eq!(query.from_ms, 11 * 3_600_000 - 24 * 3_600_000);
    }

    #[test]
    fn bad_dimensions_subjects_ranges_and_parameters_are_refused() {
        for (dimension, subject, query) in [
            ("team", "x", q(&[])),
            ("user", "Bad Name", q(&[])),
            ("org", "acme", q(&[("granularity", "week")])),
            ("org", "acme", q(&[("from", "yesterday")])),
            ("org", "acme", q(&[("from", "5000"), ("to", "1000")])),
            (
                "org",
                "acme",
                q(&[("granularity", "minute"), ("from", "0"), ("to", "86400000")]),
            ),
            ("org", "acme", q(&[("threshold", "2")])),
            ("org", "acme", q(&[("limit", "2")])),
        ] {
            assert!(
                usage_query(dimension, subject, &query, Extra::None, 1_000_000).is_err(),
                "{dimension}/{subject} {query:?}"
            );
        }
        assert!(
            usage_query(
                "org",
                "acme",
                &q(&[("threshold", "0")]),
                Extra::Threshold,
                0
            )
            .is_err()
        );
        assert!(
            usage_query(
                "org",
                "acme",
                &q(&[("threshold", "2.5")]),
                Extra::Threshold,
                0
            )
            .is_ok()
        );
    }
}
