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
pub mod ready;
mod relay;
mod routes;
pub mod shelf;
pub mod sse;
pub mod upstream;
pub mod usage;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use command_api::dispatch::Dispatcher;
use probes::HttpService;
use tokio::sync::OnceCell;

pub use config::{Config, GatewaySettings, UpstreamSettings};

use crate::holds::Holds;
use crate::inflight::Inflight;
use crate::metrics::Metrics;
use crate::ready::ReadyHolds;
use crate::upstream::Upstreams;
use access::Credentials;

/// Name in logs and metrics.
pub const SERVICE: &str = "gateway";

/// What every handler shares.
#[derive(Debug, Clone)]
pub struct GatewayState {
    /// The `[gateway]` section.
    pub settings: Arc<GatewaySettings>,
    /// Reserve, settle, release.
    pub holds: Holds,
    /// Holds reserved ahead of calls.
    pub ready: ReadyHolds,
    /// The providers, with their breakers.
    pub upstreams: Upstreams,
    /// Calls not yet settled.
    pub inflight: Inflight,
    /// What credentials are checked against.
    pub credentials: Credentials,
    metrics: Metrics,
}

/// The gateway, bound and ready to run.
#[derive(Debug)]
pub struct Gateway {
    service: HttpService,
    inflight: Inflight,
    ready: ReadyHolds,
}

impl Gateway {
    /// Binds the gateway; it connects to Kafka in the background (503 until then).
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        let dispatcher = Arc::new(OnceCell::new());
        tokio::spawn(command_api::dispatch::connect(
            Arc::clone(&dispatcher),
            config.kafka.clone(),
            config.schema_registry.clone(),
            format!("gateway-{}", uuid::Uuid::new_v4().simple()),
        ));
        let credentials = Credentials::connect(
            config.access.clone(),
            config.kafka.clone(),
            config.schema_registry.clone(),
        );
        let registry = telemetry::metrics_registry(SERVICE);
        credentials.register_metrics(&registry)?;
        let inflight = Inflight::default();
        let holds = Holds {
            dispatcher,
            reply_wait: Duration::from_millis(config.gateway.reply_wait_ms),
        };
        let metrics = Metrics::register(&registry);
        let ready = ReadyHolds::new(
            holds.clone(),
            config.gateway.ready_holds,
            Duration::from_millis(config.gateway.ready_hold_idle_ms),
            config
                .gateway
                .providers
                .keys()
                .map(|p| {
                    let ttl = config.gateway.hold_ttl_ms(p, true);
                    (p.clone(), Duration::from_millis(ttl))
                })
                .collect(),
            metrics.clone(),
        );
        tokio::spawn(ready.clone().sweep());
        let state = GatewayState {
            settings: Arc::new(config.gateway.clone()),
            holds,
            ready: ready.clone(),
            upstreams: Upstreams::new(&config.gateway.providers),
            inflight: inflight.clone(),
            credentials,
            metrics,
        };
        let readiness = command_api::readiness(&config.kafka, &config.schema_registry)
            .with(state.credentials.clone())
            .with(DispatcherConnected(Arc::clone(&state.holds.dispatcher)));
        let router = probes::router(readiness, registry).merge(routes::routes(state));
        let service = HttpService::bind(config.gateway.listen, router)
            .await?
            .with_limits(config.http.clone());
        Ok(Self {
            service,
            inflight,
            ready,
        })
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
        // Holds reserved for calls that will not come now: back to their pools, so they do
        // not sit until their TTL.
        self.ready.give_all_back().await;
        if left > 0 {
            tracing::error!(
                left,
                "stopping with calls unsettled; their holds expire at their TTL"
            );
        }
        Ok(())
    }
}

/// Ready once the dispatcher is connected: until then every call's reserve is answered 503.
struct DispatcherConnected(Arc<OnceCell<Dispatcher>>);

impl probes::DependencyCheck for DispatcherConnected {
    fn name(&self) -> &str {
        "pool-commands"
    }

    fn check(&self) -> futures::future::BoxFuture<'_, Result<(), String>> {
        let result = if self.0.initialized() {
            Ok(())
        } else {
            Err("not connected to the pool commands and replies yet".to_owned())
        };
        Box::pin(std::future::ready(result))
    }
}
