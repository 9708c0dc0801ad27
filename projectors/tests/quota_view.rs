//! The Postgres quota view against the real processor, command API and Kafka: after a
//! mixed load it equals the log replayed through the domain and, row by row, a fresh
//! replay of the log into another database; a projector killed with SIGKILL at random
//! points mid-load and restarted leaves it exactly the same.

use std::time::Duration;

use futures::future::join_all;
use testkit::SpawnedService;
use testkit::stack::{Service, Stack, fresh_database};

mod support;

use support::{
    assert_view_equals_replay, connect, killing_the_projector_during, load_pools, mixed_commands,
    wait_caught_up,
};

const PARTITIONS: u32 = 2;
/// Long enough for a restarted projector to get its partitions back (the group waits out
/// the killed member's 6 s session) and catch up.
const CATCH_UP: Duration = Duration::from_secs(60);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_a_mixed_load_the_view_equals_the_replayed_log_and_a_fresh_rebuild() {
    let stack = Stack::start(PARTITIONS, Service::PROJECTING).await;
    let pools = load_pools(6);
    join_all(pools.iter().map(|pool| mixed_commands(&stack, pool, 8))).await;

    let db = connect(&stack.postgres_url).await;
    wait_caught_up(&db, &stack.kafka, CATCH_UP).await;
    assert_view_equals_replay(&db, &stack.kafka).await;
    assert_equals_a_fresh_rebuild(&stack, &db).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_projector_killed_mid_load_and_restarted_leaves_the_view_exact() {
    let stack = Stack::start(PARTITIONS, Service::PROJECTING).await;
    let pools = load_pools(8);
    let load = async {
        join_all(pools.iter().map(|pool| mixed_commands(&stack, pool, 20))).await;
    };
    let kills = killing_the_projector_during(&stack, 4, load).await;
    assert!(
        kills >= 2,
        "the projector was killed {kills} times during the load"
    );

    let db = connect(&stack.postgres_url).await;
    wait_caught_up(&db, &stack.kafka, CATCH_UP).await;
    assert_view_equals_replay(&db, &stack.kafka).await;
    assert_equals_a_fresh_rebuild(&stack, &db).await;
}

/// Replays the whole log into a fresh database with a second projector (its own group)
/// and compares the two views row by row.
async fn assert_equals_a_fresh_rebuild(stack: &Stack, live: &sqlx::PgPool) {
    let url = fresh_database().await;
    let group = testkit::unique("rebuild");
    let _rebuilder: SpawnedService = stack
        .spawn_extra(
            Service::Projectors,
            &[
                ("LEAKY_POSTGRES__URL", url.as_str()),
                ("LEAKY_PROJECTORS__GROUP", group.as_str()),
            ],
        )
        .await;
    let rebuilt = connect(&url).await;
    wait_caught_up(&rebuilt, &stack.kafka, CATCH_UP).await;
    let (live_pools, live_holds) = quotaview::everything(live).await.unwrap();
    let (rebuilt_pools, rebuilt_holds) = quotaview::everything(&rebuilt).await.unwrap();
    assert!(!live_pools.is_empty());
    assert_eq!(live_pools, rebuilt_pools, "pool rows");
    assert_eq!(live_holds, rebuilt_holds, "open holds");
}
