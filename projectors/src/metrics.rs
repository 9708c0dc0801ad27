//! What the projectors say about themselves on `/metrics`.

use prometheus::{HistogramOpts, HistogramVec, IntCounterVec, IntGaugeVec, Opts, Registry};

/// The projectors' metrics, registered once per process.
#[derive(Debug, Clone)]
pub struct ProjectorMetrics {
    records: IntCounterVec,
    applied: IntCounterVec,
    undecodable: IntCounterVec,
    position: IntGaugeVec,
    lag: HistogramVec,
}

impl ProjectorMetrics {
    /// Registers the metrics in `registry`.
    pub fn register(registry: &Registry) -> prometheus::Result<Self> {
        let metrics = Self {
            records: IntCounterVec::new(
                Opts::new("projector_records_total", "Records read, per projection"),
                &["projection"],
            )?,
            applied: IntCounterVec::new(
                Opts::new(
                    "projector_events_applied_total",
                    "Events applied to a view (records already applied are skipped)",
                ),
                &["projection"],
            )?,
            undecodable: IntCounterVec::new(
                Opts::new(
                    "projector_undecodable_total",
                    "Records that could not be decoded and were set aside",
                ),
                &["projection"],
            )?,
            position: IntGaugeVec::new(
                Opts::new(
                    "projector_position",
                    "Next offset a projection applies, per partition",
                ),
                &["projection", "partition"],
            )?,
            lag: HistogramVec::new(
                HistogramOpts::new(
                    "projector_lag_seconds",
                    "From a record's timestamp to the commit of the view it changed",
                )
                .buckets(vec![
                    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 60.0,
                ]),
                &["projection"],
            )?,
        };
        registry.register(Box::new(metrics.records.clone()))?;
        registry.register(Box::new(metrics.applied.clone()))?;
        registry.register(Box::new(metrics.undecodable.clone()))?;
        registry.register(Box::new(metrics.position.clone()))?;
        registry.register(Box::new(metrics.lag.clone()))?;
        Ok(metrics)
    }

    /// A batch of `read` records was committed, `applied` of them new, at `next_offset`.
    pub fn batch(
        &self,
        projection: &str,
        partition: i32,
        read: usize,
        applied: usize,
        next_offset: i64,
        record_times_ms: &[i64],
    ) {
        self.records
            .with_label_values(&[projection])
            .inc_by(read as u64);
        self.applied
            .with_label_values(&[projection])
            .inc_by(applied as u64);
        self.position
            .with_label_values(&[projection, &partition.to_string()])
            .set(next_offset);
        let now = now_ms();
        let lag = self.lag.with_label_values(&[projection]);
        for at in record_times_ms {
            lag.observe((now - at).max(0) as f64 / 1000.0);
        }
    }

    /// A record of `projection` could not be decoded.
    pub fn undecodable(&self, projection: &str) {
        self.undecodable.with_label_values(&[projection]).inc();
    }
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}
