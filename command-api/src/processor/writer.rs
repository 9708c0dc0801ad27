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

use std::collections::{BTreeSet, HashMap};
use std::time::{Duration, Instant};

use domain::{PoolId, Timestamp};
use eventlog::{ClientRole, TransactionError, Transactions, client_config, partition_for};
use futures::future::try_join_all;
use rdkafka::consumer::{Consumer, StreamConsumer};
use rdkafka::error::KafkaError;
use rdkafka::producer::FutureRecord;
use rdkafka::{Offset, TopicPartitionList};
use settings::KafkaSettings;

use super::ledger::{Decision, PartitionLedger, RememberedOutcome, Undo};
use super::load::{LoadReport, load_partition};
use super::ownership::OwnershipContext;
use super::reply::reply_for;
use super::wire::PoolWire;
use schemas::{ConsistencyToken, PoolCommandEnvelope};

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
        let Decided {
            span,
            commands: batch,
            decisions,
            undo,
            now,
        } = decided;
        let (span, now) = (*span, *now);
        let started = std::time::Instant::now();
        self.transactions.begin()?;
        let producer = self.transactions.producer();
        let send = |topic: &str, partition: i32, key: &str, value: &[u8]| {
            let record = FutureRecord::to(topic)
                .partition(partition)
                .key(key)
                .payload(value);
            producer
                .send_result(record)
                .map_err(|(e, _)| TransactionError::Abortable(e))
        };

        // Events first: their offsets become the consistency tokens of the replies.
        let events_topic = wire.topics.pool_events();
        let mut deliveries = Vec::new();
        let mut caused_by = Vec::new();
        for (command, decision) in batch.iter().zip(decisions) {
            let Decision::Accepted(events) = decision else {
                continue;
            };
            let key = command.envelope.pool_id.to_string();
            for event in events {
                let value = wire
                    .encode_event(&command.envelope, event)
                    .await
                    .map_err(abortable)?;
                deliveries.push(send(&events_topic, self.partition, &key, &value)?);
                caused_by.push(command.offset);
            }
        }
        let written = try_join_all(deliveries)
            .await
            .map_err(|_| TransactionError::Abortable(KafkaError::Canceled))?;
        let events_written = written.len();
        let mut last_event_of: HashMap<i64, ConsistencyToken> = HashMap::new();
        let mut events_end = self.events_end;
        for (delivery, command_offset) in written.into_iter().zip(caused_by) {
            let delivery = delivery.map_err(|(e, _)| TransactionError::Abortable(e))?;
            last_event_of.insert(
                command_offset,
                ConsistencyToken {
                    partition: self.partition,
                    offset: delivery.offset,
                },
            );
            events_end = delivery.offset + 1;
        }

        // Rejections worth keeping, replies, and what each command led to (for retries).
        let mut pending = Vec::new();
        for (command, decision) in batch.iter().zip(decisions) {
            let envelope = &command.envelope;
            let token = last_event_of.get(&command.offset).copied();
            if let Decision::Accepted(_) | Decision::Rejected(_) = decision {
                self.ledger.remember(envelope, remembered(decision, token));
            }
            if let Decision::Rejected(rejection) = decision
                && rejection.is_decision()
            {
                let value = wire
                    .encode_rejection(envelope, rejection, now)
                    .await
                    .map_err(abortable)?;
                let key = envelope.pool_id.to_string();
                pending.push(send(
                    &wire.topics.pool_rejections(),
                    self.partition,
                    &key,
                    &value,
                )?);
            }
            let unprovisioned = domain::TokenPool::default();
            let pool = self
                .ledger
                .slot(&envelope.pool_id)
                .map_or(&unprovisioned, |s| &s.pool);
            let reply = reply_for(envelope, decision, token, pool, now);
            let value = wire.encode_reply(&reply).await.map_err(abortable)?;
            let partition = partition_for(envelope.reply_to.as_bytes(), wire.replies_partitions);
            pending.push(send(
                &wire.topics.replies(),
                partition,
                &envelope.reply_to,
                &value,
            )?);
        }

        // Pools the batch touched stay marked (even if it aborts: an extra snapshot is harmless).
        self.unsnapshotted.extend(undo.touched().cloned());
        let flush = self.last_flush.elapsed() >= SNAPSHOT_EVERY;
        let to_snapshot: Vec<PoolId> = if flush {
            self.unsnapshotted.iter().cloned().collect()
        } else {
            Vec::new()
        };
        for pool_id in &to_snapshot {
            let Some(slot) = self.ledger.slot(pool_id) else {
                continue;
            };
            let value = wire
                .encode_snapshot(pool_id, slot, events_end)
                .await
                .map_err(abortable)?;
            pending.push(send(
                &wire.topics.pool_state(),
                self.partition,
                &pool_id.to_string(),
                &value,
            )?);
        }
        // Wait for every record here rather than in the commit's own flush, which only
        // notices deliveries on its 100 ms polling cadence.
        for delivery in try_join_all(pending)
            .await
            .map_err(|_| TransactionError::Abortable(KafkaError::Canceled))?
        {
            delivery.map_err(|(e, _)| TransactionError::Abortable(e))?;
        }

        let mut offsets = TopicPartitionList::new();
        offsets
            .add_partition_offset(
                &wire.topics.pool_commands(),
                self.partition,
                Offset::Offset(span.last + 1),
            )
            .map_err(TransactionError::Fatal)?;
        let group = consumer
            .group_metadata()
            .ok_or(TransactionError::Fatal(KafkaError::Canceled))?;
        let produced = started.elapsed();
        self.transactions.send_offsets(offsets, group).await?;
        let offsets_sent = started.elapsed();
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
        self.events_end = events_end;
        Ok(events_written)
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
struct Decided {
    span: OffsetSpan,
    commands: Vec<Command>,
    decisions: Vec<Decision>,
    /// The touched pools as they were, to put back if the transaction fails.
    undo: Undo,
    now: Timestamp,
}

/// A decoded command and its offset in the commands partition.
#[derive(Debug)]
pub struct Command {
    pub offset: i64,
    pub envelope: PoolCommandEnvelope,
}

fn remembered(decision: &Decision, token: Option<ConsistencyToken>) -> RememberedOutcome {
    RememberedOutcome {
        consistency_token: token.map(|t| t.to_string()),
        events: match decision {
            Decision::Accepted(events) => events.iter().map(|e| e.name().to_owned()).collect(),
            _ => Vec::new(),
        },
        rejection: match decision {
            Decision::Rejected(rejection) => Some(rejection.clone()),
            _ => None,
        },
    }
}

/// An encoding failure is the registry being unreachable or a schema bug: abort the batch
/// and retry it rather than write a partial one.
fn abortable(cause: impl std::fmt::Display) -> TransactionError {
    tracing::warn!(%cause, "cannot encode a record; aborting the batch");
    TransactionError::Abortable(KafkaError::MessageProduction(
        rdkafka::types::RDKafkaErrorCode::InvalidRecord,
    ))
}
