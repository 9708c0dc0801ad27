//! The one wrapper that owns every Kafka transaction call and its error policy.
//!
//! librdkafka's transaction calls block until the coordinator answers, so each runs on
//! tokio's blocking pool; the async workers never wait on Kafka. Errors are classified the
//! way the single-writer needs them: abort and retry the batch, retry the call, or give up
//! the partition because another writer has taken it over (fenced) or the producer is dead.

use std::sync::Arc;
use std::time::Duration;

use rdkafka::ClientConfig;
use rdkafka::TopicPartitionList;
use rdkafka::consumer::ConsumerGroupMetadata;
use rdkafka::error::KafkaError;
use rdkafka::producer::{FutureProducer, Producer};

/// How long a transaction call may wait for the coordinator.
const CALL_TIMEOUT: Duration = Duration::from_secs(30);

/// What the caller must do after a failed transaction call.
#[derive(Debug, thiserror::Error)]
pub enum TransactionError {
    /// The transaction is lost: abort it, restore in-memory state, redo the batch.
    #[error("transaction must be aborted: {0}")]
    Abortable(KafkaError),
    /// The call can be repeated as is.
    #[error("transaction call can be retried: {0}")]
    Retriable(KafkaError),
    /// This producer can never be used again (fenced by a newer owner, or broken):
    /// drop it and give up what it was writing for.
    #[error("producer is fenced or broken: {0}")]
    Fatal(KafkaError),
}

impl TransactionError {
    fn classify(error: KafkaError) -> Self {
        match &error {
            KafkaError::Transaction(e) if e.is_fatal() => Self::Fatal(error),
            KafkaError::Transaction(e) if e.txn_requires_abort() => Self::Abortable(error),
            KafkaError::Transaction(e) if e.is_retriable() => Self::Retriable(error),
            _ => Self::Fatal(error),
        }
    }
}

/// A transactional producer whose transaction calls are safe to await.
#[derive(Clone)]
pub struct Transactions {
    producer: Arc<FutureProducer>,
}

impl std::fmt::Debug for Transactions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Transactions").finish_non_exhaustive()
    }
}

impl Transactions {
    /// Creates the producer and registers its `transactional.id` with the coordinator,
    /// which fences any previous producer with the same id.
    pub async fn open(config: ClientConfig) -> Result<Self, TransactionError> {
        let producer: FutureProducer = config.create().map_err(TransactionError::Fatal)?;
        let producer = Arc::new(producer);
        blocking(&producer, |p| p.init_transactions(CALL_TIMEOUT)).await?;
        Ok(Self { producer })
    }

    /// The producer, to send records inside the current transaction; each send resolves
    /// to the record's offset once written (before the commit makes it visible).
    pub fn producer(&self) -> &FutureProducer {
        &self.producer
    }

    /// Starts a transaction (local, does not block on the network).
    pub fn begin(&self) -> Result<(), TransactionError> {
        self.producer
            .begin_transaction()
            .map_err(TransactionError::classify)
    }

    /// Adds the consumer's positions to the transaction, so input and output commit together.
    pub async fn send_offsets(
        &self,
        offsets: TopicPartitionList,
        group: ConsumerGroupMetadata,
    ) -> Result<(), TransactionError> {
        blocking(&self.producer, move |p| {
            p.send_offsets_to_transaction(&offsets, &group, CALL_TIMEOUT)
        })
        .await
    }

    /// Flushes every record sent in the transaction and commits it.
    pub async fn commit(&self) -> Result<(), TransactionError> {
        blocking(&self.producer, |p| p.commit_transaction(CALL_TIMEOUT)).await
    }

    /// Aborts the transaction: read_committed consumers never see its records.
    pub async fn abort(&self) -> Result<(), TransactionError> {
        blocking(&self.producer, |p| p.abort_transaction(CALL_TIMEOUT)).await
    }
}

async fn blocking<F>(producer: &Arc<FutureProducer>, call: F) -> Result<(), TransactionError>
where
    F: FnOnce(&FutureProducer) -> Result<(), KafkaError> + Send + 'static,
{
    let producer = Arc::clone(producer);
    tokio::task::spawn_blocking(move || call(&producer))
        .await
        .map_err(|_| TransactionError::Fatal(KafkaError::Canceled))?
        .map_err(TransactionError::classify)
}
