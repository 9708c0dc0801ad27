//! What the service needs to know, from the shared configuration file.

use std::net::SocketAddr;

use serde::{Deserialize, Serialize};
use settings::{CassandraSettings, HttpSettings, PostgresSettings, RedisSettings};

/// Configuration of the service.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Config {
    pub query_api: QueryApiSettings,
    pub postgres: PostgresSettings,
    pub redis: RedisSettings,
    pub cassandra: CassandraSettings,
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
        }
    }
}
