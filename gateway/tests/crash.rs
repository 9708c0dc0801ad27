//! The gateway SIGKILLed under load: the calls it was serving die with it, and still no hold
//! is resolved twice, nothing is charged twice, every call the provider completed and the
//! gateway settled is charged exactly its reported usage, and the holds the dead gateway
//! left (its calls in flight, its ready holds) expire.

mod support;

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use domain::{ReservationId, Tier, TokenPoolEvent};
use futures::StreamExt;
use reqwest::Client;
use serde_json::json;
use support::Deployment;
use tokio::time::{Instant, sleep};

/// Short calls, so the holds the dead gateway left lapse within the test: a hold lives as
/// long as its call can (one 2 s attempt, a stream of at most 2 s) plus the settle's 1 s.
const TIMEOUT_MS: &str = "2000";
const STREAM_MAX_MS: &str = "2000";
const REPLY_WAIT_MS: &str = "1000";
const LONGEST_HOLD: Duration = Duration::from_secs(5);

/// Resolutions (settled, released, expired) of each hold in the log, and what it charged.
#[derive(Debug, Default)]
struct HoldRecord {
    reserved: usize,
    resolutions: Vec<&'static str>,
    consumed: u64,
}

async fn hold_records(deployment: &Deployment) -> BTreeMap<ReservationId, HoldRecord> {
    let mut holds: BTreeMap<ReservationId, HoldRecord> = BTreeMap::new();
    for envelope in support::log::events(&deployment.kafka).await {
        match &envelope.event {
            TokenPoolEvent::TokensReserved { reservation_id, .. } => {
                holds.entry(*reservation_id).or_default().reserved += 1;
            }
            TokenPoolEvent::ReservationSettled {
                reservation_id,
                consumed,
                ..
            } => {
                let hold = holds.entry(*reservation_id).or_default();
                hold.resolutions.push("settled");
                hold.consumed += consumed.get();
            }
            TokenPoolEvent::ReservationReleased { reservation_id, .. } => {
                holds
                    .entry(*reservation_id)
                    .or_default()
                    .resolutions
                    .push("released");
            }
            TokenPoolEvent::ReservationExpired { reservation_id, .. } => {
                holds
                    .entry(*reservation_id)
                    .or_default()
                    .resolutions
                    .push("expired");
            }
            _ => {}
        }
    }
    holds
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_gateway_killed_mid_load_charges_nothing_twice_and_its_holds_expire() {
    let mut deployment = Deployment::start(&[
        ("LEAKY_GATEWAY__RESERVATION_TTL_MS", "1000"),
        ("LEAKY_GATEWAY__REPLY_WAIT_MS", REPLY_WAIT_MS),
        ("LEAKY_GATEWAY__PROVIDERS__OPENAI__TIMEOUT_MS", TIMEOUT_MS),
        (
            "LEAKY_GATEWAY__PROVIDERS__OPENAI__STREAM_MAX_MS",
            STREAM_MAX_MS,
        ),
        ("LEAKY_GATEWAY__PROVIDERS__OPENAI__RETRIES", "0"),
    ])
    .await;
    deployment
        .pool_with("user:alice/openai", Tier::Enterprise, 10_000_000)
        .await;
    {
        let mut chaos = deployment.stub.chaos.write().unwrap();
        chaos.default.latency_ms = 150; // calls are in flight when the gateway dies
        chaos.default.chunk_interval_ms = 20;
        chaos.default.reply_tokens = 30;
    }

    let url = Arc::new(RwLock::new(deployment.url("/v1/chat/completions")));
    let http = Client::builder().pool_max_idle_per_host(0).build().unwrap();
    let stop_at = Instant::now() + Duration::from_secs(6);
    let clients: Vec<_> = (0..16)
        .map(|client| {
            let (http, url, key) = (http.clone(), Arc::clone(&url), deployment.alice.clone());
            tokio::spawn(async move {
                let mut answered = 0;
                for call in 0.. {
                    if Instant::now() > stop_at {
                        break;
                    }
                    let body = json!({
                        "model": "gpt-4o-mini",
                        "messages": [{"role": "user", "content": format!("call {client}-{call}")}],
                        "max_tokens": 50,
                        "stream": call % 2 == 0,
                    });
                    let target = url.read().unwrap().clone();
                    let Ok(response) = http
                        .post(target)
                        .header("authorization", &key)
                        .json(&body)
                        .send()
                        .await
                    else {
                        sleep(Duration::from_millis(50)).await; // the gateway is gone
                        continue;
                    };
                    let mut chunks = response.bytes_stream();
                    let mut whole = true;
                    while let Some(chunk) = chunks.next().await {
                        whole &= chunk.is_ok();
                    }
                    answered += usize::from(whole);
                }
                answered
            })
        })
        .collect();
    sleep(Duration::from_secs(2)).await;
    deployment.crash_gateway().await;
    *url.write().unwrap() = deployment.url("/v1/chat/completions");
    let mut answered = 0;
    for client in clients {
        answered += client.await.unwrap();
    }

    // The holds the dead gateway left lapse at their TTL, and the processor's sweeper
    // (every 2 s) records their expiry.
    let give_up = Instant::now() + LONGEST_HOLD + Duration::from_secs(30);
    let holds = loop {
        let holds = hold_records(&deployment).await;
        let open = holds.values().filter(|h| h.resolutions.is_empty()).count();
        if open == 0 {
            break holds;
        }
        assert!(Instant::now() < give_up, "{open} holds never expired");
        sleep(Duration::from_millis(500)).await;
    };

    let reported = deployment.stub.ledger.snapshot();
    let mut fates: HashMap<&str, usize> = HashMap::new();
    for (id, hold) in &holds {
        assert_eq!(
            hold.reserved, 1,
            "hold {id} reserved {} times",
            hold.reserved
        );
        assert_eq!(
            hold.resolutions.len(),
            1,
            "hold {id} resolved as {:?}",
            hold.resolutions
        );
        let fate = hold.resolutions[0];
        *fates.entry(fate).or_default() += 1;
        if fate == "settled"
            && let Some(usage) = reported.get(&id.to_string())
        {
            assert_eq!(
                hold.consumed, usage.total_tokens,
                "call {id} charged once, as reported"
            );
        }
    }
    // Calls the provider served while the gateway died with them: their holds lapse
    // uncharged (nobody is left who knows the usage; see the README on gateway crashes).
    let served_then_lost = holds
        .iter()
        .filter(|(id, h)| h.resolutions[0] == "expired" && reported.contains_key(&id.to_string()))
        .count();
    eprintln!(
        "{answered} calls answered in full; holds: {fates:?}; {served_then_lost} expired holds \
         of calls the provider had served"
    );
    assert!(
        answered > 20,
        "the load ran on both gateways: {answered} calls answered"
    );
    assert!(
        fates.get("expired").copied().unwrap_or(0) > 0,
        "the dead gateway left holds, and they expired: {fates:?}"
    );
}
