//! Who may spend: registration and login issuing RS256 JWTs (with a JWKS endpoint), roles
//! mapped to tiers, Argon2id passwords, and API keys (only a hash stored, the raw key shown
//! once). Users, memberships and keys are events in Kafka (`auth.events`); every reader
//! rebuilds them from the log, so a revoked key disappears from every cache as soon as the
//! revocation is read.
#![forbid(unsafe_code)]

pub mod directory;
pub mod http;
pub mod log;
pub mod secrets;
pub mod tokens;

use std::net::SocketAddr;
use std::sync::Arc;

use probes::{HttpService, Readiness};
use serde::{Deserialize, Serialize};
use settings::{HttpSettings, KafkaSettings, RegistrySettings};

pub use directory::Role;
pub use tokens::{Claims, Signer, TokenError, Verifier};

/// Name in logs and metrics.
pub const SERVICE: &str = "auth";

/// Configuration of the auth service.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Config {
    pub auth: AuthSettings,
    pub kafka: KafkaSettings,
    /// Where the Avro schema of `auth.events` is registered and looked up.
    pub schema_registry: RegistrySettings,
}

/// The `[auth]` section.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthSettings {
    /// Address to bind.
    pub listen: SocketAddr,
    /// The `iss` of every token, checked by every verifier.
    pub issuer: String,
    /// Lifetime of an access token.
    pub token_ttl_secs: i64,
    /// PKCS#8 PEM file of the RSA signing key; without it a fresh key is generated at
    /// start (tokens then die with the process: development only).
    #[serde(default)]
    pub signing_key_file: Option<String>,
    /// User names that get the ADMIN role when they register.
    #[serde(default)]
    pub admins: Vec<String>,
}

impl Default for AuthSettings {
    fn default() -> Self {
        Self {
            listen: HttpSettings::loopback(8087).listen,
            issuer: "http://127.0.0.1:8087".into(),
            token_ttl_secs: 3_600,
            signing_key_file: None,
            admins: vec!["admin".into()],
        }
    }
}

/// The auth service, bound and ready to run.
pub async fn build(config: Config) -> anyhow::Result<HttpService> {
    let signer = match &config.auth.signing_key_file {
        Some(path) => Signer::from_pem(&std::fs::read_to_string(path)?)?,
        None => {
            tracing::warn!(
                "no auth.signing_key_file: signing with a key generated for this process"
            );
            tokio::task::spawn_blocking(Signer::generate).await??
        }
    };
    let view = log::follow(&config.kafka, &config.schema_registry).await?;
    let metrics = telemetry::metrics_registry(SERVICE);
    metrics.register(Box::new(view.skipped_records()))?;
    let state = http::AuthState {
        settings: Arc::new(config.auth.clone()),
        signer,
        view,
        appender: log::Appender::new(&config.kafka, &config.schema_registry)?,
        writes: Arc::default(),
    };
    let readiness = Readiness::new()
        .with(eventlog::KafkaCheck::new(config.kafka.clone()))
        .with(schemas::RegistryCheck::new(config.schema_registry.clone()));
    let router = probes::router(readiness, metrics).merge(http::routes(state));
    Ok(HttpService::bind(config.auth.listen, router).await?)
}

#[cfg(test)]
mod tests {
    /// The documented configuration file and the built-in defaults must not drift apart.
    #[test]
    fn the_configuration_file_states_the_defaults() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../config/leaky.toml");
        let config: super::Config =
            settings::load(Some(std::path::Path::new(path))).expect("config/leaky.toml loads");
        assert_eq!(config.auth, super::AuthSettings::default());
    }
}
