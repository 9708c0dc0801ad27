//! HTTP API that accepts commands, and the single-writer command processor.
#![forbid(unsafe_code)]

mod config;
pub mod dispatch;
pub mod processor;

use axum::Router;
use eventlog::KafkaCheck;
use probes::{HttpService, Readiness};
use schemas::RegistryCheck;

pub use config::{Config, ProcessorConfig};

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

/// Only the probes of `service`, which depends on Kafka and the registry (the processor).
pub async fn probes_service(
    service: &'static str,
    listen: std::net::SocketAddr,
    kafka: &settings::KafkaSettings,
    registry: &settings::RegistrySettings,
) -> anyhow::Result<HttpService> {
    let readiness = Readiness::new()
        .with(KafkaCheck::new(kafka.clone()))
        .with(RegistryCheck::new(registry.clone()));
    let metrics = telemetry::metrics_registry(service);
    Ok(HttpService::bind(listen, probes::router(readiness, metrics)).await?)
}

/// Every route of the command API.
pub fn router(readiness: Readiness, metrics: prometheus::Registry) -> Router {
    probes::router(readiness, metrics)
}
