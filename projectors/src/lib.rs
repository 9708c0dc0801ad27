//! Consumers that build the Postgres, Redis and Cassandra views from the event topics.
#![forbid(unsafe_code)]

mod config;

use axum::Router;
use eventlog::KafkaCheck;
use probes::{HttpService, Readiness};
use schemas::RegistryCheck;
use viewstore::CassandraCheck;
use viewstore::PostgresCheck;
use viewstore::RedisCheck;

pub use config::Config;

/// Name in logs and metrics.
pub const SERVICE: &str = "projectors";

/// The service, bound and ready to run.
pub async fn build(config: Config) -> anyhow::Result<HttpService> {
    let readiness = Readiness::new()
        .with(KafkaCheck::new(config.kafka.clone()))
        .with(RegistryCheck::new(config.schema_registry.clone()))
        .with(PostgresCheck::lazy(&config.postgres)?)
        .with(RedisCheck::new(&config.redis)?)
        .with(CassandraCheck::new(config.cassandra.clone()));
    let metrics = telemetry::metrics_registry(SERVICE);
    let service = HttpService::bind(config.projectors.listen, router(readiness, metrics)).await?;
    Ok(service)
}

/// Every route of the service.
pub fn router(readiness: Readiness, metrics: prometheus::Registry) -> Router {
    probes::router(readiness, metrics)
}
