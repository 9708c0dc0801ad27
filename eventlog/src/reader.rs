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

/// Every committed record of `topic[partition]` from `from` to the end as of the call, and
/// that end offset. Records of aborted transactions are never returned.
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
    let high = end_offset(&consumer, topic, partition).await?;
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
            // End of what is committed (the last-stable offset may sit before `high` while
            // another writer's transaction is open).
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

/// The end (high watermark) of `topic[partition]`, retried for a few seconds while the
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
