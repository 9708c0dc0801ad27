//! Rebuilding a partition's aggregates when this instance takes the partition over: the
//! latest snapshot of each from the compacted state topic, then the events written since
//! the last snapshot flush.
//!
//! Cost is bounded by the number of aggregates on the partition plus the events of one
//! flush interval, not by the length of history.

use std::collections::HashMap;

use eventlog::read_committed;
use schemas::ConsistencyToken;
use settings::KafkaSettings;

use super::kind::Kind;
use super::ledger::{PartitionLedger, Slot};
use super::wire::Wire;

/// How a partition was rebuilt, for logs and the restart-time test.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LoadReport {
    pub snapshots: usize,
    pub events_replayed: usize,
    /// Next offset of the events partition: where this writer's events will start.
    pub events_end: i64,
}

/// Reads the aggregates of `partition` from the state topic and the events written after it.
pub async fn load_partition<K: Kind>(
    kafka: &KafkaSettings,
    wire: &Wire<K>,
    partition: i32,
) -> anyhow::Result<(PartitionLedger<K>, LoadReport)> {
    let mut slots: HashMap<K::Key, Slot<K::Aggregate>> = HashMap::new();
    let mut events_from = 0_i64;
    let state_topic = K::state_topic(&wire.topics);
    let (snapshots, _) = read_committed(kafka, &state_topic, partition, 0).await?;
    for record in &snapshots {
        // Compacted topic read in order: a later snapshot replaces an earlier one.
        let snapshot = wire
            .decode_snapshot(record.value.as_deref().unwrap_or_default())
            .await?;
        events_from = events_from.max(snapshot.next_event_offset);
        slots.insert(snapshot.key, snapshot.slot);
    }

    let mut ledger = PartitionLedger::from_slots(slots);
    let events_topic = K::events_topic(&wire.topics);
    let (events, events_end) = read_committed(kafka, &events_topic, partition, events_from).await?;
    for record in &events {
        let (key, command_id, event) = wire
            .decode_event(record.value.as_deref().unwrap_or_default())
            .await?;
        let token = ConsistencyToken {
            partition,
            offset: record.offset,
        };
        ledger.apply_logged(&key, command_id, &event, token.to_string());
    }
    Ok((
        ledger,
        LoadReport {
            snapshots: snapshots.len(),
            events_replayed: events.len(),
            events_end,
        },
    ))
}
