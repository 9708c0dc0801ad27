//! Who may spend: registration and login issuing RS256 JWTs (with a JWKS endpoint), roles
//! mapped to tiers, Argon2id passwords, and API keys (only a hash stored, the raw key shown
//! once). Users, roles, memberships, invitations and keys are events in Kafka
//! (`auth.events`); every reader rebuilds them from the log, so a revoked key, a removed
//! member or a demoted ADMIN loses its rights in every service as soon as it is read.
//!
//! ADMIN comes from a secret, never from a name: the bootstrap password given at install
//! ([`bootstrap`]) makes the first ADMIN, and ADMINs grant and revoke the role after that.
#![forbid(unsafe_code)]

pub mod bootstrap;
pub mod client;
pub mod directory;
pub mod http;
pub mod keyring;
pub mod log;
pub mod secrets;
pub mod throttle;
pub mod tokens;

use std::net::SocketAddr;
use std::sync::Arc;

use domain::{DurationMs, RateLimit};
use probes::{HttpService, Readiness};
use serde::{Deserialize, Serialize};
use settings::{HttpSettings, KafkaSettings, RegistrySettings};

pub use directory::Role;
pub use secrets::Secret;
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
    /// Limits of the HTTP port (`[http]`): slow and flooding clients.
    #[serde(default)]
    pub http: probes::HttpLimits,
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
    /// PKCS#8 PEM file of the RSA key that signs; created (mode 0600) when it does not
    /// exist yet. Without it a fresh key is generated at each start (tokens then die with
    /// the process, and two instances sign with two keys: tests only).
    #[serde(default)]
    pub signing_key_file: Option<String>,
    /// Keys that signed before the current one: published in the JWKS (so their tokens
    /// verify until they expire) but never used to sign. Rotation: move the old key here,
    /// give a new `signing_key_file`, restart.
    #[serde(default)]
    pub retired_signing_key_files: Vec<String>,
    /// The user name the bootstrap password makes the first ADMIN.
    #[serde(default = "default_bootstrap_admin")]
    pub bootstrap_admin: String,
    /// The install's bootstrap password (`LEAKY_AUTH__BOOTSTRAP_ADMIN_PASSWORD`): at start,
    /// if the log has never had a bootstrap ADMIN, `bootstrap_admin` is registered with it
    /// (or, if registered with this very password, promoted) and made ADMIN, once.
    #[serde(default)]
    pub bootstrap_admin_password: Option<Secret>,
    /// A file holding the bootstrap password instead (`ops/up` writes one, mode 0600).
    #[serde(default)]
    pub bootstrap_admin_password_file: Option<String>,
    /// Who may register: `open` (anyone, throttled: the local demo), `invite` (with an
    /// ADMIN's single-use invitation) or `closed` (ADMINs create users).
    #[serde(default)]
    pub registration: RegistrationMode,
    /// How fast login and registration attempts may come.
    #[serde(default)]
    pub throttle: ThrottleSettings,
}

fn default_bootstrap_admin() -> String {
    "admin".into()
}

/// Who may register (`auth.registration`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RegistrationMode {
    /// Anyone may register (throttled per address): for the local demo only.
    #[default]
    Open,
    /// Only a name an ADMIN invited, with the invitation (`POST /api/v1/invitations`).
    Invite,
    /// Nobody registers; ADMINs create users (`POST /api/v1/users`).
    Closed,
}

/// The `[auth.throttle]` section: leaky buckets per user name and per client address.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ThrottleSettings {
    /// Login attempts per user name (however many addresses they come from).
    pub login_per_user: RateLimit,
    /// Login attempts per client address (however many names they try).
    pub login_per_address: RateLimit,
    /// Registrations per client address.
    pub register_per_address: RateLimit,
}

impl Default for ThrottleSettings {
    fn default() -> Self {
        let limit = |capacity, period| {
            RateLimit::new(capacity, capacity, period).expect("a valid built-in limit")
        };
        Self {
            login_per_user: limit(10, DurationMs::from_millis(300_000).expect("5 minutes")),
            login_per_address: limit(30, DurationMs::MINUTE),
            register_per_address: limit(10, DurationMs::HOUR),
        }
    }
}

impl Default for AuthSettings {
    fn default() -> Self {
        Self {
            listen: HttpSettings::loopback(8087).listen,
            issuer: "http://127.0.0.1:8087".into(),
            token_ttl_secs: 3_600,
            signing_key_file: None,
            retired_signing_key_files: Vec::new(),
            bootstrap_admin: default_bootstrap_admin(),
            bootstrap_admin_password: None,
            bootstrap_admin_password_file: None,
            registration: RegistrationMode::Open,
            throttle: ThrottleSettings::default(),
        }
    }
}

/// The auth service, bound and ready to run.
pub async fn build(config: Config) -> anyhow::Result<HttpService> {
    let signer = keyring::signer(&config.auth).await?;
    let verifier = Verifier::from_jwks(&signer.jwks(), &config.auth.issuer)?;
    let view = log::follow(&config.kafka, &config.schema_registry).await?;
    let appender = log::Appender::new(&config.kafka, &config.schema_registry)?;
    bootstrap::run(&config.auth, &view, &appender).await?;
    // The dummy hash login checks unknown users against, made now rather than on the
    // first unknown user (it costs one Argon2 hash).
    tokio::task::spawn_blocking(secrets::dummy_hash).await?;
    let metrics = telemetry::metrics_registry(SERVICE);
    metrics.register(Box::new(view.skipped_records()))?;
    let throttled = throttle::metric();
    metrics.register(Box::new(throttled.clone()))?;
    let state = http::AuthState {
        settings: Arc::new(config.auth.clone()),
        signer,
        verifier,
        view,
        appender,
        writes: Arc::default(),
        throttles: http::Throttles::new(&config.auth.throttle, &throttled),
    };
    let readiness = Readiness::new()
        .with(eventlog::KafkaCheck::new(config.kafka.clone()))
        .with(schemas::RegistryCheck::new(config.schema_registry.clone()));
    let router = probes::router(readiness, metrics).merge(http::routes(state));
    Ok(HttpService::bind(config.auth.listen, router)
        .await?
        .with_limits(config.http.clone()))
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
