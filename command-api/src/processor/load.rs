//! Rebuilding a partition's aggregates when this instance takes the partition over: the
//! latest snapshot of each from the compacted state topic, then the events written since
//! the last snapshot flush, then the records of the commands those events came from (for
//! their payloads).
//!
//! Cost is bounded by the number of aggregates on the partition plus the events of one
//! flush interval, not by the length of history.

use std::collections::{HashMap, HashSet};

use domain::{CommandId, Timestamp};
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
    /// The first command record the snapshots had not decided: the memory of decided
    /// commands is complete up to here, and the events after the snapshots cover the rest.
    pub commands_from: i64,
    /// Commands known only from their events whose payload was found in their record.
    pub payloads_recovered: usize,
}

/// Reads the aggregates of `partition` from the state topic and the events written after
/// it, at `now` (which starts the retry window of the commands known from those events).
pub async fn load_partition<K: Kind>(
    kafka: &KafkaSettings,
    wire: &Wire<K>,
    partition: i32,
    now: Timestamp,
) -> anyhow::Result<(PartitionLedger<K>, LoadReport)> {
    let mut slots: HashMap<K::Key, Slot<K::Aggregate>> = HashMap::new();
    let mut events_from = 0_i64;
    // Where the newest snapshot flush stopped reading commands; snapshots written before
    // they said so leave it unknown, and then no payload is looked up.
    let mut commands_from: Option<i64> = None;
    let state_topic = K::state_topic(&wire.topics);
    let (snapshots, _) = read_committed(kafka, &state_topic, partition, 0).await?;
    for record in &snapshots {
        // Compacted topic read in order: a later snapshot replaces an earlier one.
        let snapshot = wire
            .decode_snapshot(record.value.as_deref().unwrap_or_default())
            .await?;
        events_from = events_from.max(snapshot.next_event_offset);
        if let Some(found) = snapshot.commands_from {
            commands_from = Some(commands_from.map_or(found, |so_far| so_far.max(found)));
        }
        slots.insert(snapshot.key, snapshot.slot);
    }

    if snapshots.is_empty() {
        commands_from = Some(0); // a new partition: every command is after the snapshots
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
        ledger.apply_logged(&key, command_id, &event, token.to_string(), now);
    }
    let payloads_recovered = match commands_from {
        Some(from) => recover_payloads(kafka, wire, partition, from, &mut ledger).await?,
        None => 0,
    };
    Ok((
        ledger,
        LoadReport {
            snapshots: snapshots.len(),
            events_replayed: events.len(),
            events_end,
            commands_from: commands_from.unwrap_or(0),
            payloads_recovered,
        },
    ))
}

/// The commands decided after the last snapshot are known from their events, which do not
/// carry the command: reads their records (from `from`, where the snapshots stop) so a
/// retry with another payload is a conflict, as it would have been without the takeover.
async fn recover_payloads<K: Kind>(
    kafka: &KafkaSettings,
    wire: &Wire<K>,
    partition: i32,
    from: i64,
    ledger: &mut PartitionLedger<K>,
) -> anyhow::Result<usize> {
    let mut wanted: HashSet<(K::Key, CommandId)> =
        ledger.known_without_payload().into_iter().collect();
    if wanted.is_empty() {
        return Ok(0);
    }
    let (commands, _) = read_committed(kafka, &wire.commands_topic(), partition, from).await?;
    let mut recovered = 0;
    for record in &commands {
        let Ok(envelope) = wire.receive(record.value.as_deref()).await else {
            continue; // poison was skipped when it was decided, and is skipped here
        };
        let id = (K::key(&envelope).clone(), K::command_id(&envelope));
        if wanted.remove(&id) && ledger.recover_payload(&envelope) {
            recovered += 1;
        }
        if wanted.is_empty() {
            break;
        }
    }
    Ok(recovered)
}
