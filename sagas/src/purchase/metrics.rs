//! What the purchase saga reports on `/metrics`.

use prometheus::{IntCounterVec, IntGauge, Opts, Registry};

/// Counters of the saga's work.
#[derive(Debug, Clone)]
pub struct SagaMetrics {
    /// Steps performed, by step and by what came of them (`recorded` or `retry`).
    pub steps: IntCounterVec,
    /// Unfinished purchases the saga is driving.
    pub in_progress: IntGauge,
}

impl SagaMetrics {
    /// The metrics, registered in `registry`.
    pub fn register(registry: &Registry) -> prometheus::Result<Self> {
        let steps = IntCounterVec::new(
            Opts::new(
                "purchase_saga_steps_total",
                "Purchase steps performed, by step and outcome (recorded, retry).",
            ),
            &["step", "outcome"],
        )?;
        let in_progress = IntGauge::new(
            "purchase_saga_in_progress",
            "Unfinished purchases the saga is driving.",
        )?;
        registry.register(Box::new(steps.clone()))?;
        registry.register(Box::new(in_progress.clone()))?;
        Ok(Self { steps, in_progress })
    }
}
