//! Readiness: a service is ready when every dependency it needs answers now.

use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::future::{BoxFuture, join_all};
use serde::Serialize;

/// A dependency a service cannot work without (Kafka, a database, ...).
pub trait DependencyCheck: Send + Sync {
    /// Short name shown in the readiness report, e.g. `cassandra`.
    fn name(&self) -> &str;
    /// Succeeds when the dependency answers; the error says what went wrong.
    fn check(&self) -> BoxFuture<'_, Result<(), String>>;
}

/// The set of checks behind `/health/ready`.
#[derive(Clone, Default)]
pub struct Readiness {
    checks: Vec<Arc<dyn DependencyCheck>>,
    /// Each check gets this long; a dependency that hangs is as unready as one that refuses.
    timeout: Option<Duration>,
}

impl std::fmt::Debug for Readiness {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<&str> = self.checks.iter().map(|c| c.name()).collect();
        f.debug_struct("Readiness").field("checks", &names).finish()
    }
}

const DEFAULT_TIMEOUT: Duration = Duration::from_secs(3);

impl Readiness {
    /// No checks yet: always ready.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a dependency to check.
    pub fn with(mut self, check: impl DependencyCheck + 'static) -> Self {
        self.checks.push(Arc::new(check));
        self
    }

    /// Changes how long each check may take.
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// Runs every check concurrently.
    pub async fn check(&self) -> ReadinessReport {
        let timeout = self.timeout.unwrap_or(DEFAULT_TIMEOUT);
        let results = join_all(self.checks.iter().map(|check| async move {
            let started = Instant::now();
            let outcome = match tokio::time::timeout(timeout, check.check()).await {
                Ok(outcome) => outcome,
                Err(_) => Err(format!("no answer within {} ms", timeout.as_millis())),
            };
            CheckResult {
                name: check.name().to_owned(),
                up: outcome.is_ok(),
                error: outcome.err(),
                took_ms: started.elapsed().as_millis() as u64,
            }
        }))
        .await;
        ReadinessReport::new(results)
    }
}

/// The body of `/health/ready`.
#[derive(Debug, Clone, Serialize)]
pub struct ReadinessReport {
    /// `ready`, or `unready` when any dependency is down.
    pub status: &'static str,
    /// Names of the dependencies that are down, for a human glancing at the answer.
    pub down: Vec<String>,
    pub checks: Vec<CheckResult>,
}

impl ReadinessReport {
    fn new(checks: Vec<CheckResult>) -> Self {
        let down: Vec<String> = checks
            .iter()
            .filter(|c| !c.up)
            .map(|c| c.name.clone())
            .collect();
        let status = if down.is_empty() { "ready" } else { "unready" };
        Self {
            status,
            down,
            checks,
        }
    }

    /// True when every dependency answered.
    pub fn is_ready(&self) -> bool {
        self.down.is_empty()
    }
}

/// The outcome of one dependency check.
#[derive(Debug, Clone, Serialize)]
pub struct CheckResult {
    pub name: String,
    pub up: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    pub took_ms: u64,
}
