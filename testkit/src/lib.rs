//! Support for integration tests that run against the real local infrastructure
//! (`ops/infra up`): where it is, and names no other test will use.
#![forbid(unsafe_code)]

pub mod auth;
pub mod names;
pub mod probes;
mod spawn;
pub mod stack;

pub use names::{unique, unique_identifier};
pub use spawn::{Exited, SpawnedService, run_to_exit};

use settings::{
    CassandraSettings, KafkaSettings, PostgresSettings, RedisSettings, RegistrySettings,
};

/// Where the local infrastructure is: the defaults `ops/infra` uses, overridable by the
/// same `LEAKY_*` variables the services read.
#[derive(Debug, Clone)]
pub struct Infra {
    pub kafka: KafkaSettings,
    pub registry: RegistrySettings,
    pub postgres: PostgresSettings,
    pub redis: RedisSettings,
    pub cassandra: CassandraSettings,
}

/// A pool policy (the JSON the command API takes) whose rate limits a test's load never
/// reaches, for tests about something else than the limiter (retries, views, alerts).
pub fn unlimited_policy() -> serde_json::Value {
    serde_json::json!({
        "strategy": "TOKEN_BUCKET",
        "requests": {"capacity": 1_000_000, "rate": 1_000_000, "period_ms": 1000},
        "tokens": {"capacity": 1_000_000_000, "rate": 1_000_000_000, "period_ms": 1000},
        "overage": "REJECT",
        "reservation_ttl": {"default_ms": 120_000, "max_ms": 600_000},
        "periodic_quota": null
    })
}

/// The infrastructure tests should use.
pub fn infra() -> Infra {
    #[derive(Default, serde::Serialize, serde::Deserialize)]
    struct FromEnv {
        #[serde(default)]
        kafka: KafkaSettings,
        #[serde(default)]
        schema_registry: RegistrySettings,
        #[serde(default)]
        postgres: PostgresSettings,
        #[serde(default)]
        redis: RedisSettings,
        #[serde(default)]
        cassandra: CassandraSettings,
    }
    let env: FromEnv = settings::load(None)
        .unwrap_or_else(|error| panic!("the test infrastructure settings are invalid: {error}"));
    Infra {
        kafka: env.kafka,
        registry: env.schema_registry,
        postgres: env.postgres,
        redis: env.redis,
        cassandra: env.cassandra,
    }
}
