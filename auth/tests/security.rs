//! The auth service as an attacker meets it, as specifications: ADMIN is not up for grabs
//! by name, guessing is throttled with `429` + `Retry-After`, an unknown user looks (and
//! takes) like a wrong password, registration follows its mode, and the signing key
//! survives a restart.

use std::time::{Duration, Instant};

use reqwest::{Client, StatusCode};
use serde_json::{Value, json};
use testkit::SpawnedService;

const AUTH: &str = env!("CARGO_BIN_EXE_auth");
const PASSWORD: &str = "correct horse battery staple";
const BOOTSTRAP: &str = "the bootstrap password of this test";

fn prefix() -> String {
    format!("{}.", testkit::unique("auth-security"))
}

/// The auth service on the topics of `prefix`, with `env` on top of generous throttles and
/// the test signing key (so a token outlives the instance that issued it).
async fn start(prefix: &str, env: &[(&str, &str)]) -> SpawnedService {
    let key = testkit::auth::signing_key_file();
    let mut all = vec![
        ("LEAKY_KAFKA__TOPIC_PREFIX", prefix),
        ("LEAKY_AUTH__SIGNING_KEY_FILE", key.as_str()),
    ];
    all.extend(testkit::auth::GENEROUS_THROTTLE_ENV);
    all.extend_from_slice(env);
    SpawnedService::start(AUTH, "LEAKY_AUTH__LISTEN", &all).await
}

async fn post(
    service: &SpawnedService,
    path: &str,
    token: Option<&str>,
    body: Value,
) -> (StatusCode, Value) {
    let mut request = Client::new().post(service.url(path)).json(&body);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.unwrap();
    (
        response.status(),
        response.json().await.unwrap_or(Value::Null),
    )
}

async fn register(service: &SpawnedService, user: &str, password: &str) -> StatusCode {
    post(
        service,
        "/api/v1/auth/register",
        None,
        json!({"username": user, "password": password}),
    )
    .await
    .0
}

async fn login(service: &SpawnedService, user: &str, password: &str) -> (StatusCode, Value) {
    post(
        service,
        "/api/v1/auth/login",
        None,
        json!({"username": user, "password": password}),
    )
    .await
}

async fn token(service: &SpawnedService, user: &str, password: &str) -> String {
    let (status, body) = login(service, user, password).await;
    assert_eq!(status, StatusCode::OK, "{user}: {body}");
    body["access_token"].as_str().unwrap().to_owned()
}

/// Whether the holder of `token` may do ADMIN work (grant a membership).
async fn is_admin(service: &SpawnedService, token: &str, member: &str) -> bool {
    let (status, _) = post(
        service,
        "/api/v1/orgs/acme/members",
        Some(token),
        json!({"user": member}),
    )
    .await;
    status == StatusCode::NO_CONTENT
}

#[tokio::test(flavor = "multi_thread")]
async fn the_first_come_takeover_is_refused_and_the_bootstrap_password_makes_the_admin_once() {
    let prefix = prefix();
    // Before any bootstrap, a squatter takes the name `admin`: it is a plain user.
    let open = start(&prefix, &[]).await;
    assert_eq!(
        register(&open, "admin", "the squatter's password").await,
        StatusCode::CREATED
    );
    let squatter = token(&open, "admin", "the squatter's password").await;
    assert!(
        !is_admin(&open, &squatter, "admin").await,
        "a name gives no rights"
    );
    open.kill().await;

    // The install's bootstrap password cannot promote a name registered with another one.
    let bootstrapped = start(
        &prefix,
        &[("LEAKY_AUTH__BOOTSTRAP_ADMIN_PASSWORD", BOOTSTRAP)],
    )
    .await;
    assert!(!is_admin(&bootstrapped, &squatter, "admin").await);
    assert_eq!(
        login(&bootstrapped, "admin", BOOTSTRAP).await.0,
        StatusCode::UNAUTHORIZED
    );
    bootstrapped.kill().await;

    // On a fresh log it makes its ADMIN, who grants the role; the name is not registrable.
    let prefix = self::prefix();
    let service = start(
        &prefix,
        &[("LEAKY_AUTH__BOOTSTRAP_ADMIN_PASSWORD", BOOTSTRAP)],
    )
    .await;
    assert_eq!(
        register(&service, "admin", PASSWORD).await,
        StatusCode::CONFLICT
    );
    let root = token(&service, "admin", BOOTSTRAP).await;
    assert_eq!(
        register(&service, "erin", PASSWORD).await,
        StatusCode::CREATED
    );
    assert!(is_admin(&service, &root, "erin").await);
    let erin = token(&service, "erin", PASSWORD).await;
    assert!(!is_admin(&service, &erin, "erin").await);
    let promoted = Client::new()
        .put(service.url("/api/v1/users/erin/role"))
        .bearer_auth(&root)
        .json(&json!({"role": "ADMIN"}))
        .send()
        .await
        .unwrap();
    assert_eq!(promoted.status(), StatusCode::OK);
    assert!(
        is_admin(&service, &erin, "erin").await,
        "the same token, ADMIN now"
    );

    // Erin demotes the bootstrap ADMIN: its token loses the rights, and a restart with
    // the bootstrap password does not give them back.
    let demoted = Client::new()
        .put(service.url("/api/v1/users/admin/role"))
        .bearer_auth(&erin)
        .json(&json!({"role": "USER"}))
        .send()
        .await
        .unwrap();
    assert_eq!(demoted.status(), StatusCode::OK);
    assert!(!is_admin(&service, &root, "erin").await);
    service.kill().await;
    let again = start(
        &prefix,
        &[("LEAKY_AUTH__BOOTSTRAP_ADMIN_PASSWORD", BOOTSTRAP)],
    )
    .await;
    let root = token(&again, "admin", BOOTSTRAP).await;
    assert!(
        !is_admin(&again, &root, "erin").await,
        "bootstrap works once per log"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn brute_force_is_throttled_per_user_name_and_per_address_with_429_and_retry_after() {
    let service = start(
        &prefix(),
        &[
            ("LEAKY_AUTH__THROTTLE__LOGIN_PER_USER__CAPACITY", "3"),
            ("LEAKY_AUTH__THROTTLE__LOGIN_PER_USER__RATE", "1"),
            ("LEAKY_AUTH__THROTTLE__LOGIN_PER_ADDRESS__CAPACITY", "6"),
            ("LEAKY_AUTH__THROTTLE__LOGIN_PER_ADDRESS__RATE", "1"),
        ],
    )
    .await;
    register(&service, "gina", PASSWORD).await;
    let mut statuses = Vec::new();
    for n in 0..4 {
        statuses.push(
            login(&service, "gina", &format!("guess number {n}"))
                .await
                .0,
        );
    }
    assert_eq!(
        statuses,
        [
            StatusCode::UNAUTHORIZED,
            StatusCode::UNAUTHORIZED,
            StatusCode::UNAUTHORIZED,
            StatusCode::TOO_MANY_REQUESTS
        ],
        "three guesses per user name, then wait"
    );
    // Even the right password waits: the throttle does not tell guesses from the owner.
    let response = Client::new()
        .post(service.url("/api/v1/auth/login"))
        .json(&json!({"username": "gina", "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(
        response.headers()["content-type"],
        "application/problem+json"
    );
    let wait: u64 = response.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=300).contains(&wait), "{wait}");
    let problem: Value = response.json().await.unwrap();
    assert_eq!(
        problem["type"],
        "https://leaky-tokens.dev/problems/too-many-attempts"
    );

    // Other names from the same address: the address's own bucket (6) runs out too.
    let mut statuses = Vec::new();
    for n in 0..4 {
        statuses.push(login(&service, &format!("nobody{n}"), PASSWORD).await.0);
    }
    assert_eq!(statuses[..1], [StatusCode::UNAUTHORIZED], "{statuses:?}");
    assert!(
        statuses.contains(&StatusCode::TOO_MANY_REQUESTS),
        "{statuses:?}"
    );
    let metrics = Client::new()
        .get(service.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(metrics.contains("what=\"login_per_user\""), "{metrics}");
    assert!(metrics.contains("what=\"login_per_address\""), "{metrics}");
}

#[tokio::test(flavor = "multi_thread")]
async fn registration_is_throttled_per_address() {
    let service = start(
        &prefix(),
        &[
            ("LEAKY_AUTH__THROTTLE__REGISTER_PER_ADDRESS__CAPACITY", "2"),
            ("LEAKY_AUTH__THROTTLE__REGISTER_PER_ADDRESS__RATE", "1"),
        ],
    )
    .await;
    let statuses = [
        register(&service, "u1", PASSWORD).await,
        register(&service, "u2", PASSWORD).await,
        register(&service, "u3", PASSWORD).await,
    ];
    assert_eq!(
        statuses,
        [
            StatusCode::CREATED,
            StatusCode::CREATED,
            StatusCode::TOO_MANY_REQUESTS
        ]
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unknown_user_gets_the_answer_and_the_work_of_a_wrong_password() {
    let service = start(&prefix(), &[]).await;
    register(&service, "hal", PASSWORD).await;
    let (unknown, unknown_body) = login(&service, "nobody-at-all", PASSWORD).await;
    let (wrong, wrong_body) = login(&service, "hal", "not hal's password").await;
    assert_eq!(
        (unknown, &unknown_body),
        (wrong, &wrong_body),
        "indistinguishable answers"
    );

    // The same Argon2 verification either way (a dummy hash for the unknown user): the
    // median of a few attempts is of the same order, not a hash-free shortcut.
    async fn median(service: &SpawnedService, user: &str) -> Duration {
        let mut took = Vec::new();
        for _ in 0..7 {
            let started = Instant::now();
            login(service, user, "not the password").await;
            took.push(started.elapsed());
        }
        took.sort();
        took[3]
    }
    let unknown = median(&service, "nobody-at-all").await;
    let wrong = median(&service, "hal").await;
    eprintln!("median login: unknown user {unknown:?}, wrong password {wrong:?}");
    assert!(
        unknown * 2 > wrong,
        "unknown {unknown:?} vs wrong {wrong:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn invite_mode_admits_only_the_invited_name_once_and_closed_mode_only_admin_made_users() {
    let prefix = prefix();
    let service = start(
        &prefix,
        &[
            ("LEAKY_AUTH__BOOTSTRAP_ADMIN_PASSWORD", BOOTSTRAP),
            ("LEAKY_AUTH__REGISTRATION", "invite"),
        ],
    )
    .await;
    let root = token(&service, "admin", BOOTSTRAP).await;
    assert_eq!(
        register(&service, "ivan", PASSWORD).await,
        StatusCode::FORBIDDEN
    );
    let (status, invited) = post(
        &service,
        "/api/v1/invitations",
        Some(&root),
        json!({"username": "ivan"}),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    let invitation = invited["invitation"].as_str().unwrap();
    let with =
        |user: &str| json!({"username": user, "password": PASSWORD, "invitation": invitation});
    assert_eq!(
        post(&service, "/api/v1/auth/register", None, with("judy"))
            .await
            .0,
        StatusCode::FORBIDDEN,
        "for ivan only"
    );
    assert_eq!(
        post(&service, "/api/v1/auth/register", None, with("ivan"))
            .await
            .0,
        StatusCode::CREATED
    );
    assert_eq!(
        post(&service, "/api/v1/auth/register", None, with("ivan"))
            .await
            .0,
        StatusCode::FORBIDDEN,
        "used up: the name is taken and its invitation gone"
    );
    let ivan = token(&service, "ivan", PASSWORD).await;
    let (status, _) = post(
        &service,
        "/api/v1/invitations",
        Some(&ivan),
        json!({"username": "mallory"}),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "only an ADMIN invites");
    service.kill().await;

    let closed = start(
        &prefix,
        &[
            ("LEAKY_AUTH__BOOTSTRAP_ADMIN_PASSWORD", BOOTSTRAP),
            ("LEAKY_AUTH__REGISTRATION", "closed"),
        ],
    )
    .await;
    assert_eq!(
        register(&closed, "kim", PASSWORD).await,
        StatusCode::FORBIDDEN
    );
    let root = token(&closed, "admin", BOOTSTRAP).await;
    let made = json!({"username": "kim", "password": PASSWORD});
    assert_eq!(
        post(&closed, "/api/v1/users", Some(&ivan), made.clone())
            .await
            .0,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        post(&closed, "/api/v1/users", Some(&root), made).await.0,
        StatusCode::CREATED
    );
    token(&closed, "kim", PASSWORD).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_signing_key_is_created_private_and_survives_a_restart_with_every_token() {
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("signing-key.pem").display().to_string();
    let prefix = prefix();
    let first = start(&prefix, &[("LEAKY_AUTH__SIGNING_KEY_FILE", &key)]).await;
    register(&first, "liz", PASSWORD).await;
    let issued = token(&first, "liz", PASSWORD).await;
    first.kill().await;
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&key).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);

    let second = start(&prefix, &[("LEAKY_AUTH__SIGNING_KEY_FILE", &key)]).await;
    let keys = Client::new()
        .get(second.url("/api/v1/keys"))
        .bearer_auth(&issued)
        .send()
        .await
        .unwrap();
    assert_eq!(
        keys.status(),
        StatusCode::OK,
        "a token from before the restart still works"
    );
    let jwks: Value = Client::new()
        .get(second.url("/.well-known/jwks.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        jwks["keys"][0]["kid"].as_str(),
        auth::Verifier::kid_of(&issued).as_deref()
    );
}
