//! What the service needs to know, from the shared configuration file.

use serde::{Deserialize, Serialize};
use settings::{CassandraSettings, HttpSettings, PostgresSettings, RedisSettings};

/// Configuration of the service.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Config {
    pub query_api: HttpSettings,
    pub postgres: PostgresSettings,
    pub redis: RedisSettings,
    pub cassandra: CassandraSettings,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            query_api: HttpSettings::loopback(8082),
            postgres: PostgresSettings::default(),
            redis: RedisSettings::default(),
            cassandra: CassandraSettings::default(),
        }
    }
}
