//! What the service needs to know, from the shared configuration file.

use std::net::SocketAddr;

use serde::{Deserialize, Serialize};
use settings::{CassandraSettings, HttpSettings, KafkaSettings, PostgresSettings, RedisSettings};

/// Configuration of the service.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Config {
    pub query_api: QueryApiSettings,
    pub postgres: PostgresSettings,
    pub redis: RedisSettings,
    pub cassandra: CassandraSettings,
    /// The topic layout from `[kafka]`. The query API never connects to Kafka, so this is
    /// written out as `topic_layout`, not as a `[kafka]` it would reach.
    #[serde(default, rename(deserialize = "kafka", serialize = "topic_layout"))]
    pub topics: TopicLayout,
    /// Where the projectors keep the Redis views.
    #[serde(default)]
    pub projectors: ViewKeySettings,
}

/// What a reader needs of the `[kafka]` section: the deployment's topic prefix (the Redis
/// keys of the views start with it) and partition count (a pool's consistency tokens all
/// come from its partition).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TopicLayout {
    #[serde(default)]
    pub topic_prefix: String,
    #[serde(default = "default_partitions")]
    pub partitions: u32,
}

fn default_partitions() -> u32 {
    KafkaSettings::default().partitions
}

impl Default for TopicLayout {
    fn default() -> Self {
        let kafka = KafkaSettings::default();
        Self {
            topic_prefix: kafka.topic_prefix,
            partitions: kafka.partitions,
        }
    }
}

/// What a reader needs of the `[projectors]` section: the Redis key prefix of the views
/// (read from the projectors' own setting, so writer and readers cannot disagree).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ViewKeySettings {
    /// Prefix of the Redis keys of the views, after the deployment's topic prefix.
    #[serde(default = "default_redis_key_prefix")]
    pub redis_key_prefix: String,
}

impl Default for ViewKeySettings {
    fn default() -> Self {
        Self {
            redis_key_prefix: default_redis_key_prefix(),
        }
    }
}

fn default_redis_key_prefix() -> String {
    "leaky:".into()
}

/// The `[query_api]` section.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QueryApiSettings {
    /// Address to bind; port 0 picks a free port.
    pub listen: SocketAddr,
    /// How long a read with a consistency token waits for the view to pass it, unless the
    /// request asks for less (`wait_ms`).
    #[serde(default = "default_consistency_wait_ms")]
    pub consistency_wait_ms: u64,
    /// The longest wait a request may ask for.
    #[serde(default = "default_max_wait_ms")]
    pub max_wait_ms: u64,
}

fn default_consistency_wait_ms() -> u64 {
    2_000
}

fn default_max_wait_ms() -> u64 {
    10_000
}

impl Default for Config {
    fn default() -> Self {
        Self {
            query_api: QueryApiSettings {
                listen: HttpSettings::loopback(8082).listen,
                consistency_wait_ms: default_consistency_wait_ms(),
                max_wait_ms: default_max_wait_ms(),
            },
            postgres: PostgresSettings::default(),
            redis: RedisSettings::default(),
            cassandra: CassandraSettings::default(),
            topics: TopicLayout::default(),
            projectors: ViewKeySettings::default(),
        }
    }
}
