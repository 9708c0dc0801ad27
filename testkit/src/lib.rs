//! Support for integration tests that run against the real local infrastructure
//! (`ops/infra up`): where it is, and names no other test will use.
#![forbid(unsafe_code)]

pub mod probes;
mod spawn;
pub mod stack;

pub use spawn::{Exited, SpawnedService, run_to_exit};

use settings::{
    CassandraSettings, KafkaSettings, PostgresSettings, RedisSettings, RegistrySettings,
};

/// A name no other test run will use: `<prefix>-<random>`, lowercase so it is also a
/// valid Kafka topic, Postgres database and (with `_`) Cassandra keyspace name.
pub fn unique(prefix: &str) -> String {
    let id = uuid::Uuid::new_v4().simple().to_string();
    format!("{prefix}-{}", &id[..12])
}

/// Like [`unique`], with `_` separators, for identifiers that cannot contain `-`.
pub fn unique_identifier(prefix: &str) -> String {
    unique(prefix).replace('-', "_")
}

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
