//! The single writer per partition: turns commands into events inside Kafka transactions.
//!
//! One consumer in the `pool-processor` group reads the commands topic; for each partition
//! the group gives it, a [`writer::PartitionWriter`] fences the previous owner, rebuilds the
//! pools from their snapshots, and then writes one transaction per batch. Killing an
//! instance moves its partitions to the others, which resume from the last commit.

pub mod ledger;
mod load;
mod ownership;
mod reply;
mod sweeper;
mod wire;
mod writer;

use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::time::{Duration, Instant};

use eventlog::{ClientRole, Topics, client_config, ensure_topics};
use rdkafka::Message;
use rdkafka::consumer::{Consumer, StreamConsumer};
use settings::{KafkaSettings, RegistrySettings};

pub use load::LoadReport;
use ownership::{Ownership, OwnershipContext};
use wire::PoolWire;
pub use wire::now;
use writer::{BatchOutcome, Command, OffsetSpan, PartitionWriter};

/// How long the loop waits for a command before looking at its assignment again.
const IDLE_POLL: Duration = Duration::from_millis(100);

/// How commands are grouped into transactions.
#[derive(Debug, Clone, Copy)]
pub struct Batching {
    /// At most this many commands per transaction.
    pub max_commands: usize,
    /// Wait at most this long for a batch to fill once its first command arrived.
    pub linger: Duration,
}

impl Default for Batching {
    fn default() -> Self {
        Self {
            max_commands: 500,
            linger: Duration::from_millis(2),
        }
    }
}

/// Rebuilds `partition` exactly as a writer taking it over does (without fencing anyone):
/// for tools and for tests that check what a restart would load.
pub async fn rebuild_partition(
    kafka: &KafkaSettings,
    registry: &RegistrySettings,
    partition: i32,
) -> anyhow::Result<(ledger::PartitionLedger, LoadReport)> {
    let wire = PoolWire::new(Topics::new(kafka), registry, kafka.partitions)?;
    load::load_partition(kafka, &wire, partition).await
}

/// Runs the processor until `shutdown` completes.
pub async fn run(
    kafka: KafkaSettings,
    registry: RegistrySettings,
    batching: Batching,
    shutdown: impl Future<Output = ()>,
) -> anyhow::Result<()> {
    let topics = Topics::new(&kafka);
    ensure_topics(&kafka, &topics.pool_topic_specs(kafka.partitions)).await?;
    let wire = PoolWire::new(topics.clone(), &registry, kafka.partitions)?;

    let ownership = Ownership::default();
    let context = OwnershipContext {
        ownership: ownership.clone(),
        commands_topic: topics.pool_commands(),
    };
    let consumer: StreamConsumer<OwnershipContext> = client_config(
        &kafka,
        &ClientRole::Consumer {
            group_id: "pool-processor".into(),
        },
    )
    .create_with_context(context)?;
    consumer.subscribe(&[&topics.pool_commands()])?;

    let mut writers: HashMap<i32, PartitionWriter> = HashMap::new();
    let mut sweeper = sweeper::Sweeper::new(client_config(&kafka, &ClientRole::Producer).create()?);
    tokio::pin!(shutdown);
    loop {
        let batch = tokio::select! {
            () = &mut shutdown => break,
            batch = next_batch(&consumer, &wire, batching) => batch?,
        };
        // Partitions revoked while polling: their writers must never write again.
        writers.retain(|partition, _| ownership.owns(*partition));
        // Take over newly assigned partitions at once, before any of their commands arrive:
        // fencing aborts the previous owner's open transaction, which otherwise keeps the
        // partition's committed offset unstable and its commands undeliverable.
        for partition in ownership.owned() {
            if let std::collections::hash_map::Entry::Vacant(slot) = writers.entry(partition) {
                let started = Instant::now();
                let (writer, report) = PartitionWriter::open(&kafka, &wire, partition).await?;
                tracing::info!(
                    partition,
                    ?report,
                    took_ms = started.elapsed().as_millis() as u64,
                    "partition loaded"
                );
                slot.insert(writer);
            }
        }
        for (partition, commands) in batch {
            if !ownership.owns(partition) {
                continue; // the next owner reads these again from the committed offset
            }
            let Some(writer) = writers.get_mut(&partition) else {
                continue;
            };
            let Some((span, decoded)) = decodable_prefix(&consumer, &wire, partition, commands)
            else {
                continue;
            };
            match writer
                .process(&wire, &consumer, span, decoded, wire::now())
                .await
            {
                BatchOutcome::Committed { commands, events } => {
                    tracing::debug!(partition, commands, events, "batch committed");
                }
                BatchOutcome::Retry(error) => {
                    tracing::warn!(partition, %error, "batch aborted, will retry")
                }
                BatchOutcome::Lost(error) => {
                    tracing::error!(partition, %error, "partition lost");
                    writers.remove(&partition);
                }
            }
        }
        sweeper
            .sweep(
                &wire,
                writers.values().map(PartitionWriter::ledger),
                wire::now(),
            )
            .await;
    }
    tracing::info!(owned = ?ownership.owned(), "processor stopping");
    Ok(())
}

/// The next batch: waits for one command, then takes what arrives within the linger time,
/// grouped by partition in offset order.
async fn next_batch(
    consumer: &StreamConsumer<OwnershipContext>,
    wire: &PoolWire,
    batching: Batching,
) -> anyhow::Result<BTreeMap<i32, Vec<wire::ReceivedCommand>>> {
    let mut batch: BTreeMap<i32, Vec<wire::ReceivedCommand>> = BTreeMap::new();
    // Come back empty-handed now and then, so newly assigned partitions are taken over
    // even while no command arrives.
    let Ok(first) = tokio::time::timeout(IDLE_POLL, consumer.recv()).await else {
        return Ok(batch);
    };
    let first = first?;
    let deadline = tokio::time::Instant::now() + batching.linger;
    let mut received = vec![(
        first.partition(),
        first.offset(),
        first.payload().map(<[u8]>::to_vec),
    )];
    drop(first);
    while received.len() < batching.max_commands {
        match tokio::time::timeout_at(deadline, consumer.recv()).await {
            Ok(message) => {
                let message = message?;
                received.push((
                    message.partition(),
                    message.offset(),
                    message.payload().map(<[u8]>::to_vec),
                ));
            }
            Err(_) => break,
        }
    }
    for (partition, offset, payload) in received {
        let command = wire.receive(offset, payload.as_deref()).await;
        batch.entry(partition).or_default().push(command);
    }
    Ok(batch)
}

/// The commands of a partition's batch up to the first one that cannot be decoded *yet*
/// (the registry is unreachable): those wait, the consumer is rewound to them. Poison
/// records (bytes no schema can read) are skipped and counted, never retried forever.
fn decodable_prefix(
    consumer: &StreamConsumer<OwnershipContext>,
    wire: &PoolWire,
    partition: i32,
    received: Vec<wire::ReceivedCommand>,
) -> Option<(OffsetSpan, Vec<Command>)> {
    let first = received.first()?.offset;
    let mut last = None;
    let mut decoded = Vec::new();
    for command in received {
        match command.envelope {
            Ok(envelope) => decoded.push(Command {
                offset: command.offset,
                envelope,
            }),
            Err(error) if error.is_poison() => {
                tracing::error!(partition, offset = command.offset, %error, reason = error.reason(), "skipping an undecodable command");
            }
            Err(error) => {
                tracing::warn!(partition, offset = command.offset, %error, "cannot decode a command yet; retrying");
                let topic = wire.topics.pool_commands();
                if let Err(seek) = consumer.seek(
                    &topic,
                    partition,
                    rdkafka::Offset::Offset(command.offset),
                    Duration::from_secs(10),
                ) {
                    tracing::error!(%seek, "cannot rewind to the undecoded command");
                }
                break;
            }
        }
        last = Some(command.offset);
    }
    last.map(|last| (OffsetSpan { first, last }, decoded))
}
