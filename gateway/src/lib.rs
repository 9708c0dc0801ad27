//! The LLM gateway: applications call it instead of their provider (OpenAI-compatible, so
//! the official SDKs only need another base URL and key). Per call it holds the worst case
//! in the caller's pool, calls the provider, passes the answer (or stream) on, and settles
//! the hold to the usage the provider reported — also when the client has left.
#![forbid(unsafe_code)]

pub mod breaker;
pub mod caller;
mod config;
pub mod dialect;
pub mod holds;
pub mod inflight;
pub mod limits;
mod metrics;
mod relay;
mod routes;
pub mod sse;
pub mod upstream;
pub mod usage;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use command_api::dispatch::Dispatcher;
use eventlog::KafkaCheck;
use probes::{HttpService, Readiness};
use schemas::RegistryCheck;
use settings::{KafkaSettings, RegistrySettings};
use tokio::sync::OnceCell;

pub use config::{Config, GatewaySettings, UpstreamSettings};

use crate::holds::Holds;
use crate::inflight::Inflight;
use crate::metrics::Metrics;
use crate::upstream::Upstreams;

/// Name in logs and metrics.
pub const SERVICE: &str = "gateway";

/// What every handler shares.
#[derive(Debug, Clone)]
pub struct GatewayState {
    /// The `[gateway]` section.
    pub settings: Arc<GatewaySettings>,
    /// Reserve, settle, release.
    pub holds: Holds,
    /// The providers, with their breakers.
    pub upstreams: Upstreams,
    /// Calls not yet settled.
    pub inflight: Inflight,
    metrics: Metrics,
}

/// The gateway, bound and ready to run.
#[derive(Debug)]
pub struct Gateway {
    service: HttpService,
    inflight: Inflight,
}

impl Gateway {
    /// Binds the gateway; it connects to Kafka in the background (503 until then).
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        let dispatcher = Arc::new(OnceCell::new());
        tokio::spawn(connect(
            Arc::clone(&dispatcher),
            config.kafka.clone(),
            config.schema_registry.clone(),
            format!("gateway-{}", uuid::Uuid::new_v4().simple()),
        ));
        let registry = telemetry::metrics_registry(SERVICE);
        let inflight = Inflight::default();
        let state = GatewayState {
            settings: Arc::new(config.gateway.clone()),
            holds: Holds {
                dispatcher,
                reply_wait: Duration::from_millis(config.gateway.reply_wait_ms),
            },
            upstreams: Upstreams::new(&config.gateway.providers),
            inflight: inflight.clone(),
            metrics: Metrics::register(&registry),
        };
        let router = probes::router(readiness(&config.kafka, &config.schema_registry), registry)
            .merge(routes::routes(state));
        let service = HttpService::bind(config.gateway.listen, router).await?;
        Ok(Self { service, inflight })
    }

    /// The address bound.
    pub fn local_addr(&self) -> std::io::Result<std::net::SocketAddr> {
        self.service.local_addr()
    }

    /// Serves until `shutdown`, then waits (up to 30 s) for the calls still settling.
    pub async fn run_until(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        self.service.run_until(shutdown).await?;
        let left = self.inflight.drain(Duration::from_secs(30)).await;
        if left > 0 {
            tracing::error!(
                left,
                "stopping with calls unsettled; their holds expire at their TTL"
            );
        }
        Ok(())
    }
}

/// Ready when Kafka and the schema registry answer (every call needs both).
fn readiness(kafka: &KafkaSettings, registry: &RegistrySettings) -> Readiness {
    Readiness::new()
        .with(KafkaCheck::new(kafka.clone()))
        .with(RegistryCheck::new(registry.clone()))
}

/// Connects the dispatcher, retrying until Kafka answers.
async fn connect(
    cell: Arc<OnceCell<Dispatcher>>,
    kafka: KafkaSettings,
    registry: RegistrySettings,
    instance_id: String,
) {
    loop {
        match Dispatcher::start(&kafka, &registry, instance_id.clone()).await {
            Ok(dispatcher) => {
                let _ = cell.set(dispatcher);
                tracing::info!(instance_id, "ready for calls");
                return;
            }
            Err(error) => {
                tracing::warn!(%error, "cannot reach Kafka yet; retrying");
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
    }
}
