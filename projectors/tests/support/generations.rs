//! The Redis bucket view and the Cassandra analytics generation by generation: every value
//! a generation holds, and waiting until one has applied the whole log.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use eventlog::{Topics, read_topic};
use redis::AsyncCommands;
use scylla::client::session::Session;
use settings::KafkaSettings;
use viewstore::{AnalyticsTables, BucketKeys};

/// Every bucket hash of a generation, by key.
pub type Buckets = BTreeMap<String, BTreeMap<String, String>>;

/// Every row of the analytics tables, as text, by table.
pub type Rows = BTreeMap<&'static str, Vec<String>>;

pub async fn redis() -> redis::aio::MultiplexedConnection {
    redis::Client::open(testkit::infra().redis.url.as_str())
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap()
}

/// The bucket keys of `kafka`'s deployment (default key prefix).
pub fn bucket_keys(kafka: &KafkaSettings) -> BucketKeys {
    BucketKeys::new(format!("{}leaky:", kafka.topic_prefix))
}

/// Every bucket hash of `generation`, by pool.
pub async fn buckets(keys: &BucketKeys, generation: u64) -> Buckets {
    let keys = keys.generation(generation);
    let mut redis = redis().await;
    let found: Vec<String> = redis.keys(keys.bucket_pattern()).await.unwrap();
    let mut all = Buckets::new();
    for key in found {
        let fields: BTreeMap<String, String> = redis.hgetall(&key).await.unwrap();
        let pool = key.rsplit_once("bucket:").unwrap().1.to_owned();
        all.insert(pool, fields);
    }
    all
}

/// The last offset of each partition of `topic`.
async fn ends(kafka: &KafkaSettings, topic: &str) -> BTreeMap<i32, i64> {
    let mut last = BTreeMap::new();
    for record in read_topic(kafka, topic, kafka.partitions).await.unwrap() {
        last.insert(record.partition, record.offset);
    }
    last
}

/// Until generation `generation` of the buckets has passed every snapshot now in the log.
pub async fn wait_buckets_caught_up(kafka: &KafkaSettings, generation: u64, within: Duration) {
    let positions = bucket_keys(kafka).generation(generation).positions();
    let mut redis = redis().await;
    let start = Instant::now();
    for (partition, offset) in ends(kafka, &Topics::new(kafka).pool_state()).await {
        loop {
            let next: Option<i64> = redis.hget(&positions, partition).await.unwrap();
            if next.unwrap_or(0) > offset {
                break;
            }
            assert!(
                start.elapsed() < within,
                "buckets stuck at {partition}:{next:?}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

pub async fn cassandra() -> Session {
    scylla::client::session_builder::SessionBuilder::new()
        .known_nodes(&testkit::infra().cassandra.nodes)
        .build()
        .await
        .unwrap()
}

/// Until both analytics projections of `tables` have passed everything now in their topics.
pub async fn wait_analytics_caught_up(
    session: &Session,
    keyspace: &str,
    tables: AnalyticsTables,
    kafka: &KafkaSettings,
    within: Duration,
) {
    let topics = Topics::new(kafka);
    let start = Instant::now();
    for (projection, topic) in [
        ("usage-events", topics.pool_events()),
        ("usage-rejections", topics.pool_rejections()),
    ] {
        for (partition, offset) in ends(kafka, &topic).await {
            loop {
                let next = session
                    .query_unpaged(
                        format!(
                            "SELECT next_offset FROM {keyspace}.{} \
                             WHERE projection = ? AND partition = ?",
                            tables.positions()
                        ),
                        (projection, partition),
                    )
                    .await
                    .ok()
                    .and_then(|r| r.into_rows_result().ok())
                    .and_then(|r| r.maybe_first_row::<(i64,)>().ok().flatten())
                    .map_or(0, |(n,)| n);
                if next > offset {
                    break;
                }
                assert!(
                    start.elapsed() < within,
                    "{projection} stuck at {partition}:{next}"
                );
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
}

/// Every row of the usage tables of `tables`, each row as text, sorted.
pub async fn analytics_rows(session: &Session, keyspace: &str, tables: AnalyticsTables) -> Rows {
    let mut all = Rows::new();
    let columns = "dimension, subject, granularity, bucket_start, source, source_partition";
    for (name, table) in [
        ("usage", tables.usage()),
        ("usage_by_bucket", tables.usage_by_bucket()),
    ] {
        let result = session
            .query_unpaged(
                format!(
                    "SELECT {columns}, tokens, requests, rejections, last_offset \
                     FROM {keyspace}.{table}"
                ),
                &[],
            )
            .await
            .unwrap()
            .into_rows_result()
            .unwrap();
        let mut rows: Vec<String> = result
            .rows::<(String, String, String, i64, String, i32, i64, i64, i64, i64)>()
            .unwrap()
            .map(|row| format!("{:?}", row.unwrap()))
            .collect();
        rows.sort();
        all.insert(name, rows);
    }
    all
}

/// Whether `table` exists in `keyspace`.
pub async fn table_exists(session: &Session, keyspace: &str, table: &str) -> bool {
    let result = session
        .query_unpaged(
            "SELECT table_name FROM system_schema.tables WHERE keyspace_name = ? AND table_name = ?",
            (keyspace, table),
        )
        .await
        .unwrap()
        .into_rows_result()
        .unwrap();
    result.rows_num() > 0
}

/// Until every pool's bucket in `generation` has folded in the pool's last event (the
/// processor snapshots a changed pool up to 250 ms after its events), and the generation
/// has passed every snapshot then in the log.
pub async fn wait_buckets_complete(kafka: &KafkaSettings, generation: u64, within: Duration) {
    let mut last_event: BTreeMap<String, i64> = BTreeMap::new();
    for (_, events) in super::logged(kafka).await {
        for (offset, envelope) in events {
            last_event.insert(envelope.pool_id.to_string(), offset);
        }
    }
    let keys = bucket_keys(kafka);
    let start = Instant::now();
    loop {
        let held = buckets(&keys, generation).await;
        let folded = |pool: &String| {
            held.get(pool)
                .and_then(|fields| fields.get("next_event_offset"))
                .and_then(|next| next.parse::<i64>().ok())
        };
        if last_event
            .iter()
            .all(|(pool, last)| folded(pool) > Some(*last))
        {
            break;
        }
        assert!(
            start.elapsed() < within,
            "buckets have not folded the log in"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    wait_buckets_caught_up(kafka, generation, within).await;
}
