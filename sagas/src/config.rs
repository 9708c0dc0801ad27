//! What the service needs to know, from the shared configuration file.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use settings::{HttpSettings, KafkaSettings, RegistrySettings};

use crate::purchase::decide::StepTimeouts;
use crate::purchase::runner::Pacing;

/// Configuration of the service.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Config {
    pub sagas: HttpSettings,
    pub kafka: KafkaSettings,
    pub schema_registry: RegistrySettings,
    #[serde(default)]
    pub purchase_saga: PurchaseSagaSettings,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            sagas: HttpSettings::loopback(8084),
            kafka: KafkaSettings::default(),
            schema_registry: RegistrySettings::default(),
            purchase_saga: PurchaseSagaSettings::default(),
        }
    }
}

/// How the purchase saga reaches the payment provider and how patient it is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PurchaseSagaSettings {
    /// Base URL of the payment provider (the stub in `ops/payment-stub` locally).
    pub payment_url: String,
    /// One call to the provider is abandoned (and retried) after this long.
    pub payment_call_timeout_ms: u64,
    /// A payment reservation pending this long fails as timed out.
    pub reserve_timeout_ms: u64,
    /// A grant pending this long fails as timed out.
    pub grant_timeout_ms: u64,
    /// A capture pending this long fails as timed out.
    pub capture_timeout_ms: u64,
    /// A step without a definite answer is tried again after this long.
    pub retry_ms: u64,
    /// How long to wait for the pool's reply to a grant or revoke.
    pub pool_reply_wait_ms: u64,
}

impl Default for PurchaseSagaSettings {
    fn default() -> Self {
        Self {
            payment_url: "http://127.0.0.1:8091".into(),
            payment_call_timeout_ms: 5_000,
            reserve_timeout_ms: 30_000,
            grant_timeout_ms: 30_000,
            capture_timeout_ms: 30_000,
            retry_ms: 1_000,
            pool_reply_wait_ms: 5_000,
        }
    }
}

impl PurchaseSagaSettings {
    /// The runner's pacing.
    pub fn pacing(&self) -> Pacing {
        Pacing {
            timeouts: StepTimeouts {
                reserve: Duration::from_millis(self.reserve_timeout_ms),
                grant: Duration::from_millis(self.grant_timeout_ms),
                capture: Duration::from_millis(self.capture_timeout_ms),
            },
            retry: Duration::from_millis(self.retry_ms),
            pool_reply_wait: Duration::from_millis(self.pool_reply_wait_ms),
        }
    }
}
