//! Postgres, which holds the quota views.

use std::time::Duration;

use futures::FutureExt;
use futures::future::BoxFuture;
use probes::DependencyCheck;
use settings::PostgresSettings;
use sqlx::PgPool;
use sqlx::postgres::PgPoolOptions;

use crate::ConnectError;

/// A connection pool to the database in `settings`; fails if it cannot connect now.
pub async fn connect_postgres(settings: &PostgresSettings) -> Result<PgPool, ConnectError> {
    PgPoolOptions::new()
        .max_connections(settings.max_connections)
        .acquire_timeout(Duration::from_secs(5))
        .connect(&settings.url)
        .await
        .map_err(|source| ConnectError::Postgres {
            url: redact(&settings.url),
            source,
        })
}

/// The URL without its password, fit for logs and error messages.
fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let credentials = &url[scheme + 3..at];
            let user = credentials.split(':').next().unwrap_or_default();
            format!("{}{user}:***{}", &url[..scheme + 3], &url[at..])
        }
        _ => url.to_owned(),
    }
}

/// Checks that Postgres answers a query.
#[derive(Debug, Clone)]
pub struct PostgresCheck {
    pool: PgPool,
}

impl PostgresCheck {
    /// A check through an existing pool.
    pub fn new(pool: PgPool) -> Self {
        Self { pool }
    }

    /// A check with its own small pool that connects on first use, so a service can start
    /// (and report itself unready) while Postgres is down.
    pub fn lazy(settings: &PostgresSettings) -> Result<Self, ConnectError> {
        let pool = PgPoolOptions::new()
            .max_connections(1)
            .acquire_timeout(Duration::from_secs(2))
            .connect_lazy(&settings.url)
            .map_err(|source| ConnectError::Postgres {
                url: redact(&settings.url),
                source,
            })?;
        Ok(Self { pool })
    }
}

impl DependencyCheck for PostgresCheck {
    fn name(&self) -> &str {
        "postgres"
    }

    fn check(&self) -> BoxFuture<'_, Result<(), String>> {
        async move {
            sqlx::query("SELECT 1")
                .execute(&self.pool)
                .await
                .map(|_| ())
                .map_err(|e| e.to_string())
        }
        .boxed()
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn passwords_never_reach_error_messages() {
        assert_eq!(
            super::redact("postgres://leaky:secret@db:5432/leaky"),
            "postgres://leaky:***@db:5432/leaky"
        );
    }
}
