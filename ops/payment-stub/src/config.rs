//! What the stub needs to know, from the shared configuration file.

use serde::{Deserialize, Serialize};
use settings::HttpSettings;

/// Configuration of the payment stub.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Config {
    pub payment_stub: HttpSettings,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            payment_stub: HttpSettings::loopback(8091),
        }
    }
}
