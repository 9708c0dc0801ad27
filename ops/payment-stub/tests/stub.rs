//! The payment-stub binary: every operation over real HTTP, idempotent by payment id,
//! failures chosen per request (test cards) or for a share of payments (admin endpoint),
//! a ledger that says who was charged, and clear 4xx answers to bad input.

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use testkit::SpawnedService;

const BINARY: &str = env!("CARGO_BIN_EXE_payment-stub");
const LISTEN: &str = "LEAKY_PAYMENT_STUB__LISTEN";

async fn stub() -> SpawnedService {
    SpawnedService::start(BINARY, LISTEN, &[]).await
}

async fn post(stub: &SpawnedService, path: &str, body: Value) -> (u16, Value) {
    let response = reqwest::Client::new()
        .post(stub.url(path))
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

fn reserve_body(method: &str) -> Value {
    json!({"reference": "purchase-1", "amount_cents": 1250, "payment_method": method})
}

async fn ledger(stub: &SpawnedService) -> Vec<Value> {
    let (_, body) = testkit::probes::get_json(&stub.url("/v1/ledger")).await;
    body["payments"].as_array().unwrap().clone()
}

#[tokio::test]
async fn reserve_then_capture_charges_once_however_often_it_is_asked() {
    let stub = stub().await;
    for _ in 0..2 {
        let (status, body) = post(
            &stub,
            "/v1/payments/p1/reserve",
            reserve_body("pm_card_visa"),
        )
        .await;
        assert_eq!((status, body["status"].as_str()), (200, Some("reserved")));
    }
    for _ in 0..2 {
        let (status, body) = post(&stub, "/v1/payments/p1/capture", json!(null)).await;
        assert_eq!((status, body["status"].as_str()), (200, Some("captured")));
    }
    let payments = ledger(&stub).await;
    assert_eq!(payments.len(), 1);
    assert_eq!(payments[0]["net_charged_cents"], 1250);
    assert_eq!(payments[0]["held_cents"], 0);
}

#[tokio::test]
async fn a_declined_card_is_402_and_holds_nothing() {
    let stub = stub().await;
    let (status, body) = post(
        &stub,
        "/v1/payments/p1/reserve",
        reserve_body("pm_card_declined"),
    )
    .await;
    assert_eq!(status, 402);
    assert_eq!(body["code"], "card_declined");
    assert!(body["type"].is_string() && body["title"].is_string() && body["detail"].is_string());
    let (status, _) = post(
        &stub,
        "/v1/payments/p1/reserve",
        reserve_body("pm_card_declined"),
    )
    .await;
    assert_eq!(status, 402, "a retry gets the same answer");
    assert_eq!(ledger(&stub).await[0]["held_cents"], 0);
}

#[tokio::test]
async fn a_refused_capture_keeps_the_hold_until_it_is_released() {
    let stub = stub().await;
    post(
        &stub,
        "/v1/payments/p1/reserve",
        reserve_body("pm_card_capture_fails"),
    )
    .await;
    let (status, body) = post(&stub, "/v1/payments/p1/capture", json!(null)).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (402, Some("capture_failed"))
    );
    assert_eq!(ledger(&stub).await[0]["held_cents"], 1250);
    let (status, body) = post(&stub, "/v1/payments/p1/release", json!(null)).await;
    assert_eq!((status, body["status"].as_str()), (200, Some("released")));
    let payment = &ledger(&stub).await[0];
    assert_eq!(
        (
            payment["held_cents"].as_u64(),
            payment["net_charged_cents"].as_u64()
        ),
        (Some(0), Some(0))
    );
}

#[tokio::test]
async fn a_timed_out_reservation_still_happens_and_a_release_undoes_it() {
    let stub = stub().await;
    let (status, _) = post(&stub, "/v1/admin/faults", json!(null)).await;
    assert_eq!(status, 405, "faults are set with PUT");
    let put = reqwest::Client::new()
        .put(stub.url("/v1/admin/faults"))
        .json(&json!({"hang_ms": 2000}))
        .send()
        .await
        .unwrap();
    assert_eq!(put.status(), 200);
    let started = Instant::now();
    let timed_out = reqwest::Client::new()
        .post(stub.url("/v1/payments/p1/reserve"))
        .json(&reserve_body("pm_card_timeout"))
        .timeout(Duration::from_millis(300))
        .send()
        .await;
    assert!(timed_out.unwrap_err().is_timeout());
    assert!(started.elapsed() < Duration::from_millis(1500));
    assert_eq!(ledger(&stub).await[0]["status"], "reserved");
    let (status, body) = post(&stub, "/v1/payments/p1/release", json!(null)).await;
    assert_eq!((status, body["status"].as_str()), (200, Some("released")));
}

#[tokio::test]
async fn a_release_before_the_reservation_refuses_the_late_reservation() {
    let stub = stub().await;
    let (status, _) = post(&stub, "/v1/payments/p1/release", json!(null)).await;
    assert_eq!(status, 200);
    let (status, body) = post(
        &stub,
        "/v1/payments/p1/reserve",
        reserve_body("pm_card_visa"),
    )
    .await;
    assert_eq!((status, body["code"].as_str()), (409, Some("conflict")));
}

#[tokio::test]
async fn releasing_a_captured_payment_refunds_it() {
    let stub = stub().await;
    post(
        &stub,
        "/v1/payments/p1/reserve",
        reserve_body("pm_card_visa"),
    )
    .await;
    post(&stub, "/v1/payments/p1/capture", json!(null)).await;
    let (status, body) = post(&stub, "/v1/payments/p1/release", json!(null)).await;
    assert_eq!((status, body["status"].as_str()), (200, Some("refunded")));
    assert_eq!(ledger(&stub).await[0]["net_charged_cents"], 0);
}

#[tokio::test]
async fn the_admin_endpoint_fails_a_share_of_payments_and_adds_latency() {
    let stub = stub().await;
    let put = reqwest::Client::new()
        .put(stub.url("/v1/admin/faults"))
        .json(&json!({"decline_percent": 50, "latency_ms": 20}))
        .send()
        .await
        .unwrap();
    assert_eq!(put.status(), 200);
    let started = Instant::now();
    let mut declined = 0;
    for n in 0..40 {
        let (status, _) = post(
            &stub,
            &format!("/v1/payments/p{n}/reserve"),
            reserve_body("pm_card_visa"),
        )
        .await;
        assert!(status == 200 || status == 402, "{status}");
        declined += usize::from(status == 402);
    }
    assert!((8..=32).contains(&declined), "{declined} of 40 declined");
    assert!(started.elapsed() >= Duration::from_millis(40 * 20));
}

#[tokio::test]
async fn bad_input_is_a_clear_4xx_and_changes_nothing() {
    let stub = stub().await;
    let cases = [
        ("/v1/payments/p1/reserve", json!({"amount_cents": 5})),
        (
            "/v1/payments/p1/reserve",
            json!({"reference": "r", "amount_cents": 0, "payment_method": "pm"}),
        ),
        (
            "/v1/payments/p1/reserve",
            json!({"reference": "r", "amount_cents": -1, "payment_method": "pm"}),
        ),
        (
            "/v1/payments/p1/reserve",
            json!({"reference": "r", "amount_cents": 1, "payment_method": "pm", "extra": 1}),
        ),
        (
            "/v1/payments/bad%20id/reserve",
            reserve_body("pm_card_visa"),
        ),
    ];
    for (path, body) in cases {
        let (status, problem) = post(&stub, path, body.clone()).await;
        assert!((400..500).contains(&status), "{path} {body}: {status}");
        assert!(problem["detail"].is_string(), "{problem}");
    }
    let (status, _) = post(&stub, "/v1/payments/nobody/capture", json!(null)).await;
    assert_eq!(status, 404);
    let put = reqwest::Client::new()
        .put(stub.url("/v1/admin/faults"))
        .json(&json!({"decline_percent": 101}))
        .send()
        .await
        .unwrap();
    assert_eq!(put.status(), 422);
    assert!(ledger(&stub).await.is_empty());
}

#[tokio::test]
async fn serves_its_probes() {
    testkit::probes::serves_its_probes(BINARY, LISTEN, &[]).await;
}
