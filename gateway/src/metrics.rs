//! The gateway's own series, next to the process metrics every service exports.

use prometheus::{IntCounterVec, Opts, Registry};

/// Counters of calls and of the tokens they were charged.
#[derive(Debug, Clone)]
pub struct Metrics {
    /// Calls by provider and how they ended.
    pub calls: IntCounterVec,
    /// Tokens settled by provider and whether reported or estimated.
    pub settled_tokens: IntCounterVec,
    /// Tokens a provider billed above the call's hold, charged with `ChargeUsage`.
    pub overage_tokens: IntCounterVec,
    /// Ready holds: taken by a call, missed (the call reserved for itself), reserved ahead,
    /// refused, returned unused.
    pub ready_holds: IntCounterVec,
}

impl Metrics {
    /// Registers the counters in `registry`.
    pub fn register(registry: &Registry) -> Self {
        let calls = IntCounterVec::new(
            Opts::new("gateway_calls_total", "LLM calls by provider and outcome"),
            &["provider", "outcome"],
        )
        .expect("valid metric");
        let settled_tokens = IntCounterVec::new(
            Opts::new(
                "gateway_settled_tokens_total",
                "Tokens charged to pools, by provider and source of the figure",
            ),
            &["provider", "source"],
        )
        .expect("valid metric");
        let overage_tokens = IntCounterVec::new(
            Opts::new(
                "gateway_overage_tokens_total",
                "Tokens billed above a call's hold and charged beyond it, by provider",
            ),
            &["provider"],
        )
        .expect("valid metric");
        let ready_holds = IntCounterVec::new(
            Opts::new(
                "gateway_ready_holds_total",
                "Holds reserved ahead of calls, by what became of them",
            ),
            &["event"],
        )
        .expect("valid metric");
        for collector in [
            calls.clone(),
            settled_tokens.clone(),
            overage_tokens.clone(),
            ready_holds.clone(),
        ] {
            if let Err(error) = registry.register(Box::new(collector)) {
                tracing::warn!(%error, "metric not registered");
            }
        }
        Self {
            calls,
            settled_tokens,
            overage_tokens,
            ready_holds,
        }
    }

    /// Counts a call of `provider` that ended as `outcome`.
    pub fn call(&self, provider: &str, outcome: &str) {
        self.calls.with_label_values(&[provider, outcome]).inc();
    }

    /// Counts a ready-hold `event`.
    pub fn ready_hold(&self, event: &str) {
        self.ready_holds.with_label_values(&[event]).inc();
    }
}
