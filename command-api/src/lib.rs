//! HTTP API that accepts commands, and the single-writer command processor.
#![forbid(unsafe_code)]

mod config;
pub mod processor;

use axum::Router;
use eventlog::KafkaCheck;
use probes::{HttpService, Readiness};
use schemas::RegistryCheck;

pub use config::Config;

/// Name in logs and metrics.
pub const SERVICE: &str = "command-api";

/// The command API, bound and ready to run.
pub async fn build(config: Config) -> anyhow::Result<HttpService> {
    let readiness = Readiness::new()
        .with(KafkaCheck::new(config.kafka.clone()))
        .with(RegistryCheck::new(config.schema_registry.clone()));
    let metrics = telemetry::metrics_registry(SERVICE);
    let service = HttpService::bind(config.command_api.listen, router(readiness, metrics)).await?;
    Ok(service)
}

/// Every route of the command API.
pub fn router(readiness: Readiness, metrics: prometheus::Registry) -> Router {
    probes::router(readiness, metrics)
}
