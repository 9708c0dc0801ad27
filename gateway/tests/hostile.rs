//! A tenant who wants to pay less, against the real stack (gateway, command API, processor,
//! auth, the stub provider): whatever it does to the gateway's holds or sends in its
//! requests, the pool is charged what the provider billed. Every check reads
//! `token-pool.events` back; the stub's ledger says what was billed.

mod support;

use std::time::Duration;

use command_api::pools::PoolsSettings;
use domain::{DurationMs, PoolId, ReservationTtl, Tier, TokenPoolEvent};
use reqwest::{Client, Response, StatusCode};
use serde_json::{Value, json};
use support::Deployment;
use support::log::{Fate, charged, events, fate_of, resolved_holds};

fn chat(max_tokens: u64) -> Value {
    json!({
        "model": "gpt-4o-mini",
        "messages": [{"role": "user", "content": "say something short"}],
        "max_tokens": max_tokens,
    })
}

async fn call(
    deployment: &Deployment,
    credential: &str,
    org: Option<&str>,
    body: &Value,
) -> Response {
    let mut request = Client::new()
        .post(deployment.url("/v1/chat/completions"))
        .header("authorization", credential)
        .json(body);
    if let Some(org) = org {
        request = request.header("x-leaky-org", org);
    }
    request.send().await.unwrap()
}

fn request_id(response: &Response) -> String {
    response.headers()["x-request-id"]
        .to_str()
        .unwrap()
        .to_owned()
}

/// Ids of the holds the gateway has open in `pool` right now, as the log shows them (what a
/// tenant reading its pool's reservations sees).
async fn gateway_holds_open(deployment: &Deployment, pool: &PoolId) -> Vec<String> {
    let events = events(&deployment.kafka).await;
    let open = support::log::holds(&events);
    events
        .iter()
        .filter(|e| &e.pool_id == pool)
        .filter_map(|e| match &e.event {
            TokenPoolEvent::TokensReserved {
                reservation_id,
                holder: Some(holder),
                ..
            } if holder.via.is_some() => Some(reservation_id.to_string()),
            _ => None,
        })
        .filter(|id| matches!(open.get(id), Some((_, Fate::Open { .. }))))
        .collect()
}

/// A tenant tries to resolve the hold `id` of `pool` itself, free (release) and at zero
/// (settle): both must be refused with 403, nothing written.
async fn assert_cannot_resolve(deployment: &Deployment, bearer: &str, pool: &PoolId, id: &str) {
    let route = format!(
        "{}/api/v1/pools/{}/reservations/{id}",
        deployment.command_api_url,
        pool.to_string().replace(':', "/")
    );
    let http = Client::new();
    for (action, body) in [("release", json!({})), ("settle", json!({"actual": 0}))] {
        let response = http
            .post(format!("{route}/{action}"))
            .bearer_auth(bearer)
            .json(&body)
            .send()
            .await
            .unwrap();
        let status = response.status();
        let problem: Value = response.json().await.unwrap_or_default();
        assert_eq!(
            status,
            StatusCode::FORBIDDEN,
            "{action} of the gateway's hold {id}: {problem}"
        );
        assert_eq!(problem["code"], "not_holder", "{problem}");
    }
}

/// Sum of what the stub billed for `calls`.
fn billed(deployment: &Deployment, calls: &[String]) -> u64 {
    calls
        .iter()
        .map(|id| {
            deployment
                .reported(id)
                .unwrap_or_else(|| panic!("the stub billed call {id}"))
        })
        .sum()
}

#[tokio::test(flavor = "multi_thread")]
async fn releasing_the_gateways_ready_holds_is_refused_and_every_call_is_charged_what_was_billed() {
    let deployment = Deployment::start(&[]).await;
    // Far from every limit, so the gateway keeps holds ready for alice's calls.
    let pool = deployment
        .pool_with("user:alice/openai", Tier::Enterprise, 1_000_000)
        .await;
    let alice = deployment.login("alice").await;
    let mut calls = Vec::new();
    let first = call(&deployment, &deployment.alice, None, &chat(50)).await;
    assert_eq!(first.status(), StatusCode::OK);
    calls.push(request_id(&first));
    first.bytes().await.unwrap();
    // Once the call is settled, every open hold of the gateway is one kept ready.
    fate_of(&deployment.kafka, &calls[0]).await;

    let mut ready = Vec::new();
    for _ in 0..50 {
        ready = gateway_holds_open(&deployment, &pool).await;
        if !ready.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(!ready.is_empty(), "the gateway keeps holds ready for alice");
    for id in &ready {
        assert_cannot_resolve(&deployment, &alice, &pool, id).await;
    }

    for _ in 0..5 {
        let response = call(&deployment, &deployment.alice, None, &chat(50)).await;
        assert_eq!(response.status(), StatusCode::OK);
        calls.push(request_id(&response));
        response.bytes().await.unwrap();
    }
    let holds = resolved_holds(&deployment.kafka, Duration::from_secs(30)).await;
    for id in &calls {
        assert_eq!(
            holds[id].1,
            match holds[id].1 {
                Fate::Settled { reserved, .. } => Fate::Settled {
                    reserved,
                    consumed: deployment.reported(id).unwrap()
                },
                other => panic!("call {id} was not settled: {other:?}"),
            },
            "call {id} is charged what the provider billed"
        );
    }
    assert_eq!(
        charged(&events(&deployment.kafka).await, &pool),
        billed(&deployment, &calls)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_org_member_cannot_release_another_members_call_in_flight() {
    let deployment = Deployment::start(&[]).await;
    let admin = deployment.admin().await;
    let bob = deployment.register("bob").await;
    deployment.add_member(&admin, "acme", "alice").await;
    deployment.add_member(&admin, "acme", "bob").await;
    let pool = deployment
        .pool_with("org:acme/openai", Tier::User, 10_000)
        .await;
    {
        let mut chaos = deployment.stub.chaos.write().unwrap();
        chaos.default.chunk_interval_ms = 100;
        chaos.default.reply_tokens = 20;
    }

    let body = json!({
        "model": "gpt-4o-mini",
        "messages": [{"role": "user", "content": "tell me a story"}],
        "max_tokens": 50,
        "stream": true,
    });
    let streaming = call(&deployment, &deployment.alice, Some("acme"), &body).await;
    assert_eq!(streaming.status(), StatusCode::OK);
    // The hold's id is in the response headers before the stream: bob sees it too.
    let id = request_id(&streaming);
    assert_cannot_resolve(&deployment, &bob, &pool, &id).await;
    let alice = deployment.login("alice").await;
    assert_cannot_resolve(&deployment, &alice, &pool, &id).await;
    streaming.text().await.unwrap();

    let reported = deployment.reported(&id).expect("the stub billed the call");
    assert!(matches!(
        fate_of(&deployment.kafka, &id).await,
        Fate::Settled { consumed, .. } if consumed == reported
    ));
    assert_eq!(charged(&events(&deployment.kafka).await, &pool), reported);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_call_that_could_outlive_the_pools_longest_hold_is_refused_before_it_is_sent() {
    let deployment = Deployment::start(&[
        ("LEAKY_GATEWAY__PROVIDERS__OPENAI__TIMEOUT_MS", "4000"),
        ("LEAKY_GATEWAY__PROVIDERS__OPENAI__RETRIES", "1"),
    ])
    .await;
    let mut pools = PoolsSettings::default();
    let ms = |v| DurationMs::from_millis(v).unwrap();
    pools.default_policy.reservation_ttl = ReservationTtl::new(ms(1_000), ms(2_000)).unwrap();
    let pool = deployment
        .pool_with_policy("user:alice/openai", Tier::User, 10_000, &pools)
        .await;
    deployment.stub.chaos.write().unwrap().default.latency_ms = 3_000;

    let response = call(&deployment, &deployment.alice, None, &chat(50)).await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let problem: Value = response.json().await.unwrap();
    assert!(
        problem["type"]
            .as_str()
            .unwrap()
            .ends_with("/pool-hold-too-short"),
        "{problem}"
    );
    assert!(
        deployment.stub.ledger.snapshot().is_empty(),
        "nothing was sent upstream"
    );
    let events = events(&deployment.kafka).await;
    assert!(
        !events
            .iter()
            .any(|e| e.pool_id == pool && matches!(e.event, TokenPoolEvent::TokensReserved { .. })),
        "nothing was held"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_request_is_held_for_everything_the_provider_bills() {
    let deployment = Deployment::start(&[]).await;
    let pool = deployment
        .pool_with("user:alice/openai", Tier::Pro, 1_000_000)
        .await;
    // A large structured-output schema and an image, one short message: the provider bills
    // the schema and the image; the hold must cover both.
    let properties: serde_json::Map<String, Value> = (0..2_000)
        .map(|i| {
            (
                format!("field_{i}"),
                json!({"type": "string", "description": "a value of the answer"}),
            )
        })
        .collect();
    let body = json!({
        "model": "gpt-4o-mini",
        "messages": [{"role": "user", "content": [
            {"type": "text", "text": "fill it in"},
            {"type": "image_url", "image_url": {"url": "https://example.com/cat.png"}}
        ]}],
        "response_format": {"type": "json_schema", "json_schema": {
            "name": "answer", "schema": {"type": "object", "properties": properties}
        }},
        // A provider may honour either field: both are capped to what is held.
        "max_completion_tokens": 20,
        "max_tokens": 100_000_000u64,
    });
    assert!(body.to_string().len() > 100_000);
    let response = call(&deployment, &deployment.alice, None, &body).await;
    assert_eq!(response.status(), StatusCode::OK);
    let id = request_id(&response);
    response.bytes().await.unwrap();

    let billed = deployment.reported(&id).unwrap();
    assert!(
        billed > 20_000,
        "the stub bills the schema ({billed} tokens)"
    );
    match fate_of(&deployment.kafka, &id).await {
        Fate::Settled { reserved, consumed } => {
            assert!(reserved >= billed, "held {reserved}, billed {billed}");
            assert_eq!(consumed, billed);
        }
        other => panic!("expected a settlement, got {other:?}"),
    }
    assert_eq!(charged(&events(&deployment.kafka).await, &pool), billed);
}
