//! Reading a partition's committed records from an offset to its current end: how a writer
//! rebuilds state on takeover, and how tests and tools read a topic back.

use std::time::Duration;

use rdkafka::consumer::{Consumer, StreamConsumer};
use rdkafka::error::KafkaError;
use rdkafka::{Message, Offset, TopicPartitionList};
use settings::KafkaSettings;

use crate::{ClientRole, client_config};

/// A record as read back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredRecord {
    pub partition: i32,
    pub offset: i64,
    pub key: Option<Vec<u8>>,
    pub value: Option<Vec<u8>>,
    /// The trace it belongs to (its `traceparent` header).
    pub trace: Option<telemetry::TraceContext>,
}

/// How long a read waits for the transactions open when it starts to be decided. Longer
/// than `transaction.timeout.ms`, after which the broker aborts a dead writer's transaction.
const SETTLE_TIMEOUT: Duration = Duration::from_secs(30);

/// Every committed record of `topic[partition]` from `from` to the end as of the call, and
/// that end offset. Records of aborted transactions are never returned.
///
/// "The end" includes every transaction open at the call, once decided: a read_committed
/// consumer stops at the last stable offset, so a writer killed mid-transaction would
/// otherwise hide every record after its transaction's first one (committed ones of the
/// next owner included) until the broker aborts it, and the read would look complete.
pub async fn read_committed(
    kafka: &KafkaSettings,
    topic: &str,
    partition: i32,
    from: i64,
) -> Result<(Vec<StoredRecord>, i64), KafkaError> {
    let mut config = client_config(
        kafka,
        &ClientRole::Consumer {
            group_id: "reader".into(),
        },
    );
    config.set("enable.partition.eof", "true");
    let consumer: StreamConsumer = config.create()?;
    let high = settled_end(kafka, &consumer, topic, partition).await?;
    let mut records = Vec::new();
    if from >= high {
        return Ok((records, high));
    }
    let mut assignment = TopicPartitionList::new();
    assignment.add_partition_offset(topic, partition, Offset::Offset(from))?;
    consumer.assign(&assignment)?;
    loop {
        match consumer.recv().await {
            Ok(message) => {
                records.push(StoredRecord {
                    partition,
                    offset: message.offset(),
                    key: message.key().map(<[u8]>::to_vec),
                    value: message.payload().map(<[u8]>::to_vec),
                    trace: crate::trace_of(&message),
                });
                if message.offset() + 1 >= high {
                    break;
                }
            }
            // The rest up to `high` is transaction markers or aborted records.
            Err(KafkaError::PartitionEOF(_)) => break,
            Err(error) => return Err(error),
        }
    }
    Ok((records, high))
}

/// Every committed record of every partition of `topic`, partition by partition.
pub async fn read_topic(
    kafka: &KafkaSettings,
    topic: &str,
    partitions: u32,
) -> Result<Vec<StoredRecord>, KafkaError> {
    let mut all = Vec::new();
    for partition in 0..partitions as i32 {
        all.extend(read_committed(kafka, topic, partition, 0).await?.0);
    }
    Ok(all)
}

/// The last stable offset of `topic[partition]` once it has reached the high watermark as
/// of the call: every transaction open then is committed or aborted.
async fn settled_end(
    kafka: &KafkaSettings,
    committed: &StreamConsumer,
    topic: &str,
    partition: i32,
) -> Result<i64, KafkaError> {
    let mut config = client_config(kafka, &ClientRole::Admin);
    config.set("isolation.level", "read_uncommitted");
    let everything: rdkafka::consumer::BaseConsumer = config.create()?;
    let high = end_offset(&everything, topic, partition).await?;
    let started = std::time::Instant::now();
    loop {
        // A read_committed consumer's "latest" offset is the last stable offset.
        let stable = end_offset(committed, topic, partition).await?;
        if stable >= high {
            if started.elapsed() > Duration::from_millis(100) {
                let waited_ms = started.elapsed().as_millis() as u64;
                tracing::info!(
                    topic,
                    partition,
                    waited_ms,
                    "waited for an open transaction"
                );
            }
            return Ok(stable);
        }
        if started.elapsed() > SETTLE_TIMEOUT {
            tracing::warn!(topic, partition, stable, high, "a transaction stayed open");
            return Err(KafkaError::Global(
                rdkafka::types::RDKafkaErrorCode::OperationTimedOut,
            ));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The end of `topic[partition]` (the last stable offset for a read_committed consumer, the
/// high watermark otherwise), retried for a few seconds while the
/// partition has no leader yet, as right after the topic is created.
pub async fn end_offset<C: Consumer<X>, X: rdkafka::consumer::ConsumerContext>(
    consumer: &C,
    topic: &str,
    partition: i32,
) -> Result<i64, KafkaError> {
    let deadline = std::time::Instant::now() + Duration::from_secs(15);
    loop {
        match consumer.fetch_watermarks(topic, partition, Duration::from_secs(10)) {
            Ok((_, high)) => return Ok(high),
            Err(error) if std::time::Instant::now() < deadline => {
                tracing::debug!(%error, topic, partition, "no end offset yet; retrying");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(error) => return Err(error),
        }
    }
}
