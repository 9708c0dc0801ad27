//! What the service needs to know, from the shared configuration file.

use serde::{Deserialize, Serialize};
use settings::{HttpSettings, KafkaSettings, RegistrySettings};

/// Configuration of the service.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Config {
    pub sagas: HttpSettings,
    pub kafka: KafkaSettings,
    pub schema_registry: RegistrySettings,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            sagas: HttpSettings::loopback(8084),
            kafka: KafkaSettings::default(),
            schema_registry: RegistrySettings::default(),
        }
    }
}
