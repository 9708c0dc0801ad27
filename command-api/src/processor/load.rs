//! Rebuilding a partition's pools when this instance takes the partition over: the latest
//! snapshot of each pool from the compacted state topic, then the events written since the
//! last snapshot flush.
//!
//! Cost is bounded by the number of pools on the partition plus the events of one flush
//! interval, not by the length of history.

use std::collections::HashMap;

use domain::PoolId;
use eventlog::read_committed;
use schemas::ConsistencyToken;
use settings::KafkaSettings;

use super::ledger::{PartitionLedger, PoolSlot};
use super::wire::PoolWire;

/// How a partition was rebuilt, for logs and the restart-time test.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LoadReport {
    pub snapshots: usize,
    pub events_replayed: usize,
    /// Next offset of the events partition: where this writer's events will start.
    pub events_end: i64,
}

/// Reads the pools of `partition` from the state topic and the events written after it.
pub async fn load_partition(
    kafka: &KafkaSettings,
    wire: &PoolWire,
    partition: i32,
) -> anyhow::Result<(PartitionLedger, LoadReport)> {
    let mut slots: HashMap<PoolId, PoolSlot> = HashMap::new();
    let mut events_from = 0_i64;
    let (snapshots, _) = read_committed(kafka, &wire.topics.pool_state(), partition, 0).await?;
    for record in &snapshots {
        // Compacted topic read in order: a later snapshot of a pool replaces an earlier one.
        let snapshot = wire
            .decode_snapshot(record.value.as_deref().unwrap_or_default())
            .await?;
        events_from = events_from.max(snapshot.next_event_offset);
        slots.insert(snapshot.pool_id, snapshot.slot);
    }

    let mut ledger = PartitionLedger::from_slots(slots);
    let (events, events_end) =
        read_committed(kafka, &wire.topics.pool_events(), partition, events_from).await?;
    for record in &events {
        let event = wire
            .decode_event(record.value.as_deref().unwrap_or_default())
            .await?;
        let token = ConsistencyToken {
            partition,
            offset: record.offset,
        };
        ledger.apply_logged(
            &event.pool_id,
            event.command_id,
            &event.event,
            token.to_string(),
        );
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
