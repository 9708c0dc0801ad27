//! The dead-letter topic: records a projection cannot decode are copied there, untouched,
//! with where they came from and why in headers, and the projection goes on.
//!
//! The copy is produced (and acknowledged) before the batch's position is stored, so a
//! record is never lost; a crash in between can copy it twice (at least once).

use std::future::Future;
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
    /// Decodes `record`'s value with `decode`. A record without a value, or one that can
    /// never decode (poison), is set aside here and gives `None`; any other failure (the
    /// registry is down: the record is probably fine) is an error, so the batch is retried.
    pub async fn decode<'r, T, Decoded>(
        &self,
        projection: &str,
        record: &'r Record,
        decode: impl FnOnce(&'r [u8]) -> Decoded,
    ) -> anyhow::Result<Option<T>>
    where
        Decoded: Future<Output = Result<T, schemas::DecodeError>>,
    {
        let Some(value) = record.value.as_deref() else {
            self.send(projection, record, "no_value", "the record has no value")
                .await?;
            return Ok(None);
        };
        match decode(value).await {
            Ok(decoded) => Ok(Some(decoded)),
            Err(error) if error.is_poison() => {
                self.send(projection, record, error.reason(), &error.to_string())
                    .await?;
                Ok(None)
            }
            Err(error) => Err(error.into()),
        }
    }

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
        // The copy stays in the trace of the request that caused the record.
        let headers = match &record.trace {
            Some(trace) => eventlog::trace_headers(trace),
            None => OwnedHeaders::new(),
        };
        let headers = headers
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
