//! The Redis bucket view against the real processor, command API and Kafka: after a mixed
//! load with the projector killed (SIGKILL) at random points, every pool's bucket hash is
//! the one of its newest snapshot and equals, field by field, a fresh rebuild.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use eventlog::{Topics, read_topic};
use futures::future::join_all;
use redis::AsyncCommands;
use settings::KafkaSettings;
use testkit::stack::{Service, Stack};

mod support;

use support::{killing_the_projector_during, load_pools, logged, mixed_commands};

const PARTITIONS: u32 = 2;
const CATCH_UP: Duration = Duration::from_secs(60);

type Buckets = BTreeMap<String, BTreeMap<String, String>>;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_bucket_is_its_pools_newest_state_even_across_projector_crashes() {
    let stack = Stack::start(PARTITIONS, Service::PROJECTING).await;
    let pools = load_pools(6);
    let load = async {
        join_all(pools.iter().map(|pool| mixed_commands(&stack, pool, 15))).await;
    };
    let kills = killing_the_projector_during(&stack, 3, load).await;
    assert!(kills >= 1, "the projector was never killed during the load");

    let prefix = format!("{}leaky:", stack.kafka.topic_prefix);
    wait_caught_up(&stack.kafka, &prefix).await;
    let live = buckets(&prefix).await;

    // Each bucket comes from a snapshot that folded in the pool's last event.
    let mut last_event: BTreeMap<String, i64> = BTreeMap::new();
    for (_, events) in logged(&stack.kafka).await {
        for (offset, envelope) in events {
            last_event.insert(envelope.pool_id.to_string(), offset);
        }
    }
    let provisioned: Vec<&String> = last_event.keys().collect();
    assert_eq!(live.keys().collect::<Vec<_>>(), provisioned);
    for (pool, fields) in &live {
        // The snapshot's position is its partition's, after the pool's last event.
        let folded: i64 = fields["next_event_offset"].parse().unwrap();
        assert!(folded > last_event[pool], "{pool}: snapshot at {folded}");
        assert_eq!(fields["strategy"], "LEAKY_BUCKET", "{pool}");
    }

    // A fresh rebuild under other keys writes the very same hashes.
    let group = testkit::unique("rebuild");
    let rebuilt_prefix = format!("{}rebuilt:", stack.kafka.topic_prefix);
    let _rebuilder = stack
        .spawn_extra(
            Service::Projectors,
            &[
                ("LEAKY_PROJECTORS__GROUP", group.as_str()),
                ("LEAKY_PROJECTORS__REDIS_KEY_PREFIX", "rebuilt:"),
            ],
        )
        .await;
    wait_caught_up(&stack.kafka, &rebuilt_prefix).await;
    assert_eq!(buckets(&rebuilt_prefix).await, live);
}

async fn redis() -> redis::aio::MultiplexedConnection {
    redis::Client::open(testkit::infra().redis.url.as_str())
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap()
}

/// Every bucket hash under `prefix`, by pool.
async fn buckets(prefix: &str) -> Buckets {
    let mut redis = redis().await;
    let keys: Vec<String> = redis.keys(format!("{prefix}bucket:*")).await.unwrap();
    let mut all = Buckets::new();
    for key in keys {
        let fields: BTreeMap<String, String> = redis.hgetall(&key).await.unwrap();
        all.insert(key[prefix.len() + "bucket:".len()..].to_owned(), fields);
    }
    all
}

/// Until the bucket positions under `prefix` have passed every snapshot now in the log.
async fn wait_caught_up(kafka: &KafkaSettings, prefix: &str) {
    let topic = Topics::new(kafka).pool_state();
    let mut last: BTreeMap<i32, i64> = BTreeMap::new();
    for record in read_topic(kafka, &topic, kafka.partitions).await.unwrap() {
        last.insert(record.partition, record.offset);
    }
    let mut redis = redis().await;
    let start = Instant::now();
    for (partition, offset) in last {
        loop {
            let next: Option<i64> = redis
                .hget(format!("{prefix}positions:buckets"), partition)
                .await
                .unwrap();
            if next.unwrap_or(0) > offset {
                break;
            }
            assert!(
                start.elapsed() < CATCH_UP,
                "buckets stuck at {partition}:{next:?}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}
