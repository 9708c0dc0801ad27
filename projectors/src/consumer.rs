//! The loop every projection runs: consume a topic in a consumer group, in batches per
//! partition, and hand each batch to the projection, which stores it with its position.
//!
//! Positions live in the view's store, never in Kafka: the group only spreads partitions
//! over instances. A newly assigned partition starts wherever the fetcher starts (the
//! earliest offset, since nothing is committed to Kafka) and is moved to the stored
//! position by a seek; the projection itself skips records before its stored position, so
//! a batch read twice (restart, rebalance overlap, stale prefetch) is applied once.

use std::collections::BTreeMap;
use std::future::Future;
use std::time::Duration;

use eventlog::{ClientRole, client_config};
use rdkafka::consumer::{Consumer, StreamConsumer};
use rdkafka::{Message, Offset};
use settings::KafkaSettings;

use crate::assignment::{AssignmentContext, FreshPartitions};
use crate::metrics::ProjectorMetrics;

/// A record as the loop hands it over.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// Where it was read.
    pub topic: std::sync::Arc<str>,
    pub partition: i32,
    pub offset: i64,
    pub key: Option<Vec<u8>>,
    pub value: Option<Vec<u8>>,
    /// The record's timestamp (ms), for lag measurement.
    pub timestamp_ms: Option<i64>,
    /// The trace of the request that caused it, kept on a dead-lettered copy.
    pub trace: Option<telemetry::TraceContext>,
}

/// A view built from one topic, partition by partition.
pub trait Projection: Send + Sync + 'static {
    /// The projection's name (positions, metrics, consumer group).
    fn name(&self) -> &'static str;

    /// Makes the store ready (e.g. migrations); retried until it succeeds.
    fn prepare(&self) -> impl Future<Output = anyhow::Result<()>> + Send;

    /// The next offset to apply on `partition`, as stored with the view.
    fn position(&self, partition: i32) -> impl Future<Output = anyhow::Result<i64>> + Send;

    /// Applies `records` (offset order) and stores `next_offset` as the position, atomically.
    /// Records before the stored position must be skipped. Returns the records applied.
    fn apply(
        &self,
        partition: i32,
        records: Vec<Record>,
        next_offset: i64,
    ) -> impl Future<Output = anyhow::Result<usize>> + Send;
}

/// What `Projection::apply` fails with when the projection moved to another copy of its
/// view whose positions may differ from where the loop reads: nothing of the batch was
/// applied, and the loop moves every partition it holds to the positions stored with the
/// copy before applying anything more.
#[derive(Debug, thiserror::Error)]
#[error("the projection moved to another copy of its view; repositioning every partition")]
pub struct Reposition;

/// How the loop reads.
#[derive(Debug, Clone)]
pub struct LoopSettings {
    /// Topic to project.
    pub topic: String,
    /// Consumer group (before the deployment's prefix).
    pub group: String,
    /// Most records per batch.
    pub batch_max: usize,
}

/// Runs `projection` over `settings.topic` until `shutdown` completes.
pub async fn run<P: Projection>(
    kafka: &KafkaSettings,
    settings: LoopSettings,
    projection: P,
    metrics: ProjectorMetrics,
    shutdown: impl Future<Output = ()> + Send,
) -> anyhow::Result<()> {
    tokio::pin!(shutdown);
    if retry(|| projection.prepare(), &mut shutdown)
        .await
        .is_none()
    {
        return Ok(());
    }
    let fresh = FreshPartitions::default();
    let context = AssignmentContext {
        fresh: fresh.clone(),
        topic: settings.topic.clone(),
    };
    let consumer: StreamConsumer<AssignmentContext> = client_config(
        kafka,
        &ClientRole::Consumer {
            group_id: settings.group.clone(),
        },
    )
    .create_with_context(context)?;
    consumer.subscribe(&[settings.topic.as_str()])?;
    let topic: std::sync::Arc<str> = settings.topic.as_str().into();
    tracing::info!(projection = projection.name(), topic = %settings.topic, "projecting");
    loop {
        let batch = tokio::select! {
            () = &mut shutdown => return Ok(()),
            batch = next_batch(&consumer, &topic, settings.batch_max) => batch,
        };
        for (partition, records) in batch {
            if fresh.take(partition) {
                let Some(stored) = retry(|| projection.position(partition), &mut shutdown).await
                else {
                    return Ok(());
                };
                if records.first().map(|r| r.offset) != Some(stored) {
                    tracing::info!(
                        projection = projection.name(),
                        partition,
                        stored,
                        "resuming at the stored position"
                    );
                    consumer.seek(
                        &settings.topic,
                        partition,
                        Offset::Offset(stored),
                        Duration::from_secs(10),
                    )?;
                    continue;
                }
            }
            let next_offset = records.last().map_or(0, |r| r.offset + 1);
            let count = records.len();
            let times: Vec<i64> = records.iter().filter_map(|r| r.timestamp_ms).collect();
            let attempt = || async {
                match projection
                    .apply(partition, records.clone(), next_offset)
                    .await
                {
                    Ok(applied) => Ok(Some(applied)),
                    Err(error) if error.is::<Reposition>() => Ok(None),
                    Err(error) => Err(error),
                }
            };
            let Some(applied) = retry(attempt, &mut shutdown).await else {
                return Ok(());
            };
            let Some(applied) = applied else {
                // The rest of the batch is dropped: each partition is read again from the
                // position its new copy stored, at once (no new record may come to
                // trigger it).
                tracing::info!(projection = projection.name(), "repositioning");
                let assigned: Vec<i32> = consumer
                    .assignment()?
                    .elements_for_topic(&settings.topic)
                    .iter()
                    .map(|tp| tp.partition())
                    .collect();
                for partition in assigned {
                    let Some(stored) =
                        retry(|| projection.position(partition), &mut shutdown).await
                    else {
                        return Ok(());
                    };
                    let seek = Offset::Offset(stored);
                    if let Err(error) =
                        consumer.seek(&settings.topic, partition, seek, Duration::from_secs(10))
                    {
                        // Not fetching yet: its first batch is moved instead.
                        tracing::info!(partition, %error, "cannot seek yet");
                        fresh.insert_all([partition]);
                    }
                }
                break;
            };
            metrics.batch(
                projection.name(),
                partition,
                count,
                applied,
                next_offset,
                &times,
            );
        }
    }
}

/// The next records, grouped by partition: waits for one, then takes what has already
/// arrived (up to `max`), so a busy topic is written in large transactions and a quiet one
/// without delay.
async fn next_batch(
    consumer: &StreamConsumer<AssignmentContext>,
    topic: &std::sync::Arc<str>,
    max: usize,
) -> BTreeMap<i32, Vec<Record>> {
    let mut batch: BTreeMap<i32, Vec<Record>> = BTreeMap::new();
    let mut taken = 0;
    loop {
        let received = if taken == 0 {
            consumer.recv().await
        } else {
            match tokio::time::timeout(Duration::from_millis(2), consumer.recv()).await {
                Ok(received) => received,
                Err(_) => return batch,
            }
        };
        match received {
            Ok(message) => {
                batch.entry(message.partition()).or_default().push(Record {
                    topic: topic.clone(),
                    partition: message.partition(),
                    offset: message.offset(),
                    key: message.key().map(<[u8]>::to_vec),
                    value: message.payload().map(<[u8]>::to_vec),
                    timestamp_ms: message.timestamp().to_millis(),
                    trace: eventlog::trace_of(&message),
                });
                taken += 1;
                if taken >= max {
                    return batch;
                }
            }
            Err(error) => {
                tracing::warn!(%error, "consuming failed; retrying");
                if taken > 0 {
                    return batch;
                }
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }
    }
}

/// Runs `attempt` until it succeeds, backing off up to 5 s; `None` if shut down meanwhile.
/// A store that is down stops the projection where it is, never skips records.
async fn retry<T, F, Fut>(
    mut attempt: F,
    shutdown: &mut std::pin::Pin<&mut impl Future<Output = ()>>,
) -> Option<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = anyhow::Result<T>>,
{
    let mut backoff = Duration::from_millis(50);
    loop {
        match attempt().await {
            Ok(value) => return Some(value),
            Err(error) => {
                tracing::warn!(
                    error = format!("{error:#}"),
                    ?backoff,
                    "projection write failed; retrying"
                );
            }
        }
        tokio::select! {
            () = shutdown.as_mut() => return None,
            () = tokio::time::sleep(backoff) => {}
        }
        backoff = (backoff * 2).min(Duration::from_secs(5));
    }
}
