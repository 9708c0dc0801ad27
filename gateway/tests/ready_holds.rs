//! Holds reserved ahead of calls: a caller far from its limits has its calls served from
//! holds reserved a moment before, each still its own hold settled to exactly the reported
//! usage; the holds nobody used go back to the pool once the caller is idle; near a limit
//! nothing is reserved ahead.

mod support;

use std::time::Duration;

use domain::Tier;
use reqwest::Client;
use serde_json::json;
use support::Deployment;
use support::log::{Fate, resolved_holds};

const IDLE_MS: &str = "700";

async fn chat(deployment: &Deployment, http: &Client) -> String {
    let response = http
        .post(deployment.url("/v1/chat/completions"))
        .header("authorization", &deployment.alice)
        .json(&json!({
            "model": "gpt-4o-mini",
            "messages": [{"role": "user", "content": "say something short"}],
            "max_tokens": 40,
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let id = response.headers()["x-request-id"]
        .to_str()
        .unwrap()
        .to_owned();
    response.bytes().await.unwrap();
    id
}

/// The gateway's `leaky_gateway_ready_holds_total{event=…}` counter.
async fn ready_holds(deployment: &Deployment, http: &Client, event: &str) -> u64 {
    let metrics = http
        .get(deployment.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let series =
        format!("leaky_gateway_ready_holds_total{{event=\"{event}\",service=\"gateway\"}} ");
    metrics
        .lines()
        .find_map(|line| line.strip_prefix(&series))
        .map_or(0, |value| value.trim().parse().unwrap())
}

#[tokio::test(flavor = "multi_thread")]
async fn calls_far_from_the_limits_use_holds_reserved_ahead_each_settled_to_its_usage() {
    let deployment = Deployment::start(&[("LEAKY_GATEWAY__READY_HOLD_IDLE_MS", IDLE_MS)]).await;
    let pool = deployment
        .pool_with("user:alice/openai", Tier::Enterprise, 1_000_000)
        .await;
    let http = Client::new();
    let mut calls = Vec::new();
    for _ in 0..30 {
        calls.push(chat(&deployment, &http).await);
    }
    let taken = ready_holds(&deployment, &http, "taken").await;
    // How many depends on how fast refills land on this machine (the benchmark measures
    // that); here what matters is that holds reserved ahead served calls, exactly.
    assert!(taken >= 5, "calls found holds ready ({taken} of 30)");

    // Once idle, the shelf's unused holds are released; every hold is resolved then.
    let holds = resolved_holds(&deployment.kafka, Duration::from_secs(30)).await;
    let mut consumed_total = 0;
    let mut reported_total = 0;
    for id in &calls {
        let reported = deployment.reported(id).expect("the stub served the call");
        match &holds[id] {
            (held_by, Fate::Settled { consumed, .. }) => {
                assert_eq!(held_by, &pool);
                assert_eq!(*consumed, reported, "call {id} is charged its own usage");
                consumed_total += consumed;
                reported_total += reported;
            }
            (_, fate) => panic!("call {id}: {fate:?}"),
        }
    }
    assert_eq!(consumed_total, reported_total);
    let unused: Vec<_> = holds
        .iter()
        .filter(|(id, _)| !calls.contains(id))
        .map(|(_, (_, fate))| fate)
        .collect();
    assert!(
        !unused.is_empty(),
        "some holds stood ready when the calls stopped"
    );
    assert!(
        unused
            .iter()
            .all(|fate| matches!(fate, Fate::Released { .. })),
        "holds nobody used go back whole: {unused:?}"
    );
    assert!(ready_holds(&deployment, &http, "returned").await >= unused.len() as u64);
}

#[tokio::test(flavor = "multi_thread")]
async fn near_its_quota_a_caller_reserves_each_call_itself() {
    let deployment = Deployment::start(&[("LEAKY_GATEWAY__READY_HOLD_IDLE_MS", IDLE_MS)]).await;
    // Room for three worst cases (91 tokens each), not for four times a shelf of them.
    deployment
        .pool_with("user:alice/openai", Tier::Enterprise, 300)
        .await;
    let http = Client::new();
    let mut calls = Vec::new();
    for _ in 0..3 {
        calls.push(chat(&deployment, &http).await);
    }
    assert_eq!(ready_holds(&deployment, &http, "reserved").await, 0);
    assert_eq!(ready_holds(&deployment, &http, "taken").await, 0);
    let holds = resolved_holds(&deployment.kafka, Duration::from_secs(30)).await;
    assert_eq!(holds.len(), calls.len(), "a hold per call, none ahead");
}
