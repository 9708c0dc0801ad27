//! What the service needs to know, from the shared configuration file.

use std::net::SocketAddr;

use serde::{Deserialize, Serialize};
use settings::{
    CassandraSettings, HttpSettings, KafkaSettings, PostgresSettings, RedisSettings,
    RegistrySettings,
};

/// Configuration of the service.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Config {
    pub projectors: ProjectorsSettings,
    pub kafka: KafkaSettings,
    pub schema_registry: RegistrySettings,
    pub postgres: PostgresSettings,
    pub redis: RedisSettings,
    pub cassandra: CassandraSettings,
}

/// The `[projectors]` section.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProjectorsSettings {
    /// Address to bind the probes to; port 0 picks a free port.
    pub listen: SocketAddr,
    /// Consumer group prefix: one group per projection, `<group>.<projection>`. Instances
    /// writing the same stores share it; a copy being rebuilt elsewhere needs its own.
    #[serde(default = "default_group")]
    pub group: String,
    /// Most records applied in one store transaction.
    #[serde(default = "default_batch_max")]
    pub batch_max: usize,
    /// Prefix of the Redis keys of the views, after the deployment's topic prefix.
    #[serde(default = "default_redis_key_prefix")]
    pub redis_key_prefix: String,
}

fn default_redis_key_prefix() -> String {
    "leaky:".into()
}

fn default_group() -> String {
    "projectors".into()
}

fn default_batch_max() -> usize {
    500
}

impl Default for Config {
    fn default() -> Self {
        Self {
            projectors: ProjectorsSettings {
                listen: HttpSettings::loopback(8083).listen,
                group: default_group(),
                batch_max: default_batch_max(),
                redis_key_prefix: default_redis_key_prefix(),
            },
            kafka: KafkaSettings::default(),
            schema_registry: RegistrySettings::default(),
            postgres: PostgresSettings::default(),
            redis: RedisSettings::default(),
            cassandra: CassandraSettings::default(),
        }
    }
}
