//! The single writer per partition: turns commands into events inside Kafka transactions.
//!
//! Generic over the aggregate [`Kind`]: the `pool-processor` runs it for token pools, the
//! `purchase-processor` for purchases. One consumer in the kind's group reads its commands
//! topic and routes each record to the task of its partition; that task's
//! [`writer::PartitionWriter`] fences the previous owner, rebuilds the aggregates from their
//! snapshots, and then writes one transaction per batch. Killing an instance moves its
//! partitions to the others, which resume from the last commit.

pub mod kind;
pub mod ledger;
mod load;
mod memory;
mod metrics;
mod ownership;
mod partition;
mod reply;
mod sweeper;
mod wire;
mod writer;

use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use eventlog::{ClientRole, Topics, client_config, ensure_topics};
use rdkafka::Message;
use rdkafka::consumer::{Consumer, StreamConsumer};
use settings::{KafkaSettings, RegistrySettings};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

pub use kind::{Kind, PoolKind, PurchaseKind};
pub use load::LoadReport;
pub use metrics::ProcessorMetrics;
use ownership::{Ownership, OwnershipContext};
use partition::{Inbound, Rewind, Shared, Start, run_partition};
pub use reply::IDEMPOTENCY_CONFLICT;
use wire::Wire;
pub use wire::now;
pub use writer::SNAPSHOT_EVERY;

/// How long the router waits for a command before looking at its assignment again.
const IDLE_POLL: Duration = Duration::from_millis(100);

/// Records queued per partition task; a full inbox holds the router back (backpressure
/// instead of unbounded memory when a partition cannot commit).
const INBOX_CAPACITY: usize = 4096;

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
pub async fn rebuild_partition<K: Kind>(
    kafka: &KafkaSettings,
    registry: &RegistrySettings,
    partition: i32,
) -> anyhow::Result<(ledger::PartitionLedger<K>, LoadReport)> {
    let wire = Wire::<K>::new(Topics::new(kafka), registry, kafka.partitions)?;
    load::load_partition(kafka, &wire, partition, wire::now()).await
}

/// Runs the processor of aggregate kind `K` until `shutdown` completes, reporting to no one
/// (in-process uses: tests, tools).
pub async fn run<K: Kind>(
    kafka: KafkaSettings,
    registry: RegistrySettings,
    batching: Batching,
    shutdown: impl Future<Output = ()>,
) -> anyhow::Result<()> {
    let metrics = ProcessorMetrics::unregistered(kafka.partitions);
    run_observed::<K>(kafka, registry, batching, metrics, shutdown).await
}

/// Runs the processor of aggregate kind `K` until `shutdown` completes, reporting to
/// `metrics`.
pub async fn run_observed<K: Kind>(
    kafka: KafkaSettings,
    registry: RegistrySettings,
    batching: Batching,
    metrics: ProcessorMetrics,
    shutdown: impl Future<Output = ()>,
) -> anyhow::Result<()> {
    let topics = Topics::new(&kafka);
    ensure_topics(&kafka, &K::topic_specs(&topics, kafka.partitions)).await?;
    let wire = Wire::<K>::new(topics.clone(), &registry, kafka.partitions)?;
    let commands_topic = wire.commands_topic();

    let ownership = Ownership::default();
    let context = OwnershipContext {
        ownership: ownership.clone(),
        commands_topic: commands_topic.clone(),
    };
    let consumer: Arc<StreamConsumer<OwnershipContext>> = Arc::new(
        client_config(
            &kafka,
            &ClientRole::Consumer {
                group_id: K::GROUP.into(),
            },
        )
        .create_with_context(context)?,
    );
    consumer.subscribe(&[&commands_topic])?;
    let (rewinds_sender, mut rewinds) = mpsc::unbounded_channel();
    let shared = Arc::new(Shared {
        sweeper_producer: client_config(&kafka, &ClientRole::Producer).create()?,
        kafka,
        wire,
        consumer: Arc::clone(&consumer),
        ownership,
        batching,
        rewinds: rewinds_sender,
        metrics,
    });

    let mut router = Router::new(Arc::clone(&shared));
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            biased;
            () = &mut shutdown => break,
            Some(rewind) = rewinds.recv() => router.rewind(rewind),
            received = tokio::time::timeout(IDLE_POLL, consumer.recv()) => {
                // Partitions assigned or revoked while polling: start or stop their tasks
                // before routing anything.
                router.follow_ownership();
                match received {
                    Ok(Ok(message)) => router.forward(&message).await,
                    Ok(Err(error)) => {
                        tracing::warn!(%error, "commands consumer");
                        tokio::time::sleep(Duration::from_millis(100)).await;
                    }
                    Err(_idle) => {}
                }
            }
        }
    }
    tracing::info!(owned = ?shared.ownership.owned(), "processor stopping");
    router.stop().await;
    Ok(())
}

/// Hands each command record to the task of its partition.
struct Router<K: Kind> {
    shared: Arc<Shared<K>>,
    tasks: HashMap<i32, PartitionHandle>,
    /// Partitions this instance has had a task for: a new task for one of them must read
    /// again from the committed offset.
    had_task: HashSet<i32>,
    /// Id of the next task started.
    next_task_id: u64,
}

struct PartitionHandle {
    task_id: u64,
    inbox: mpsc::Sender<Inbound>,
    /// Rewinds of this partition so far; stamped on every record forwarded.
    epoch: u64,
    task: JoinHandle<()>,
}

impl<K: Kind> Router<K> {
    fn new(shared: Arc<Shared<K>>) -> Self {
        Self {
            shared,
            tasks: HashMap::new(),
            had_task: HashSet::new(),
            next_task_id: 0,
        }
    }

    /// Stops the tasks of revoked partitions (they finish the batch in hand; a commit after
    /// the revocation is fenced by the next owner's producer and the group generation) and
    /// starts tasks for owned partitions without one, including ones whose task ended.
    fn follow_ownership(&mut self) {
        let owned = self.shared.ownership.owned();
        self.shared.metrics.owned(owned.len());
        self.tasks
            .retain(|partition, handle| owned.contains(partition) && !handle.task.is_finished());
        for partition in owned {
            if self.tasks.contains_key(&partition) {
                continue;
            }
            let start = if self.had_task.insert(partition) {
                Start::Fresh
            } else {
                Start::AfterEarlierTask
            };
            let (inbox, receiver) = mpsc::channel(INBOX_CAPACITY);
            let task_id = self.next_task_id;
            self.next_task_id += 1;
            let task = tokio::spawn(run_partition(
                Arc::clone(&self.shared),
                partition,
                task_id,
                receiver,
                start,
            ));
            self.tasks.insert(
                partition,
                PartitionHandle {
                    task_id,
                    inbox,
                    epoch: 0,
                    task,
                },
            );
        }
    }

    async fn forward(&mut self, message: &rdkafka::message::BorrowedMessage<'_>) {
        let Some(handle) = self.tasks.get(&message.partition()) else {
            return; // not ours (any more): the owner reads it from the committed offset
        };
        let inbound = Inbound {
            epoch: handle.epoch,
            offset: message.offset(),
            payload: message.payload().map(<[u8]>::to_vec),
            trace: eventlog::trace_of(message),
            reply_ticket: eventlog::reply_ticket_of(message),
        };
        // A closed inbox means the task ended; the next look at ownership replaces it.
        let _ = handle.inbox.send(inbound).await;
    }

    /// Moves the consumer back as a task asked; records forwarded from now on carry the
    /// task's new epoch.
    fn rewind(
        &mut self,
        Rewind {
            partition,
            task_id,
            to,
        }: Rewind,
    ) {
        let Some(handle) = self.tasks.get_mut(&partition) else {
            return;
        };
        if handle.task_id != task_id {
            return; // from a task since replaced; its successor reads from the committed offset
        }
        handle.epoch += 1;
        let topic = self.shared.wire.commands_topic();
        if let Err(error) =
            self.shared
                .consumer
                .seek(&topic, partition, to, Duration::from_secs(10))
        {
            // Without the rewind the task would skip records: end it, and let its successor
            // read again from the committed offset.
            tracing::error!(partition, %error, "cannot rewind; restarting the partition");
            handle.task.abort();
            self.tasks.remove(&partition);
        }
    }

    /// Closes every inbox and waits for the tasks to finish the batch in hand.
    async fn stop(self) {
        let tasks: Vec<JoinHandle<()>> = self.tasks.into_values().map(|h| h.task).collect();
        for task in tasks {
            if let Err(error) = task.await {
                tracing::warn!(%error, "partition task ended badly");
            }
        }
    }
}
