//! `POST /api/v1/purchases` refuses every kind of bad input with a problem body before
//! anything is written (the purchase log stays empty).

use eventlog::{Topics, read_topic};
use serde_json::{Value, json};

mod support;

use support::deployment::{Deployment, PARTITIONS, Processor};

fn valid() -> Value {
    json!({
        "pool": "user:alice/openai",
        "tokens": 1000,
        // The server's price: 1,000 openai tokens at tier USER's 1,500 cents a million.
        "price_cents": 2,
        "payment_method": "pm_card_visa",
    })
}

fn with(field: &str, value: Value) -> Value {
    let mut body = valid();
    body[field] = value;
    body
}

#[tokio::test]
async fn bad_purchases_are_refused_with_a_problem_and_nothing_is_written() {
    let deployment = Deployment::start("purchase-http", Processor::None, &[]).await;
    let (kafka, api) = (&deployment.kafka, &deployment.api);
    let topics = Topics::new(kafka);
    let alice = deployment.auth.user("alice").await;
    // alice buys for her own pool: every refusal below is about the order, not the caller.
    let http = testkit::auth::client_as(&alice);
    let mut unknown_field = valid();
    unknown_field["discount"] = json!(5);
    let cases: Vec<(&str, String, u16, &str)> = vec![
        ("not JSON", "{".into(), 400, "malformed-request"),
        (
            "unknown field",
            unknown_field.to_string(),
            422,
            "invalid-body",
        ),
        (
            "missing field",
            json!({"pool": "user:alice/openai"}).to_string(),
            422,
            "invalid-body",
        ),
        (
            "bad pool",
            with("pool", json!("alice")).to_string(),
            422,
            "invalid-field",
        ),
        (
            "unknown provider",
            with("pool", json!("user:alice/nope")).to_string(),
            422,
            "invalid-field",
        ),
        (
            "zero tokens",
            with("tokens", json!(0)).to_string(),
            422,
            "invalid-field",
        ),
        (
            "too many tokens",
            with("tokens", json!(1_000_000_000_001u64)).to_string(),
            422,
            "invalid-field",
        ),
        (
            "negative tokens",
            with("tokens", json!(-5)).to_string(),
            422,
            "invalid-body",
        ),
        (
            "free",
            with("price_cents", json!(0)).to_string(),
            422,
            "price-mismatch",
        ),
        (
            "a million tokens for a cent (the client naming its price)",
            json!({"pool": "user:alice/openai", "tokens": 1_000_000, "price_cents": 1,
                   "payment_method": "pm_card_visa"})
            .to_string(),
            422,
            "price-mismatch",
        ),
        (
            "bad payment method",
            with("payment_method", json!("pm card")).to_string(),
            422,
            "invalid-field",
        ),
    ];
    for (case, body, status, kind) in cases {
        let response = http
            .post(api.url("/api/v1/purchases"))
            .header("content-type", "application/json")
            .header("idempotency-key", "k")
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), status, "{case}");
        let content_type = response.headers()["content-type"]
            .to_str()
            .unwrap()
            .to_owned();
        assert_eq!(content_type, "application/problem+json", "{case}");
        let problem: Value = response.json().await.unwrap();
        assert!(
            problem["type"].as_str().unwrap().ends_with(kind),
            "{case}: {problem}"
        );
        assert!(
            problem["title"].is_string() && problem["detail"].is_string(),
            "{case}"
        );
    }
    let not_json = http
        .post(api.url("/api/v1/purchases"))
        .header("content-type", "text/plain")
        .body(valid().to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(not_json.status(), 415);
    let written = read_topic(kafka, &topics.purchase_commands(), PARTITIONS)
        .await
        .unwrap();
    assert!(written.is_empty(), "nothing may be written: {written:?}");
}
