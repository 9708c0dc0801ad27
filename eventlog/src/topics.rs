//! The topics of the system, their names and how they are created.
//!
//! Every topic of an aggregate kind has the same partition count, so a pool's commands,
//! events and snapshots sit on partitions with the same number.

use std::time::Duration;

use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::error::KafkaError;
use rdkafka::types::RDKafkaErrorCode;
use settings::KafkaSettings;

use crate::{ClientRole, client_config};

const DAY_MS: i64 = 24 * 60 * 60 * 1000;

/// Topic names, with the deployment's prefix.
#[derive(Debug, Clone)]
pub struct Topics {
    prefix: String,
}

impl Topics {
    /// The topics of the deployment configured in `settings`.
    pub fn new(settings: &KafkaSettings) -> Self {
        Self {
            prefix: settings.topic_prefix.clone(),
        }
    }

    fn name(&self, topic: &str) -> String {
        format!("{}{topic}", self.prefix)
    }

    /// Commands for token pools, keyed by pool id.
    pub fn pool_commands(&self) -> String {
        self.name("token-pool.commands")
    }

    /// The facts about token pools, keyed by pool id; kept forever.
    pub fn pool_events(&self) -> String {
        self.name("token-pool.events")
    }

    /// A snapshot of each pool after each batch, keyed by pool id; compacted.
    pub fn pool_state(&self) -> String {
        self.name("token-pool.state")
    }

    /// Decisions that changed nothing (quota exhausted, rate limited), for analytics.
    pub fn pool_rejections(&self) -> String {
        self.name("token-pool.rejections")
    }

    /// The outcome of each command, keyed by the instance waiting for it.
    pub fn replies(&self) -> String {
        self.name("replies")
    }

    /// Commands for purchases (placing one, and the saga's step outcomes), keyed by purchase id.
    pub fn purchase_commands(&self) -> String {
        self.name("purchase.commands")
    }

    /// The facts about purchases, keyed by purchase id; kept forever.
    pub fn purchase_events(&self) -> String {
        self.name("purchase.events")
    }

    /// A snapshot of each purchase after each batch, keyed by purchase id; compacted.
    /// The saga reads it to learn what each purchase awaits.
    pub fn purchase_state(&self) -> String {
        self.name("purchase.state")
    }

    /// Users, org memberships and API keys, keyed by user id; kept forever.
    pub fn auth_events(&self) -> String {
        self.name("auth.events")
    }

    /// The auth log: one partition, so its readers see one total order (auth traffic is
    /// small); kept forever.
    pub fn auth_topic_spec(&self) -> TopicSpec {
        TopicSpec::new(self.auth_events(), 1).retention_ms(-1)
    }

    /// Every purchase topic, and `replies` which purchase commands are answered on.
    pub fn purchase_topic_specs(&self, partitions: u32) -> Vec<TopicSpec> {
        vec![
            TopicSpec::new(self.purchase_commands(), partitions).retention_ms(7 * DAY_MS),
            TopicSpec::new(self.purchase_events(), partitions).retention_ms(-1),
            TopicSpec::new(self.purchase_state(), partitions).compacted(),
            TopicSpec::new(self.replies(), partitions).retention_ms(60 * 60 * 1000),
        ]
    }

    /// Every token-pool topic with how it must be configured.
    pub fn pool_topic_specs(&self, partitions: u32) -> Vec<TopicSpec> {
        vec![
            TopicSpec::new(self.pool_commands(), partitions).retention_ms(7 * DAY_MS),
            TopicSpec::new(self.pool_events(), partitions).retention_ms(-1),
            TopicSpec::new(self.pool_state(), partitions).compacted(),
            TopicSpec::new(self.pool_rejections(), partitions).retention_ms(30 * DAY_MS),
            TopicSpec::new(self.replies(), partitions).retention_ms(60 * 60 * 1000),
        ]
    }
}

/// A topic and the settings it is created with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicSpec {
    pub name: String,
    pub partitions: u32,
    pub config: Vec<(&'static str, String)>,
}

impl TopicSpec {
    fn new(name: String, partitions: u32) -> Self {
        Self {
            name,
            partitions,
            config: vec![("cleanup.policy", "delete".into())],
        }
    }

    fn retention_ms(mut self, ms: i64) -> Self {
        self.config.push(("retention.ms", ms.to_string()));
        self
    }

    /// Compacted, and compacted often: a writer taking the partition over reads all of
    /// it, so its size (one record per pool plus the last minute's) bounds restart time.
    fn compacted(mut self) -> Self {
        self.config = vec![
            ("cleanup.policy", "compact".into()),
            ("segment.ms", "60000".into()),
            ("min.cleanable.dirty.ratio", "0.1".into()),
        ];
        self
    }
}

/// Why the topics could not be made ready.
#[derive(Debug, thiserror::Error)]
pub enum TopicError {
    #[error("kafka admin: {0}")]
    Kafka(#[from] KafkaError),
    #[error("creating topic {topic}: {code}")]
    Create {
        topic: String,
        code: RDKafkaErrorCode,
    },
    #[error(
        "topic {topic} has {actual} partitions, configured {expected}: pools would move partitions"
    )]
    PartitionMismatch {
        topic: String,
        expected: u32,
        actual: usize,
    },
}

/// Creates the topics that do not exist yet, and checks that those that do have the
/// configured partition count (a different count would move pools between writers).
pub async fn ensure_topics(
    settings: &KafkaSettings,
    specs: &[TopicSpec],
) -> Result<(), TopicError> {
    let admin: AdminClient<DefaultClientContext> =
        client_config(settings, &ClientRole::Admin).create()?;
    let new_topics: Vec<NewTopic<'_>> = specs
        .iter()
        .map(|spec| {
            spec.config.iter().fold(
                NewTopic::new(
                    &spec.name,
                    spec.partitions as i32,
                    TopicReplication::Fixed(1),
                ),
                |topic, (key, value)| topic.set(key, value),
            )
        })
        .collect();
    let options = AdminOptions::new().operation_timeout(Some(Duration::from_secs(30)));
    for result in admin.create_topics(&new_topics, &options).await? {
        match result {
            Ok(_) => {}
            Err((_, RDKafkaErrorCode::TopicAlreadyExists)) => {}
            Err((topic, code)) => return Err(TopicError::Create { topic, code }),
        }
    }
    // A topic just created can take a moment to appear in the metadata.
    let deadline = std::time::Instant::now() + Duration::from_secs(15);
    loop {
        let metadata = admin
            .inner()
            .fetch_metadata(None, Duration::from_secs(10))?;
        let partitions_of = |name: &str| {
            metadata
                .topics()
                .iter()
                .find(|t| t.name() == name)
                .map_or(0, |t| t.partitions().len())
        };
        let missing = specs.iter().any(|spec| partitions_of(&spec.name) == 0);
        if missing && std::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(100)).await;
            continue;
        }
        for spec in specs {
            let actual = partitions_of(&spec.name);
            if actual != spec.partitions as usize {
                return Err(TopicError::PartitionMismatch {
                    topic: spec.name.clone(),
                    expected: spec.partitions,
                    actual,
                });
            }
        }
        return Ok(());
    }
}
