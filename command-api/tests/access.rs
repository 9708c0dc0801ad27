//! Who may issue which command: every route needs a genuine, current credential (401
//! otherwise); a caller spends only from its own pools or its orgs' and buys only for them
//! (403 otherwise); only an ADMIN provisions, grants, revokes, changes policies and resets
//! periods. A refused command never reaches the log, and an accepted one records who
//! issued it.

use eventlog::{Topics, read_topic};
use reqwest::{Client, RequestBuilder, StatusCode};
use serde_json::{Value, json};
use testkit::auth::refused_credentials;

mod support;

const ALICE: &str = "/api/v1/pools/user/alice/openai";
const ACME: &str = "/api/v1/pools/org/acme/openai";

/// A processor, the auth service and the command API on fresh topics; requests go with the
/// credential each test names.
struct Deployment {
    services: support::deployment::Deployment,
    http: Client,
}

impl Deployment {
    async fn start() -> Self {
        let services = support::deployment::Deployment::start(
            "access",
            support::deployment::Processor::Running,
            &[],
        )
        .await;
        Self {
            services,
            http: Client::builder().pool_max_idle_per_host(0).build().unwrap(),
        }
    }

    fn post(&self, path: &str, body: Value) -> RequestBuilder {
        self.http.post(self.services.api.url(path)).json(&body)
    }

    /// POSTs as the holder of `credential`; the status and body.
    async fn post_as(&self, credential: &str, path: &str, body: Value) -> (StatusCode, Value) {
        let response = self
            .post(path, body)
            .bearer_auth(credential)
            .send()
            .await
            .unwrap();
        (
            response.status(),
            response.json().await.unwrap_or(Value::Null),
        )
    }

    /// GETs as the holder of `credential`; the status and body.
    async fn get_as(&self, credential: &str, path: &str) -> (StatusCode, Value) {
        let response = self
            .http
            .get(self.services.api.url(path))
            .bearer_auth(credential)
            .send()
            .await
            .unwrap();
        (
            response.status(),
            response.json().await.unwrap_or(Value::Null),
        )
    }

    /// Until the processor answers the ADMIN (the API has its credentials and Kafka).
    async fn wait_until_accepting_commands(&self, admin: &str) {
        for _ in 0..300 {
            let (status, _) = self
                .post_as(
                    admin,
                    "/api/v1/pools/user/probe/openai/consume",
                    json!({"amount": 1}),
                )
                .await;
            if status != StatusCode::SERVICE_UNAVAILABLE && status != StatusCode::ACCEPTED {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        panic!("the API never accepted commands");
    }

    /// How many pool and purchase commands reached the log.
    async fn commands_written(&self) -> usize {
        let topics = Topics::new(&self.services.kafka);
        let mut written = 0;
        for topic in [topics.pool_commands(), topics.purchase_commands()] {
            written += read_topic(
                &self.services.kafka,
                &topic,
                support::deployment::PARTITIONS,
            )
            .await
            .unwrap()
            .len();
        }
        written
    }
}

/// The answer is a problem+json refusing the caller with `expected`, and says why.
#[track_caller]
fn assert_problem(case: &str, (status, problem): &(StatusCode, Value), expected: StatusCode) {
    testkit::auth::assert_refused(case, *status, problem, expected);
}

#[tokio::test(flavor = "multi_thread")]
async fn only_genuine_current_credentials_are_accepted_and_nothing_else_is_written() {
    let deployment = Deployment::start().await;
    let refused = refused_credentials(&deployment.services.auth, "mallory").await;
    let admin = deployment.services.auth.admin().await;
    deployment.wait_until_accepting_commands(&admin).await;
    assert_eq!(
        deployment.post_as(&admin, ALICE, json!({})).await.0,
        StatusCode::OK
    );
    let written = deployment.commands_written().await;

    let consume = format!("{ALICE}/consume");
    let without = deployment
        .post(&consume, json!({"amount": 1}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        without.headers()["content-type"],
        "application/problem+json"
    );
    assert_eq!(without.headers()["x-content-type-options"], "nosniff");
    assert_eq!(
        without.headers()["www-authenticate"],
        "Bearer realm=\"leaky-tokens\""
    );
    let without = (without.status(), without.json().await.unwrap());
    assert_problem("no credential", &without, StatusCode::UNAUTHORIZED);
    let basic = deployment
        .post(&consume, json!({"amount": 1}))
        .header("authorization", "Basic YWxpY2U6c2VjcmV0")
        .send()
        .await
        .unwrap();
    let basic = (basic.status(), basic.json().await.unwrap());
    assert_problem("basic auth", &basic, StatusCode::UNAUTHORIZED);
    for (case, credential) in &refused {
        for (path, body) in [
            (consume.as_str(), json!({"amount": 1})),
            (&format!("{ALICE}/grants"), json!({"amount": 1_000})),
            ("/api/v1/purchases", purchase("user:mallory/openai")),
        ] {
            let answer = deployment.post_as(credential, path, body).await;
            assert_problem(
                &format!("{case} on {path}"),
                &answer,
                StatusCode::UNAUTHORIZED,
            );
        }
    }
    assert_eq!(
        deployment.commands_written().await,
        written,
        "a refused request reached the log"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_caller_spends_only_from_its_own_pools_and_its_orgs_and_only_an_admin_manages() {
    let deployment = Deployment::start().await;
    let auth = &deployment.services.auth;
    let admin = auth.admin().await;
    let alice = auth.user("alice").await;
    let (_, alice_key) = auth.api_key(&alice).await;
    let bob = auth.user("bob").await;
    auth.register("carol").await;
    auth.add_member(&admin, "acme", "carol").await;
    // Memberships travel in tokens issued after them.
    let carol = auth.login("carol").await;
    deployment.wait_until_accepting_commands(&admin).await;
    for pool in [ALICE, ACME] {
        assert_eq!(
            deployment.post_as(&admin, pool, json!({})).await.0,
            StatusCode::OK
        );
        let (status, body) = deployment
            .post_as(&admin, &format!("{pool}/grants"), json!({"amount": 1_000}))
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }
    let written = deployment.commands_written().await;

    let hold = format!("{ALICE}/reservations/0191e7a0-0000-7000-8000-000000000001");
    let forbidden: Vec<(&str, &str, String, Value)> = vec![
        (
            "bob spends alice's tokens",
            &bob,
            format!("{ALICE}/consume"),
            json!({"amount": 1}),
        ),
        (
            "bob holds alice's tokens",
            &bob,
            format!("{ALICE}/reservations"),
            json!({"amount": 1}),
        ),
        (
            "bob settles alice's hold",
            &bob,
            format!("{hold}/settle"),
            json!({"actual": 1}),
        ),
        (
            "bob releases alice's hold",
            &bob,
            format!("{hold}/release"),
            json!({}),
        ),
        (
            "bob expires alice's holds",
            &bob,
            format!("{ALICE}/reservations/expire"),
            json!({}),
        ),
        (
            "bob buys for alice",
            &bob,
            "/api/v1/purchases".into(),
            purchase("user:alice/openai"),
        ),
        (
            "alice spends an org's she is not in",
            &alice,
            format!("{ACME}/consume"),
            json!({"amount": 1}),
        ),
        (
            "alice buys for that org",
            &alice_key,
            "/api/v1/purchases".into(),
            purchase("org:acme/openai"),
        ),
        (
            "alice provisions a pool",
            &alice,
            "/api/v1/pools/user/alice/gemini".into(),
            json!({}),
        ),
        (
            "alice grants herself tokens",
            &alice_key,
            format!("{ALICE}/grants"),
            json!({"amount": 1_000_000}),
        ),
        (
            "alice revokes a grant",
            &alice,
            format!("{ALICE}/grants/0191e7a0-0000-7000-8000-000000000002/revoke"),
            json!({}),
        ),
        (
            "alice changes her tier",
            &alice,
            format!("{ALICE}/policy"),
            json!({"tier": "ENTERPRISE"}),
        ),
        (
            "alice resets her quota period",
            &alice,
            format!("{ALICE}/quota-period/reset"),
            json!({"period_start_ms": 0}),
        ),
        (
            "carol provisions her org's pool",
            &carol,
            "/api/v1/pools/org/acme/gemini".into(),
            json!({}),
        ),
    ];
    for (case, credential, path, body) in forbidden {
        let answer = deployment.post_as(credential, &path, body).await;
        assert_problem(case, &answer, StatusCode::FORBIDDEN);
    }
    assert_eq!(
        deployment.commands_written().await,
        written,
        "a refused command reached the log"
    );

    // What each may do, recorded as who did it.
    let (status, body) = deployment
        .post_as(
            &alice_key,
            &format!("{ALICE}/consume"),
            json!({"amount": 10}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "alice spends her own: {body}");
    // Its outcome (which tells her pool's balance) is hers to poll, not bob's.
    let status_url = format!("/api/v1/commands/{}", body["command_id"].as_str().unwrap());
    let polled = deployment.get_as(&bob, &status_url).await;
    assert_problem("bob polls alice's command", &polled, StatusCode::FORBIDDEN);
    let (status, polled) = deployment.get_as(&alice, &status_url).await;
    assert_eq!(status, StatusCode::OK, "alice polls her command: {polled}");
    assert_eq!(polled["outcome"], json!("accepted"), "{polled}");
    let (status, body) = deployment
        .post_as(&carol, &format!("{ACME}/consume"), json!({"amount": 20}))
        .await;
    assert_eq!(status, StatusCode::OK, "carol spends her org's: {body}");
    let (status, body) = deployment
        .post_as(&admin, &format!("{ALICE}/consume"), json!({"amount": 30}))
        .await;
    assert_eq!(
        status,
        StatusCode::OK,
        "the ADMIN may spend from any pool: {body}"
    );
    let mut actors: Vec<(String, String)> = support::logged_events(&deployment.services.kafka)
        .await
        .into_iter()
        .filter(|e| matches!(e.event, domain::TokenPoolEvent::TokensConsumed { .. }))
        .map(|e| (e.pool_id.to_string(), e.actor.to_string()))
        .collect();
    actors.sort();
    assert_eq!(
        actors,
        [
            ("org:acme/openai".to_owned(), "user:carol".to_owned()),
            ("user:alice/openai".to_owned(), "admin:admin".to_owned()),
            ("user:alice/openai".to_owned(), "user:alice".to_owned()),
        ]
    );
}

fn purchase(pool: &str) -> Value {
    json!({"pool": pool, "tokens": 1_000, "payment_method": "pm_card_visa"})
}
