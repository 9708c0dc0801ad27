//! HTTP API that answers reads from the views.
#![forbid(unsafe_code)]

mod config;

use axum::Router;
use probes::{HttpService, Readiness};
use viewstore::CassandraCheck;
use viewstore::PostgresCheck;
use viewstore::RedisCheck;

pub use config::Config;

/// Name in logs and metrics.
pub const SERVICE: &str = "query-api";

/// The service, bound and ready to run.
pub async fn build(config: Config) -> anyhow::Result<HttpService> {
    let readiness = Readiness::new()
        .with(PostgresCheck::lazy(&config.postgres)?)
        .with(RedisCheck::new(&config.redis)?)
        .with(CassandraCheck::new(config.cassandra.clone()));
    let metrics = telemetry::metrics_registry(SERVICE);
    let service = HttpService::bind(config.query_api.listen, router(readiness, metrics)).await?;
    Ok(service)
}

/// Every route of the service.
pub fn router(readiness: Readiness, metrics: prometheus::Registry) -> Router {
    probes::router(readiness, metrics)
}
