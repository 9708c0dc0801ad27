//! One task per owned partition: takes the partition over, then turns the commands the
//! router hands it into one transaction per batch.
//!
//! Partitions run concurrently, so a slow commit on one never delays the others. The task
//! never seeks the consumer itself: it asks the router to, and ignores what the router
//! forwarded before the rewind (older epoch), so a batch read again is never mixed with
//! the commands that followed it the first time.

use std::sync::Arc;
use std::time::{Duration, Instant};

use rdkafka::Offset;
use rdkafka::consumer::{Consumer, StreamConsumer};
use rdkafka::producer::FutureProducer;
use settings::KafkaSettings;
use telemetry::TraceContext;
use tokio::sync::mpsc;

use super::Batching;
use super::kind::Kind;
use super::ownership::{Ownership, OwnershipContext};
use super::sweeper::{SWEEP_EVERY, Sweeper};
use super::wire::{self, Wire};
use super::writer::{BatchOutcome, Command, OffsetSpan, PartitionWriter, SNAPSHOT_EVERY};

/// What every partition task shares.
pub struct Shared<K: Kind> {
    pub kafka: KafkaSettings,
    pub wire: Wire<K>,
    pub consumer: Arc<StreamConsumer<OwnershipContext>>,
    pub ownership: Ownership,
    pub batching: Batching,
    /// Where tasks ask the router to move the consumer's position on their partition.
    pub rewinds: mpsc::UnboundedSender<Rewind>,
    /// Sends the commands the processor issues to itself (a plain producer: they are
    /// ordinary commands).
    pub sweeper_producer: FutureProducer,
    /// What the processor reports on `/metrics`.
    pub metrics: super::ProcessorMetrics,
}

/// A command record as the router forwarded it.
#[derive(Debug)]
pub struct Inbound {
    /// The rewind generation it was read in; records of an older one are stale.
    pub epoch: u64,
    pub offset: i64,
    pub payload: Option<Vec<u8>>,
    /// The trace the command belongs to, carried on to what it causes.
    pub trace: Option<TraceContext>,
    /// The ticket of the request that sent it, carried on to its reply.
    pub reply_ticket: Option<u64>,
}

/// A request to read `partition` again from `to`.
#[derive(Debug, Clone, Copy)]
pub struct Rewind {
    pub partition: i32,
    /// The asking task, so a request from a task that has since been replaced is ignored.
    pub task_id: u64,
    pub to: Offset,
}

/// How a partition task was started.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Start {
    /// First time this instance owns the partition: the consumer starts at the committed
    /// offset by itself.
    Fresh,
    /// An earlier task of this instance had it: the consumer may be past what that task
    /// committed, so read again from the committed offset.
    AfterEarlierTask,
}

/// Runs the writer of `partition` until the inbox closes, the partition is revoked, or the
/// producer is fenced or broken (the router then starts a new task if it still owns it).
pub async fn run_partition<K: Kind>(
    shared: Arc<Shared<K>>,
    partition: i32,
    task_id: u64,
    mut inbox: mpsc::Receiver<Inbound>,
    start: Start,
) {
    let started = Instant::now();
    let opened = PartitionWriter::<K>::open(
        &shared.kafka,
        &shared.wire,
        partition,
        shared.metrics.clone(),
    )
    .await;
    let mut writer = match opened {
        Ok((writer, report)) => {
            tracing::info!(
                partition,
                ?report,
                took_ms = started.elapsed().as_millis() as u64,
                "partition loaded"
            );
            writer
        }
        Err(error) => {
            tracing::error!(partition, %error, "cannot take the partition over; retrying");
            tokio::time::sleep(Duration::from_secs(1)).await;
            return;
        }
    };
    let mut task = PartitionTask {
        shared: Arc::clone(&shared),
        partition,
        task_id,
        epoch: 0,
    };
    if start == Start::AfterEarlierTask && !task.rewind_to_committed().await {
        return;
    }
    let mut sweeper = Sweeper::new(shared.sweeper_producer.clone());
    loop {
        let first = tokio::select! {
            received = inbox.recv() => match received {
                Some(first) => first,
                None => break,
            },
            () = tokio::time::sleep(SNAPSHOT_EVERY), if writer.snapshots_pending() => {
                match writer.flush_snapshots(&shared.wire).await {
                    BatchOutcome::Lost(error) => {
                        tracing::error!(partition, %error, "partition lost");
                        break;
                    }
                    BatchOutcome::Retry(error) => {
                        tracing::warn!(partition, %error, "snapshot flush aborted, will retry");
                    }
                    BatchOutcome::Committed { .. } => {}
                }
                continue;
            }
            () = tokio::time::sleep(SWEEP_EVERY) => {
                sweeper.sweep(&shared.wire, writer.ledger(), wire::now()).await;
                continue;
            }
        };
        let batch = task.collect(first, &mut inbox).await;
        if !shared.ownership.owns(partition) {
            break; // the next owner reads these again from the committed offset
        }
        let Some((span, decoded)) = task.decodable_prefix(batch).await else {
            continue;
        };
        let outcome = writer
            .process(&shared.wire, &shared.consumer, span, decoded, wire::now())
            .await;
        match outcome {
            BatchOutcome::Committed { commands, events } => {
                tracing::debug!(partition, commands, events, "batch committed");
            }
            BatchOutcome::Retry(error) => {
                tracing::warn!(partition, %error, "batch aborted, will retry");
                shared.metrics.aborted();
                task.rewind(Offset::Offset(span.first));
            }
            BatchOutcome::Lost(error) => {
                tracing::error!(partition, %error, "partition lost");
                break;
            }
        }
        sweeper
            .sweep(&shared.wire, writer.ledger(), wire::now())
            .await;
    }
    shared.metrics.released(partition);
}

/// The task's view of its partition's record stream.
struct PartitionTask<K: Kind> {
    shared: Arc<Shared<K>>,
    partition: i32,
    task_id: u64,
    /// Records forwarded before the latest rewind carry an older epoch.
    epoch: u64,
}

impl<K: Kind> PartitionTask<K> {
    /// A batch starting with `first`: what is already queued, then what arrives within the
    /// linger time, up to the batch size; stale records dropped.
    async fn collect(&self, first: Inbound, inbox: &mut mpsc::Receiver<Inbound>) -> Vec<Inbound> {
        let Batching {
            max_commands,
            linger,
        } = self.shared.batching;
        let deadline = tokio::time::Instant::now() + linger;
        let mut batch = vec![first];
        while batch.len() < max_commands {
            match inbox.try_recv() {
                Ok(next) => batch.push(next),
                Err(_) => match tokio::time::timeout_at(deadline, inbox.recv()).await {
                    Ok(Some(next)) => batch.push(next),
                    Ok(None) | Err(_) => break,
                },
            }
        }
        batch.retain(|record| record.epoch >= self.epoch);
        batch
    }

    /// Asks the router to read the partition again from `to`; later records are stale.
    fn rewind(&mut self, to: Offset) {
        self.epoch += 1;
        let rewind = Rewind {
            partition: self.partition,
            task_id: self.task_id,
            to,
        };
        if self.shared.rewinds.send(rewind).is_err() {
            tracing::warn!(partition = self.partition, "router gone; cannot rewind");
        }
    }

    /// Rewinds to the group's committed offset (stable now that this task's producer has
    /// fenced any earlier writer). False if it cannot be read.
    async fn rewind_to_committed(&mut self) -> bool {
        let consumer = Arc::clone(&self.shared.consumer);
        let topic = self.shared.wire.commands_topic();
        let partition = self.partition;
        let committed = tokio::task::spawn_blocking(move || {
            let mut wanted = rdkafka::TopicPartitionList::new();
            wanted.add_partition(&topic, partition);
            consumer.committed_offsets(wanted, Duration::from_secs(10))
        })
        .await;
        let offset = match committed {
            Ok(Ok(list)) => list
                .elements()
                .first()
                .map(rdkafka::topic_partition_list::TopicPartitionListElem::offset),
            Ok(Err(error)) => {
                tracing::error!(partition, %error, "cannot read the committed offset");
                None
            }
            Err(error) => {
                tracing::error!(partition, %error, "committed offset lookup panicked");
                None
            }
        };
        match offset {
            Some(Offset::Offset(at)) => self.rewind(Offset::Offset(at)),
            Some(_) => self.rewind(Offset::Beginning),
            None => return false,
        }
        true
    }

    /// The batch's commands up to the first one that cannot be decoded *yet* (the registry
    /// is unreachable): that one and the rest are read again. Poison records (bytes no
    /// schema can read) are skipped and counted, never retried forever.
    async fn decodable_prefix(
        &mut self,
        batch: Vec<Inbound>,
    ) -> Option<(OffsetSpan, Vec<Command<K>>)> {
        let first = batch.first()?.offset;
        let mut last = None;
        let mut decoded = Vec::with_capacity(batch.len());
        for record in batch {
            match self.shared.wire.receive(record.payload.as_deref()).await {
                Ok(envelope) => decoded.push(Command {
                    offset: record.offset,
                    envelope,
                    trace: record.trace.unwrap_or_else(TraceContext::new_root),
                    reply_ticket: record.reply_ticket,
                }),
                Err(error) if error.is_poison() => {
                    tracing::error!(partition = self.partition, offset = record.offset, %error, reason = error.reason(), "skipping an undecodable command");
                }
                Err(error) => {
                    tracing::warn!(partition = self.partition, offset = record.offset, %error, "cannot decode a command yet; retrying");
                    self.rewind(Offset::Offset(record.offset));
                    // Give the registry a moment rather than spin on the same record.
                    tokio::time::sleep(Duration::from_millis(200)).await;
                    break;
                }
            }
            last = Some(record.offset);
        }
        last.map(|last| (OffsetSpan { first, last }, decoded))
    }
}
