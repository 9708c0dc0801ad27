//! The records of one decided batch, produced into the open transaction: the events first
//! (their offsets become the replies' consistency tokens), then the rejections worth
//! keeping, the replies, and the snapshots due.

use std::collections::HashMap;

use domain::PoolId;
use eventlog::{TransactionError, partition_for};
use futures::future::try_join_all;
use rdkafka::error::KafkaError;
use rdkafka::producer::future_producer::DeliveryFuture;
use rdkafka::producer::{FutureProducer, FutureRecord};
use schemas::ConsistencyToken;

use super::ledger::{Decision, PartitionLedger, RememberedOutcome};
use super::reply::reply_for;
use super::wire::PoolWire;
use super::writer::Decided;

/// Produces a batch's records to the topics of one partition.
pub struct BatchRecords<'a> {
    pub producer: &'a FutureProducer,
    pub wire: &'a PoolWire,
    pub partition: i32,
}

/// What a batch wrote.
#[derive(Debug, Clone, Copy)]
pub struct Written {
    /// Events produced.
    pub events: usize,
    /// The events partition's end after them.
    pub events_end: i64,
}

impl BatchRecords<'_> {
    /// Produces every record of `decided` (whose events start after `events_end`) and the
    /// snapshots of `snapshots`, remembers each command's outcome in `ledger`, and waits
    /// until every record is acknowledged.
    pub async fn write(
        &self,
        ledger: &mut PartitionLedger,
        decided: &Decided,
        events_end: i64,
        snapshots: &[PoolId],
    ) -> Result<Written, TransactionError> {
        let (last_event_of, written) = self.events(decided, events_end).await?;

        let mut pending = Vec::new();
        let now = decided.now;
        for (command, decision) in decided.commands.iter().zip(&decided.decisions) {
            let envelope = &command.envelope;
            let token = last_event_of.get(&command.offset).copied();
            if let Decision::Accepted(_) | Decision::Rejected(_) = decision {
                ledger.remember(envelope, remembered(decision, token));
            }
            if let Decision::Rejected(rejection) = decision
                && rejection.is_decision()
            {
                let value = self
                    .wire
                    .encode_rejection(envelope, rejection, now)
                    .await
                    .map_err(abortable)?;
                let key = envelope.pool_id.to_string();
                let topic = self.wire.topics.pool_rejections();
                pending.push(self.send(&topic, self.partition, &key, &value)?);
            }
            let unprovisioned = domain::TokenPool::default();
            let pool = ledger
                .slot(&envelope.pool_id)
                .map_or(&unprovisioned, |s| &s.pool);
            let reply = reply_for(envelope, decision, token, pool, now);
            let value = self.wire.encode_reply(&reply).await.map_err(abortable)?;
            let partition =
                partition_for(envelope.reply_to.as_bytes(), self.wire.replies_partitions);
            let topic = self.wire.topics.replies();
            pending.push(self.send(&topic, partition, &envelope.reply_to, &value)?);
        }

        for pool_id in snapshots {
            let Some(slot) = ledger.slot(pool_id) else {
                continue;
            };
            let value = self
                .wire
                .encode_snapshot(pool_id, slot, written.events_end)
                .await
                .map_err(abortable)?;
            let topic = self.wire.topics.pool_state();
            pending.push(self.send(&topic, self.partition, &pool_id.to_string(), &value)?);
        }
        // Wait for every record here rather than in the commit's own flush, which only
        // notices deliveries on its 100 ms polling cadence.
        for delivery in try_join_all(pending)
            .await
            .map_err(|_| TransactionError::Abortable(KafkaError::Canceled))?
        {
            delivery.map_err(|(e, _)| TransactionError::Abortable(e))?;
        }
        Ok(written)
    }

    /// Produces the batch's events; the consistency token of each command's last event.
    async fn events(
        &self,
        decided: &Decided,
        events_end: i64,
    ) -> Result<(HashMap<i64, ConsistencyToken>, Written), TransactionError> {
        let topic = self.wire.topics.pool_events();
        let mut deliveries = Vec::new();
        let mut caused_by = Vec::new();
        for (command, decision) in decided.commands.iter().zip(&decided.decisions) {
            let Decision::Accepted(events) = decision else {
                continue;
            };
            let key = command.envelope.pool_id.to_string();
            for event in events {
                let value = self
                    .wire
                    .encode_event(&command.envelope, event)
                    .await
                    .map_err(abortable)?;
                deliveries.push(self.send(&topic, self.partition, &key, &value)?);
                caused_by.push(command.offset);
            }
        }
        let delivered = try_join_all(deliveries)
            .await
            .map_err(|_| TransactionError::Abortable(KafkaError::Canceled))?;
        let mut written = Written {
            events: delivered.len(),
            events_end,
        };
        let mut last_event_of = HashMap::new();
        for (delivery, command_offset) in delivered.into_iter().zip(caused_by) {
            let delivery = delivery.map_err(|(e, _)| TransactionError::Abortable(e))?;
            let token = ConsistencyToken {
                partition: self.partition,
                offset: delivery.offset,
            };
            last_event_of.insert(command_offset, token);
            written.events_end = delivery.offset + 1;
        }
        Ok((last_event_of, written))
    }

    fn send(
        &self,
        topic: &str,
        partition: i32,
        key: &str,
        value: &[u8],
    ) -> Result<DeliveryFuture, TransactionError> {
        let record = FutureRecord::to(topic)
            .partition(partition)
            .key(key)
            .payload(value);
        self.producer
            .send_result(record)
            .map_err(|(e, _)| TransactionError::Abortable(e))
    }
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
