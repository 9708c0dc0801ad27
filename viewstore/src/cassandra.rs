//! Cassandra, which holds the usage analytics.

use std::sync::Arc;

use futures::FutureExt;
use futures::future::BoxFuture;
use probes::DependencyCheck;
use scylla::client::session::Session;
use scylla::client::session_builder::SessionBuilder;
use settings::CassandraSettings;

use crate::ConnectError;

/// A session with the cluster in `settings` (no keyspace selected: callers create theirs).
pub async fn connect_cassandra(settings: &CassandraSettings) -> Result<Session, ConnectError> {
    SessionBuilder::new()
        .known_nodes(&settings.nodes)
        .connection_timeout(std::time::Duration::from_secs(5))
        .build()
        .await
        .map_err(|source| ConnectError::Cassandra {
            nodes: settings.nodes.join(","),
            source: Box::new(source),
        })
}

/// Checks that Cassandra answers a query; connects on first use, so a service can start
/// (and report itself unready) while Cassandra is down.
#[derive(Debug, Clone)]
pub struct CassandraCheck {
    settings: CassandraSettings,
    session: Arc<tokio::sync::OnceCell<Session>>,
}

impl CassandraCheck {
    /// A check against the cluster in `settings`.
    pub fn new(settings: CassandraSettings) -> Self {
        Self {
            settings,
            session: Arc::default(),
        }
    }
}

impl DependencyCheck for CassandraCheck {
    fn name(&self) -> &str {
        "cassandra"
    }

    fn check(&self) -> BoxFuture<'_, Result<(), String>> {
        async move {
            let session = self
                .session
                .get_or_try_init(|| connect_cassandra(&self.settings))
                .await
                .map_err(|e| e.to_string())?;
            session
                .query_unpaged("SELECT release_version FROM system.local", &[])
                .await
                .map(|_| ())
                .map_err(|e| format!("{}: {e}", self.settings.nodes.join(",")))
        }
        .boxed()
    }
}
