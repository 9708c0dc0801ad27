//! The single writer of one partition: one Kafka transaction per batch of commands.
//!
//! Per batch: decide every command against the in-memory ledger, then in one transaction
//! write the events, the rejections worth recording, the replies, and the consumed command
//! offsets — and, at most every [`SNAPSHOT_EVERY`], a snapshot of every pool changed since
//! the last one. Either all of it becomes visible or none does; on an abortable error the
//! ledger is put back and the batch is read again.
//!
//! Snapshotting every batch would rewrite a hot pool (with its memory of recent commands)
//! hundreds of times a second; flushing all changed pools together keeps the rule a takeover
//! relies on: every event before the newest snapshot's offset is inside the snapshots.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use domain::{PoolId, Timestamp};
use eventlog::{ClientRole, TransactionError, Transactions, client_config};
use rdkafka::consumer::{Consumer, StreamConsumer};
use rdkafka::error::KafkaError;
use rdkafka::{Offset, TopicPartitionList};
use schemas::PoolCommandEnvelope;
use settings::KafkaSettings;

use super::ledger::{Decision, PartitionLedger, Undo};
use super::load::{LoadReport, load_partition};
use super::ownership::OwnershipContext;
use super::records::BatchRecords;
use super::wire::PoolWire;

/// How often the pools changed since the last snapshot are snapshotted: what a takeover
/// may have to replay is the events of one such interval.
pub const SNAPSHOT_EVERY: Duration = Duration::from_millis(250);

/// Owns partition `partition`: its transactional producer and its pools.
pub struct PartitionWriter {
    partition: i32,
    transactions: Transactions,
    ledger: PartitionLedger,
    /// Offset after the last event this partition's writers committed: where a snapshot
    /// says replay would resume.
    events_end: i64,
    /// Pools changed since their last committed snapshot.
    unsnapshotted: BTreeSet<PoolId>,
    /// When the last snapshot flush committed.
    last_flush: Instant,
}

impl std::fmt::Debug for PartitionWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PartitionWriter")
            .field("partition", &self.partition)
            .finish_non_exhaustive()
    }
}

/// What became of a batch.
#[derive(Debug)]
pub enum BatchOutcome {
    Committed {
        commands: usize,
        events: usize,
    },
    /// Aborted and put back: the batch must be read again from its first command.
    Retry(TransactionError),
    /// The producer is fenced or broken: this instance must give the partition up.
    Lost(TransactionError),
}

impl PartitionWriter {
    /// Takes the partition over: registering `<prefix>token-pool-p<partition>` fences any
    /// previous writer and aborts its open transaction, so the state read next is final.
    pub async fn open(
        kafka: &KafkaSettings,
        wire: &PoolWire,
        partition: i32,
    ) -> anyhow::Result<(Self, LoadReport)> {
        let role = ClientRole::TransactionalProducer {
            transactional_id: format!("token-pool-p{partition}"),
        };
        let transactions = Transactions::open(client_config(kafka, &role)).await?;
        tracing::info!(partition, "fenced the previous writer");
        let (ledger, report) = load_partition(kafka, wire, partition).await?;
        Ok((
            Self {
                partition,
                transactions,
                ledger,
                events_end: report.events_end,
                unsnapshotted: BTreeSet::new(),
                // Flush with the first batch: the snapshot then marks where this writer began.
                last_flush: Instant::now() - SNAPSHOT_EVERY,
            },
            report,
        ))
    }

    /// The pools of this partition.
    pub fn ledger(&self) -> &PartitionLedger {
        &self.ledger
    }

    /// Decides and writes one batch of decoded commands read from this partition, in
    /// offset order.
    pub async fn process(
        &mut self,
        wire: &PoolWire,
        consumer: &StreamConsumer<OwnershipContext>,
        span: OffsetSpan,
        batch: Vec<Command>,
        now: Timestamp,
    ) -> BatchOutcome {
        let mut undo = Undo::default();
        let decisions: Vec<Decision> = batch
            .iter()
            .map(|c| self.ledger.decide(&c.envelope, now, &mut undo))
            .collect();
        let decided = Decided {
            span,
            commands: batch,
            decisions,
            undo,
            now,
        };
        match self.write(wire, consumer, &decided).await {
            Ok(events) => BatchOutcome::Committed {
                commands: decided.commands.len(),
                events,
            },
            Err(error) => {
                self.ledger.restore(decided.undo);
                if matches!(error, TransactionError::Fatal(_)) {
                    return BatchOutcome::Lost(error);
                }
                if let Err(abort) = self.transactions.abort().await {
                    return BatchOutcome::Lost(abort);
                }
                BatchOutcome::Retry(error)
            }
        }
    }

    async fn write(
        &mut self,
        wire: &PoolWire,
        consumer: &StreamConsumer<OwnershipContext>,
        decided: &Decided,
    ) -> Result<usize, TransactionError> {
        let mut offsets = TopicPartitionList::new();
        offsets
            .add_partition_offset(
                &wire.topics.pool_commands(),
                self.partition,
                Offset::Offset(decided.span.last + 1),
            )
            .map_err(TransactionError::Fatal)?;
        let group = consumer
            .group_metadata()
            .ok_or(TransactionError::Fatal(KafkaError::Canceled))?;
        // Pools the batch touched stay marked (even if it aborts: an extra snapshot is harmless).
        self.unsnapshotted.extend(decided.undo.touched().cloned());
        let flush = self.last_flush.elapsed() >= SNAPSHOT_EVERY;
        let snapshots: Vec<PoolId> = if flush {
            self.unsnapshotted.iter().cloned().collect()
        } else {
            Vec::new()
        };

        let started = Instant::now();
        self.transactions.begin()?;
        let transactions = &self.transactions;
        // The consumed offsets go to the group coordinator while the records go to the
        // partition leaders: independent round trips of one transaction, so overlap them.
        let offsets_sent = async {
            transactions.send_offsets(offsets, group).await?;
            Ok::<_, TransactionError>(started.elapsed())
        };
        let records = BatchRecords {
            producer: transactions.producer(),
            wire,
            partition: self.partition,
        };
        let produced = async {
            let written = records
                .write(&mut self.ledger, decided, self.events_end, &snapshots)
                .await?;
            Ok::<_, TransactionError>((written, started.elapsed()))
        };
        let (produced, offsets_sent) = tokio::join!(produced, offsets_sent);
        let ((written, produced), offsets_sent) = (produced?, offsets_sent?);
        self.transactions.commit().await?;
        if flush {
            self.unsnapshotted.clear();
            self.last_flush = Instant::now();
        }
        tracing::debug!(
            produced_ms = produced.as_millis() as u64,
            offsets_ms = offsets_sent.as_millis() as u64,
            committed_ms = started.elapsed().as_millis() as u64,
            "transaction timings"
        );
        self.events_end = written.events_end;
        Ok(written.events)
    }
}

/// The offsets of the commands partition a batch consumed (undecodable records included:
/// they are skipped, and committed past, with the rest).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OffsetSpan {
    pub first: i64,
    pub last: i64,
}

/// A batch as decided, before it is written.
pub struct Decided {
    pub span: OffsetSpan,
    pub commands: Vec<Command>,
    pub decisions: Vec<Decision>,
    /// The touched pools as they were, to put back if the transaction fails.
    pub undo: Undo,
    pub now: Timestamp,
}

/// A decoded command and its offset in the commands partition.
#[derive(Debug)]
pub struct Command {
    pub offset: i64,
    pub envelope: PoolCommandEnvelope,
}
