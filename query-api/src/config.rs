//! What the service needs to know, from the shared configuration file.

use std::net::SocketAddr;

use access::AccessSettings;
use serde::{Deserialize, Serialize};
use settings::{
    CassandraSettings, HttpSettings, KafkaSettings, PostgresSettings, RedisSettings,
    RegistrySettings,
};

/// Configuration of the service.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Config {
    pub query_api: QueryApiSettings,
    pub postgres: PostgresSettings,
    pub redis: RedisSettings,
    pub cassandra: CassandraSettings,
    /// The deployment's Kafka: its topic prefix (the Redis keys of the views start with
    /// it), partition count (a pool's consistency tokens all come from its partition), and
    /// the brokers carrying the auth log that API keys are checked against.
    pub kafka: KafkaSettings,
    /// Where the Avro schema of the auth log's values is looked up.
    pub schema_registry: RegistrySettings,
    /// Whose credentials are accepted.
    #[serde(default)]
    pub access: AccessSettings,
    /// Where the projectors keep the Redis views.
    #[serde(default)]
    pub projectors: ViewKeySettings,
    /// Limits of the HTTP port (`[http]`): slow and flooding clients.
    #[serde(default)]
    pub http: probes::HttpLimits,
}

/// What a reader needs of the `[projectors]` section: the Redis key prefix of the views
/// (read from the projectors' own setting, so writer and readers cannot disagree).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ViewKeySettings {
    /// Prefix of the Redis keys of the views, after the deployment's topic prefix.
    #[serde(default = "default_redis_key_prefix")]
    pub redis_key_prefix: String,
}

impl Default for ViewKeySettings {
    fn default() -> Self {
        Self {
            redis_key_prefix: default_redis_key_prefix(),
        }
    }
}

fn default_redis_key_prefix() -> String {
    "leaky:".into()
}

/// The `[query_api]` section.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QueryApiSettings {
    /// Address to bind; port 0 picks a free port.
    pub listen: SocketAddr,
    /// How long a read with a consistency token waits for the view to pass it, unless the
    /// request asks for less (`wait_ms`).
    #[serde(default = "default_consistency_wait_ms")]
    pub consistency_wait_ms: u64,
    /// The longest wait a request may ask for.
    #[serde(default = "default_max_wait_ms")]
    pub max_wait_ms: u64,
}

fn default_consistency_wait_ms() -> u64 {
    2_000
}

fn default_max_wait_ms() -> u64 {
    10_000
}

impl Default for Config {
    fn default() -> Self {
        Self {
            query_api: QueryApiSettings {
                listen: HttpSettings::loopback(8082).listen,
                consistency_wait_ms: default_consistency_wait_ms(),
                max_wait_ms: default_max_wait_ms(),
            },
            postgres: PostgresSettings::default(),
            redis: RedisSettings::default(),
            cassandra: CassandraSettings::default(),
            kafka: KafkaSettings::default(),
            schema_registry: RegistrySettings::default(),
            access: AccessSettings::default(),
            projectors: ViewKeySettings::default(),
            http: probes::HttpLimits::default(),
        }
    }
}
