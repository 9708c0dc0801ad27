//! What a credential is worth, as specifications against the real auth service and the
//! real auth log: rights come from the log as of now, not from what a token says; a rotated
//! signing key is honoured without refusing a single valid token; refused credentials are
//! throttled per address; and a flood of unknown keys is answered from memory.
//!
//! Each test serves `GET /whoami` behind [`access::authenticate`], as every API does.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use access::{AccessSettings, Credentials, Identity};
use auth::Role;
use axum::Router;
use axum::routing::get;
use reqwest::StatusCode;
use serde_json::{Value, json};
use settings::KafkaSettings;
use testkit::auth::{AuthService, ISSUER};

/// Who `/whoami` says is calling, in a service that checks credentials like the APIs do.
struct Checker {
    url: String,
}

impl Checker {
    /// A service checking credentials against `auth` (its JWKS) and the log of `kafka`.
    async fn start(auth: &AuthService, kafka: &KafkaSettings, settings: AccessSettings) -> Self {
        let credentials = Credentials::connect(
            AccessSettings {
                jwks_url: auth.url("/.well-known/jwks.json"),
                issuer: ISSUER.to_owned(),
                ..settings
            },
            kafka.clone(),
            testkit::infra().registry,
        );
        let router = Router::new().route("/whoami", get(whoami)).layer(
            axum::middleware::from_fn_with_state(credentials, access::authenticate),
        );
        let service = probes::HttpService::bind("127.0.0.1:0".parse().unwrap(), router)
            .await
            .unwrap();
        let url = format!("http://{}/whoami", service.local_addr().unwrap());
        tokio::spawn(service.run_until(std::future::pending()));
        Self { url }
    }

    async fn ask(&self, credential: &str) -> (StatusCode, Value) {
        let response = reqwest::Client::new()
            .get(&self.url)
            .bearer_auth(credential)
            .send()
            .await
            .unwrap();
        let status = response.status();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    /// Waits until `credential` is answered (the JWKS fetched and the log read).
    async fn ready(&self, credential: &str) {
        for _ in 0..200 {
            if self.ask(credential).await.0 != StatusCode::SERVICE_UNAVAILABLE {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("the checker never read the JWKS and the auth log");
    }

    /// Asks with `credential` until `done` holds of the answer; how long that took.
    async fn until(
        &self,
        credential: &str,
        done: impl Fn(&(StatusCode, Value)) -> bool,
    ) -> Duration {
        let started = Instant::now();
        while started.elapsed() < Duration::from_secs(5) {
            if done(&self.ask(credential).await) {
                return started.elapsed();
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!("not within 5 s");
    }
}

async fn whoami(identity: Identity) -> axum::Json<Value> {
    axum::Json(json!({
        "user": identity.user.as_str(),
        "role": identity.role,
        "orgs": identity.orgs.iter().map(ToString::to_string).collect::<Vec<_>>(),
    }))
}

fn deployment() -> KafkaSettings {
    KafkaSettings {
        topic_prefix: format!("{}.", testkit::unique("access-security")),
        ..testkit::infra().kafka
    }
}

fn generous() -> AccessSettings {
    AccessSettings {
        failed_credentials_per_address: domain::RateLimit::new(
            1_000_000,
            1_000_000,
            domain::DurationMs::MINUTE,
        )
        .unwrap(),
        ..AccessSettings::default()
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_removed_member_and_a_demoted_admin_lose_their_rights_within_a_second_whatever_their_token_says()
 {
    let kafka = deployment();
    let auth = AuthService::start(&kafka).await;
    let admin = auth.admin().await;
    let bob = auth.user("bob").await;
    auth.add_member(&admin, "acme", "bob").await;
    let checker = Checker::start(&auth, &kafka, generous()).await;
    checker.ready(&bob).await;

    // A token issued before the membership: the log grants it anyway.
    let (_, me) = checker.ask(&bob).await;
    assert_eq!(me["orgs"], json!(["acme"]), "{me}");

    // Promoted, with the same token: ADMIN as soon as the log says so.
    auth.set_role(&admin, "bob", Role::Admin).await;
    checker.until(&bob, |(_, me)| me["role"] == "ADMIN").await;

    // The token (and a key) issued now carry acme and ADMIN; the log takes both away.
    let token = auth.login("bob").await;
    let (_, key) = auth.api_key(&token).await;
    auth.remove_member(&admin, "acme", "bob").await;
    auth.set_role(&admin, "bob", Role::User).await;
    for credential in [&token, &key] {
        let took = checker
            .until(credential, |(status, me)| {
                *status == StatusCode::OK && me["orgs"] == json!([]) && me["role"] == "USER"
            })
            .await;
        assert!(took < Duration::from_secs(1), "took {took:?}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn registering_the_old_admin_name_gives_no_rights() {
    let kafka = deployment();
    // No bootstrap password: nobody is ADMIN, and the name `admin` is free for anyone.
    let auth =
        AuthService::start_with(&kafka, &[("LEAKY_AUTH__BOOTSTRAP_ADMIN_PASSWORD", "")]).await;
    let squatter = auth.user("admin").await;
    let checker = Checker::start(&auth, &kafka, generous()).await;
    checker.ready(&squatter).await;
    let (status, me) = checker.ask(&squatter).await;
    assert_eq!(
        (status, me["role"].clone()),
        (StatusCode::OK, json!("USER"))
    );
    let refused = reqwest::Client::new()
        .post(auth.url("/api/v1/orgs/acme/members"))
        .bearer_auth(&squatter)
        .json(&json!({"user": "admin"}))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_rotated_signing_key_is_honoured_under_load_without_refusing_a_valid_token() {
    let kafka = deployment();
    let keys = tempfile::tempdir().unwrap();
    let old_key = keys.path().join("old.pem").display().to_string();
    let new_key = keys.path().join("new.pem").display().to_string();
    let old = AuthService::start_with(&kafka, &[("LEAKY_AUTH__SIGNING_KEY_FILE", &old_key)]).await;
    let mut before = Vec::new();
    for user in ["ann", "ben", "cid"] {
        before.push(old.user(user).await);
    }
    let checker = Arc::new(Checker::start(&old, &kafka, generous()).await);
    checker.ready(&before[0]).await;

    // Callers with every token issued so far, all the time.
    let tokens = Arc::new(std::sync::RwLock::new(before.clone()));
    let stop = Arc::new(AtomicBool::new(false));
    let (served, refused) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let load: Vec<_> = (0..8)
        .map(|n| {
            let (checker, tokens, stop) = (checker.clone(), tokens.clone(), stop.clone());
            let (served, refused) = (served.clone(), refused.clone());
            tokio::spawn(async move {
                let mut i = n;
                while !stop.load(Ordering::Relaxed) {
                    let token = {
                        let tokens = tokens.read().unwrap();
                        tokens[i % tokens.len()].clone()
                    };
                    i += 1;
                    match checker.ask(&token).await.0 {
                        StatusCode::OK => served.fetch_add(1, Ordering::Relaxed),
                        other => {
                            eprintln!("refused with {other}");
                            refused.fetch_add(1, Ordering::Relaxed)
                        }
                    };
                }
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(500)).await;

    // Rotation: the successor signs with a new key and still publishes the old one.
    let addr = old.addr();
    old.kill().await;
    let retired = format!("[\"{old_key}\"]");
    let new = AuthService::start_with(
        &kafka,
        &[
            ("LEAKY_AUTH__LISTEN", &addr),
            ("LEAKY_AUTH__SIGNING_KEY_FILE", &new_key),
            ("LEAKY_AUTH__RETIRED_SIGNING_KEY_FILES", &retired),
        ],
    )
    .await;
    let after = new.login("ann").await;
    assert_ne!(
        auth::Verifier::kid_of(&after),
        auth::Verifier::kid_of(&before[0]),
        "the new key signs"
    );
    tokens.write().unwrap().push(after);
    tokio::time::sleep(Duration::from_secs(1)).await;
    stop.store(true, Ordering::Relaxed);
    for task in load {
        task.await.unwrap();
    }
    let (served, refused) = (
        served.load(Ordering::Relaxed),
        refused.load(Ordering::Relaxed),
    );
    eprintln!("{served} calls served across the rotation, {refused} refused");
    assert_eq!(refused, 0);
    assert!(served > 50, "there was load: {served}");
}

#[tokio::test(flavor = "multi_thread")]
async fn refused_credentials_are_throttled_per_address_while_valid_ones_still_pass() {
    let kafka = deployment();
    let auth = AuthService::start(&kafka).await;
    let alice = auth.user("alice").await;
    let checker = Checker::start(
        &auth,
        &kafka,
        AccessSettings {
            failed_credentials_per_address: domain::RateLimit::new(
                5,
                1,
                domain::DurationMs::MINUTE,
            )
            .unwrap(),
            ..AccessSettings::default()
        },
    )
    .await;
    checker.ready(&alice).await;
    let mut statuses = Vec::new();
    for n in 0..8 {
        statuses.push(checker.ask(&format!("lt_made-up-{n}")).await.0);
    }
    assert_eq!(
        &statuses[..5],
        &[StatusCode::UNAUTHORIZED; 5],
        "{statuses:?}"
    );
    assert_eq!(
        &statuses[5..],
        &[StatusCode::TOO_MANY_REQUESTS; 3],
        "{statuses:?}"
    );
    let response = reqwest::Client::new()
        .get(&checker.url)
        .bearer_auth("lt_made-up-again")
        .send()
        .await
        .unwrap();
    assert!(response.headers().contains_key("retry-after"));
    assert_eq!(
        response.headers()["content-type"],
        "application/problem+json"
    );
    // The same address with a valid credential is served: only failures are throttled.
    assert_eq!(checker.ask(&alice).await.0, StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_key_created_a_moment_ago_is_accepted_at_once() {
    let kafka = deployment();
    let auth = AuthService::start(&kafka).await;
    let alice = auth.user("alice").await;
    let checker = Checker::start(&auth, &kafka, generous()).await;
    checker.ready(&alice).await;
    for _ in 0..5 {
        let (_, key) = auth.api_key(&alice).await;
        assert_eq!(checker.ask(&key).await.0, StatusCode::OK);
    }
}
