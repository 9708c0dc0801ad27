//! Redis, which holds the bucket state the gateway pre-checks.

use futures::FutureExt;
use futures::future::BoxFuture;
use probes::DependencyCheck;
use redis::aio::ConnectionManager;
use settings::RedisSettings;

use crate::ConnectError;

/// A reconnecting connection to the Redis in `settings`; fails if it cannot connect now.
pub async fn connect_redis(settings: &RedisSettings) -> Result<ConnectionManager, ConnectError> {
    let error = |source| ConnectError::Redis {
        url: settings.url.clone(),
        source,
    };
    let client = redis::Client::open(settings.url.as_str()).map_err(error)?;
    ConnectionManager::new(client).await.map_err(error)
}

/// Checks that Redis answers PING.
#[derive(Debug, Clone)]
pub struct RedisCheck {
    client: redis::Client,
}

impl RedisCheck {
    /// A check against the Redis in `settings` (opens a connection per check, so it also
    /// notices a Redis that came back after a restart).
    pub fn new(settings: &RedisSettings) -> Result<Self, ConnectError> {
        let client =
            redis::Client::open(settings.url.as_str()).map_err(|source| ConnectError::Redis {
                url: settings.url.clone(),
                source,
            })?;
        Ok(Self { client })
    }
}

impl DependencyCheck for RedisCheck {
    fn name(&self) -> &str {
        "redis"
    }

    fn check(&self) -> BoxFuture<'_, Result<(), String>> {
        async move {
            let mut connection = self
                .client
                .get_multiplexed_async_connection()
                .await
                .map_err(|e| e.to_string())?;
            redis::cmd("PING")
                .query_async::<String>(&mut connection)
                .await
                .map(|_| ())
                .map_err(|e| e.to_string())
        }
        .boxed()
    }
}
