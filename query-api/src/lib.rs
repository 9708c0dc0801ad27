//! HTTP API that answers reads from the views.
#![forbid(unsafe_code)]

mod buckets;
mod config;
mod consistency;
mod openapi;
mod params;
pub mod problem;
mod purchases;
mod quota;
mod readable;
mod usage;

use std::time::Duration;

use access::Credentials;
use axum::Router;
use axum::routing::get;
use probes::{HttpService, Readiness};
use viewstore::{CassandraCheck, PostgresCheck, RedisCheck};

pub use buckets::BucketState;
pub use config::{Config, QueryApiSettings, ViewKeySettings};
pub use params::WaitBounds;
pub use problem::Problem;
pub use purchases::PurchaseState;
pub use quota::QuotaState;
pub use usage::UsageState;

/// Name in logs and metrics.
pub const SERVICE: &str = "query-api";

/// The service, bound and ready to run.
pub async fn build(config: Config) -> anyhow::Result<HttpService> {
    let credentials = Credentials::connect(
        config.access.clone(),
        config.kafka.clone(),
        config.schema_registry.clone(),
    );
    let readiness = Readiness::new()
        .with(credentials.clone())
        .with(PostgresCheck::lazy(&config.postgres)?)
        .with(RedisCheck::new(&config.redis)?)
        .with(CassandraCheck::new(config.cassandra.clone()));
    let metrics = telemetry::metrics_registry(SERVICE);
    credentials.register_metrics(&metrics)?;
    // Lazy, so the service starts (and says it is unready) while Postgres is down.
    let db = sqlx::postgres::PgPoolOptions::new()
        .max_connections(config.postgres.max_connections)
        .acquire_timeout(Duration::from_secs(2))
        .connect_lazy(&config.postgres.url)?;
    let bounds = WaitBounds {
        default: Duration::from_millis(config.query_api.consistency_wait_ms),
        max: Duration::from_millis(config.query_api.max_wait_ms),
    };
    let quota = QuotaState { db, bounds };
    let purchases = PurchaseState {
        db: quotaview::rebuild::PURCHASES
            .live_pool(&config.postgres.url, config.postgres.max_connections)?,
        bounds,
    };
    let keys = viewstore::BucketKeys::new(format!(
        "{}{}",
        config.kafka.topic_prefix, config.projectors.redis_key_prefix
    ));
    let redis = redis::Client::open(config.redis.url.as_str())?;
    let buckets = BucketState::new(redis, keys, config.kafka.partitions, bounds);
    let usage = UsageState::new(config.cassandra.clone());
    let service = HttpService::bind(
        config.query_api.listen,
        router(
            readiness,
            metrics,
            credentials,
            quota,
            purchases,
            buckets,
            usage,
        ),
    )
    .await?
    .with_limits(config.http.clone());
    Ok(service)
}

/// Every route of the service; the reads need a credential (401 without one) and each
/// handler says whose data the caller may read.
pub fn router(
    readiness: Readiness,
    metrics: prometheus::Registry,
    credentials: Credentials,
    quota: QuotaState,
    purchases: PurchaseState,
    buckets: BucketState,
    usage: UsageState,
) -> Router {
    let api = Router::new()
        .route("/api/v1/pools/{kind}/{id}/{provider}", get(quota::get_pool))
        .route(
            "/api/v1/pools/{kind}/{id}/{provider}/reservations",
            get(quota::get_reservations),
        )
        .route("/api/v1/quota/{kind}/{id}", get(quota::get_owner_quota))
        .route(
            "/api/v1/quota/{kind}/{id}/{provider}",
            get(quota::get_owner_provider_quota),
        )
        .with_state(quota);
    let purchase_reads = Router::new()
        .route("/api/v1/purchases/{id}", get(purchases::get_purchase))
        .route(
            "/api/v1/owners/{kind}/{id}/purchases",
            get(purchases::get_owner_purchases),
        )
        .with_state(purchases);
    let bucket_reads = Router::new()
        .route(
            "/api/v1/pools/{kind}/{id}/{provider}/buckets",
            get(buckets::get_buckets),
        )
        .with_state(buckets);
    let analytics = Router::new()
        .route("/api/v1/usage/{dimension}/{subject}", get(usage::get_usage))
        .route(
            "/api/v1/usage/{dimension}/{subject}/trend",
            get(usage::get_trend),
        )
        .route(
            "/api/v1/usage/{dimension}/{subject}/anomalies",
            get(usage::get_anomalies),
        )
        .route("/api/v1/top/{dimension}", get(usage::get_top))
        .with_state(usage);
    let reads = Router::new()
        .merge(api)
        .merge(purchase_reads)
        .merge(bucket_reads)
        .merge(analytics)
        .route_layer(axum::middleware::from_fn_with_state(
            credentials,
            access::authenticate,
        ));
    probes::router(readiness, metrics)
        .merge(reads)
        .merge(openapi::router())
        .fallback(|| async { Problem::not_found("no such resource") })
        .method_not_allowed_fallback(|| async {
            Problem::new(
                axum::http::StatusCode::METHOD_NOT_ALLOWED,
                "method-not-allowed",
                "Method not allowed",
                "the query API only answers GET",
            )
        })
}
