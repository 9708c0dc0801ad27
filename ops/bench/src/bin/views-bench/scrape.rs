//! Reading a projector's `/metrics`: the events-applied counter and the lag histogram, and
//! quantiles from the difference of two histogram readings (as `histogram_quantile` does).

use std::collections::BTreeMap;

/// One projection's lag histogram: cumulative counts per upper bound (seconds), `+Inf` last.
pub type Buckets = Vec<(f64, f64)>;

/// The value of `name{projection="<projection>"}` in a Prometheus text page.
pub fn counter(page: &str, name: &str, projection: &str) -> Option<f64> {
    samples(page, name)
        .find(|(labels, _)| labels.get("projection").map(String::as_str) == Some(projection))
        .map(|(_, value)| value)
}

/// Every projection's `leaky_projector_lag_seconds` buckets.
pub fn lag_buckets(page: &str) -> BTreeMap<String, Buckets> {
    let mut all: BTreeMap<String, Buckets> = BTreeMap::new();
    for (labels, value) in samples(page, "leaky_projector_lag_seconds_bucket") {
        let (Some(projection), Some(le)) = (labels.get("projection"), labels.get("le")) else {
            continue;
        };
        let bound = if le == "+Inf" {
            f64::INFINITY
        } else {
            le.parse().unwrap_or(f64::INFINITY)
        };
        all.entry(projection.clone())
            .or_default()
            .push((bound, value));
    }
    for buckets in all.values_mut() {
        buckets.sort_by(|a, b| a.0.total_cmp(&b.0));
    }
    all
}

/// `after - before`, bucket by bucket: what was observed between the two readings.
pub fn difference(after: &Buckets, before: Option<&Buckets>) -> Buckets {
    after
        .iter()
        .map(|(bound, count)| {
            let earlier = before
                .and_then(|b| b.iter().find(|(le, _)| le == bound))
                .map_or(0.0, |(_, c)| *c);
            (*bound, count - earlier)
        })
        .collect()
}

/// The `q` quantile, interpolated linearly inside its bucket (Prometheus'
/// `histogram_quantile`); `None` without observations. In the `+Inf` bucket: its lower bound.
pub fn quantile(buckets: &Buckets, q: f64) -> Option<f64> {
    let total = buckets.last()?.1;
    if total <= 0.0 {
        return None;
    }
    let rank = q * total;
    let mut lower = 0.0;
    let mut below = 0.0;
    for (bound, count) in buckets {
        if *count >= rank {
            if bound.is_infinite() {
                return Some(lower);
            }
            let inside = count - below;
            let fraction = if inside > 0.0 {
                (rank - below) / inside
            } else {
                1.0
            };
            return Some(lower + (bound - lower) * fraction);
        }
        lower = *bound;
        below = *count;
    }
    Some(lower)
}

/// The samples of metric `name`: their labels and value.
fn samples<'a>(
    page: &'a str,
    name: &'a str,
) -> impl Iterator<Item = (BTreeMap<String, String>, f64)> + 'a {
    page.lines().filter_map(move |line| {
        let rest = line.strip_prefix(name)?;
        let (labels, value) = match rest.strip_prefix('{') {
            Some(rest) => {
                let (labels, value) = rest.split_once('}')?;
                (labels, value)
            }
            None if rest.starts_with(' ') => ("", rest),
            None => return None,
        };
        let labels = labels
            .split(',')
            .filter_map(|pair| {
                let (key, value) = pair.split_once('=')?;
                Some((key.trim().to_owned(), value.trim_matches('"').to_owned()))
            })
            .collect();
        Some((labels, value.trim().parse().ok()?))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const PAGE: &str = r#"# HELP leaky_projector_lag_seconds lag
leaky_projector_events_applied_total{projection="quota"} 1500
leaky_projector_events_applied_total{projection="buckets"} 20
leaky_projector_lag_seconds_bucket{projection="quota",le="0.01"} 50
leaky_projector_lag_seconds_bucket{projection="quota",le="0.1"} 90
leaky_projector_lag_seconds_bucket{projection="quota",le="+Inf"} 100
leaky_projector_lag_seconds_sum{projection="quota"} 3.5
"#;

    #[test]
    fn the_counter_of_one_projection_is_read() {
        let name = "leaky_projector_events_applied_total";
        assert_eq!(counter(PAGE, name, "quota"), Some(1500.0));
        assert_eq!(counter(PAGE, name, "usage-events"), None);
    }

    #[test]
    fn quantiles_interpolate_inside_their_bucket() {
        let buckets = &lag_buckets(PAGE)["quota"];
        assert_eq!(quantile(buckets, 0.5), Some(0.01));
        let p70 = quantile(buckets, 0.7).unwrap();
        assert!((p70 - 0.055).abs() < 1e-9, "{p70}");
        assert_eq!(
            quantile(buckets, 0.99),
            Some(0.1),
            "in +Inf: its lower bound"
        );
    }

    #[test]
    fn a_difference_keeps_only_the_later_observations() {
        let before = vec![(0.01, 40.0), (0.1, 50.0), (f64::INFINITY, 50.0)];
        let after = &lag_buckets(PAGE)["quota"];
        let diff = difference(after, Some(&before));
        assert_eq!(diff, vec![(0.01, 10.0), (0.1, 40.0), (f64::INFINITY, 50.0)]);
        assert_eq!(quantile(&vec![(0.1, 0.0), (f64::INFINITY, 0.0)], 0.5), None);
    }
}
