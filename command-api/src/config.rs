//! What the command API needs to know, from the shared configuration file.

use serde::{Deserialize, Serialize};
use settings::{HttpSettings, KafkaSettings, RegistrySettings};

/// Configuration of the command API.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Config {
    pub command_api: HttpSettings,
    pub kafka: KafkaSettings,
    pub schema_registry: RegistrySettings,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            command_api: HttpSettings::loopback(8080),
            kafka: KafkaSettings::default(),
            schema_registry: RegistrySettings::default(),
        }
    }
}

/// Configuration of the pool processor (the single writer), which serves only its probes.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ProcessorConfig {
    pub pool_processor: HttpSettings,
    pub kafka: KafkaSettings,
    pub schema_registry: RegistrySettings,
}

impl Default for ProcessorConfig {
    fn default() -> Self {
        Self {
            pool_processor: HttpSettings::loopback(8085),
            kafka: KafkaSettings::default(),
            schema_registry: RegistrySettings::default(),
        }
    }
}
