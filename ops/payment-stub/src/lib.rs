//! A payment provider stub: a real HTTP server with reserve / capture / release, idempotent
//! by payment id, whose failures (decline, timeout, latency, capture failure) tests choose
//! per request or for a share of all payments, and whose ledger tests read back.
#![forbid(unsafe_code)]

mod config;
pub mod faults;
mod http;
pub mod ledger;

use probes::{HttpService, Readiness};

pub use config::Config;
pub use http::{StubState, routes};

/// Name in logs and metrics.
pub const SERVICE: &str = "payment-stub";

/// The stub, bound and ready to run; it depends on nothing, so it is always ready.
pub async fn build(config: Config) -> anyhow::Result<HttpService> {
    let metrics = telemetry::metrics_registry(SERVICE);
    let router = probes::router(Readiness::new(), metrics).merge(routes(StubState::default()));
    Ok(HttpService::bind(config.payment_stub.listen, router).await?)
}
