//! The Postgres purchases view against the real processors, saga, payment stub and Kafka:
//! after purchases in every branch (and a stream with injected failures) with the projector
//! killed (SIGKILL) at random points, every row equals the purchase a fresh replay of
//! `purchase.events` gives; `projectors rebuild purchases` swaps in a copy equal row by row.

use std::time::Duration;

use serde_json::json;
use testkit::stack::{Service, Stack};

mod support;

use support::purchases::{
    all_done, assert_purchases_equal_replay, connect_purchases, faults, order, purchase,
    start_saga, wait_caught_up,
};

const PARTITIONS: u32 = 2;
const BINARY: &str = env!("CARGO_BIN_EXE_projectors");

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_purchases_view_equals_the_replayed_log_in_every_branch_across_crashes() {
    let stack = Stack::start(
        PARTITIONS,
        &[
            Service::Processor,
            Service::CommandApi,
            Service::PaymentStub,
            Service::PurchaseProcessor,
            Service::Projectors,
        ],
    )
    .await;
    start_saga(&stack).await;
    faults(&stack, json!({"hang_ms": 5_000})).await;
    for user in ["alice", "bob"] {
        let (status, body) = stack
            .command(
                &format!("/api/v1/pools/user/{user}/openai"),
                json!({"tier": "USER"}),
            )
            .await;
        assert_eq!(status, 200, "{body}");
    }
    // One purchase per branch: completed, declined, reserve timeout, capture refused,
    // capture timeout, and a grant over the USER tier's quota cap.
    let branches = [
        ("ok", order("alice", 1_000, "pm_card_visa")),
        ("declined", order("alice", 1_000, "pm_card_declined")),
        ("timeout", order("alice", 1_000, "pm_card_timeout")),
        ("capture", order("alice", 1_000, "pm_card_capture_fails")),
        (
            "capture-timeout",
            order("alice", 1_000, "pm_card_capture_timeout"),
        ),
        ("cap", order("alice", 20_000_000, "pm_card_visa")),
    ];
    let load = async {
        for (key, body) in &branches {
            let (status, reply) = purchase(&stack, key, body).await;
            assert_eq!(status, 201, "{reply}");
        }
        // Then a stream where the stub fails a share of payments at random.
        faults(
            &stack,
            json!({"hang_ms": 5_000, "decline_percent": 20, "reserve_timeout_percent": 10,
                   "capture_failure_percent": 15, "capture_timeout_percent": 5}),
        )
        .await;
        for n in 0..14 {
            let (status, reply) = purchase(
                &stack,
                &format!("stream-{n}"),
                &order("bob", 500 + n, "pm_card_visa"),
            )
            .await;
            assert!([200, 201, 202].contains(&status), "{reply}");
            tokio::time::sleep(Duration::from_millis(80)).await;
        }
    };
    let crashes = async {
        for pause in [700, 1_300, 2_100] {
            tokio::time::sleep(Duration::from_millis(pause)).await;
            stack.kill(Service::Projectors).await;
            stack.launch(Service::Projectors, &[]).await;
        }
    };
    tokio::join!(load, crashes);
    all_done(&stack, branches.len() + 14, Duration::from_secs(90)).await;

    let db = connect_purchases(&stack.postgres_url);
    wait_caught_up(&db, &stack.kafka, Duration::from_secs(60)).await;
    let rows = assert_purchases_equal_replay(&db, &stack.kafka).await;
    let outcomes: std::collections::BTreeSet<(String, Option<String>)> = rows
        .iter()
        .map(|r| (r.status.clone(), r.failure_code.clone()))
        .collect();
    for expected in [
        ("COMPLETED", None),
        ("FAILED", Some("payment_declined")),
        ("FAILED", Some("payment_timed_out")),
        ("FAILED", Some("capture_failed")),
        ("FAILED", Some("capture_timed_out")),
        ("FAILED", Some("grant_refused")),
    ] {
        let expected = (expected.0.to_owned(), expected.1.map(str::to_owned));
        assert!(
            outcomes.contains(&expected),
            "{expected:?} among {outcomes:?}"
        );
    }

    // A rebuild from offset zero swaps in a copy equal row by row.
    let env: Vec<(&str, &str)> = stack
        .env()
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .chain([("LEAKY_LOG", "warn")])
        .collect();
    let output = tokio::time::timeout(
        Duration::from_secs(60),
        tokio::process::Command::new(BINARY)
            .args(["rebuild", "purchases"])
            .envs(env)
            .kill_on_drop(true)
            .output(),
    )
    .await
    .expect("the rebuild finishes within 60 s")
    .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    assert!(stderr.contains("swapped in"), "{stderr}");
    let rebuilt = quotaview::purchases::all_purchases(&db).await.unwrap();
    assert_eq!(rebuilt, rows, "the rebuilt copy equals the old one");
    let retired: Vec<String> = sqlx::query_scalar(
        "SELECT nspname::text FROM pg_namespace WHERE nspname LIKE 'purchases_retired_%'",
    )
    .fetch_all(&db)
    .await
    .unwrap();
    assert_eq!(retired.len(), 1, "the old copy is kept: {retired:?}");
}
