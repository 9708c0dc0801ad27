//! The `auth.events` topic: one partition (a total order; auth traffic is small), kept
//! forever, keyed by user id, its values Avro (`dev.leakytokens.AuthEventRecord`, registered
//! under `<topic>-value` like every other topic). Every reader — the auth service itself
//! and each service checking API keys — follows it with [`follow`], so a revocation
//! reaches every cache as fast as the log carries it.
//!
//! A follower never skips a record it could read later: while the schema registry cannot
//! be asked it waits and retries, because skipping a revocation would leave a revoked key
//! working (fail open). Only a record that can never be read ([`schemas::DecodeError::is_poison`]:
//! not Confluent-framed, e.g. a JSON record from before the log was Avro, or not an auth
//! event) is skipped, with a warning and a count ([`DirectoryView::skipped_records`]).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use eventlog::{ClientRole, Topics, client_config, ensure_topics};
use prometheus::IntCounter;
use rdkafka::consumer::{Consumer, StreamConsumer};
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::{Message, Offset, TopicPartitionList};
use schemas::AuthCodec;
use settings::{KafkaSettings, RegistrySettings};
use tokio::sync::{Notify, watch};

use crate::directory::{AuthEvent, Directory};

/// The first wait before asking an unreachable registry again; it doubles up to [`RETRY_MAX`].
const RETRY_FIRST: Duration = Duration::from_millis(100);

/// The longest wait between two attempts to read a record while the registry is unreachable.
const RETRY_MAX: Duration = Duration::from_secs(5);

/// The shortest time between two questions to the broker about where the log ends: however
/// many unknown credentials arrive, they share at most one such question per interval.
const END_QUERY_INTERVAL: Duration = Duration::from_millis(100);

/// The topic's name in the deployment of `kafka`.
pub fn topic(kafka: &KafkaSettings) -> String {
    Topics::new(kafka).auth_events()
}

/// Creates the topic if it does not exist (and waits until the broker knows it).
pub async fn ensure_topic(kafka: &KafkaSettings) -> anyhow::Result<()> {
    ensure_topics(kafka, &[Topics::new(kafka).auth_topic_spec()]).await?;
    Ok(())
}

/// The directory as of the log's position, shared with whoever reads it.
#[derive(Clone)]
pub struct DirectoryView {
    directory: Arc<RwLock<Directory>>,
    /// Offset of the next event to apply: a writer waits for it to pass its own event.
    position: watch::Receiver<i64>,
    /// Where the log ended, as the broker last said, and in which round it was asked.
    ends: watch::Receiver<EndOfLog>,
    /// Asks the one task that questions the broker for a new round.
    end_wanted: Arc<Notify>,
    /// The number of the round the end-of-log task started last.
    rounds_started: Arc<AtomicU64>,
    /// Records skipped because they can never be read.
    skipped: IntCounter,
}

/// The end of the log as of one round of asking the broker.
#[derive(Debug, Clone, Copy, Default)]
struct EndOfLog {
    round: u64,
    /// The offset after the last record, or `None` if the broker did not answer.
    end: Option<i64>,
}

impl std::fmt::Debug for DirectoryView {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DirectoryView")
            .field("position", &*self.position.borrow())
            .field("skipped", &self.skipped.get())
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
    ///
    /// Costs no broker call of its own: every caller waiting at once shares the next round
    /// of one background task, which asks the broker at most once per
    /// [`END_QUERY_INTERVAL`], off the async workers. A flood of unknown credentials is
    /// thus answered from memory plus that shared wait, and never blocks the runtime.
    pub async fn catch_up(&self) -> bool {
        // A round numbered past `started` begins after this line, so it sees the log as of
        // now or later; asking for one guarantees it happens.
        let started = self.rounds_started.load(Ordering::Acquire);
        self.end_wanted.notify_one();
        let mut ends = self.ends.clone();
        let mut position = self.position.clone();
        let wait = async move {
            let end = ends.wait_for(|e| e.round > started).await.ok()?.end?;
            position
                .wait_for(|next| *next >= end)
                .await
                .ok()
                .map(|_| ())
        };
        matches!(
            tokio::time::timeout(Duration::from_secs(2), wait).await,
            Ok(Some(_))
        )
    }

    /// How many records were skipped because they can never be read, as a counter a
    /// service may register (`auth_log_skipped_records_total`).
    pub fn skipped_records(&self) -> IntCounter {
        self.skipped.clone()
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

/// Starts following the log from its beginning, decoding through the registry in
/// `registry`; returns once what was there at the start has been applied.
pub async fn follow(
    kafka: &KafkaSettings,
    registry: &RegistrySettings,
) -> anyhow::Result<DirectoryView> {
    let codec = AuthCodec::new(registry)?;
    ensure_topic(kafka).await?;
    let name = topic(kafka);
    let watermarks: Arc<StreamConsumer> = Arc::new(
        client_config(
            kafka,
            &ClientRole::Consumer {
                group_id: format!("auth-watermarks-{}", uuid::Uuid::new_v4()),
            },
        )
        .create()?,
    );
    let end = end_offset(Arc::clone(&watermarks), name.clone())
        .await
        .ok_or_else(|| anyhow::anyhow!("cannot find the end of the auth log {name}"))?;
    let consumer: StreamConsumer = client_config(
        kafka,
        &ClientRole::Consumer {
            group_id: format!("auth-follow-{}", uuid::Uuid::new_v4()),
        },
    )
    .create()?;
    let mut assignment = TopicPartitionList::new();
    assignment.add_partition_offset(&name, 0, Offset::Beginning)?;
    consumer.assign(&assignment)?;
    let directory = Arc::new(RwLock::new(Directory::default()));
    let (moved, position) = watch::channel(0);
    let skipped = IntCounter::new(
        "auth_log_skipped_records_total",
        "Records of the auth log skipped because they can never be read",
    )?;
    let applying = tokio::spawn(apply_all(
        consumer,
        codec,
        Arc::clone(&directory),
        moved,
        skipped.clone(),
    ));
    let (ended, ends) = watch::channel(EndOfLog::default());
    let end_wanted = Arc::new(Notify::new());
    let rounds_started = Arc::new(AtomicU64::new(0));
    let asking = tokio::spawn(ask_for_ends(
        watermarks,
        name,
        Arc::clone(&end_wanted),
        Arc::clone(&rounds_started),
        ended,
    ));
    let view = DirectoryView {
        directory,
        position,
        ends,
        end_wanted,
        rounds_started,
        skipped,
    };
    if end > 0 && !view.caught_up_to(end - 1).await {
        // The caller may try again; this follower must not go on in the background.
        applying.abort();
        asking.abort();
        anyhow::bail!("could not read the auth log up to its end ({end})");
    }
    Ok(view)
}

/// Where the log ends, asked off the async workers (librdkafka's watermark query blocks
/// its thread until the broker answers); `None` if it did not answer.
async fn end_offset(consumer: Arc<StreamConsumer>, topic: String) -> Option<i64> {
    let asked = tokio::task::spawn_blocking(move || {
        consumer.fetch_watermarks(&topic, 0, Duration::from_secs(5))
    })
    .await;
    match asked {
        Ok(Ok((_, high))) => Some(high),
        Ok(Err(error)) => {
            tracing::warn!(%error, "cannot find the end of the auth log");
            None
        }
        Err(error) => {
            tracing::warn!(%error, "the end-of-log query did not finish");
            None
        }
    }
}

/// Answers the rounds [`DirectoryView::catch_up`] asks for: one broker question per round,
/// rounds at most every [`END_QUERY_INTERVAL`], for as long as the view lives.
async fn ask_for_ends(
    consumer: Arc<StreamConsumer>,
    topic: String,
    wanted: Arc<Notify>,
    started: Arc<AtomicU64>,
    ended: watch::Sender<EndOfLog>,
) {
    loop {
        wanted.notified().await;
        let round = started.fetch_add(1, Ordering::AcqRel) + 1;
        let end = end_offset(Arc::clone(&consumer), topic.clone()).await;
        if ended.send(EndOfLog { round, end }).is_err() {
            return; // every view is gone
        }
        tokio::time::sleep(END_QUERY_INTERVAL).await;
    }
}

/// Applies every record of the log in offset order, forever, moving `moved` past each.
async fn apply_all(
    consumer: StreamConsumer,
    codec: AuthCodec,
    directory: Arc<RwLock<Directory>>,
    moved: watch::Sender<i64>,
    skipped: IntCounter,
) {
    loop {
        let (offset, payload) = match consumer.recv().await {
            Ok(message) => (message.offset(), message.payload().map(<[u8]>::to_vec)),
            Err(error) => {
                tracing::warn!(%error, "auth log consumer");
                tokio::time::sleep(Duration::from_millis(200)).await;
                continue;
            }
        };
        let decoded = match payload {
            Some(bytes) => read(&codec, &bytes, offset).await,
            None => Err(("no_value", "the record has no value".to_owned())),
        };
        match decoded {
            Ok(event) => directory
                .write()
                .unwrap_or_else(|p| p.into_inner())
                .apply(&event),
            Err((reason, detail)) => {
                skipped.inc();
                tracing::warn!(
                    offset,
                    reason,
                    detail,
                    "skipping an auth event that can never be read"
                );
            }
        }
        let _ = moved.send(offset + 1);
    }
}

/// The event in `bytes`, or why it can never be read (a short reason and the detail).
///
/// While the registry cannot be asked, waits and asks again (backing off up to
/// [`RETRY_MAX`]) for as long as it takes: the record is probably fine, and skipping it
/// could skip a revocation. Everything after it waits too, which is the point.
async fn read(
    codec: &AuthCodec,
    bytes: &[u8],
    offset: i64,
) -> Result<AuthEvent, (&'static str, String)> {
    let mut wait = RETRY_FIRST;
    loop {
        match codec.decode_event(bytes).await {
            Ok(event) => return Ok(event),
            Err(error) if error.is_poison() => return Err((error.reason(), error.to_string())),
            Err(error) => {
                tracing::warn!(
                    offset,
                    %error,
                    retry_in_ms = u64::try_from(wait.as_millis()).unwrap_or(u64::MAX),
                    "cannot read an auth event while the schema registry is unreachable; retrying"
                );
                tokio::time::sleep(wait).await;
                wait = (wait * 2).min(RETRY_MAX);
            }
        }
    }
}

/// Appends events to the log.
#[derive(Clone)]
pub struct Appender {
    producer: FutureProducer,
    topic: String,
    codec: AuthCodec,
}

impl std::fmt::Debug for Appender {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Appender")
            .field("topic", &self.topic)
            .finish_non_exhaustive()
    }
}

impl Appender {
    /// An idempotent producer to the topic, encoding through the registry in `registry`.
    pub fn new(kafka: &KafkaSettings, registry: &RegistrySettings) -> anyhow::Result<Self> {
        Ok(Self {
            producer: client_config(kafka, &ClientRole::Producer).create()?,
            topic: topic(kafka),
            codec: AuthCodec::new(registry)?,
        })
    }

    /// Appends `event` (registering the schema under `<topic>-value` on first use);
    /// returns its offset.
    pub async fn append(&self, event: &AuthEvent) -> anyhow::Result<i64> {
        let value = self.codec.encode_event(&self.topic, event).await?;
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
