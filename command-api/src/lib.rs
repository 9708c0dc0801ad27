//! HTTP API that accepts commands, and the single-writer command processor.
#![forbid(unsafe_code)]

mod config;
pub mod dispatch;
pub mod http;
pub mod pools;
pub mod prices;
pub mod processor;

use std::sync::Arc;
use std::time::Duration;

use access::Credentials;
use axum::Router;
use eventlog::KafkaCheck;
use probes::{HttpService, Readiness};
use schemas::RegistryCheck;
use settings::{KafkaSettings, RegistrySettings};
use tokio::sync::OnceCell;

pub use config::{CommandApiSettings, Config, ProcessorConfig, PurchaseProcessorConfig};

use crate::http::AppState;

/// Name in logs and metrics.
pub const SERVICE: &str = "command-api";

/// The command API, bound and ready to run. It starts even while Kafka is unreachable
/// (readiness says so, commands are answered 503) and connects as soon as it can.
pub async fn build(config: Config) -> anyhow::Result<HttpService> {
    let dispatcher = Arc::new(OnceCell::new());
    let instance_id = format!("command-api-{}", uuid::Uuid::new_v4().simple());
    tokio::spawn(dispatch::connect(
        Arc::clone(&dispatcher),
        config.kafka.clone(),
        config.schema_registry.clone(),
        instance_id,
    ));
    let credentials = Credentials::connect(
        config.access.clone(),
        config.kafka.clone(),
        config.schema_registry.clone(),
    );
    let state = AppState {
        dispatcher,
        pools: Arc::new(config.pools.clone()),
        prices: Arc::new(config.prices.clone()),
        reply_wait: Duration::from_millis(config.command_api.reply_wait_ms),
        credentials: credentials.clone(),
    };
    // Ready once callers can be identified: until then every command is answered 503.
    let metrics = telemetry::metrics_registry(SERVICE);
    credentials.register_metrics(&metrics)?;
    let readiness = readiness(&config.kafka, &config.schema_registry).with(credentials);
    let router = probes::router(readiness, metrics)
        .merge(http::routes(state, config.command_api.max_body_bytes))
        .fallback(not_found);
    Ok(HttpService::bind(config.command_api.listen, router)
        .await?
        .with_limits(config.http.clone()))
}

/// Only the probes of `service`, which depends on Kafka and the registry (the processor).
pub async fn probes_service(
    service: &'static str,
    listen: std::net::SocketAddr,
    kafka: &KafkaSettings,
    registry: &RegistrySettings,
) -> anyhow::Result<HttpService> {
    let router: Router = probes::router(
        readiness(kafka, registry),
        telemetry::metrics_registry(service),
    );
    Ok(HttpService::bind(listen, router).await?)
}

/// Runs the single writer of aggregate kind `K` with its probes until a shutdown signal:
/// the processor stops between batches, the probes once it has.
pub async fn run_processor_service<K: processor::Kind>(
    service: &'static str,
    listen: std::net::SocketAddr,
    kafka: KafkaSettings,
    registry: RegistrySettings,
) -> anyhow::Result<()> {
    let metrics_registry = telemetry::metrics_registry(service);
    let metrics = processor::ProcessorMetrics::register(&metrics_registry, kafka.partitions)?;
    let router: Router = probes::router(readiness(&kafka, &registry), metrics_registry);
    let probes = HttpService::bind(listen, router).await?;
    let (stop, stopped) = tokio::sync::watch::channel(false);
    tokio::spawn(async move {
        probes::shutdown_signal().await;
        let _ = stop.send(true);
    });
    let mut until_signal = stopped.clone();
    let processor = processor::run_observed::<K>(
        kafka,
        registry,
        processor::Batching::default(),
        metrics,
        async move {
            let _ = until_signal.wait_for(|stop| *stop).await;
        },
    );
    let (processed, served) = tokio::join!(processor, async move {
        let mut until_stopped = stopped;
        probes
            .run_until(async move {
                let _ = until_stopped.wait_for(|stop| *stop).await;
            })
            .await
    });
    served?;
    processed
}

/// Ready when Kafka and the schema registry answer (every command needs both).
pub fn readiness(kafka: &KafkaSettings, registry: &RegistrySettings) -> Readiness {
    Readiness::new()
        .with(KafkaCheck::new(kafka.clone()))
        .with(RegistryCheck::new(registry.clone()))
}

async fn not_found() -> http::Problem {
    http::Problem::new(
        axum::http::StatusCode::NOT_FOUND,
        "not-found",
        "No such resource",
        "see the README for the API",
    )
}
