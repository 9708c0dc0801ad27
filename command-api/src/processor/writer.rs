//! The single writer of one partition: one Kafka transaction per batch of commands.
//!
//! Per batch: decide every command against the in-memory ledger, then in one transaction
//! write the events, the rejections worth recording, the replies, and the consumed command
//! offsets — and, at most every [`SNAPSHOT_EVERY`], a snapshot of every aggregate changed
//! since the last one. Either all of it becomes visible or none does; on an abortable error
//! the ledger is put back and the batch is read again.
//!
//! Snapshotting every batch would rewrite a hot aggregate (with its memory of recent
//! commands) hundreds of times a second; flushing all changed ones together keeps the rule a
//! takeover relies on: every event before the newest snapshot's offset is inside the snapshots.

use std::collections::{BTreeSet, HashMap};
use std::time::{Duration, Instant};

use domain::Timestamp;
use eventlog::{ClientRole, TransactionError, Transactions, client_config, partition_for};
use futures::future::try_join_all;
use rdkafka::consumer::{Consumer, StreamConsumer};
use rdkafka::error::KafkaError;
use rdkafka::producer::FutureRecord;
use rdkafka::producer::future_producer::DeliveryFuture;
use rdkafka::{Offset, TopicPartitionList};
use settings::KafkaSettings;
use telemetry::TraceContext;

use super::kind::Kind;
use super::ledger::{Decision, PartitionLedger, Undo};
use super::load::{LoadReport, load_partition};
use super::ownership::OwnershipContext;
use super::wire::Wire;
use schemas::ConsistencyToken;

/// How often the aggregates changed since the last snapshot are snapshotted: what a
/// takeover may have to replay is the events of one such interval.
pub const SNAPSHOT_EVERY: Duration = Duration::from_millis(250);

/// Owns partition `partition`: its transactional producer and its aggregates.
pub struct PartitionWriter<K: Kind> {
    partition: i32,
    transactions: Transactions,
    ledger: PartitionLedger<K>,
    /// Offset after the last event this partition's writers committed: where a snapshot
    /// says replay would resume.
    events_end: i64,
    /// Offset after the last command this writer decided and committed (or where the
    /// snapshots it loaded stopped): where a snapshot says its commands end.
    commands_end: i64,
    /// Command ids the ledger had forgotten before their retry window ended, as last logged.
    forgotten_early: u64,
    metrics: super::ProcessorMetrics,
    /// Aggregates changed since their last committed snapshot.
    unsnapshotted: BTreeSet<K::Key>,
    /// When the last snapshot flush committed.
    last_flush: Instant,
}

impl<K: Kind> std::fmt::Debug for PartitionWriter<K> {
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

impl<K: Kind> PartitionWriter<K> {
    /// Takes the partition over: registering `<prefix><kind>-p<partition>` fences any
    /// previous writer and aborts its open transaction, so the state read next is final.
    pub async fn open(
        kafka: &KafkaSettings,
        wire: &Wire<K>,
        partition: i32,
        metrics: super::ProcessorMetrics,
    ) -> anyhow::Result<(Self, LoadReport)> {
        let role = ClientRole::TransactionalProducer {
            transactional_id: format!("{}-p{partition}", K::NAME),
        };
        let transactions = Transactions::open(client_config(kafka, &role)).await?;
        tracing::info!(partition, "fenced the previous writer");
        let (ledger, report) = load_partition(kafka, wire, partition, super::wire::now()).await?;
        Ok((
            Self {
                partition,
                transactions,
                ledger,
                events_end: report.events_end,
                commands_end: report.commands_from,
                forgotten_early: 0,
                metrics,
                unsnapshotted: BTreeSet::new(),
                // Flush with the first batch: the snapshot then marks where this writer began.
                last_flush: Instant::now() - SNAPSHOT_EVERY,
            },
            report,
        ))
    }

    /// The aggregates of this partition.
    pub fn ledger(&self) -> &PartitionLedger<K> {
        &self.ledger
    }

    /// Decides and writes one batch of decoded commands read from this partition, in
    /// offset order.
    pub async fn process(
        &mut self,
        wire: &Wire<K>,
        consumer: &StreamConsumer<OwnershipContext>,
        span: OffsetSpan,
        batch: Vec<Command<K>>,
        now: Timestamp,
    ) -> BatchOutcome {
        let mut undo = Undo::default();
        let decisions: Vec<Decision<K::Aggregate>> = batch
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

    /// True while some aggregate changed since its last committed snapshot.
    pub fn snapshots_pending(&self) -> bool {
        !self.unsnapshotted.is_empty()
    }

    /// Snapshots every aggregate changed since the last flush, in a transaction of its own:
    /// an idle partition's views (e.g. the Redis buckets, built from snapshots) and a
    /// takeover would otherwise wait for the next command to see the last batch's state.
    pub async fn flush_snapshots(&mut self, wire: &Wire<K>) -> BatchOutcome {
        let keys: Vec<K::Key> = self.unsnapshotted.iter().cloned().collect();
        let flushed = async {
            self.transactions.begin()?;
            let pending = self
                .send_snapshots(wire, &keys, self.events_end, self.commands_end)
                .await?;
            await_all(pending).await?;
            self.transactions.commit().await
        }
        .await;
        match flushed {
            Ok(()) => {
                self.unsnapshotted.clear();
                self.last_flush = Instant::now();
                self.count_open_holds();
                BatchOutcome::Committed {
                    commands: 0,
                    events: 0,
                }
            }
            Err(error @ TransactionError::Fatal(_)) => BatchOutcome::Lost(error),
            Err(error) => match self.transactions.abort().await {
                Ok(()) => BatchOutcome::Retry(error),
                Err(abort) => BatchOutcome::Lost(abort),
            },
        }
    }

    /// Produces the snapshots of `keys` (as of `events_end` and `commands_end`) into the
    /// open transaction.
    async fn send_snapshots(
        &self,
        wire: &Wire<K>,
        keys: &[K::Key],
        events_end: i64,
        commands_end: i64,
    ) -> Result<Vec<DeliveryFuture>, TransactionError> {
        let state_topic = K::state_topic(&wire.topics);
        let mut pending = Vec::with_capacity(keys.len());
        for key in keys {
            let Some(slot) = self.ledger.slot(key) else {
                continue;
            };
            let value = wire
                .encode_snapshot(key, slot, events_end, commands_end)
                .await
                .map_err(abortable)?;
            let record_key = key.to_string();
            let record = FutureRecord::to(&state_topic)
                .partition(self.partition)
                .key(&record_key)
                .payload(&value);
            let delivery = self.transactions.producer().send_result(record);
            pending.push(delivery.map_err(|(e, _)| TransactionError::Abortable(e))?);
        }
        Ok(pending)
    }

    async fn write(
        &mut self,
        wire: &Wire<K>,
        consumer: &StreamConsumer<OwnershipContext>,
        decided: &Decided<K>,
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
        // Every record a command causes carries its trace on, as a span of its own.
        let send = |topic: &str,
                    partition: i32,
                    key: &str,
                    value: &[u8],
                    trace: &TraceContext,
                    reply_ticket: Option<u64>| {
            let mut headers = eventlog::trace_headers(&trace.child());
            if let Some(ticket) = reply_ticket {
                headers = eventlog::with_reply_ticket(headers, ticket);
            }
            let record = FutureRecord::to(topic)
                .partition(partition)
                .key(key)
                .payload(value)
                .headers(headers);
            producer
                .send_result(record)
                .map_err(|(e, _)| TransactionError::Abortable(e))
        };

        // Events first: their offsets become the consistency tokens of the replies.
        let events_topic = K::events_topic(&wire.topics);
        let mut deliveries = Vec::new();
        let mut caused_by = Vec::new();
        for (command, decision) in batch.iter().zip(decisions) {
            let Decision::Accepted(events) = decision else {
                continue;
            };
            let key = K::key(&command.envelope).to_string();
            for event in events {
                let value = wire
                    .encode_event(&command.envelope, event)
                    .await
                    .map_err(abortable)?;
                deliveries.push(send(
                    &events_topic,
                    self.partition,
                    &key,
                    &value,
                    &command.trace,
                    None,
                )?);
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
        for command in batch {
            if let Some(token) = last_event_of.get(&command.offset) {
                let envelope = &command.envelope;
                self.ledger.set_token(
                    K::key(envelope),
                    &K::command_id(envelope),
                    token.to_string(),
                );
            }
        }

        // Rejections worth keeping, and replies.
        let mut pending = Vec::new();
        for (command, decision) in batch.iter().zip(decisions) {
            let envelope = &command.envelope;
            let token = last_event_of.get(&command.offset).copied();
            // A copy of a command decided earlier in this batch learns its token only now.
            let decision = &self.answered_in_full(envelope, decision);
            tracing::debug!(
                trace_id = %command.trace.trace_id(),
                partition = self.partition,
                offset = command.offset,
                decision = decision.name(),
                "command decided"
            );
            if let Decision::Rejected(rejection) = decision
                && let Some(value) = wire
                    .encode_rejection(envelope, rejection, now)
                    .await
                    .map_err(abortable)?
            {
                let key = K::key(envelope).to_string();
                pending.push(send(
                    &K::rejections_topic(&wire.topics),
                    self.partition,
                    &key,
                    &value,
                    &command.trace,
                    None,
                )?);
            }
            let never_touched = K::Aggregate::default();
            let state = self
                .ledger
                .slot(K::key(envelope))
                .map_or(&never_touched, |s| &s.state);
            let Some(reply) = K::reply(envelope, decision, token, state, now) else {
                continue;
            };
            let value = wire.encode_reply(&reply).await.map_err(abortable)?;
            let reply_to = K::reply_to(envelope);
            let partition = partition_for(reply_to.as_bytes(), wire.replies_partitions);
            pending.push(send(
                &wire.topics.replies(),
                partition,
                reply_to,
                &value,
                &command.trace,
                command.reply_ticket,
            )?);
        }

        // Aggregates the batch touched stay marked (even if it aborts: an extra snapshot is
        // harmless).
        self.unsnapshotted.extend(undo.touched().cloned());
        let flush = self.last_flush.elapsed() >= SNAPSHOT_EVERY;
        let to_snapshot: Vec<K::Key> = if flush {
            self.unsnapshotted.iter().cloned().collect()
        } else {
            Vec::new()
        };
        let commands_end = span.last + 1;
        pending.extend(
            self.send_snapshots(wire, &to_snapshot, events_end, commands_end)
                .await?,
        );
        let mut offsets = TopicPartitionList::new();
        offsets
            .add_partition_offset(
                &wire.commands_topic(),
                self.partition,
                Offset::Offset(span.last + 1),
            )
            .map_err(TransactionError::Fatal)?;
        let group = consumer
            .group_metadata()
            .ok_or(TransactionError::Fatal(KafkaError::Canceled))?;
        // Wait for every record here rather than in the commit's own flush, which only
        // notices deliveries on its 100 ms polling cadence. Meanwhile the consumed offsets go
        // to the group coordinator: independent round trips of one transaction.
        let delivered = async {
            await_all(pending).await?;
            Ok(started.elapsed())
        };
        let offsets_sent = async {
            self.transactions.send_offsets(offsets, group).await?;
            Ok(started.elapsed())
        };
        let (produced, offsets_sent) = tokio::try_join!(delivered, offsets_sent)?;
        self.transactions.commit().await?;
        if flush {
            self.unsnapshotted.clear();
            self.last_flush = Instant::now();
            // Counted as often as snapshots are taken: every pool of the partition is read.
            let open: usize = self
                .ledger
                .slots()
                .map(|(_, s)| K::open_holds(&s.state))
                .sum();
            self.metrics.holds_open(self.partition, open);
        }
        tracing::debug!(
            produced_ms = produced.as_millis() as u64,
            offsets_ms = offsets_sent.as_millis() as u64,
            committed_ms = started.elapsed().as_millis() as u64,
            "transaction timings"
        );
        self.events_end = events_end;
        self.commands_end = commands_end;
        self.metrics.committed(self.partition, events_end);
        for decision in decisions {
            let code = match decision {
                Decision::Rejected(rejection) => Some(K::rejection_code(rejection)),
                _ => None,
            };
            self.metrics.decided(decision.name(), code);
        }
        self.log_forgotten_early();
        Ok(events_written)
    }

    /// Counts the holds open in the partition's pools, as often as snapshots are taken
    /// (every pool of the partition is read).
    fn count_open_holds(&self) {
        let open: usize = self
            .ledger
            .slots()
            .map(|(_, slot)| K::open_holds(&slot.state))
            .sum();
        self.metrics.holds_open(self.partition, open);
    }

    /// `decision`, with a repeat's outcome as the ledger knows it now (its token is set
    /// once the first copy's events are written).
    fn answered_in_full(
        &self,
        envelope: &K::Envelope,
        decision: &Decision<K::Aggregate>,
    ) -> Decision<K::Aggregate> {
        match decision {
            Decision::Repeated(outcome) if outcome.consistency_token.is_none() => {
                let now_known = self
                    .ledger
                    .remembered(K::key(envelope), &K::command_id(envelope))
                    .unwrap_or(outcome);
                Decision::Repeated(now_known.clone())
            }
            other => other.clone(),
        }
    }

    /// Says when an aggregate had to forget a retriable command id before its window ended:
    /// a retry of it later in the window would be decided anew.
    fn log_forgotten_early(&mut self) {
        let forgotten = self.ledger.forgotten_early();
        if forgotten > self.forgotten_early {
            tracing::warn!(
                partition = self.partition,
                forgotten_early = forgotten,
                "command ids forgotten before their retry window ended (an aggregate remembered more than it can keep)"
            );
            self.metrics.forgot_early(forgotten - self.forgotten_early);
            self.forgotten_early = forgotten;
        }
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
struct Decided<K: Kind> {
    span: OffsetSpan,
    commands: Vec<Command<K>>,
    decisions: Vec<Decision<K::Aggregate>>,
    /// The touched aggregates as they were, to put back if the transaction fails.
    undo: Undo<K>,
    now: Timestamp,
}

/// A decoded command and its offset in the commands partition.
#[derive(Debug)]
pub struct Command<K: Kind> {
    pub offset: i64,
    pub envelope: K::Envelope,
    /// The trace of the request that sent it: its events, reply and rejection carry it on.
    pub trace: TraceContext,
    /// The ticket of the request that sent it, carried on to its reply.
    pub reply_ticket: Option<u64>,
}

/// An encoding failure is the registry being unreachable or a schema bug: abort the batch
/// and retry it rather than write a partial one.
fn abortable(cause: impl std::fmt::Display) -> TransactionError {
    tracing::warn!(%cause, "cannot encode a record; aborting the batch");
    TransactionError::Abortable(KafkaError::MessageProduction(
        rdkafka::types::RDKafkaErrorCode::InvalidRecord,
    ))
}

/// Waits until every record in `pending` is acknowledged.
async fn await_all(pending: Vec<DeliveryFuture>) -> Result<(), TransactionError> {
    for delivery in try_join_all(pending)
        .await
        .map_err(|_| TransactionError::Abortable(KafkaError::Canceled))?
    {
        delivery.map_err(|(e, _)| TransactionError::Abortable(e))?;
    }
    Ok(())
}
