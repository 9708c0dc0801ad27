//! Connections to the stores that hold the views, and their readiness checks.
#![forbid(unsafe_code)]

mod analytics_tables;
mod bucket_keys;
mod cassandra;
mod postgres;
mod redis_store;

pub use analytics_tables::{
    ANALYTICS_VIEW, AnalyticsTables, GENERATIONS_TABLE, active_analytics, analytics_generations,
};
pub use bucket_keys::{BUCKETS_PROJECTION, BucketKeys, GenerationKeys};
pub use cassandra::{CassandraCheck, connect_cassandra};
pub use postgres::{PostgresCheck, connect_postgres};
pub use redis_store::{RedisCheck, connect_redis};

/// A store could not be reached.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    #[error("postgres at {url}: {source}")]
    Postgres { url: String, source: sqlx::Error },
    #[error("redis at {url}: {source}")]
    Redis {
        url: String,
        source: redis::RedisError,
    },
    /// Boxed: the driver's error is large, and every `Result` would carry its size.
    #[error("cassandra at {nodes}: {source}")]
    Cassandra {
        nodes: String,
        source: Box<scylla::errors::NewSessionError>,
    },
}
