//! What the service needs to know, from the shared configuration file.

use serde::{Deserialize, Serialize};
use settings::{
    CassandraSettings, HttpSettings, KafkaSettings, PostgresSettings, RedisSettings,
    RegistrySettings,
};

/// Configuration of the service.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Config {
    pub projectors: HttpSettings,
    pub kafka: KafkaSettings,
    pub schema_registry: RegistrySettings,
    pub postgres: PostgresSettings,
    pub redis: RedisSettings,
    pub cassandra: CassandraSettings,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            projectors: HttpSettings::loopback(8083),
            kafka: KafkaSettings::default(),
            schema_registry: RegistrySettings::default(),
            postgres: PostgresSettings::default(),
            redis: RedisSettings::default(),
            cassandra: CassandraSettings::default(),
        }
    }
}
