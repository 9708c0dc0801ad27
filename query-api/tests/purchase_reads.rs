//! The query API over the purchases view, against the real processors, saga, payment stub,
//! projectors and Kafka: a purchase read back with the token of its POST reply is always
//! there, an owner's purchases are listed by status, and bad ids or parameters get a
//! problem naming them.

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{Value, json};
use testkit::stack::{Service, Stack};

const PARTITIONS: u32 = 2;

/// POSTs a purchase of `tokens` for `pool` paid with `card`; the reply.
async fn purchase(stack: &Stack, key: &str, pool: &str, tokens: u64, card: &str) -> Value {
    let url = stack.url(Service::CommandApi, "/api/v1/purchases").await;
    let response = stack
        .http
        .post(url)
        .bearer_auth(&stack.admin)
        .header("idempotency-key", key)
        .json(&json!({"pool": pool, "tokens": tokens, "payment_method": card}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
    response.json().await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_purchase_read_back_with_its_token_is_always_there_and_listed_by_status() {
    let stack = Stack::start(
        PARTITIONS,
        &[
            Service::Processor,
            Service::CommandApi,
            Service::PaymentStub,
            Service::PurchaseProcessor,
            Service::Projectors,
            Service::QueryApi,
        ],
    )
    .await;
    stack.launch(Service::Saga, &[]).await;
    for pool in [
        "/api/v1/pools/user/alice/openai",
        "/api/v1/pools/org/acme/gemini",
    ] {
        let (status, body) = stack.command(pool, json!({"tier": "PRO"})).await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }
    // Back to back, no pause: each read must already include its own purchase.
    let mut placed = Vec::new();
    for n in 0..12_u64 {
        let (pool, owner) = if n % 3 == 0 {
            ("org:acme/gemini", "/api/v1/owners/org/acme/purchases")
        } else {
            ("user:alice/openai", "/api/v1/owners/user/alice/purchases")
        };
        let card = if n % 4 == 1 {
            "pm_card_declined"
        } else {
            "pm_card_visa"
        };
        let reply = purchase(&stack, &format!("key-{n}"), pool, 1_000 + n, card).await;
        let id = reply["purchase_id"].as_str().unwrap().to_owned();
        let token = reply["consistency_token"].as_str().unwrap();
        let (status, view, body) = stack
            .query(&format!("/api/v1/purchases/{id}?consistency_token={token}"))
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(view.as_deref(), Some("fresh"), "{body}");
        assert_eq!(body["purchase"]["purchase_id"], json!(id));
        assert_eq!(body["purchase"]["pool_id"], json!(pool));
        assert_eq!(body["purchase"]["tokens"], json!(1_000 + n));
        let (status, view, body) = stack
            .query(&format!("{owner}?consistency_token={token}"))
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(view.as_deref(), Some("fresh"), "{body}");
        let listed: Vec<&str> = body["purchases"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["purchase_id"].as_str().unwrap())
            .collect();
        assert_eq!(listed.first(), Some(&id.as_str()), "newest first: {body}");
        placed.push((id, card));
    }

    // Once the saga has finished them, each is listed under its outcome.
    let alice = "/api/v1/owners/user/alice/purchases";
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let (_, _, done) = stack.query(&format!("{alice}?state=COMPLETED")).await;
        let (_, _, failed) = stack.query(&format!("{alice}?state=failed")).await;
        let (done, failed) = (
            done["purchases"].as_array().unwrap().clone(),
            failed["purchases"].as_array().unwrap().clone(),
        );
        if done.len() + failed.len() == 8 {
            // Alice's purchases are n = 1, 2, 4, 5, 7, 8, 10, 11; n = 1 and 5 were declined.
            assert_eq!(failed.len(), 2, "{failed:?}");
            for p in &failed {
                assert_eq!(p["status"], json!("FAILED"));
                assert_eq!(p["failure_code"], json!("payment_declined"));
                assert_eq!(p["awaiting"], Value::Null);
            }
            for p in &done {
                assert_eq!(p["status"], json!("COMPLETED"));
                assert_eq!(p["payment_captured"], json!(true));
            }
            break;
        }
        assert!(
            Instant::now() < deadline,
            "{} done, {} failed",
            done.len(),
            failed.len()
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    let (status, _, body) = stack.query(&format!("{alice}?limit=2")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["purchases"].as_array().unwrap().len(), 2);
    let (status, _, body) = stack.query("/api/v1/owners/user/nobody/purchases").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["purchases"], json!([]));

    // With the projector down, a read with a token the view has not reached says so.
    stack.kill(Service::Projectors).await;
    let reply = purchase(&stack, "late", "user:alice/openai", 77, "pm_card_visa").await;
    let id = reply["purchase_id"].as_str().unwrap();
    let token = reply["consistency_token"].as_str().unwrap();
    let read = format!("/api/v1/purchases/{id}?consistency_token={token}");
    let (status, _, problem) = stack.query(&format!("{read}&wait_ms=300")).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{problem}");
    assert_eq!(problem["consistency"]["stale"], json!(true), "{problem}");
    stack.launch(Service::Projectors, &[]).await;
    let (status, view, body) = stack.query(&format!("{read}&wait_ms=10000")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(view.as_deref(), Some("fresh"), "{body}");
    assert_eq!(body["purchase"]["tokens"], json!(77));

    let (_, _, document) = stack.query("/api/v1/openapi.json").await;
    for path in [
        "/api/v1/purchases/{id}",
        "/api/v1/owners/{kind}/{id}/purchases",
    ] {
        assert!(
            document["paths"][path]["get"].is_object(),
            "{path} documented"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_purchase_reads_are_refused_with_a_problem_naming_the_parameter() {
    let stack = Stack::start(PARTITIONS, &[Service::Projectors, Service::QueryApi]).await;
    let unknown = "0195f3c2-8a7e-7c3b-9a51-3f0d1e2b4c5d";
    let cases = [
        ("/api/v1/purchases/not-a-uuid".to_owned(), "id"),
        (
            format!("/api/v1/purchases/{unknown}?consistency_token=7"),
            "consistency_token",
        ),
        (
            format!("/api/v1/purchases/{unknown}?wait_ms=forever"),
            "wait_ms",
        ),
        (format!("/api/v1/purchases/{unknown}?state=failed"), "state"),
        ("/api/v1/owners/team/acme/purchases".to_owned(), "kind"),
        ("/api/v1/owners/user/Not%20Valid/purchases".to_owned(), "id"),
        (
            "/api/v1/owners/user/alice/purchases?state=done".to_owned(),
            "state",
        ),
        (
            "/api/v1/owners/user/alice/purchases?limit=0".to_owned(),
            "limit",
        ),
        (
            "/api/v1/owners/user/alice/purchases?limit=9999".to_owned(),
            "limit",
        ),
        (
            "/api/v1/owners/user/alice/purchases?color=blue".to_owned(),
            "color",
        ),
        (
            "/api/v1/owners/user/alice/purchases?consistency_token=x:y".to_owned(),
            "consistency_token",
        ),
    ];
    for (path, parameter) in &cases {
        stack.assert_bad_parameter(path, parameter).await;
    }

    // An id nobody placed: 404 once the projector has created the view (503 before).
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let (status, _, problem) = stack.query(&format!("/api/v1/purchases/{unknown}")).await;
        if status == StatusCode::SERVICE_UNAVAILABLE && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(200)).await;
            continue;
        }
        assert_eq!(status, StatusCode::NOT_FOUND, "{problem}");
        assert!(
            problem["detail"].as_str().unwrap().contains(unknown),
            "{problem}"
        );
        break;
    }
}
