//! `projectors rebuild quota` replays the log into a fresh copy while the live view keeps
//! serving and being written, then swaps: readers never fail nor see a half-built view,
//! and afterwards the view still equals the replayed log and keeps following it.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use futures::future::join_all;
use reqwest::StatusCode;
use serde_json::json;
use testkit::stack::{Service, Stack};

mod support;

use support::{assert_view_equals_replay, connect, load_pools, mixed_commands, wait_caught_up};

const PARTITIONS: u32 = 2;
const BINARY: &str = env!("CARGO_BIN_EXE_projectors");

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rebuild_swaps_in_a_fresh_copy_while_reads_and_writes_go_on() {
    let stack = Stack::start(PARTITIONS, Service::READING).await;
    let pools = load_pools(6);
    join_all(pools.iter().map(|pool| mixed_commands(&stack, pool, 6))).await;
    let db = connect(&stack.postgres_url).await;
    wait_caught_up(&db, &stack.kafka, Duration::from_secs(30)).await;

    let rebuilding = AtomicBool::new(true);
    // Reads all along: always answered, and a pool's consumption never goes back (a
    // half-built copy would show less).
    let reads = async {
        let mut reads = 0;
        let mut last_consumed = 0;
        while rebuilding.load(Ordering::SeqCst) {
            let (status, _, body) = stack.query(&pools[0]).await;
            assert_eq!(status, StatusCode::OK, "{body}");
            let consumed = body["pool"]["consumed"].as_i64().unwrap();
            assert!(
                consumed >= last_consumed,
                "{consumed} after {last_consumed}"
            );
            last_consumed = consumed;
            let (status, _, body) = stack.query("/api/v1/quota/org/load0").await;
            assert_eq!(status, StatusCode::OK, "{body}");
            reads += 1;
        }
        reads
    };
    // Writes all along, to the pool being read.
    let writes = async {
        while rebuilding.load(Ordering::SeqCst) {
            stack
                .command(&format!("{}/consume", pools[0]), json!({"amount": 1}))
                .await;
        }
    };
    let env: Vec<(&str, &str)> = stack
        .env()
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let rebuild = async {
        let mut args = env.clone();
        args.push(("LEAKY_LOG", "warn"));
        let exited = run_rebuild(&args).await;
        rebuilding.store(false, Ordering::SeqCst);
        exited
    };
    let (reads, (), (code, stderr)) = tokio::join!(reads, writes, rebuild);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(stderr.contains("swapped in"), "{stderr}");
    assert!(reads > 0);

    let retired: Vec<String> = sqlx::query_scalar(
        "SELECT nspname::text FROM pg_namespace WHERE nspname LIKE 'quota_retired_%'",
    )
    .fetch_all(&db)
    .await
    .unwrap();
    assert_eq!(retired.len(), 1, "the old copy is kept: {retired:?}");

    // The live projector writes into the new copy: a command is read back with its token.
    let (_, reply) = stack
        .command(&format!("{}/consume", pools[1]), json!({"amount": 7}))
        .await;
    let token = reply["consistency_token"].as_str().unwrap();
    let (_, view, body) = stack
        .query(&format!("{}?consistency_token={token}", pools[1]))
        .await;
    assert_eq!(view.as_deref(), Some("fresh"), "{body}");
    wait_caught_up(&db, &stack.kafka, Duration::from_secs(30)).await;
    assert_view_equals_replay(&db, &stack.kafka).await;
}

/// Runs `projectors rebuild quota` to completion; its exit code and stderr.
async fn run_rebuild(env: &[(&str, &str)]) -> (Option<i32>, String) {
    let output = tokio::time::timeout(
        Duration::from_secs(60),
        tokio::process::Command::new(BINARY)
            .args(["rebuild", "quota"])
            .envs(env.iter().copied())
            .kill_on_drop(true)
            .output(),
    )
    .await
    .expect("the rebuild finishes within 60 s")
    .unwrap();
    (
        output.status.code(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}
