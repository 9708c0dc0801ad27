//! Settings sections shared by the services, with local-infrastructure defaults
//! (the ports `ops/infra` uses), so a service starts with no file at all on a dev box.

use std::fmt;
use std::net::SocketAddr;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// Where a service's HTTP server listens.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpSettings {
    /// Address to bind; port 0 picks a free port (tests use this).
    pub listen: SocketAddr,
}

impl HttpSettings {
    /// Settings listening on loopback at `port`.
    pub fn loopback(port: u16) -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], port)),
        }
    }
}

/// How to reach Kafka.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KafkaSettings {
    pub brokers: BrokerList,
    /// Prepended to every topic and group name, so tests and tenants can share a cluster.
    #[serde(default)]
    pub topic_prefix: String,
    /// Partitions of every topic of an aggregate kind: the unit of parallelism of the
    /// single writers. Fixed once topics exist (changing it would move pools).
    #[serde(default = "default_partitions", deserialize_with = "partition_count")]
    pub partitions: u32,
    /// How long a producer outside transactions (commands, dead letters) holds records to
    /// batch them: throughput under load against latency when load is light.
    #[serde(default = "default_producer_linger_ms")]
    pub producer_linger_ms: u32,
}

fn default_producer_linger_ms() -> u32 {
    5
}

fn default_partitions() -> u32 {
    6
}

fn partition_count<'de, D: serde::Deserializer<'de>>(d: D) -> Result<u32, D::Error> {
    match u32::deserialize(d)? {
        0 => Err(serde::de::Error::custom(
            "a topic needs at least one partition",
        )),
        n => Ok(n),
    }
}

impl Default for KafkaSettings {
    fn default() -> Self {
        Self {
            brokers: BrokerList("127.0.0.1:9092".into()),
            topic_prefix: String::new(),
            partitions: default_partitions(),
            producer_linger_ms: default_producer_linger_ms(),
        }
    }
}

/// A non-empty comma-separated list of `host:port` bootstrap brokers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct BrokerList(String);

impl BrokerList {
    /// The list in the form librdkafka's `bootstrap.servers` expects.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for BrokerList {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let brokers: Vec<&str> = s.split(',').map(str::trim).collect();
        if brokers.iter().any(|b| b.is_empty()) {
            return Err(format!("broker list {s:?} has an empty entry"));
        }
        for broker in &brokers {
            let port = broker.rsplit_once(':').map(|(_, port)| port.parse::<u16>());
            if !matches!(port, Some(Ok(p)) if p > 0) {
                return Err(format!("broker {broker:?} is not host:port"));
            }
        }
        Ok(Self(brokers.join(",")))
    }
}

impl TryFrom<String> for BrokerList {
    type Error = String;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

impl From<BrokerList> for String {
    fn from(b: BrokerList) -> Self {
        b.0
    }
}

impl fmt::Display for BrokerList {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// An absolute `http://` or `https://` URL without a trailing slash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct HttpUrl(String);

impl HttpUrl {
    /// The URL, never ending in `/`, so paths can be appended with `format!("{url}/x")`.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for HttpUrl {
    type Error = String;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        let rest = s
            .strip_prefix("http://")
            .or_else(|| s.strip_prefix("https://"))
            .ok_or_else(|| format!("{s:?} is not an http:// or https:// URL"))?;
        if rest.is_empty() || rest.starts_with('/') {
            return Err(format!("{s:?} has no host"));
        }
        Ok(Self(s.trim_end_matches('/').to_owned()))
    }
}

impl From<HttpUrl> for String {
    fn from(u: HttpUrl) -> Self {
        u.0
    }
}

impl fmt::Display for HttpUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The Confluent-compatible schema registry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegistrySettings {
    /// Base of the Confluent API, e.g. Apicurio's `http://host:8081/apis/ccompat/v7`.
    pub url: HttpUrl,
}

impl Default for RegistrySettings {
    fn default() -> Self {
        Self {
            url: HttpUrl("http://127.0.0.1:8081/apis/ccompat/v7".into()),
        }
    }
}

/// The Postgres database holding the quota views.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PostgresSettings {
    /// `postgres://user:password@host:port/database`
    #[serde(deserialize_with = "postgres_url")]
    pub url: String,
    pub max_connections: u32,
}

impl Default for PostgresSettings {
    fn default() -> Self {
        Self {
            url: "postgres://leaky:leaky@127.0.0.1:5432/leaky".into(),
            max_connections: 10,
        }
    }
}

fn postgres_url<'de, D: serde::Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    let url = String::deserialize(d)?;
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Ok(url)
    } else {
        Err(serde::de::Error::custom(format!(
            "{url:?} is not a postgres:// URL"
        )))
    }
}

/// The Redis server holding bucket state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RedisSettings {
    /// `redis://host:port[/db]`
    #[serde(deserialize_with = "redis_url")]
    pub url: String,
}

impl Default for RedisSettings {
    fn default() -> Self {
        Self {
            url: "redis://127.0.0.1:6379".into(),
        }
    }
}

fn redis_url<'de, D: serde::Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    let url = String::deserialize(d)?;
    if url.starts_with("redis://") || url.starts_with("rediss://") {
        Ok(url)
    } else {
        Err(serde::de::Error::custom(format!(
            "{url:?} is not a redis:// URL"
        )))
    }
}

/// The Cassandra cluster holding analytics.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CassandraSettings {
    /// Contact points, `host:port`.
    #[serde(deserialize_with = "contact_points")]
    pub nodes: Vec<String>,
    /// Keyspace the analytics tables live in (a CQL identifier).
    #[serde(deserialize_with = "cql_identifier")]
    pub keyspace: String,
}

impl Default for CassandraSettings {
    fn default() -> Self {
        Self {
            nodes: vec!["127.0.0.1:9042".into()],
            keyspace: "leaky".into(),
        }
    }
}

fn contact_points<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    let nodes = Vec::<String>::deserialize(d)?;
    if nodes.is_empty() {
        return Err(serde::de::Error::custom(
            "at least one contact point is needed",
        ));
    }
    Ok(nodes)
}

fn cql_identifier<'de, D: serde::Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    let name = String::deserialize(d)?;
    let valid = name.len() <= 48
        && name.starts_with(|c: char| c.is_ascii_lowercase())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if valid {
        Ok(name)
    } else {
        Err(serde::de::Error::custom(format!(
            "{name:?} is not a keyspace name (lowercase letter, then up to 47 of a-z 0-9 _)"
        )))
    }
}
