//! The `[access]` section: the auth service whose tokens and keys are accepted.

use domain::{DurationMs, RateLimit};
use serde::{Deserialize, Serialize};

/// The `[access]` section, shared by every service that checks credentials.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccessSettings {
    /// The auth service's JWKS.
    pub jwks_url: String,
    /// The `iss` tokens must carry.
    pub issuer: String,
    /// Refused credentials per client address (a leaky bucket); past it, `429`.
    #[serde(default = "default_failures")]
    pub failed_credentials_per_address: RateLimit,
}

fn default_failures() -> RateLimit {
    RateLimit::new(30, 30, DurationMs::MINUTE).expect("a valid built-in limit")
}

impl Default for AccessSettings {
    fn default() -> Self {
        Self {
            jwks_url: "http://127.0.0.1:8087/.well-known/jwks.json".into(),
            issuer: "http://127.0.0.1:8087".into(),
            failed_credentials_per_address: default_failures(),
        }
    }
}
