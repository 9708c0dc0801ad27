//! The gateway against the real pool processor and the stub providers: every call holds the
//! worst case, is passed on, and is settled to exactly the usage the provider reported —
//! released when the provider fails, settled even when the client left mid-stream.

mod support;

use std::time::Duration;

use domain::Tier;
use futures::StreamExt;
use reqwest::{Client, Response, StatusCode};
use serde_json::{Value, json};
use support::Deployment;
use support::log::{Fate, events, fate_of, holds};

fn chat(stream: bool) -> Value {
    json!({
        "model": "gpt-4o-mini",
        "messages": [{"role": "user", "content": "say something short"}],
        "max_tokens": 50,
        "stream": stream,
    })
}

async fn post(deployment: &Deployment, path: &str, body: &Value) -> Response {
    Client::new()
        .post(deployment.url(path))
        .header("authorization", &deployment.alice)
        .json(body)
        .send()
        .await
        .unwrap()
}

fn request_id(response: &Response) -> String {
    response.headers()["x-request-id"]
        .to_str()
        .unwrap()
        .to_owned()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_plain_chat_is_charged_exactly_the_reported_usage() {
    let deployment = Deployment::start(&[]).await;
    deployment
        .pool_with("user:alice/openai", Tier::User, 10_000)
        .await;

    let response = post(&deployment, "/v1/chat/completions", &chat(false)).await;
    assert_eq!(response.status(), StatusCode::OK);
    for header in [
        "x-ratelimit-limit-requests",
        "x-ratelimit-remaining-requests",
        "x-ratelimit-reset-requests",
        "x-ratelimit-limit-tokens",
        "x-ratelimit-remaining-tokens",
        "x-ratelimit-reset-tokens",
    ] {
        assert!(response.headers().contains_key(header), "{header}");
    }
    assert_eq!(response.headers()["x-ratelimit-remaining-requests"], "59");
    let id = request_id(&response);
    let body: Value = response.json().await.unwrap();
    let reported = body["usage"]["total_tokens"].as_u64().unwrap();
    assert_eq!(deployment.reported(&id), Some(reported));

    match fate_of(&deployment.kafka, &id).await {
        Fate::Settled { reserved, consumed } => {
            assert_eq!(consumed, reported);
            assert!(reserved >= 50 + "say something short".len() as u64);
        }
        other => panic!("expected a settlement, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn streams_pass_through_and_settle_at_their_end_on_every_route() {
    let deployment = Deployment::start(&[]).await;
    for provider in ["openai", "qwen", "gemini"] {
        deployment
            .pool_with(&format!("user:alice/{provider}"), Tier::User, 10_000)
            .await;
    }
    let gemini_native = json!({"contents": [{"role": "user", "parts": [{"text": "hi there"}]}]});
    let calls = [
        ("/v1/chat/completions", chat(true)),
        ("/qwen/v1/chat/completions", chat(true)),
        ("/gemini/v1/chat/completions", chat(true)),
        (
            "/v1beta/models/gemini-2.0-flash:streamGenerateContent",
            gemini_native,
        ),
    ];
    for (path, body) in calls {
        let response = post(&deployment, path, &body).await;
        assert_eq!(response.status(), StatusCode::OK, "{path}");
        assert_eq!(response.headers()["content-type"], "text/event-stream");
        let id = request_id(&response);
        let text = response.text().await.unwrap();
        let datas: Vec<&str> = text
            .lines()
            .filter_map(|l| l.strip_prefix("data: "))
            .collect();
        assert!(datas.len() > 2, "{path}: {text}");
        if path.contains("chat") {
            // The usage chunk was the gateway's own request; this caller did not ask for it.
            assert_eq!(*datas.last().unwrap(), "[DONE]");
            assert!(!text.contains("\"total_tokens\""), "{path}: {text}");
        }
        let reported = deployment.reported(&id).expect("the stub delivered usage");
        assert_eq!(
            fate_of(&deployment.kafka, &id).await,
            Fate::Settled {
                reserved: fate_reserved(&deployment, &id).await,
                consumed: reported
            },
            "{path}"
        );
    }
}

async fn fate_reserved(deployment: &Deployment, id: &str) -> u64 {
    match fate_of(&deployment.kafka, id).await {
        Fate::Settled { reserved, .. } | Fate::Released { reserved } | Fate::Open { reserved } => {
            reserved
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_client_leaving_mid_stream_is_still_charged_the_full_reported_usage() {
    let deployment = Deployment::start(&[]).await;
    deployment
        .pool_with("user:alice/openai", Tier::User, 10_000)
        .await;
    deployment
        .stub
        .chaos
        .write()
        .unwrap()
        .default
        .chunk_interval_ms = 40;
    deployment.stub.chaos.write().unwrap().default.reply_tokens = 30;

    let response = post(&deployment, "/v1/chat/completions", &chat(true)).await;
    let id = request_id(&response);
    let mut body = response.bytes_stream();
    body.next().await.unwrap().unwrap();
    drop(body); // the client hangs up after the first chunk

    let consumed = match fate_of(&deployment.kafka, &id).await {
        Fate::Settled { consumed, .. } => consumed,
        other => panic!("expected a settlement, got {other:?}"),
    };
    assert_eq!(Some(consumed), deployment.reported(&id));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failing_provider_releases_the_hold_and_a_silent_one_is_charged_its_worst_case() {
    let deployment = Deployment::start(&[
        // Long enough that a failing answer on a busy machine is still a failure (502),
        // not a timeout (504).
        ("LEAKY_GATEWAY__PROVIDERS__OPENAI__TIMEOUT_MS", "1500"),
        ("LEAKY_GATEWAY__PROVIDERS__OPENAI__RETRIES", "1"),
        ("LEAKY_GATEWAY__PROVIDERS__OPENAI__BREAKER_FAILURES", "100"),
    ])
    .await;
    deployment
        .pool_with("user:alice/openai", Tier::User, 10_000)
        .await;

    deployment.stub.chaos.write().unwrap().fail_percent = 100;
    let failed = post(&deployment, "/v1/chat/completions", &chat(false)).await;
    assert_eq!(failed.status(), StatusCode::BAD_GATEWAY);
    let id = request_id(&failed);
    let problem: Value = failed.json().await.unwrap();
    assert_eq!(problem["upstream_status"], 503);
    assert!(matches!(
        fate_of(&deployment.kafka, &id).await,
        Fate::Released { .. }
    ));

    deployment.stub.chaos.write().unwrap().fail_percent = 0;
    deployment.stub.chaos.write().unwrap().default.hang = true;
    let silent = post(&deployment, "/v1/chat/completions", &chat(true)).await;
    assert_eq!(silent.status(), StatusCode::GATEWAY_TIMEOUT);
    let id = request_id(&silent);
    // Sent and unanswered: the provider may have generated (and billed) it, so the worst
    // case is charged, and it was sent once (issue 21).
    match fate_of(&deployment.kafka, &id).await {
        Fate::Settled { consumed, .. } => {
            assert!(consumed >= 50 + "say something short".len() as u64)
        }
        other => panic!("expected the worst case charged, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_circuit_opens_after_repeated_failures_and_refuses_without_holding() {
    let deployment = Deployment::start(&[
        ("LEAKY_GATEWAY__PROVIDERS__OPENAI__RETRIES", "0"),
        ("LEAKY_GATEWAY__PROVIDERS__OPENAI__BREAKER_FAILURES", "2"),
        ("LEAKY_GATEWAY__PROVIDERS__OPENAI__BREAKER_OPEN_MS", "60000"),
    ])
    .await;
    deployment
        .pool_with("user:alice/openai", Tier::User, 10_000)
        .await;
    deployment.stub.chaos.write().unwrap().fail_percent = 100;
    for _ in 0..2 {
        let failed = post(&deployment, "/v1/chat/completions", &chat(false)).await;
        assert_eq!(failed.status(), StatusCode::BAD_GATEWAY);
    }
    let holds_before = holds(&events(&deployment.kafka).await).len();
    let refused = post(&deployment, "/v1/chat/completions", &chat(false)).await;
    assert_eq!(refused.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(refused.headers().contains_key("retry-after"));
    let problem: Value = refused.json().await.unwrap();
    assert_eq!(
        problem["type"],
        "https://leaky-tokens.dev/problems/upstream-circuit-open"
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(holds(&events(&deployment.kafka).await).len(), holds_before);
}

#[tokio::test(flavor = "multi_thread")]
async fn refusals_name_the_limit_hit() {
    let deployment = Deployment::start(&[]).await;
    deployment
        .pool_with("user:alice/openai", Tier::User, 60)
        .await;

    let over_quota = post(&deployment, "/v1/chat/completions", &chat(false)).await;
    assert_eq!(over_quota.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(over_quota.headers()["x-ratelimit-limit-hit"], "quota");
    let problem: Value = over_quota.json().await.unwrap();
    assert_eq!(problem["limit"], "quota");
    assert_eq!(problem["code"], "quota_exhausted");

    let mut pools = command_api::pools::PoolsSettings::default();
    pools.default_policy.requests =
        domain::RateLimit::new(1, 1, domain::DurationMs::from_millis(60_000).unwrap()).unwrap();
    deployment
        .pool_with_policy("user:alice/qwen", Tier::User, 10_000, &pools)
        .await;
    let first = post(&deployment, "/qwen/v1/chat/completions", &chat(false)).await;
    assert_eq!(first.status(), StatusCode::OK);
    let limited = post(&deployment, "/qwen/v1/chat/completions", &chat(false)).await;
    assert_eq!(limited.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(limited.headers()["x-ratelimit-limit-hit"], "requests");
    assert_eq!(limited.headers()["x-ratelimit-remaining-requests"], "0");
    let wait: u64 = limited.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&wait), "{wait}");

    let unknown = post(&deployment, "/gemini/v1/chat/completions", &chat(false)).await;
    assert_eq!(unknown.status(), StatusCode::FORBIDDEN);
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_requests_are_refused_with_a_problem_and_hold_nothing() {
    let deployment = Deployment::start(&[("LEAKY_GATEWAY__MAX_BODY_BYTES", "2048")]).await;
    deployment
        .pool_with("user:alice/openai", Tier::User, 10_000)
        .await;
    let http = Client::builder().pool_max_idle_per_host(0).build().unwrap();
    let url = deployment.url("/v1/chat/completions");
    let alice = deployment.alice.as_str();
    let send = |auth: Option<&str>, kind: &'static str, body: String| {
        let mut request = http.post(&url).header("content-type", kind).body(body);
        if let Some(auth) = auth {
            request = request.header("authorization", auth);
        }
        request.send()
    };
    let json = "application/json";
    let cases = [
        (None, json, chat(false).to_string(), 401),
        (Some("Bearer nobody"), json, chat(false).to_string(), 401),
        (Some("Bearer lt_unknown"), json, chat(false).to_string(), 401),
        (Some(alice), "text/plain", chat(false).to_string(), 415),
        (Some(alice), json, "{not json".to_owned(), 400),
        (Some(alice), json, json!({"model": "gpt-4o", "messages": []}).to_string(), 422),
        (Some(alice), json, json!({"model": "gpt-4o", "messages": [{"role": "user", "content": "x"}], "max_tokens": -1}).to_string(), 422),
        (Some(alice), json, json!({"model": "llama-3", "messages": [{"role": "user", "content": "x"}]}).to_string(), 404),
        (Some(alice), json, json!({"model": "gpt-4o", "messages": [{"role": "user", "content": "x".repeat(4096)}]}).to_string(), 413),
    ];
    for (auth, kind, body, status) in cases {
        let response = send(auth, kind, body.clone()).await.unwrap();
        assert_eq!(response.status().as_u16(), status, "{body:.80}");
        assert_eq!(
            response.headers()["content-type"],
            "application/problem+json"
        );
        let problem: Value = response.json().await.unwrap();
        for member in ["type", "title", "detail"] {
            assert!(problem[member].is_string(), "{problem}");
        }
    }
    let unknown_provider = post(&deployment, "/mistral/v1/chat/completions", &chat(false)).await;
    assert_eq!(unknown_provider.status(), StatusCode::NOT_FOUND);
    assert!(
        holds(&events(&deployment.kafka).await).is_empty(),
        "nothing was held"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_model_name_never_steers_the_upstream_url_on_any_route() {
    let deployment = Deployment::start(&[]).await;
    for provider in ["openai", "qwen", "gemini"] {
        deployment
            .pool_with(&format!("user:alice/{provider}"), Tier::User, 10_000)
            .await;
    }
    // Each would reach another endpoint of the provider's host if pasted into a URL.
    let names = [
        "../../openai/v1/chat/completions?#",
        "gpt-4o/../../health/ready",
        "gpt-4o?x=1",
        "gpt-4o#frag",
        "gpt-4o\u{0}",
        "..",
        "%2e%2e%2fhealth",
        "gpt-4o\u{2215}x",
        "gpt-4o\u{ff0f}x",
        "gemini\u{2044}..",
    ];
    let http = Client::new();
    let chat_with =
        |model: &str| json!({"model": model, "messages": [{"role": "user", "content": "hi"}]});
    for model in names {
        for path in [
            "/v1/chat/completions",
            "/openai/v1/chat/completions",
            "/qwen/v1/chat/completions",
            "/gemini/v1/chat/completions",
        ] {
            let response = post(&deployment, path, &chat_with(model)).await;
            assert_eq!(
                response.status(),
                StatusCode::BAD_REQUEST,
                "{path} {model:?}"
            );
            let problem: Value = response.json().await.unwrap();
            assert!(
                problem["type"]
                    .as_str()
                    .unwrap()
                    .ends_with("/invalid-model")
            );
        }
        let encoded: String = url_encode(model);
        for action in ["generateContent", "streamGenerateContent"] {
            let url = deployment.url(&format!("/v1beta/models/{encoded}:{action}"));
            let response = http
                .post(url)
                .header("authorization", &deployment.alice)
                .json(&json!({"contents": [{"parts": [{"text": "hi"}]}]}))
                .send()
                .await
                .unwrap();
            assert!(
                response.status() == StatusCode::BAD_REQUEST
                    || response.status() == StatusCode::NOT_FOUND,
                "{action} {model:?}: {}",
                response.status()
            );
        }
    }
    assert!(
        deployment.stub.ledger.snapshot().is_empty(),
        "no request reached the provider"
    );
    assert!(
        holds(&events(&deployment.kafka).await).is_empty(),
        "nothing was held"
    );

    // A real model id still goes through, on the native route too.
    let native = http
        .post(deployment.url("/v1beta/models/gemini-2.0-flash:generateContent"))
        .header("authorization", &deployment.alice)
        .json(&json!({"contents": [{"parts": [{"text": "hi"}]}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(native.status(), StatusCode::OK);
}

/// Percent-encodes every byte but unreserved ones, as an attacker would to smuggle `/`.
fn url_encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}
