//! Consumers that build the Postgres, Redis and Cassandra views from the event topics.
#![forbid(unsafe_code)]

pub mod analytics;
mod assignment;
pub mod buckets;
mod config;
pub mod consumer;
mod dead_letter;
mod metrics;
mod purchases;
mod quota;
pub mod rebuild;

use std::future::Future;

use futures::FutureExt;
use futures::future::{BoxFuture, Shared};

use axum::Router;
use eventlog::{KafkaCheck, Topics, ensure_topics};
use probes::{HttpService, Readiness};
use schemas::{PoolCodec, PurchaseCodec, RegistryCheck};
use viewstore::{CassandraCheck, PostgresCheck, RedisCheck};

pub use analytics::{AnalyticsProjection, Source};
pub use buckets::{BucketKeys, BucketProjection};
pub use config::{Config, ProjectorsSettings};
use consumer::Projection as _;
pub use dead_letter::{DeadLetters, dead_letter_topic};
pub use metrics::ProjectorMetrics;
pub use purchases::PurchaseProjection;
pub use quota::QuotaProjection;

/// Name in logs and metrics.
pub const SERVICE: &str = "projectors";

/// The service: its probes, bound, and its projections, ready to run.
#[derive(Debug)]
pub struct Projectors {
    http: HttpService,
    projections: Projections,
}

/// Every projection, ready to run.
#[derive(Debug)]
struct Projections {
    config: Config,
    quota: QuotaProjection,
    purchases: PurchaseProjection,
    buckets: BucketProjection,
    usage_events: AnalyticsProjection,
    usage_rejections: AnalyticsProjection,
    metrics: ProjectorMetrics,
}

/// Connects to the stores, migrates the views, and binds the probes.
pub async fn build(config: Config) -> anyhow::Result<Projectors> {
    let readiness = Readiness::new()
        .with(KafkaCheck::new(config.kafka.clone()))
        .with(RegistryCheck::new(config.schema_registry.clone()))
        .with(PostgresCheck::lazy(&config.postgres)?)
        .with(RedisCheck::new(&config.redis)?)
        .with(CassandraCheck::new(config.cassandra.clone()));
    let registry = telemetry::metrics_registry(SERVICE);
    let metrics = ProjectorMetrics::register(&registry)?;
    let codec = PoolCodec::new(&config.schema_registry)?;
    // Lazy, so the service starts (and says it is unready) while Postgres is down; the
    // projection migrates and starts once it answers.
    let db = sqlx::postgres::PgPoolOptions::new()
        .max_connections(config.postgres.max_connections)
        .acquire_timeout(std::time::Duration::from_secs(5))
        .connect_lazy(&config.postgres.url)?;
    let dead_letters = DeadLetters::new(&config.kafka, metrics.clone())?;
    let quota = QuotaProjection::new(db, codec.clone(), dead_letters.clone());
    let purchases_db = quotaview::rebuild::PURCHASES
        .live_pool(&config.postgres.url, config.postgres.max_connections)?;
    let purchases = PurchaseProjection::live(
        purchases_db,
        PurchaseCodec::sharing(codec.clone()),
        dead_letters.clone(),
    );
    let keys = BucketKeys::new(format!(
        "{}{}",
        config.kafka.topic_prefix, config.projectors.redis_key_prefix
    ));
    let redis = redis::Client::open(config.redis.url.as_str())?;
    let buckets = BucketProjection::new(redis, keys, codec.clone(), dead_letters.clone());
    let usage = |source| {
        AnalyticsProjection::new(
            source,
            config.cassandra.clone(),
            codec.clone(),
            dead_letters.clone(),
        )
    };
    let usage_events = usage(Source::Events);
    let usage_rejections = usage(Source::Rejections);
    let http = HttpService::bind(config.projectors.listen, router(readiness, registry)).await?;
    Ok(Projectors {
        http,
        projections: Projections {
            config,
            quota,
            purchases,
            buckets,
            usage_events,
            usage_rejections,
            metrics,
        },
    })
}

impl Projectors {
    /// Where the probes listen.
    pub fn local_addr(&self) -> std::io::Result<std::net::SocketAddr> {
        self.http.local_addr()
    }

    /// Serves the probes and runs every projection until `shutdown` completes.
    pub async fn run_until(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let shutdown = shutdown.boxed().shared();
        let http = self.http.run_until(shutdown.clone());
        let projections = run_projections(self.projections, shutdown);
        let (projections, http) = tokio::join!(projections, http);
        projections?;
        http?;
        Ok(())
    }
}

async fn run_projections(
    projections: Projections,
    shutdown: Shared<BoxFuture<'static, ()>>,
) -> anyhow::Result<()> {
    let Projections {
        config,
        quota,
        purchases,
        buckets,
        usage_events,
        usage_rejections,
        metrics,
    } = projections;
    let topics = Topics::new(&config.kafka);
    // The processor creates the topics too; whoever starts first must not subscribe to a
    // topic that does not exist yet.
    let mut specs = topics.pool_topic_specs(config.kafka.partitions);
    for spec in topics.purchase_topic_specs(config.kafka.partitions) {
        if !specs.iter().any(|known| known.name == spec.name) {
            specs.push(spec);
        }
    }
    specs.push(dead_letter_topic(&config.kafka));
    while let Err(error) = ensure_topics(&config.kafka, &specs).await {
        tracing::warn!(%error, "cannot make the topics ready; retrying");
        tokio::select! {
            () = shutdown.clone() => return Ok(()),
            () = tokio::time::sleep(std::time::Duration::from_secs(1)) => {}
        }
    }
    let loop_settings = |topic: String, projection: &str| consumer::LoopSettings {
        topic,
        group: format!("{}.{projection}", config.projectors.group),
        batch_max: config.projectors.batch_max,
    };
    let quota = consumer::run(
        &config.kafka,
        loop_settings(topics.pool_events(), quotaview::PROJECTION),
        quota,
        metrics.clone(),
        shutdown.clone(),
    );
    let purchases = consumer::run(
        &config.kafka,
        loop_settings(topics.purchase_events(), quotaview::purchases::PROJECTION),
        purchases,
        metrics.clone(),
        shutdown.clone(),
    );
    let buckets = consumer::run(
        &config.kafka,
        loop_settings(topics.pool_state(), buckets::PROJECTION),
        buckets,
        metrics.clone(),
        shutdown.clone(),
    );
    let usage_events = consumer::run(
        &config.kafka,
        loop_settings(topics.pool_events(), usage_events.name()),
        usage_events,
        metrics.clone(),
        shutdown.clone(),
    );
    let usage_rejections = consumer::run(
        &config.kafka,
        loop_settings(topics.pool_rejections(), usage_rejections.name()),
        usage_rejections,
        metrics,
        shutdown,
    );
    let (quota, purchases, buckets, usage_events, usage_rejections) =
        tokio::join!(quota, purchases, buckets, usage_events, usage_rejections);
    quota
        .and(purchases)
        .and(buckets)
        .and(usage_events)
        .and(usage_rejections)
}

/// Every route of the service.
pub fn router(readiness: Readiness, metrics: prometheus::Registry) -> Router {
    probes::router(readiness, metrics)
}
