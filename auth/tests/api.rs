//! The auth service binary against real Kafka: registration, login, JWKS and API keys by
//! example, every bad input refused with a problem, and its state rebuilt from the log by
//! a fresh instance.

use reqwest::{Client, StatusCode};
use serde_json::{Value, json};
use testkit::SpawnedService;

const AUTH: &str = env!("CARGO_BIN_EXE_auth");

async fn start(prefix: &str) -> SpawnedService {
    SpawnedService::start(
        AUTH,
        "LEAKY_AUTH__LISTEN",
        &[("LEAKY_KAFKA__TOPIC_PREFIX", prefix)],
    )
    .await
}

async fn post(
    service: &SpawnedService,
    path: &str,
    token: Option<&str>,
    body: Value,
) -> reqwest::Response {
    let mut request = Client::new().post(service.url(path)).json(&body);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    request.send().await.unwrap()
}

const PASSWORD: &str = "correct horse battery staple";

async fn login(service: &SpawnedService, user: &str) -> String {
    let body: Value = post(
        service,
        "/api/v1/auth/login",
        None,
        json!({"username": user, "password": PASSWORD}),
    )
    .await
    .json()
    .await
    .unwrap();
    body["access_token"].as_str().expect("a token").to_owned()
}

#[tokio::test(flavor = "multi_thread")]
async fn users_register_log_in_and_manage_their_keys() {
    let service = start(&format!("{}.", testkit::unique("auth"))).await;
    let registered = post(
        &service,
        "/api/v1/auth/register",
        None,
        json!({"username": "erin", "password": PASSWORD}),
    )
    .await;
    assert_eq!(registered.status(), StatusCode::CREATED);
    for header in [
        "x-content-type-options",
        "x-frame-options",
        "cache-control",
        "content-security-policy",
    ] {
        assert!(registered.headers().contains_key(header), "{header}");
    }
    assert_eq!(registered.json::<Value>().await.unwrap()["tier"], "USER");

    let token = login(&service, "erin").await;
    let jwks: Value = Client::new()
        .get(service.url("/.well-known/jwks.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let verifier = auth::Verifier::from_jwks(&jwks, "http://127.0.0.1:8087").unwrap();
    let claims = verifier.verify(&token).unwrap();
    assert_eq!(
        (claims.sub.as_str(), claims.role),
        ("erin", auth::Role::User)
    );

    let created = post(
        &service,
        "/api/v1/keys",
        Some(&token),
        json!({"name": "laptop"}),
    )
    .await;
    assert_eq!(created.status(), StatusCode::CREATED);
    let created: Value = created.json().await.unwrap();
    assert!(created["key"].as_str().unwrap().starts_with("lt_"));
    let id = created["id"].as_str().unwrap();

    post(
        &service,
        "/api/v1/auth/register",
        None,
        json!({"username": "frank", "password": PASSWORD}),
    )
    .await;
    let frank = login(&service, "frank").await;
    let stolen = Client::new()
        .delete(service.url(&format!("/api/v1/keys/{id}")))
        .bearer_auth(&frank)
        .send()
        .await
        .unwrap();
    assert_eq!(
        stolen.status(),
        StatusCode::NOT_FOUND,
        "one cannot revoke another's key"
    );
    let revoked = Client::new()
        .delete(service.url(&format!("/api/v1/keys/{id}")))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(revoked.status(), StatusCode::NO_CONTENT);
    let keys: Value = Client::new()
        .get(service.url("/api/v1/keys"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(keys["keys"][0]["revoked"], true);
    assert!(
        keys["keys"][0].get("key").is_none(),
        "the raw key is shown once only"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_fresh_instance_rebuilds_users_and_keys_from_the_log() {
    let prefix = format!("{}.", testkit::unique("auth"));
    let first = start(&prefix).await;
    post(
        &first,
        "/api/v1/auth/register",
        None,
        json!({"username": "grace", "password": PASSWORD}),
    )
    .await;
    let token = login(&first, "grace").await;
    post(&first, "/api/v1/keys", Some(&token), json!({"name": "ci"})).await;
    first.kill().await;

    let second = start(&prefix).await;
    let token = login(&second, "grace").await;
    let keys: Value = Client::new()
        .get(second.url("/api/v1/keys"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(keys["keys"][0]["name"], "ci");
    let again = post(
        &second,
        "/api/v1/auth/register",
        None,
        json!({"username": "grace", "password": PASSWORD}),
    )
    .await;
    assert_eq!(again.status(), StatusCode::CONFLICT);
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_input_is_refused_with_a_problem_and_records_nothing() {
    let service = start(&format!("{}.", testkit::unique("auth"))).await;
    let cases = [
        (
            "/api/v1/auth/register",
            json!({"username": "Not Valid!", "password": PASSWORD}),
            422,
        ),
        (
            "/api/v1/auth/register",
            json!({"username": "henry", "password": "short"}),
            422,
        ),
        ("/api/v1/auth/register", json!({"username": "henry"}), 422),
        (
            "/api/v1/auth/login",
            json!({"username": "henry", "password": PASSWORD}),
            401,
        ),
        ("/api/v1/keys", json!({"name": "x"}), 401),
    ];
    for (path, body, status) in cases {
        let response = post(&service, path, None, body.clone()).await;
        assert_eq!(response.status().as_u16(), status, "{path} {body}");
        assert_eq!(
            response.headers()["content-type"],
            "application/problem+json"
        );
    }
    let malformed = Client::new()
        .post(service.url("/api/v1/auth/register"))
        .header("content-type", "application/json")
        .body("{nope")
        .send()
        .await
        .unwrap();
    assert_eq!(malformed.status(), StatusCode::BAD_REQUEST);
    // None of the refused registrations exists.
    let login = post(
        &service,
        "/api/v1/auth/login",
        None,
        json!({"username": "henry", "password": "short"}),
    )
    .await;
    assert_eq!(login.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_name_raced_for_by_two_instances_goes_to_exactly_one_registrant() {
    let prefix = format!("{}.", testkit::unique("auth"));
    let (first, second) = tokio::join!(start(&prefix), start(&prefix));
    let attempts = (0..8).map(|i| {
        let service = if i % 2 == 0 { &first } else { &second };
        let password = format!("{PASSWORD} number {i}");
        async move {
            let registered = post(
                service,
                "/api/v1/auth/register",
                None,
                json!({"username": "ivy", "password": password}),
            )
            .await;
            (registered.status(), password)
        }
    });
    let outcomes = futures::future::join_all(attempts).await;
    let winners: Vec<&String> = outcomes
        .iter()
        .filter(|(status, _)| *status == StatusCode::CREATED)
        .map(|(_, password)| password)
        .collect();
    assert_eq!(winners.len(), 1, "{outcomes:?}");
    assert!(
        outcomes
            .iter()
            .all(|(s, _)| *s == StatusCode::CREATED || *s == StatusCode::CONFLICT)
    );
    for service in [&first, &second] {
        let login = post(
            service,
            "/api/v1/auth/login",
            None,
            json!({"username": "ivy", "password": winners[0]}),
        )
        .await;
        assert_eq!(
            login.status(),
            StatusCode::OK,
            "the winner's password works on every instance"
        );
    }
}
