//! The dead-letter topic: records a projection cannot decode are copied there, untouched,
//! with where they came from and why in headers, and the projection goes on.
//!
//! The copy is produced (and acknowledged) before the batch's position is stored, so a
//! record is never lost; a crash in between can copy it twice (at least once).

use std::sync::Arc;
use std::time::Duration;

use eventlog::{ClientRole, TopicSpec, client_config};
use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::{FutureProducer, FutureRecord};
use settings::KafkaSettings;

use crate::consumer::Record;
use crate::metrics::ProjectorMetrics;

const DAY_MS: i64 = 24 * 60 * 60 * 1000;

/// The dead-letter topic of a deployment (`<prefix>projectors.dead-letters`).
pub fn dead_letter_topic(kafka: &KafkaSettings) -> TopicSpec {
    TopicSpec {
        name: format!("{}projectors.dead-letters", kafka.topic_prefix),
        partitions: 1,
        config: vec![
            ("cleanup.policy", "delete".into()),
            ("retention.ms", (30 * DAY_MS).to_string()),
        ],
    }
}

/// Where the projections set aside what they cannot read.
#[derive(Clone)]
pub struct DeadLetters {
    producer: FutureProducer,
    topic: Arc<str>,
    metrics: ProjectorMetrics,
}

impl std::fmt::Debug for DeadLetters {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DeadLetters")
            .field("topic", &self.topic)
            .finish_non_exhaustive()
    }
}

impl DeadLetters {
    /// A dead-letter producer for the deployment in `kafka`.
    pub fn new(kafka: &KafkaSettings, metrics: ProjectorMetrics) -> anyhow::Result<Self> {
        Ok(Self {
            producer: client_config(kafka, &ClientRole::Producer).create()?,
            topic: dead_letter_topic(kafka).name.into(),
            metrics,
        })
    }

    /// Copies `record` to the dead-letter topic with `reason` (a short label) and `detail`.
    pub async fn send(
        &self,
        projection: &str,
        record: &Record,
        reason: &str,
        detail: &str,
    ) -> anyhow::Result<()> {
        tracing::warn!(
            projection,
            topic = %record.topic,
            partition = record.partition,
            offset = record.offset,
            reason,
            detail,
            "undecodable record sent to the dead-letter topic"
        );
        let partition = record.partition.to_string();
        let offset = record.offset.to_string();
        let headers = OwnedHeaders::new()
            .insert(header("dlq.projection", projection))
            .insert(header("dlq.reason", reason))
            .insert(header("dlq.detail", detail))
            .insert(header("dlq.topic", &record.topic))
            .insert(header("dlq.partition", &partition))
            .insert(header("dlq.offset", &offset));
        let mut copy: FutureRecord<'_, [u8], [u8]> = FutureRecord::to(&self.topic).headers(headers);
        if let Some(key) = &record.key {
            copy = copy.key(key.as_slice());
        }
        if let Some(value) = &record.value {
            copy = copy.payload(value.as_slice());
        }
        self.producer
            .send(copy, Duration::from_secs(10))
            .await
            .map_err(|(error, _)| error)?;
        self.metrics.undecodable(projection);
        Ok(())
    }
}

fn header<'a>(key: &'a str, value: &'a str) -> Header<'a, &'a str> {
    Header {
        key,
        value: Some(value),
    }
}
