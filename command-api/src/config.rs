//! What the command API needs to know, from the shared configuration file.

use std::net::SocketAddr;

use access::AccessSettings;
use serde::{Deserialize, Serialize};
use settings::{HttpSettings, KafkaSettings, RegistrySettings};

use crate::pools::PoolsSettings;
use crate::prices::PriceList;

/// Configuration of the command API.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Config {
    pub command_api: CommandApiSettings,
    pub kafka: KafkaSettings,
    pub schema_registry: RegistrySettings,
    #[serde(default)]
    pub pools: PoolsSettings,
    /// The price of tokens (a purchase's price is computed from it, never the client's).
    #[serde(default)]
    pub prices: PriceList,
    /// Whose credentials are accepted.
    #[serde(default)]
    pub access: AccessSettings,
    /// Limits of the HTTP port (`[http]`): slow and flooding clients.
    #[serde(default)]
    pub http: probes::HttpLimits,
}

/// The `[command_api]` section.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CommandApiSettings {
    /// Address to bind; port 0 picks a free port.
    pub listen: SocketAddr,
    /// How long a request waits for its command's reply before answering 202.
    #[serde(default = "default_reply_wait_ms")]
    pub reply_wait_ms: u64,
    /// Largest accepted request body.
    #[serde(default = "default_max_body_bytes")]
    pub max_body_bytes: usize,
}

fn default_reply_wait_ms() -> u64 {
    5_000
}

fn default_max_body_bytes() -> usize {
    16 * 1024
}

impl Default for CommandApiSettings {
    fn default() -> Self {
        Self {
            listen: HttpSettings::loopback(8080).listen,
            reply_wait_ms: default_reply_wait_ms(),
            max_body_bytes: default_max_body_bytes(),
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

/// Configuration of the purchase processor (the single writer of purchases), which serves
/// only its probes.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PurchaseProcessorConfig {
    pub purchase_processor: HttpSettings,
    pub kafka: KafkaSettings,
    pub schema_registry: RegistrySettings,
}

impl Default for PurchaseProcessorConfig {
    fn default() -> Self {
        Self {
            purchase_processor: HttpSettings::loopback(8088),
            kafka: KafkaSettings::default(),
            schema_registry: RegistrySettings::default(),
        }
    }
}
