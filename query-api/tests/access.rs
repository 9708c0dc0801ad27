//! Who may read what: every read needs a genuine, current credential (401 otherwise); a
//! caller reads its own pools, quotas, holds, buckets and usage and its orgs' (403 for
//! anyone else's); reads across tenants (top consumers, anomalies, a provider's usage) are
//! for an ADMIN, who reads everything.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};
use testkit::auth::refused_credentials;
use testkit::stack::{Service, Stack};

const PARTITIONS: u32 = 2;
const ALL: [Service; 5] = [
    Service::Processor,
    Service::PurchaseProcessor,
    Service::CommandApi,
    Service::Projectors,
    Service::QueryApi,
];

const ALICE: &str = "/api/v1/pools/user/alice/openai";
const ACME: &str = "/api/v1/pools/org/acme/openai";

/// The answer is a problem+json refusing the caller with `expected`, and says why.
#[track_caller]
fn assert_problem(
    case: &str,
    (status, _, problem): &(StatusCode, Option<String>, Value),
    expected: StatusCode,
) {
    testkit::auth::assert_refused(case, *status, problem, expected);
}

/// Reads `path` as the holder of `credential` until the analytics store answers (the
/// projector creates its tables at start); the status and body.
async fn read(stack: &Stack, credential: &str, path: &str) -> (StatusCode, Value) {
    for _ in 0..100 {
        let (status, _, body) = stack.query_as(credential, path).await;
        if status != StatusCode::SERVICE_UNAVAILABLE {
            return (status, body);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{path} stayed unavailable");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_read_needs_a_genuine_current_credential() {
    let stack = Stack::start(PARTITIONS, &[Service::QueryApi]).await;
    let refused = refused_credentials(&stack.auth, "mallory").await;
    let url = stack.url(Service::QueryApi, ALICE).await;
    let without = stack.http.get(&url).send().await.unwrap();
    assert_eq!(
        without.headers()["content-type"],
        "application/problem+json"
    );
    assert_eq!(without.headers()["x-frame-options"], "DENY");
    assert_eq!(
        without.headers()["www-authenticate"],
        "Bearer realm=\"leaky-tokens\""
    );
    let without = (without.status(), None, without.json().await.unwrap());
    assert_problem("no credential", &without, StatusCode::UNAUTHORIZED);
    for (case, credential) in &refused {
        for path in [
            ALICE.to_owned(),
            format!("{ALICE}/buckets"),
            "/api/v1/quota/user/mallory".to_owned(),
            "/api/v1/usage/user/mallory".to_owned(),
            "/api/v1/top/user".to_owned(),
        ] {
            let answer = stack.query_as(credential, &path).await;
            assert_problem(
                &format!("{case} on {path}"),
                &answer,
                StatusCode::UNAUTHORIZED,
            );
        }
    }
    // The probes and the API's description stay open.
    for path in ["/api/v1/openapi.json", "/health/live"] {
        let url = stack.url(Service::QueryApi, path).await;
        let open = stack.http.get(&url).send().await.unwrap();
        assert_eq!(open.status(), StatusCode::OK, "{path}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_caller_reads_its_own_and_its_orgs_and_only_an_admin_reads_across_tenants() {
    let stack = Stack::start(PARTITIONS, &ALL).await;
    let auth = &stack.auth;
    let alice = auth.user("alice").await;
    let (_, alice_key) = auth.api_key(&alice).await;
    let bob = auth.user("bob").await;
    auth.register("carol").await;
    auth.add_member(&stack.admin, "acme", "carol").await;
    let carol = auth.login("carol").await;
    let mut tokens = Vec::new();
    for pool in [ALICE, ACME] {
        stack.command(pool, json!({})).await;
        let (status, granted) = stack
            .command(&format!("{pool}/grants"), json!({"amount": 1_000}))
            .await;
        assert_eq!(status, StatusCode::OK, "{granted}");
        tokens.push(granted["consistency_token"].as_str().unwrap().to_owned());
    }
    let (status, spent) = stack
        .command_as(
            &alice_key,
            &format!("{ALICE}/consume"),
            json!({"amount": 10}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{spent}");
    let alice_token = spent["consistency_token"].as_str().unwrap();
    let url = stack.url(Service::CommandApi, "/api/v1/purchases").await;
    let bought: Value = stack
        .http
        .post(url)
        .bearer_auth(&alice)
        .header("idempotency-key", "alice-buys")
        .json(
            &json!({"pool": "user:alice/openai", "tokens": 500, "payment_method": "pm_card_visa"}),
        )
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let alice_purchase = format!(
        "/api/v1/purchases/{}?consistency_token={}",
        bought["purchase_id"].as_str().unwrap(),
        bought["consistency_token"].as_str().unwrap()
    );

    let forbidden = [
        ("bob reads alice's pool", &bob, ALICE.to_owned()),
        (
            "bob reads alice's holds",
            &bob,
            format!("{ALICE}/reservations"),
        ),
        (
            "bob reads alice's buckets",
            &bob,
            format!("{ALICE}/buckets"),
        ),
        (
            "bob reads alice's quota",
            &bob,
            "/api/v1/quota/user/alice".to_owned(),
        ),
        (
            "bob reads alice's openai quota",
            &bob,
            "/api/v1/quota/user/alice/openai".to_owned(),
        ),
        (
            "bob reads alice's usage",
            &bob,
            "/api/v1/usage/user/alice".to_owned(),
        ),
        (
            "bob reads alice's trend",
            &bob,
            "/api/v1/usage/user/alice/trend".to_owned(),
        ),
        (
            "alice reads an org's pool she is not in",
            &alice,
            ACME.to_owned(),
        ),
        (
            "alice reads that org's quota",
            &alice_key,
            "/api/v1/quota/org/acme".to_owned(),
        ),
        (
            "alice reads that org's usage",
            &alice,
            "/api/v1/usage/org/acme".to_owned(),
        ),
        (
            "alice reads a provider's usage",
            &alice,
            "/api/v1/usage/provider/openai".to_owned(),
        ),
        (
            "alice reads her own anomalies",
            &alice,
            "/api/v1/usage/user/alice/anomalies".to_owned(),
        ),
        (
            "carol reads the top consumers",
            &carol,
            "/api/v1/top/user".to_owned(),
        ),
        ("bob reads alice's purchase", &bob, alice_purchase.clone()),
        (
            "bob lists alice's purchases",
            &bob,
            "/api/v1/owners/user/alice/purchases".to_owned(),
        ),
        (
            "alice lists an org's purchases she is not in",
            &alice,
            "/api/v1/owners/org/acme/purchases".to_owned(),
        ),
    ];
    for (case, credential, path) in forbidden {
        let answer = stack.query_as(credential, &path).await;
        assert_problem(case, &answer, StatusCode::FORBIDDEN);
    }

    let allowed = [
        (
            "alice reads her pool",
            &alice,
            format!("{ALICE}?consistency_token={alice_token}"),
        ),
        (
            "alice reads her holds with her key",
            &alice_key,
            format!("{ALICE}/reservations"),
        ),
        (
            "alice reads her buckets",
            &alice,
            format!("{ALICE}/buckets"),
        ),
        (
            "alice reads her quota",
            &alice,
            "/api/v1/quota/user/alice".to_owned(),
        ),
        (
            "alice reads her usage",
            &alice,
            "/api/v1/usage/user/alice".to_owned(),
        ),
        (
            "carol reads her org's pool",
            &carol,
            format!("{ACME}?consistency_token={}", tokens[1]),
        ),
        (
            "carol reads her org's quota",
            &carol,
            "/api/v1/quota/org/acme".to_owned(),
        ),
        (
            "carol reads her org's trend",
            &carol,
            "/api/v1/usage/org/acme/trend".to_owned(),
        ),
        (
            "the ADMIN reads alice's pool",
            &stack.admin,
            ALICE.to_owned(),
        ),
        (
            "the ADMIN reads the top consumers",
            &stack.admin,
            "/api/v1/top/user".to_owned(),
        ),
        (
            "the ADMIN reads anomalies",
            &stack.admin,
            "/api/v1/usage/user/alice/anomalies".to_owned(),
        ),
        (
            "the ADMIN reads a provider's usage",
            &stack.admin,
            "/api/v1/usage/provider/openai".to_owned(),
        ),
        ("alice reads her purchase", &alice, alice_purchase.clone()),
        (
            "alice lists her purchases",
            &alice_key,
            "/api/v1/owners/user/alice/purchases".to_owned(),
        ),
        (
            "carol lists her org's purchases",
            &carol,
            "/api/v1/owners/org/acme/purchases".to_owned(),
        ),
    ];
    for (case, credential, path) in allowed {
        let (status, body) = read(&stack, credential, &path).await;
        assert_eq!(status, StatusCode::OK, "{case}: {body}");
    }
    let (_, body) = read(
        &stack,
        &alice,
        &format!("{ALICE}?consistency_token={alice_token}"),
    )
    .await;
    assert_eq!(body["pool"]["consumed"], json!(10), "{body}");
}
