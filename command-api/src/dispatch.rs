//! Sending a command to the processor and waiting for its reply.
//!
//! The API is stateless: it produces the command and awaits the reply on its own partition
//! of the replies topic (the partition of its instance id), matched by command id. A reply
//! that does not arrive in time leaves the command in flight; the caller answers 202.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use domain::CommandId;
use eventlog::{ClientRole, Topics, client_config, partition_for};
use rdkafka::consumer::{Consumer, StreamConsumer};
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::{Message, Offset, TopicPartitionList};
use schemas::{
    CommandReply, PoolCodec, PoolCommandEnvelope, PurchaseCodec, PurchaseCommandEnvelope,
};
use settings::{KafkaSettings, RegistrySettings};
use tokio::sync::oneshot;

/// Requests waiting for a reply, by command id, oldest first. Retries of one idempotency
/// key share a command id; each of their records is answered once, and the reply names the
/// request (its ticket) that sent the record.
type Waiting = Arc<Mutex<HashMap<CommandId, VecDeque<Waiter>>>>;

/// One request waiting for a reply.
#[derive(Debug)]
struct Waiter {
    /// Tells this request's entry from its duplicates', to remove only its own.
    ticket: u64,
    sender: oneshot::Sender<CommandReply>,
}

/// How many recent replies an instance keeps for `GET /commands/{id}` after a 202.
const REMEMBERED_REPLIES: usize = 10_000;

/// The latest replies this instance received, oldest first out.
#[derive(Debug, Default)]
struct RecentReplies {
    order: std::collections::VecDeque<CommandId>,
    replies: HashMap<CommandId, CommandReply>,
}

impl RecentReplies {
    /// Keeps `reply` as its command's outcome, unless it only says that another payload
    /// came under a decided id: a poll after a 202 asks what the id was decided as.
    fn insert(&mut self, reply: CommandReply) {
        let conflict = reply
            .rejection
            .as_ref()
            .is_some_and(|r| r.code == crate::processor::IDEMPOTENCY_CONFLICT);
        if conflict && self.replies.contains_key(&reply.command_id) {
            return;
        }
        if self
            .replies
            .insert(reply.command_id, reply.clone())
            .is_none()
        {
            self.order.push_back(reply.command_id);
        }
        while self.order.len() > REMEMBERED_REPLIES {
            if let Some(oldest) = self.order.pop_front() {
                self.replies.remove(&oldest);
            }
        }
    }
}

/// Why a command could not be sent.
#[derive(Debug, thiserror::Error)]
pub enum DispatchError {
    #[error("cannot encode the command: {0}")]
    Encode(#[from] schemas::EncodeError),
    #[error("cannot produce the command: {0}")]
    Produce(rdkafka::error::KafkaError),
}

/// Produces commands and hands each reply to the request waiting for it.
#[derive(Clone)]
pub struct Dispatcher {
    instance_id: String,
    topics: Topics,
    codec: PoolCodec,
    purchase_codec: PurchaseCodec,
    producer: FutureProducer,
    /// Requests waiting for their reply, by command id. Entries are removed on reply or
    /// when the request gives up, so the map only holds commands in flight.
    waiting: Waiting,
    /// Source of waiter tickets.
    next_ticket: Arc<AtomicU64>,
    /// Replies received lately, so a client answered 202 can poll for the outcome.
    recent: Arc<Mutex<RecentReplies>>,
}

impl std::fmt::Debug for Dispatcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Dispatcher")
            .field("instance_id", &self.instance_id)
            .finish_non_exhaustive()
    }
}

impl Dispatcher {
    /// Starts listening for this instance's replies (from now on), then returns.
    pub async fn start(
        kafka: &KafkaSettings,
        registry: &RegistrySettings,
        instance_id: String,
    ) -> anyhow::Result<Self> {
        let topics = Topics::new(kafka);
        let codec = PoolCodec::new(registry)?;
        let producer: FutureProducer = client_config(kafka, &ClientRole::Producer).create()?;
        let waiting: Waiting = Arc::default();
        let recent: Arc<Mutex<RecentReplies>> = Arc::default();

        let consumer: StreamConsumer = client_config(
            kafka,
            &ClientRole::Consumer {
                group_id: format!("replies-{instance_id}"),
            },
        )
        .create()?;
        let replies = topics.replies();
        let partition = partition_for(instance_id.as_bytes(), kafka.partitions);
        // Start at the current end, resolved now: a reply written after this call returns
        // is never missed, whatever the consumer's first fetch does.
        let end = eventlog::end_offset(&consumer, &replies, partition).await?;
        let mut assignment = TopicPartitionList::new();
        assignment.add_partition_offset(&replies, partition, Offset::Offset(end))?;
        consumer.assign(&assignment)?;
        tokio::spawn(deliver_replies(
            consumer,
            codec.clone(),
            instance_id.clone(),
            Arc::clone(&waiting),
            Arc::clone(&recent),
        ));

        Ok(Self {
            instance_id,
            topics,
            purchase_codec: PurchaseCodec::sharing(codec.clone()),
            codec,
            producer,
            waiting,
            next_ticket: Arc::default(),
            recent,
        })
    }

    /// This instance's id, the `reply_to` of its commands.
    pub fn instance_id(&self) -> &str {
        &self.instance_id
    }

    /// Sends `command` and waits up to `wait` for its reply; `None` if it did not come in time
    /// (the command may still be applied: poll for it by id). The record carries the running
    /// task's trace onward (a new trace outside of one).
    pub async fn dispatch(
        &self,
        command: &PoolCommandEnvelope,
        wait: Duration,
    ) -> Result<Option<CommandReply>, DispatchError> {
        let topic = self.topics.pool_commands();
        let value = self.codec.encode_command(&topic, command).await?;
        let key = command.pool_id.to_string();
        self.send_and_wait(command.command_id, &topic, &key, &value, wait)
            .await
    }

    /// Sends a purchase command and waits up to `wait` for its reply, like [`Self::dispatch`].
    pub async fn dispatch_purchase(
        &self,
        command: &PurchaseCommandEnvelope,
        wait: Duration,
    ) -> Result<Option<CommandReply>, DispatchError> {
        let topic = self.topics.purchase_commands();
        let value = self.purchase_codec.encode_command(&topic, command).await?;
        let key = command.purchase_id.to_string();
        self.send_and_wait(command.command_id, &topic, &key, &value, wait)
            .await
    }

    async fn send_and_wait(
        &self,
        command_id: CommandId,
        topic: &str,
        key: &str,
        value: &[u8],
        wait: Duration,
    ) -> Result<Option<CommandReply>, DispatchError> {
        let (sender, receiver) = oneshot::channel();
        let ticket = self.next_ticket.fetch_add(1, Ordering::Relaxed);
        self.lock()
            .entry(command_id)
            .or_default()
            .push_back(Waiter { ticket, sender });
        let sent = self
            .producer
            .send(
                FutureRecord::to(topic).key(key).payload(value).headers(
                    eventlog::with_reply_ticket(
                        eventlog::trace_headers(&telemetry::next_hop()),
                        ticket,
                    ),
                ),
                Duration::from_secs(5),
            )
            .await
            .map_err(|(error, _)| DispatchError::Produce(error));
        if let Err(error) = sent {
            self.give_up(command_id, ticket);
            return Err(error);
        }
        let reply = tokio::time::timeout(wait, receiver).await;
        self.give_up(command_id, ticket);
        Ok(reply.ok().and_then(Result::ok))
    }

    /// The reply of `command_id`, if this instance received it lately.
    pub fn reply_of(&self, command_id: &CommandId) -> Option<CommandReply> {
        let recent = self.recent.lock().unwrap_or_else(|p| p.into_inner());
        recent.replies.get(command_id).cloned()
    }

    /// Removes this request's entry (if no reply took it already).
    fn give_up(&self, command_id: CommandId, ticket: u64) {
        let mut waiting = self.lock();
        if let Some(queue) = waiting.get_mut(&command_id) {
            queue.retain(|w| w.ticket != ticket);
            if queue.is_empty() {
                waiting.remove(&command_id);
            }
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<CommandId, VecDeque<Waiter>>> {
        self.waiting
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// Starts a dispatcher into `cell`, retrying every second until Kafka answers; a service
/// answers 503 to what needs it until then.
pub async fn connect(
    cell: Arc<tokio::sync::OnceCell<Dispatcher>>,
    kafka: KafkaSettings,
    registry: RegistrySettings,
    instance_id: String,
) {
    loop {
        match Dispatcher::start(&kafka, &registry, instance_id.clone()).await {
            Ok(dispatcher) => {
                let _ = cell.set(dispatcher);
                tracing::info!(instance_id, "dispatcher connected");
                return;
            }
            Err(error) => {
                tracing::warn!(%error, "cannot reach Kafka yet; retrying");
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
    }
}

async fn deliver_replies(
    consumer: StreamConsumer,
    codec: PoolCodec,
    instance_id: String,
    waiting: Waiting,
    recent: Arc<Mutex<RecentReplies>>,
) {
    loop {
        let message = match consumer.recv().await {
            Ok(message) => message,
            Err(error) => {
                tracing::warn!(%error, "replies consumer");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        // The partition is shared with other instances whose ids hash alike.
        if message.key() != Some(instance_id.as_bytes()) {
            continue;
        }
        let Some(payload) = message.payload() else {
            continue;
        };
        match codec.decode_reply(payload).await {
            Ok(reply) => {
                recent
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .insert(reply.clone());
                hand_over(&waiting, reply, eventlog::reply_ticket_of(&message));
            }
            Err(error) => tracing::warn!(%error, "undecodable reply"),
        }
    }
}

/// Gives `reply` to the request that sent the record it answers (`ticket`), if it still
/// waits; a reply naming no ticket (from a writer before tickets) goes to the oldest request
/// waiting for its command id.
fn hand_over(waiting: &Waiting, mut reply: CommandReply, ticket: Option<u64>) {
    let command_id = reply.command_id;
    let mut waiting = waiting.lock().unwrap_or_else(|p| p.into_inner());
    let Some(queue) = waiting.get_mut(&command_id) else {
        return;
    };
    if let Some(ticket) = ticket {
        if let Some(at) = queue.iter().position(|w| w.ticket == ticket)
            && let Some(waiter) = queue.remove(at)
        {
            let _ = waiter.sender.send(reply); // a request that gave up just now is gone
        }
        if queue.is_empty() {
            waiting.remove(&command_id);
        }
        return;
    }
    while let Some(waiter) = queue.pop_front() {
        match waiter.sender.send(reply) {
            Ok(()) => break,
            // That request gave up meanwhile: the next one gets the reply.
            Err(returned) => reply = returned,
        }
    }
    if queue.is_empty() {
        waiting.remove(&command_id);
    }
}
