//! `projectors rebuild buckets` and `projectors rebuild analytics` replay the log into a
//! fresh generation while the query API keeps answering from the active one, then move
//! the active-generation pointer and drop the old generation: no read fails or sees a
//! half-built generation, the new generation equals the old one value by value, and the
//! live projector follows it.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use futures::future::join_all;
use redis::AsyncCommands;
use reqwest::StatusCode;
use serde_json::{Value, json};
use testkit::stack::{Service, Stack};
use viewstore::AnalyticsTables;

mod support;

use support::generations::{
    analytics_rows, bucket_keys, buckets, cassandra, redis, table_exists, wait_analytics_caught_up,
    wait_buckets_complete,
};
use support::{load_pools, mixed_commands};

const PARTITIONS: u32 = 2;
const BINARY: &str = env!("CARGO_BIN_EXE_projectors");
const CATCH_UP: Duration = Duration::from_secs(60);
const DAY_MS: i64 = 86_400_000;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rebuilt_generations_equal_the_old_ones_and_reads_never_fail_meanwhile() {
    let stack = Stack::start(PARTITIONS, Service::READING).await;
    let pools = load_pools(6);
    let stack = &stack;
    join_all(pools.iter().map(|pool| async move {
        mixed_commands(stack, pool, 4).await;
        // A refusal: more than the pool holds.
        stack
            .command(&format!("{pool}/consume"), json!({"amount": 900_000_000}))
            .await;
    }))
    .await;
    let session = cassandra().await;
    let keys = bucket_keys(&stack.kafka);
    wait_buckets_complete(&stack.kafka, 0, CATCH_UP).await;
    wait_analytics_caught_up(
        &session,
        &stack.keyspace,
        AnalyticsTables::new(0),
        &stack.kafka,
        CATCH_UP,
    )
    .await;

    // Buckets: every read during the rebuild answers, with exactly what it answered before.
    let old_buckets = buckets(&keys, 0).await;
    assert_eq!(old_buckets.len(), pools.len());
    let bucket_paths: Vec<String> = pools.iter().map(|p| format!("{p}/buckets")).collect();
    let before = reads(stack, &bucket_paths).await;
    let (code, stderr, reads_during) =
        rebuild_while_reading(stack, "buckets", &bucket_paths, &before).await;
    assert_eq!(code, Some(0), "{stderr}");
    assert!(stderr.contains("swapped in"), "{stderr}");
    assert!(reads_during > 0);
    eprintln!("{reads_during} read rounds during the bucket rebuild");
    let active: Option<u64> = redis().await.get(keys.active_generation()).await.unwrap();
    assert_eq!(active, Some(1));
    assert_eq!(
        buckets(&keys, 1).await,
        old_buckets,
        "the new generation equals the old"
    );
    assert!(
        buckets(&keys, 0).await.is_empty(),
        "the old generation is dropped"
    );

    // Analytics: the same, for usage series and top lists.
    let old_rows = analytics_rows(&session, &stack.keyspace, AnalyticsTables::new(0)).await;
    assert!(!old_rows["usage"].is_empty());
    let from = now_ms() / DAY_MS * DAY_MS - DAY_MS;
    let range = format!("granularity=day&from={from}&to={}", from + 2 * DAY_MS);
    let usage_paths = vec![
        format!("/api/v1/usage/provider/openai?{range}"),
        format!("/api/v1/usage/user/load1?{range}"),
        format!("/api/v1/usage/org/load0?{range}"),
        format!("/api/v1/top/user?{range}"),
    ];
    let before = reads(stack, &usage_paths).await;
    let (code, stderr, reads_during) =
        rebuild_while_reading(stack, "analytics", &usage_paths, &before).await;
    assert_eq!(code, Some(0), "{stderr}");
    assert!(stderr.contains("swapped in"), "{stderr}");
    assert!(reads_during > 0);
    assert_eq!(
        viewstore::active_analytics(&session, &stack.keyspace).await,
        Ok(1)
    );
    assert_eq!(
        analytics_rows(&session, &stack.keyspace, AnalyticsTables::new(1)).await,
        old_rows,
        "the new generation equals the old"
    );
    for table in AnalyticsTables::new(0).all() {
        assert!(
            !table_exists(&session, &stack.keyspace, &table).await,
            "{table} dropped"
        );
    }

    // The live projector follows the new generations: a write is read back with its token
    // from the buckets, and reaches the usage totals.
    let (status, reply) = stack
        .command(&format!("{}/consume", pools[1]), json!({"amount": 7}))
        .await;
    assert_eq!(status, StatusCode::OK, "{reply}");
    let token = reply["consistency_token"].as_str().unwrap();
    let (status, view, body) = stack
        .query(&format!("{}/buckets?consistency_token={token}", pools[1]))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(view.as_deref(), Some("fresh"), "{body}");
    let tokens = |body: &Value| body["totals"]["tokens"].as_i64().unwrap();
    let expected = tokens(&before[1]) + 7;
    let start = std::time::Instant::now();
    loop {
        let (status, _, body) = stack.query(&usage_paths[1]).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        if tokens(&body) == expected {
            break;
        }
        assert!(start.elapsed() < CATCH_UP, "usage stuck at {body}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rebuilds_under_writes_keep_reads_answering_and_moving_forward_and_end_exact() {
    let stack = Stack::start(PARTITIONS, Service::READING).await;
    let stack = &stack;
    let pools = load_pools(3);
    join_all(pools.iter().map(|pool| mixed_commands(stack, pool, 3))).await;
    let session = cassandra().await;
    let keys = bucket_keys(&stack.kafka);
    // The views exist (before the projector has created them, reads answer 503).
    wait_buckets_complete(&stack.kafka, 0, CATCH_UP).await;
    let live = AnalyticsTables::new(0);
    wait_analytics_caught_up(&session, &stack.keyspace, live, &stack.kafka, CATCH_UP).await;

    let from = now_ms() / DAY_MS * DAY_MS - DAY_MS;
    let range = format!("granularity=day&from={from}&to={}", from + 2 * DAY_MS);
    // pools[0] is org load0's, pools[1] user load1's.
    let usage_path = format!("/api/v1/usage/org/load0?{range}");
    let refusals_path = format!("/api/v1/usage/user/load1?{range}");
    let bucket_path = format!("{}/buckets", pools[0]);
    let writing = AtomicBool::new(true);
    let writes = async {
        let mut n = 0;
        while writing.load(Ordering::SeqCst) {
            stack
                .command(&format!("{}/consume", pools[0]), json!({"amount": 1}))
                .await;
            if n % 5 == 0 {
                stack
                    .command(
                        &format!("{}/consume", pools[1]),
                        json!({"amount": 900_000_000}),
                    )
                    .await;
            }
            n += 1;
        }
        n
    };
    // Every read answers, and what it shows never goes back.
    let reads = async {
        let (mut offset, mut tokens, mut refusals, mut rounds) = (0, 0, 0, 0);
        let number = |body: &Value, pointer: &str| body.pointer(pointer).and_then(Value::as_i64);
        while writing.load(Ordering::SeqCst) {
            let (status, _, body) = stack.query(&bucket_path).await;
            assert_eq!(status, StatusCode::OK, "{body}");
            let now = number(&body, "/bucket/next_event_offset").unwrap();
            assert!(now >= offset, "bucket went back from {offset} to {now}");
            offset = now;
            let (status, _, body) = stack.query(&usage_path).await;
            assert_eq!(status, StatusCode::OK, "{body}");
            let now = number(&body, "/totals/tokens").unwrap();
            assert!(now >= tokens, "usage went back from {tokens} to {now}");
            tokens = now;
            let (status, _, body) = stack.query(&refusals_path).await;
            assert_eq!(status, StatusCode::OK, "{body}");
            let now = number(&body, "/totals/rejections").unwrap();
            assert!(
                now >= refusals,
                "rejections went back from {refusals} to {now}"
            );
            refusals = now;
            rounds += 1;
        }
        rounds
    };
    let rebuilds = async {
        for projection in ["buckets", "analytics"] {
            let started = std::time::Instant::now();
            let (code, stderr) = rebuild(stack, projection).await;
            assert_eq!(code, Some(0), "{stderr}");
            eprintln!("rebuild {projection} under writes: {:?}", started.elapsed());
        }
        writing.store(false, Ordering::SeqCst);
    };
    let (written, rounds, ()) = tokio::join!(writes, reads, rebuilds);
    assert!(
        written > 0 && rounds > 0,
        "{written} writes, {rounds} read rounds"
    );

    // The generations built under writes (and then followed by the live projector) equal a
    // fresh replay of the whole log, value by value.
    wait_buckets_complete(&stack.kafka, 1, CATCH_UP).await;
    let tables = AnalyticsTables::new(1);
    wait_analytics_caught_up(&session, &stack.keyspace, tables, &stack.kafka, CATCH_UP).await;
    let built = (
        buckets(&keys, 1).await,
        analytics_rows(&session, &stack.keyspace, tables).await,
    );
    for projection in ["buckets", "analytics"] {
        let (code, stderr) = rebuild(stack, projection).await;
        assert_eq!(code, Some(0), "{stderr}");
    }
    let replayed = (
        buckets(&keys, 2).await,
        analytics_rows(&session, &stack.keyspace, AnalyticsTables::new(2)).await,
    );
    assert_eq!(built, replayed);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_analytics_hand_over_left_unfinished_is_finished_by_the_next_rebuild() {
    let stack = Stack::start(PARTITIONS, Service::PROJECTING).await;
    let stack = &stack;
    let pools = load_pools(2);
    join_all(pools.iter().map(|pool| mixed_commands(stack, pool, 2))).await;
    let session = cassandra().await;
    let (old, new) = (AnalyticsTables::new(0), AnalyticsTables::new(1));
    wait_analytics_caught_up(&session, &stack.keyspace, old, &stack.kafka, CATCH_UP).await;
    // As a rebuild that died right after handing the writers over would leave it (its
    // replay wrote nothing): the live projector moves to generation 1 on its next batch
    // and fills it from the positions stored there (none: from the start).
    session
        .query_unpaged(
            format!(
                "UPDATE {}.view_generations SET next = 1 WHERE view_name = 'analytics'",
                stack.keyspace
            ),
            &[],
        )
        .await
        .unwrap();
    stack
        .command(&format!("{}/consume", pools[0]), json!({"amount": 3}))
        .await;
    let (code, stderr) = rebuild(stack, "analytics").await;
    assert_eq!(code, Some(0), "{stderr}");
    assert!(
        stderr.contains("finished an interrupted hand-over"),
        "{stderr}"
    );
    assert_eq!(
        viewstore::active_analytics(&session, &stack.keyspace).await,
        Ok(1)
    );
    for table in old.all() {
        assert!(
            !table_exists(&session, &stack.keyspace, &table).await,
            "{table} dropped"
        );
    }
    // What the live projector built equals a fresh replay.
    wait_analytics_caught_up(&session, &stack.keyspace, new, &stack.kafka, CATCH_UP).await;
    let built = analytics_rows(&session, &stack.keyspace, new).await;
    let (code, stderr) = rebuild(stack, "analytics").await;
    assert_eq!(code, Some(0), "{stderr}");
    let replayed = analytics_rows(&session, &stack.keyspace, AnalyticsTables::new(2)).await;
    assert_eq!(built, replayed);
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

/// Each path's answer (all must be 200).
async fn reads(stack: &Stack, paths: &[String]) -> Vec<Value> {
    let mut answers = Vec::new();
    for path in paths {
        let (status, _, body) = stack.query(path).await;
        assert_eq!(status, StatusCode::OK, "{path}: {body}");
        answers.push(body);
    }
    answers
}

/// Runs `projectors rebuild <projection>` to completion; its exit code and stderr.
async fn rebuild(stack: &Stack, projection: &str) -> (Option<i32>, String) {
    let env: Vec<(&str, &str)> = stack
        .env()
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .chain([("LEAKY_LOG", "warn")])
        .collect();
    let output = tokio::time::timeout(
        Duration::from_secs(150),
        tokio::process::Command::new(BINARY)
            .args(["rebuild", projection])
            .envs(env)
            .kill_on_drop(true)
            .output(),
    )
    .await
    .expect("the rebuild finishes within 150 s")
    .unwrap();
    (
        output.status.code(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// Runs `projectors rebuild <projection>` while reading `paths` in a loop, each read
/// checked against `expected`; the exit code, stderr and the number of read rounds.
async fn rebuild_while_reading(
    stack: &Stack,
    projection: &str,
    paths: &[String],
    expected: &[Value],
) -> (Option<i32>, String, usize) {
    let rebuilding = AtomicBool::new(true);
    let reading = async {
        let mut rounds = 0;
        while rebuilding.load(Ordering::SeqCst) {
            let answers = reads(stack, paths).await;
            for ((path, got), want) in paths.iter().zip(&answers).zip(expected) {
                assert_eq!(got, want, "{path} during the rebuild");
            }
            rounds += 1;
        }
        rounds
    };
    let rebuilding_done = async {
        let started = std::time::Instant::now();
        let exited = rebuild(stack, projection).await;
        eprintln!("rebuild {projection}: {:?}", started.elapsed());
        rebuilding.store(false, Ordering::SeqCst);
        exited
    };
    let (rounds, (code, stderr)) = tokio::join!(reading, rebuilding_done);
    (code, stderr, rounds)
}
