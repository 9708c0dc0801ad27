//! Process managers driving the token purchase: payment, allocation, compensation.
#![forbid(unsafe_code)]

mod config;
pub mod purchase;

use std::time::Duration;

use axum::Router;
use eventlog::KafkaCheck;
use probes::{HttpService, Readiness};
use schemas::RegistryCheck;

pub use config::{Config, PurchaseSagaSettings};

use crate::purchase::{PaymentClient, SagaMetrics};

/// Name in logs and metrics.
pub const SERVICE: &str = "sagas";

/// The service, bound and ready to run; the purchase saga starts as soon as Kafka answers.
pub async fn build(config: Config) -> anyhow::Result<HttpService> {
    let readiness = Readiness::new()
        .with(KafkaCheck::new(config.kafka.clone()))
        .with(RegistryCheck::new(config.schema_registry.clone()));
    let metrics = telemetry::metrics_registry(SERVICE);
    let saga_metrics = SagaMetrics::register(&metrics)?;
    let service = HttpService::bind(config.sagas.listen, router(readiness, metrics)).await?;
    let saga = &config.purchase_saga;
    let payments = PaymentClient::new(
        &saga.payment_url,
        Duration::from_millis(saga.payment_call_timeout_ms),
    )?;
    tokio::spawn(run_purchase_saga(config.clone(), payments, saga_metrics));
    Ok(service)
}

/// Every route of the service.
pub fn router(readiness: Readiness, metrics: prometheus::Registry) -> Router {
    probes::router(readiness, metrics)
}

/// Runs the purchase saga, starting it again whenever it stops (Kafka unreachable).
async fn run_purchase_saga(config: Config, payments: PaymentClient, metrics: SagaMetrics) {
    loop {
        let run = purchase::runner::run(
            config.kafka.clone(),
            config.schema_registry.clone(),
            payments.clone(),
            config.purchase_saga.pacing(),
            metrics.clone(),
        );
        if let Err(error) = run.await {
            tracing::warn!(%error, "purchase saga stopped; restarting");
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}
