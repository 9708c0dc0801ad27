//! The auth service's signing keys as a verifier sees them: fetched from its JWKS, and
//! fetched again when a token names a key not seen yet (the auth service rotated its key),
//! at most once a second so that made-up key ids cannot turn into a flood of fetches.

use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use auth::{Claims, TokenError, Verifier};

/// The shortest time between two fetches of the JWKS.
const REFRESH_INTERVAL: Duration = Duration::from_secs(1);

/// The current verifier, and how to get a newer one.
#[derive(Debug, Clone)]
pub(crate) struct KeySet {
    verifier: Arc<RwLock<Arc<Verifier>>>,
    /// One refresh at a time, and when the last one was.
    refreshing: Arc<tokio::sync::Mutex<Option<Instant>>>,
    http: reqwest::Client,
    url: String,
    issuer: String,
}

impl KeySet {
    /// Fetches the JWKS at `url` once, for tokens of `issuer`.
    pub(crate) async fn fetch(
        http: reqwest::Client,
        url: &str,
        issuer: &str,
    ) -> anyhow::Result<Self> {
        let verifier = fetch_verifier(&http, url, issuer).await?;
        Ok(Self {
            verifier: Arc::new(RwLock::new(Arc::new(verifier))),
            refreshing: Arc::new(tokio::sync::Mutex::new(Some(Instant::now()))),
            http,
            url: url.to_owned(),
            issuer: issuer.to_owned(),
        })
    }

    /// The claims of `token` if genuine, current and ours; a token naming an unknown key
    /// makes this fetch the JWKS again first (at most once per [`REFRESH_INTERVAL`]).
    pub(crate) async fn verify(&self, token: &str) -> Result<Claims, TokenError> {
        if let Some(kid) = Verifier::kid_of(token)
            && !self.current().knows(&kid)
        {
            self.refresh_for(&kid).await;
        }
        self.current().verify(token)
    }

    fn current(&self) -> Arc<Verifier> {
        self.verifier
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    async fn refresh_for(&self, kid: &str) {
        let mut last = self.refreshing.lock().await;
        // Someone else's refresh, finished while this one waited, may have brought it.
        if self.current().knows(kid) || last.is_some_and(|at| at.elapsed() < REFRESH_INTERVAL) {
            return;
        }
        *last = Some(Instant::now());
        match fetch_verifier(&self.http, &self.url, &self.issuer).await {
            Ok(verifier) => {
                tracing::info!(kid, "fetched the JWKS again for a key not seen before");
                *self.verifier.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(verifier);
            }
            Err(error) => tracing::warn!(%error, url = self.url, "cannot fetch the JWKS again"),
        }
    }
}

async fn fetch_verifier(
    http: &reqwest::Client,
    url: &str,
    issuer: &str,
) -> anyhow::Result<Verifier> {
    let jwks: serde_json::Value = http
        .get(url)
        .timeout(Duration::from_secs(5))
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    Ok(Verifier::from_jwks(&jwks, issuer)?)
}
