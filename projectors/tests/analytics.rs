//! The Cassandra usage analytics against the real processor, command API and Kafka: after
//! a mixed load (with refusals) and the projector killed (SIGKILL) at random points, the
//! totals per provider, user and org in every minute, hour and day bucket are exactly
//! what the log adds up to: nothing counted twice, nothing lost.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use eventlog::{Topics, read_topic};
use futures::future::join_all;
use projectors::analytics::contributions::{self, Usage};
use schemas::PoolCodec;
use serde_json::json;
use testkit::stack::{Service, Stack};

mod support;

use support::{killing_the_projector_during, load_pools, logged, mixed_commands};

const PARTITIONS: u32 = 2;
const CATCH_UP: Duration = Duration::from_secs(60);

/// (dimension, subject, granularity, bucket start) → (tokens, requests, rejections).
type Totals = BTreeMap<(String, String, String, i64), (i64, i64, i64)>;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn usage_totals_equal_the_log_even_across_projector_crashes() {
    let stack = Stack::start(PARTITIONS, Service::PROJECTING).await;
    let pools = load_pools(6);
    let stack = &stack;
    let load = async {
        join_all(pools.iter().map(|pool| async move {
            mixed_commands(stack, pool, 12).await;
            // Refusals: more than the pool holds.
            for _ in 0..3 {
                stack
                    .command(&format!("{pool}/consume"), json!({"amount": 900_000_000}))
                    .await;
            }
        }))
        .await;
    };
    let kills = killing_the_projector_during(stack, 3, load).await;
    assert!(kills >= 1, "the projector was never killed during the load");

    let expected = expected_totals(stack).await;
    assert!(expected.values().any(|(_, _, rejections)| *rejections > 0));
    let session = scylla::client::session_builder::SessionBuilder::new()
        .known_nodes(&testkit::infra().cassandra.nodes)
        .build()
        .await
        .unwrap();
    let start = Instant::now();
    loop {
        let stored = stored_totals(&session, &stack.keyspace).await;
        if stored == expected {
            break;
        }
        assert!(
            start.elapsed() < CATCH_UP,
            "analytics differ from the log:\n{}",
            differences(&expected, &stored)
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// The totals the whole log adds up to.
async fn expected_totals(stack: &Stack) -> Totals {
    let mut rows: Vec<(contributions::UsageKey, Usage)> = Vec::new();
    for (_, events) in logged(&stack.kafka).await {
        for (_, envelope) in events {
            rows.extend(contributions::of_event(&envelope.pool_id, &envelope.event));
        }
    }
    let codec = PoolCodec::new(&testkit::infra().registry).unwrap();
    let topic = Topics::new(&stack.kafka).pool_rejections();
    for record in read_topic(&stack.kafka, &topic, PARTITIONS).await.unwrap() {
        let rejection = codec
            .decode_rejection(&record.value.unwrap())
            .await
            .unwrap();
        rows.extend(contributions::of_rejection(
            &rejection.pool_id,
            rejection.at,
        ));
    }
    let mut totals = Totals::new();
    for (key, usage) in rows {
        let total = totals
            .entry((
                key.dimension.to_owned(),
                key.subject,
                key.granularity.to_owned(),
                key.bucket_start_ms,
            ))
            .or_default();
        *total = (
            total.0 + usage.tokens,
            total.1 + usage.requests,
            total.2 + usage.rejections,
        );
    }
    totals
}

/// The stored totals, summed over source topics and partitions as a reader does.
async fn stored_totals(session: &scylla::client::session::Session, keyspace: &str) -> Totals {
    let result = session
        .query_unpaged(
            format!(
                "SELECT dimension, subject, granularity, bucket_start, tokens, requests, \
                 rejections FROM {keyspace}.usage"
            ),
            &[],
        )
        .await;
    let Ok(result) = result else {
        return Totals::new(); // not created yet
    };
    let rows = result.into_rows_result().unwrap();
    let mut totals = Totals::new();
    for row in rows
        .rows::<(String, String, String, i64, i64, i64, i64)>()
        .unwrap()
    {
        let (dimension, subject, granularity, start, tokens, requests, rejections) = row.unwrap();
        let total = totals
            .entry((dimension, subject, granularity, start))
            .or_default();
        *total = (total.0 + tokens, total.1 + requests, total.2 + rejections);
    }
    totals
}

fn differences(expected: &Totals, stored: &Totals) -> String {
    let mut lines = Vec::new();
    for (key, value) in expected {
        if stored.get(key) != Some(value) {
            lines.push(format!(
                "{key:?}: log {value:?}, stored {:?}",
                stored.get(key)
            ));
        }
    }
    for key in stored.keys().filter(|k| !expected.contains_key(*k)) {
        lines.push(format!("{key:?}: not in the log"));
    }
    lines.truncate(20);
    lines.join("\n")
}
