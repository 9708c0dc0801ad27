//! Shared by the projector tests: a mixed load of commands, waiting for a view to catch up
//! with the log, and the log replayed through the domain, which is what a view must equal.
#![allow(dead_code)] // each test binary uses a different part

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use domain::{Aggregate, PoolId, TokenPool};
use eventlog::{Topics, read_topic};
use schemas::PoolCodec;
use serde_json::{Value, json};
use settings::KafkaSettings;
use sqlx::PgPool;
use testkit::stack::{Service, Stack};

pub mod generations;
pub mod purchases;

/// Runs `load` while the stack's projector is killed (SIGKILL) and started again at random
/// moments, at most `most` times; how many kills landed during the load.
pub async fn killing_the_projector_during(
    stack: &Stack,
    most: usize,
    load: impl std::future::Future<Output = ()>,
) -> usize {
    use std::sync::atomic::{AtomicBool, Ordering};
    let loading = AtomicBool::new(true);
    let load = async {
        load.await;
        loading.store(false, Ordering::SeqCst);
    };
    let crashes = async {
        let mut kills = 0;
        while loading.load(Ordering::SeqCst) && kills < most {
            let pause = 100 + u64::from(uuid::Uuid::new_v4().as_bytes()[0]) * 2;
            tokio::time::sleep(Duration::from_millis(pause)).await;
            if loading.load(Ordering::SeqCst) {
                stack.kill(Service::Projectors).await;
                kills += 1;
                stack.launch(Service::Projectors, &[]).await;
            }
        }
        kills
    };
    let ((), kills) = tokio::join!(load, crashes);
    kills
}

/// The pools a load uses: users and organisations on several providers.
pub fn load_pools(count: usize) -> Vec<String> {
    let providers = ["openai", "gemini", "qwen"];
    (0..count)
        .map(|i| {
            let kind = if i % 3 == 0 { "org" } else { "user" };
            format!(
                "/api/v1/pools/{kind}/load{i}/{}",
                providers[i % providers.len()]
            )
        })
        .collect()
}

/// Every kind of command on `pool` (a path), `rounds` times: grants and revocations,
/// holds settled, released, left open and expired, direct consumption, a policy change.
/// Commands refused or caught by a crash are fine: the log says what happened.
pub async fn mixed_commands(stack: &Stack, pool: &str, rounds: usize) {
    stack.command(pool, json!({"tier": "ADMIN"})).await;
    for round in 0..rounds {
        let grant = uuid::Uuid::new_v4().to_string();
        stack
            .command(
                &format!("{pool}/grants"),
                json!({"amount": 5_000, "grant_id": grant}),
            )
            .await;
        let (_, held) = stack
            .command(&format!("{pool}/reservations"), json!({"amount": 300}))
            .await;
        if let Some(id) = held["reservation_id"].as_str() {
            match round % 3 {
                0 => {
                    stack
                        .command(
                            &format!("{pool}/reservations/{id}/settle"),
                            json!({"actual": 120 + round}),
                        )
                        .await;
                }
                1 => {
                    stack
                        .command(&format!("{pool}/reservations/{id}/release"), Value::Null)
                        .await;
                }
                _ => {} // left open
            }
        }
        stack
            .command(
                &format!("{pool}/reservations"),
                json!({"amount": 50, "ttl_ms": 1}),
            )
            .await;
        stack
            .command(&format!("{pool}/consume"), json!({"amount": 40 + round}))
            .await;
        if round % 4 == 3 {
            stack
                .command(&format!("{pool}/grants/{grant}/revoke"), Value::Null)
                .await;
        }
        if round % 5 == 4 {
            stack
                .command(&format!("{pool}/policy"), json!({"tier": "ENTERPRISE"}))
                .await;
        }
    }
    stack
        .command(&format!("{pool}/reservations/expire"), Value::Null)
        .await;
}

/// Every decoded event of the log, per partition, with its offset.
pub async fn logged(
    kafka: &KafkaSettings,
) -> BTreeMap<i32, Vec<(i64, schemas::PoolEventEnvelope)>> {
    let codec = PoolCodec::new(&testkit::infra().registry).unwrap();
    let topic = Topics::new(kafka).pool_events();
    let mut events: BTreeMap<i32, Vec<_>> = BTreeMap::new();
    for record in read_topic(kafka, &topic, kafka.partitions).await.unwrap() {
        let envelope = codec.decode_event(&record.value.unwrap()).await.unwrap();
        events
            .entry(record.partition)
            .or_default()
            .push((record.offset, envelope));
    }
    events
}

/// Waits until the quota view in `db` has applied every event now in the log.
pub async fn wait_caught_up(db: &PgPool, kafka: &KafkaSettings, within: Duration) {
    let log = logged(kafka).await;
    let start = Instant::now();
    for (partition, events) in &log {
        let last = events.last().map_or(-1, |(offset, _)| *offset);
        loop {
            let next = quotaview::position(db, quotaview::PROJECTION, *partition)
                .await
                .unwrap();
            if next > last {
                break;
            }
            assert!(
                start.elapsed() < within,
                "the view is at {partition}:{next}, the log ends at {partition}:{last}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

/// Each pool as the domain rebuilds it from the log.
pub async fn replayed_pools(kafka: &KafkaSettings) -> BTreeMap<PoolId, TokenPool> {
    let mut pools: BTreeMap<PoolId, TokenPool> = BTreeMap::new();
    for events in logged(kafka).await.into_values() {
        for (_, envelope) in events {
            pools
                .entry(envelope.pool_id)
                .or_default()
                .apply(&envelope.event);
        }
    }
    pools
}

/// The view in `db` holds exactly the pools the log rebuilds, with the same totals, tier
/// and open holds.
pub async fn assert_view_equals_replay(db: &PgPool, kafka: &KafkaSettings) {
    let replayed = replayed_pools(kafka).await;
    let (rows, holds) = quotaview::everything(db).await.unwrap();
    let provisioned: Vec<_> = replayed
        .iter()
        .filter(|(_, p)| p.is_provisioned())
        .collect();
    assert_eq!(
        rows.len(),
        provisioned.len(),
        "pools in the view vs the log"
    );
    let rows: BTreeMap<&str, &quotaview::PoolRow> =
        rows.iter().map(|row| (row.pool_id.as_str(), row)).collect();
    for (id, pool) in provisioned {
        let n = |total: domain::TokenTotal| total.get() as i64;
        let row = rows[id.to_string().as_str()];
        assert_eq!(row.tier, pool.tier().unwrap().as_str(), "{id} tier");
        assert_eq!(row.granted, n(pool.granted()), "{id} granted");
        assert_eq!(row.consumed, n(pool.consumed()), "{id} consumed");
        assert_eq!(row.reserved, n(pool.reserved()), "{id} reserved");
        assert_eq!(row.overdraft, n(pool.overdraft()), "{id} overdraft");
        assert_eq!(
            row.remaining,
            pool.available().get() as i64,
            "{id} remaining"
        );
        let policy: Value = serde_json::from_str(&row.policy).unwrap();
        assert_eq!(
            policy,
            serde_json::to_value(pool.policy().unwrap()).unwrap()
        );
        let open: Vec<(String, i64, i64)> = pool
            .open_reservations()
            .map(|r| {
                (
                    r.id.as_uuid().to_string(),
                    r.amount.get() as i64,
                    r.expires_at.as_millis(),
                )
            })
            .collect();
        let viewed: Vec<(String, i64, i64)> = holds
            .iter()
            .filter(|h| h.pool_id == row.pool_id)
            .map(|h| (h.reservation_id.to_string(), h.amount, h.expires_at_ms))
            .collect();
        assert_eq!(viewed, open, "{id} open holds");
    }
}

/// A connection pool to a test database.
pub async fn connect(url: &str) -> PgPool {
    sqlx::postgres::PgPoolOptions::new()
        .max_connections(2)
        .connect(url)
        .await
        .unwrap()
}
