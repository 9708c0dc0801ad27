//! Checking a credential: an API key against the auth log, an access token against the
//! auth service's JWKS — and, for both, the caller's role and org memberships as the auth
//! log says now, so a demoted ADMIN or a removed member loses those rights at once, not
//! when their token expires. Both are fetched in the background; until they are, calls are
//! answered 503 and readiness says why.
//!
//! A credential that checks out costs a lookup in memory. One that does not is answered
//! from memory too once this service has read the log to its end (one shared broker
//! question per 100 ms, whatever the number of misses), and failures are throttled per
//! client address: past the limit, `429` without even that wait.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use auth::Claims;
use auth::client::ClientAddress;
use auth::log::DirectoryView;
use auth::secrets::{KEY_PREFIX, key_hash};
use auth::throttle::{Throttle, Throttled};
use axum::http::HeaderMap;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use domain::UserId;
use problem::Problem;
use prometheus::{IntCounterVec, Registry};
use settings::{KafkaSettings, RegistrySettings};
use tokio::sync::OnceCell;

use crate::jwks::KeySet;
use crate::{AccessSettings, Identity};

/// What credentials are checked against; filled once the auth service and its log have
/// been reached.
#[derive(Debug, Clone)]
pub struct Credentials {
    /// Verifies access tokens.
    keys: Arc<OnceCell<KeySet>>,
    /// Users, roles, memberships and keys, as the auth log says.
    directory: Arc<OnceCell<DirectoryView>>,
    /// Refused credentials per client address.
    failures: Throttle,
    /// What the throttle refused (`throttled_total{what}`).
    throttled: IntCounterVec,
}

impl probes::DependencyCheck for Credentials {
    fn name(&self) -> &str {
        "auth"
    }

    fn check(&self) -> futures::future::BoxFuture<'_, Result<(), String>> {
        let result = match (self.keys.get(), self.directory.get()) {
            (Some(_), Some(_)) => Ok(()),
            (None, _) => Err("the auth service's JWKS has not been fetched yet".to_owned()),
            (_, None) => Err("the auth log has not been read yet".to_owned()),
        };
        Box::pin(std::future::ready(result))
    }
}

impl Credentials {
    /// Starts fetching the JWKS of `access` and following the auth log of `kafka` (its
    /// Avro values decoded through `registry`), in the background and retrying until both work.
    pub fn connect(
        access: AccessSettings,
        kafka: KafkaSettings,
        registry: RegistrySettings,
    ) -> Self {
        let throttled = auth::throttle::metric();
        let credentials = Self {
            keys: Arc::default(),
            directory: Arc::default(),
            failures: Throttle::new(
                Throttled::FailedCredentialsPerAddress,
                access.failed_credentials_per_address,
                throttled.clone(),
            ),
            throttled,
        };
        tokio::spawn(
            credentials
                .clone()
                .fetch_and_follow(access, kafka, registry),
        );
        credentials
    }

    /// Registers the throttle's counter with a service's metrics.
    pub fn register_metrics(&self, registry: &Registry) -> prometheus::Result<()> {
        registry.register(Box::new(self.throttled.clone()))
    }

    async fn fetch_and_follow(
        self,
        access: AccessSettings,
        kafka: KafkaSettings,
        registry: RegistrySettings,
    ) {
        let http = reqwest::Client::new();
        loop {
            match KeySet::fetch(http.clone(), &access.jwks_url, &access.issuer).await {
                Ok(keys) => {
                    let _ = self.keys.set(keys);
                    break;
                }
                Err(error) => {
                    tracing::warn!(%error, url = access.jwks_url, "cannot fetch the JWKS yet; retrying");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
            }
        }
        loop {
            match auth::log::follow(&kafka, &registry).await {
                Ok(view) => {
                    let _ = self.directory.set(view);
                    tracing::info!("following the auth log");
                    return;
                }
                Err(error) => {
                    tracing::warn!(%error, "cannot read the auth log yet; retrying");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
            }
        }
    }

    /// Who the `Authorization: Bearer …` of a request names, throttling failures per the
    /// address it came from: 401 when it is missing, unknown, revoked, expired or forged;
    /// 429 past the failure limit; 503 while the credentials are not known yet.
    pub async fn identify_request(&self, parts: &Parts) -> Result<Identity, Problem> {
        let ClientAddress(address) = ClientAddress::of(&parts.extensions);
        self.identify_from(&parts.headers, address).await
    }

    /// [`Credentials::identify_request`] without a client address (failures unthrottled).
    pub async fn identify(&self, headers: &HeaderMap) -> Result<Identity, Problem> {
        self.identify_from(headers, None).await
    }

    async fn identify_from(
        &self,
        headers: &HeaderMap,
        address: Option<IpAddr>,
    ) -> Result<Identity, Problem> {
        let credential = headers
            .get(AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::trim)
            .filter(|c| !c.is_empty())
            .ok_or_else(|| {
                Problem::unauthorized("send Authorization: Bearer <API key or access token>")
            })?;
        let directory = self
            .directory
            .get()
            .ok_or_else(|| Problem::unavailable("the auth log has not been read yet"))?;
        let found = if credential.starts_with(KEY_PREFIX) {
            self.by_key(directory, credential, address).await
        } else {
            self.by_token(directory, credential).await
        };
        match found {
            Err(problem) if problem.status() == axum::http::StatusCode::UNAUTHORIZED => {
                // A refused credential counts against its address; past the limit the
                // answer is 429 (with Retry-After) instead.
                self.failures.admit_address(address)?;
                Err(problem)
            }
            other => other,
        }
    }

    async fn by_key(
        &self,
        directory: &DirectoryView,
        key: &str,
        address: Option<IpAddr>,
    ) -> Result<Identity, Problem> {
        let hash = key_hash(key);
        let lookup = |directory: &DirectoryView| {
            directory.read(|d| {
                let (_, found) = d.live_key(&hash)?;
                identity_of(d, &found.user)
            })
        };
        if let Some(identity) = lookup(directory) {
            return Ok(identity);
        }
        // An address already past its failure limit gets no wait for the log.
        self.failures.check_address(address)?;
        // A key created a moment ago may not have been read yet: wait until the log has
        // been read to its end (shared with every other miss; no broker call of its own).
        if directory.catch_up().await
            && let Some(identity) = lookup(directory)
        {
            return Ok(identity);
        }
        Err(Problem::unauthorized("unknown or revoked API key"))
    }

    async fn by_token(&self, directory: &DirectoryView, token: &str) -> Result<Identity, Problem> {
        let keys = self
            .keys
            .get()
            .ok_or_else(|| Problem::unavailable("the auth service's keys are not known yet"))?;
        let Claims { sub, .. } = keys
            .verify(token)
            .await
            .map_err(|e| Problem::unauthorized(format!("invalid access token: {e}")))?;
        let user = UserId::parse(&sub).map_err(|e| Problem::unauthorized(e.to_string()))?;
        // The token proves who; what they may do is what the log says now.
        directory
            .read(|d| identity_of(d, &user))
            .ok_or_else(|| Problem::unauthorized("the token's user is unknown"))
    }
}

/// `user`'s identity as the directory has it now: role and orgs from the log.
fn identity_of(directory: &auth::directory::Directory, user: &UserId) -> Option<Identity> {
    let found = directory.user(user)?;
    Some(Identity {
        user: user.clone(),
        role: found.role,
        orgs: found.orgs.iter().cloned().collect(),
    })
}
