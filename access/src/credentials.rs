//! Checking a credential: an API key against the auth log, an access token against the
//! auth service's JWKS. Both are fetched in the background; until they are, calls are
//! answered 503 and readiness says why.

use std::sync::Arc;
use std::time::Duration;

use auth::log::DirectoryView;
use auth::secrets::{KEY_PREFIX, key_hash};
use auth::{Claims, Verifier};
use axum::http::HeaderMap;
use axum::http::header::AUTHORIZATION;
use domain::{OrgId, UserId};
use problem::Problem;
use settings::{KafkaSettings, RegistrySettings};
use tokio::sync::OnceCell;

use crate::{AccessSettings, Identity};

/// What credentials are checked against; filled once the auth service and its log have
/// been reached.
#[derive(Debug, Clone, Default)]
pub struct Credentials {
    /// Verifies access tokens.
    verifier: Arc<OnceCell<Verifier>>,
    /// Users and keys, as the auth log says.
    directory: Arc<OnceCell<DirectoryView>>,
}

impl probes::DependencyCheck for Credentials {
    fn name(&self) -> &str {
        "auth"
    }

    fn check(&self) -> futures::future::BoxFuture<'_, Result<(), String>> {
        let result = match (self.verifier.get(), self.directory.get()) {
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
        let credentials = Self::default();
        tokio::spawn(
            credentials
                .clone()
                .fetch_and_follow(access, kafka, registry),
        );
        credentials
    }

    async fn fetch_and_follow(
        self,
        access: AccessSettings,
        kafka: KafkaSettings,
        registry: RegistrySettings,
    ) {
        let http = reqwest::Client::new();
        loop {
            let fetched = async {
                let jwks: serde_json::Value = http
                    .get(&access.jwks_url)
                    .send()
                    .await?
                    .error_for_status()?
                    .json()
                    .await?;
                anyhow::Ok(Verifier::from_jwks(&jwks, &access.issuer)?)
            };
            match fetched.await {
                Ok(verifier) => {
                    let _ = self.verifier.set(verifier);
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

    /// Who the `Authorization: Bearer …` of `headers` names: 401 when it is missing,
    /// unknown, revoked, expired or forged; 503 while the credentials are not known yet.
    pub async fn identify(&self, headers: &HeaderMap) -> Result<Identity, Problem> {
        let credential = headers
            .get(AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::trim)
            .filter(|c| !c.is_empty())
            .ok_or_else(|| {
                Problem::unauthorized("send Authorization: Bearer <API key or access token>")
            })?;
        if credential.starts_with(KEY_PREFIX) {
            self.by_key(credential).await
        } else {
            self.by_token(credential)
        }
    }

    async fn by_key(&self, key: &str) -> Result<Identity, Problem> {
        let directory = self
            .directory
            .get()
            .ok_or_else(|| Problem::unavailable("the auth log has not been read yet"))?;
        let hash = key_hash(key);
        let lookup = |directory: &DirectoryView| {
            directory.read(|d| {
                let (_, found) = d.live_key(&hash)?;
                let user = d.user(&found.user)?;
                Some(Identity {
                    user: found.user.clone(),
                    role: user.role,
                    orgs: user.orgs.iter().cloned().collect(),
                })
            })
        };
        if let Some(identity) = lookup(directory) {
            return Ok(identity);
        }
        // A key created a moment ago may not have been read yet: catch up with the log once.
        if directory.catch_up().await
            && let Some(identity) = lookup(directory)
        {
            return Ok(identity);
        }
        Err(Problem::unauthorized("unknown or revoked API key"))
    }

    fn by_token(&self, token: &str) -> Result<Identity, Problem> {
        let verifier = self
            .verifier
            .get()
            .ok_or_else(|| Problem::unavailable("the auth service's keys are not known yet"))?;
        let Claims {
            sub, role, orgs, ..
        } = verifier
            .verify(token)
            .map_err(|e| Problem::unauthorized(format!("invalid access token: {e}")))?;
        let user = UserId::parse(&sub).map_err(|e| Problem::unauthorized(e.to_string()))?;
        // The auth service only puts valid org ids in a token; anything else is ignored.
        let orgs = orgs.iter().filter_map(|o| OrgId::parse(o).ok()).collect();
        Ok(Identity { user, role, orgs })
    }
}
