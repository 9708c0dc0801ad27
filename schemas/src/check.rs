//! Readiness check: the schema registry is up when it lists its subjects.

use futures::FutureExt;
use futures::future::BoxFuture;
use probes::DependencyCheck;
use settings::RegistrySettings;

/// Checks that the Confluent-compatible registry answers.
#[derive(Debug, Clone)]
pub struct RegistryCheck {
    settings: RegistrySettings,
    http: reqwest::Client,
}

impl RegistryCheck {
    /// A check against the registry in `settings`.
    pub fn new(settings: RegistrySettings) -> Self {
        Self {
            settings,
            http: reqwest::Client::new(),
        }
    }
}

impl DependencyCheck for RegistryCheck {
    fn name(&self) -> &str {
        "schema-registry"
    }

    fn check(&self) -> BoxFuture<'_, Result<(), String>> {
        async move {
            let url = format!("{}/subjects", self.settings.url);
            let response = self
                .http
                .get(&url)
                .send()
                .await
                .map_err(|e| format!("{url}: {e}"))?;
            if response.status().is_success() {
                Ok(())
            } else {
                Err(format!("{url} answered {}", response.status()))
            }
        }
        .boxed()
    }
}
