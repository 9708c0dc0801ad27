//! Pure arithmetic over a usage series: totals, trends, anomalies.

use serde::Serialize;

/// Usage in one time bucket, summed over the source partitions that feed it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct BucketUsage {
    pub start_ms: i64,
    pub tokens: i64,
    pub requests: i64,
    pub rejections: i64,
}

/// Totals of a series.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Totals {
    pub tokens: i64,
    pub requests: i64,
    pub rejections: i64,
}

/// The sum of `series`.
pub fn totals(series: &[BucketUsage]) -> Totals {
    series.iter().fold(Totals::default(), |t, b| Totals {
        tokens: t.tokens + b.tokens,
        requests: t.requests + b.requests,
        rejections: t.rejections + b.rejections,
    })
}

/// Relative change of tokens from `previous` to `current`, in percent; `None` when there
/// was nothing before.
pub fn change_percent(previous: &Totals, current: &Totals) -> Option<f64> {
    (previous.tokens != 0)
        .then(|| (current.tokens - previous.tokens) as f64 * 100.0 / previous.tokens as f64)
}

/// How anomalies are found, returned with them.
pub const ANOMALY_METHOD: &str = "Every bucket of the range counts, empty ones as 0 tokens. \
    The baseline is the median of the buckets' tokens; the spread is the median absolute \
    deviation from it, scaled by 1.4826 (so it estimates a standard deviation) and at least \
    1 token. A bucket is anomalous when its tokens exceed baseline + threshold x spread; its \
    score is (tokens - baseline) / spread. Median and MAD, unlike mean and standard \
    deviation, are not pulled up by the very spikes being looked for.";

/// A bucket far above the subject's own baseline.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Anomaly {
    pub start_ms: i64,
    pub tokens: i64,
    pub score: f64,
}

/// The baseline, spread and anomalous buckets of `tokens_per_bucket` (one per bucket of
/// the range, in order, with `start_ms`).
pub fn anomalies(buckets: &[(i64, i64)], threshold: f64) -> (f64, f64, Vec<Anomaly>) {
    if buckets.is_empty() {
        return (0.0, 1.0, Vec::new());
    }
    let values: Vec<f64> = buckets.iter().map(|(_, t)| *t as f64).collect();
    let baseline = median(values.clone());
    let deviations = values.iter().map(|v| (v - baseline).abs()).collect();
    let spread = (median(deviations) * 1.4826).max(1.0);
    let found = buckets
        .iter()
        .filter_map(|&(start_ms, tokens)| {
            let score = (tokens as f64 - baseline) / spread;
            (score > threshold).then_some(Anomaly {
                start_ms,
                tokens,
                score,
            })
        })
        .collect();
    (baseline, spread, found)
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    let n = values.len();
    if n % 2 == 1 {
        values[n / 2]
    } else {
        (values[n / 2 - 1] + values[n / 2]) / 2.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_spike_far_above_a_steady_baseline_is_an_anomaly_and_the_rest_is_not() {
        let buckets: Vec<(i64, i64)> = [100, 110, 90, 105, 95, 100, 2_000, 98]
            .iter()
            .enumerate()
            .map(|(i, t)| (i as i64 * 60_000, *t))
            .collect();
        let (baseline, spread, found) = anomalies(&buckets, 3.0);
        assert_eq!(baseline, 100.0);
        assert!(spread > 1.0 && spread < 20.0, "{spread}");
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].start_ms, 6 * 60_000);
        assert_eq!(found[0].tokens, 2_000);
    }

    #[test]
    fn a_flat_series_has_no_anomaly_and_a_spread_of_at_least_one_token() {
        let buckets = [(0, 5), (1, 5), (2, 5), (3, 6)];
        let (baseline, spread, found) = anomalies(&buckets, 3.0);
        assert_eq!((baseline, spread), (5.0, 1.0));
        assert!(found.is_empty());
    }

    #[test]
    fn a_trend_is_the_relative_change_of_tokens() {
        let before = Totals {
            tokens: 200,
            ..Totals::default()
        };
        let now = Totals {
            tokens: 300,
            ..Totals::default()
        };
        assert_eq!(change_percent(&before, &now), Some(50.0));
        assert_eq!(change_percent(&Totals::default(), &now), None);
    }
}
