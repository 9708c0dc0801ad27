//! The `auth.events` topic: one partition (a total order; auth traffic is small), kept
//! forever, JSON values keyed by user id. Every reader — the auth service itself and each
//! gateway's key cache — follows it with [`follow`], so a revocation reaches every cache
//! as fast as the log carries it.

use std::sync::{Arc, RwLock};
use std::time::Duration;

use eventlog::{ClientRole, client_config, end_offset};
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::consumer::{Consumer, StreamConsumer};
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::{Message, Offset, TopicPartitionList};
use settings::KafkaSettings;
use tokio::sync::watch;

use crate::directory::{AuthEvent, Directory};

/// The topic's name in the deployment of `kafka`.
pub fn topic(kafka: &KafkaSettings) -> String {
    format!("{}auth.events", kafka.topic_prefix)
}

/// Creates the topic if it does not exist.
pub async fn ensure_topic(kafka: &KafkaSettings) -> anyhow::Result<()> {
    let admin: AdminClient<DefaultClientContext> =
        client_config(kafka, &ClientRole::Admin).create()?;
    let name = topic(kafka);
    let new = NewTopic::new(&name, 1, TopicReplication::Fixed(1)).set("retention.ms", "-1");
    for result in admin.create_topics([&new], &AdminOptions::new()).await? {
        match result {
            Ok(_) => {}
            Err((_, rdkafka::types::RDKafkaErrorCode::TopicAlreadyExists)) => {}
            Err((topic, code)) => anyhow::bail!("creating {topic}: {code}"),
        }
    }
    Ok(())
}

/// The directory as of the log's position, shared with whoever reads it.
#[derive(Clone)]
pub struct DirectoryView {
    directory: Arc<RwLock<Directory>>,
    /// Offset of the next event to apply: a writer waits for it to pass its own event.
    position: watch::Receiver<i64>,
    /// Asks the broker where the log ends, to catch up on demand.
    watermarks: Arc<StreamConsumer>,
    topic: String,
}

impl std::fmt::Debug for DirectoryView {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DirectoryView")
            .field("position", &*self.position.borrow())
            .finish_non_exhaustive()
    }
}

impl DirectoryView {
    /// Reads the directory.
    pub fn read<T>(&self, f: impl FnOnce(&Directory) -> T) -> T {
        f(&self.directory.read().unwrap_or_else(|p| p.into_inner()))
    }

    /// Waits until everything in the log now has been applied (at most 2 s): for a reader
    /// that missed something which may have just been written, e.g. a key created a moment
    /// ago. Returns whether it caught up.
    pub async fn catch_up(&self) -> bool {
        match end_offset(self.watermarks.as_ref(), &self.topic, 0).await {
            Ok(0) => true,
            Ok(end) => {
                let mut position = self.position.clone();
                tokio::time::timeout(
                    Duration::from_secs(2),
                    position.wait_for(|next| *next >= end),
                )
                .await
                .is_ok_and(|r| r.is_ok())
            }
            Err(error) => {
                tracing::warn!(%error, "cannot find the end of the auth log");
                false
            }
        }
    }

    /// Waits until the event at `offset` has been applied (read-your-writes), at most 10 s.
    pub async fn caught_up_to(&self, offset: i64) -> bool {
        let mut position = self.position.clone();
        tokio::time::timeout(
            Duration::from_secs(10),
            position.wait_for(|next| *next > offset),
        )
        .await
        .is_ok_and(|r| r.is_ok())
    }
}

/// Starts following the log from its beginning; returns once what was there at the start
/// has been applied.
pub async fn follow(kafka: &KafkaSettings) -> anyhow::Result<DirectoryView> {
    ensure_topic(kafka).await?;
    let name = topic(kafka);
    let consumer: StreamConsumer = client_config(
        kafka,
        &ClientRole::Consumer {
            group_id: format!("auth-follow-{}", uuid::Uuid::new_v4()),
        },
    )
    .create()?;
    let end = end_offset(&consumer, &name, 0).await?;
    let mut assignment = TopicPartitionList::new();
    assignment.add_partition_offset(&name, 0, Offset::Beginning)?;
    consumer.assign(&assignment)?;
    let directory = Arc::new(RwLock::new(Directory::default()));
    let (moved, position) = watch::channel(0);
    let shared = Arc::clone(&directory);
    tokio::spawn(async move {
        loop {
            match consumer.recv().await {
                Ok(message) => {
                    let event = message.payload().map(serde_json::from_slice::<AuthEvent>);
                    match event {
                        Some(Ok(event)) => shared
                            .write()
                            .unwrap_or_else(|p| p.into_inner())
                            .apply(&event),
                        other => tracing::warn!(
                            offset = message.offset(),
                            ?other,
                            "skipping an unreadable auth event"
                        ),
                    }
                    let _ = moved.send(message.offset() + 1);
                }
                Err(error) => {
                    tracing::warn!(%error, "auth log consumer");
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
            }
        }
    });
    let watermarks: StreamConsumer = client_config(
        kafka,
        &ClientRole::Consumer {
            group_id: format!("auth-watermarks-{}", uuid::Uuid::new_v4()),
        },
    )
    .create()?;
    let view = DirectoryView {
        directory,
        position,
        watermarks: Arc::new(watermarks),
        topic: name,
    };
    if end > 0 && !view.caught_up_to(end - 1).await {
        anyhow::bail!("could not read the auth log up to its end ({end})");
    }
    Ok(view)
}

/// Appends events to the log.
#[derive(Clone)]
pub struct Appender {
    producer: FutureProducer,
    topic: String,
}

impl std::fmt::Debug for Appender {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Appender")
            .field("topic", &self.topic)
            .finish_non_exhaustive()
    }
}

impl Appender {
    /// An idempotent producer to the topic.
    pub fn new(kafka: &KafkaSettings) -> anyhow::Result<Self> {
        Ok(Self {
            producer: client_config(kafka, &ClientRole::Producer).create()?,
            topic: topic(kafka),
        })
    }

    /// Appends `event`; returns its offset.
    pub async fn append(&self, event: &AuthEvent) -> anyhow::Result<i64> {
        let value = serde_json::to_vec(event)?;
        let key = event.user().to_string();
        let delivery = self
            .producer
            .send(
                FutureRecord::to(&self.topic)
                    .key(&key)
                    .payload(&value)
                    .partition(0),
                Duration::from_secs(5),
            )
            .await
            .map_err(|(error, _)| error)?;
        Ok(delivery.offset)
    }
}
