//! The `[access]` section: the auth service whose tokens and keys are accepted.

use serde::{Deserialize, Serialize};

/// The `[access]` section, shared by every service that checks credentials.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccessSettings {
    /// The auth service's JWKS.
    pub jwks_url: String,
    /// The `iss` tokens must carry.
    pub issuer: String,
}

impl Default for AccessSettings {
    fn default() -> Self {
        Self {
            jwks_url: "http://127.0.0.1:8087/.well-known/jwks.json".into(),
            issuer: "http://127.0.0.1:8087".into(),
        }
    }
}
