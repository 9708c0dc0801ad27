//! Readiness check: Kafka is up when a broker answers a metadata request.

use std::time::Duration;

use futures::FutureExt;
use futures::future::BoxFuture;
use probes::DependencyCheck;
use rdkafka::consumer::{BaseConsumer, Consumer};
use settings::KafkaSettings;

use crate::{ClientRole, client_config};

/// Checks that the Kafka cluster answers.
#[derive(Debug, Clone)]
pub struct KafkaCheck {
    settings: KafkaSettings,
}

impl KafkaCheck {
    /// A check against the cluster in `settings`.
    pub fn new(settings: KafkaSettings) -> Self {
        Self { settings }
    }
}

impl DependencyCheck for KafkaCheck {
    fn name(&self) -> &str {
        "kafka"
    }

    fn check(&self) -> BoxFuture<'_, Result<(), String>> {
        let settings = self.settings.clone();
        // librdkafka's metadata call blocks; keep it off the async workers.
        tokio::task::spawn_blocking(move || {
            let consumer: BaseConsumer = client_config(&settings, &ClientRole::Admin)
                .create()
                .map_err(|e| e.to_string())?;
            let metadata = consumer
                .fetch_metadata(None, Duration::from_secs(2))
                .map_err(|e| format!("brokers {}: {e}", settings.brokers))?;
            if metadata.brokers().is_empty() {
                return Err("the cluster reports no brokers".to_owned());
            }
            Ok(())
        })
        .map(|joined| joined.unwrap_or_else(|e| Err(e.to_string())))
        .boxed()
    }
}
