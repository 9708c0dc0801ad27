//! Who may spend: API keys and access tokens from the auth service are accepted; tampered,
//! expired, foreign-issuer, `alg: none`, unknown and revoked credentials are refused with
//! 401; spending from an org's pool without being its member is refused with 403.

mod support;

use std::time::{Duration, Instant};

use auth::{Claims, Role};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use domain::Tier;
use reqwest::{Client, StatusCode};
use serde_json::{Value, json};
use support::Deployment;

fn chat() -> Value {
    json!({"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 5})
}

async fn call(deployment: &Deployment, bearer: &str, org: Option<&str>) -> reqwest::Response {
    let mut request = Client::new()
        .post(deployment.url("/v1/chat/completions"))
        .bearer_auth(bearer)
        .json(&chat());
    if let Some(org) = org {
        request = request.header("x-leaky-org", org);
    }
    request.send().await.unwrap()
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

#[tokio::test(flavor = "multi_thread")]
async fn only_genuine_current_tokens_of_our_issuer_are_accepted() {
    let deployment = Deployment::start(&[]).await;
    deployment
        .pool_with("user:bob/openai", Tier::User, 10_000)
        .await;
    let token = deployment.register("bob").await;
    assert_eq!(
        call(&deployment, &token, None).await.status(),
        StatusCode::OK
    );

    let claims = Claims {
        iss: deployment.issuer.clone(),
        sub: "bob".into(),
        role: Role::User,
        orgs: vec![],
        iat: now(),
        exp: now() + 600,
    };
    let parts: Vec<&str> = token.split('.').collect();
    let admin_payload = URL_SAFE_NO_PAD.encode(
        serde_json::to_vec(&Claims {
            role: Role::Admin,
            ..claims.clone()
        })
        .unwrap(),
    );
    let tampered = format!("{}.{admin_payload}.{}", parts[0], parts[2]);
    let expired = deployment
        .signer
        .sign(&Claims {
            iat: now() - 7_200,
            exp: now() - 3_600,
            ..claims.clone()
        })
        .unwrap();
    let foreign = deployment
        .signer
        .sign(&Claims {
            iss: "https://someone-else.test".into(),
            ..claims.clone()
        })
        .unwrap();
    let none = format!(
        "{}.{}.",
        URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#),
        parts[1]
    );
    for (what, bad) in [
        ("tampered", tampered),
        ("expired", expired),
        ("wrong issuer", foreign),
        ("alg none", none),
        ("unknown key", "lt_nobody-has-this-key".to_owned()),
    ] {
        let refused = call(&deployment, &bad, None).await;
        assert_eq!(refused.status(), StatusCode::UNAUTHORIZED, "{what}");
        assert_eq!(
            refused.headers()["content-type"],
            "application/problem+json"
        );
        assert_eq!(
            refused.headers()["x-content-type-options"],
            "nosniff",
            "{what}"
        );
    }
    // A token we signed ourselves with the right issuer is genuine: the check is the key.
    assert_eq!(
        call(&deployment, &deployment.signer.sign(&claims).unwrap(), None)
            .await
            .status(),
        StatusCode::OK
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_revoked_key_is_refused_promptly() {
    let deployment = Deployment::start(&[]).await;
    deployment
        .pool_with("user:carol/openai", Tier::User, 10_000)
        .await;
    let token = deployment.register("carol").await;
    let (key_id, key) = deployment.new_key(&token).await;
    assert_eq!(call(&deployment, &key, None).await.status(), StatusCode::OK);

    let listed: Value = Client::new()
        .get(format!("{}/api/v1/keys", deployment.auth_url))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(listed["keys"][0]["id"], key_id.as_str());
    assert!(
        listed["keys"][0].get("key").is_none(),
        "the raw key is shown once only"
    );

    let revoked = Client::new()
        .delete(format!("{}/api/v1/keys/{key_id}", deployment.auth_url))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(revoked.status(), StatusCode::NO_CONTENT);
    let started = Instant::now();
    loop {
        let status = call(&deployment, &key, None).await.status();
        if status == StatusCode::UNAUTHORIZED {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "still {status} after 2 s"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    eprintln!("revocation took effect within {:?}", started.elapsed());
}

#[tokio::test(flavor = "multi_thread")]
async fn an_org_pool_is_spent_only_by_its_members() {
    let deployment = Deployment::start(&[]).await;
    deployment
        .pool_with("org:acme/openai", Tier::Pro, 10_000)
        .await;
    deployment
        .pool_with("user:dave/openai", Tier::User, 10_000)
        .await;
    let dave = deployment.register("dave").await;
    let outsider = call(&deployment, &dave, Some("acme")).await;
    assert_eq!(outsider.status(), StatusCode::FORBIDDEN);

    let admin = deployment.admin().await;
    let not_admin = Client::new()
        .post(format!("{}/api/v1/orgs/acme/members", deployment.auth_url))
        .bearer_auth(&dave)
        .json(&json!({"user": "dave"}))
        .send()
        .await
        .unwrap();
    assert_eq!(not_admin.status(), StatusCode::FORBIDDEN);
    let granted = Client::new()
        .post(format!("{}/api/v1/orgs/acme/members", deployment.auth_url))
        .bearer_auth(&admin)
        .json(&json!({"user": "dave"}))
        .send()
        .await
        .unwrap();
    assert_eq!(granted.status(), StatusCode::NO_CONTENT);

    // Memberships travel in new tokens and, for keys, in the auth log.
    let key = deployment.new_key(&dave).await.1;
    let member = call(&deployment, &key, Some("acme")).await;
    assert_eq!(member.status(), StatusCode::OK);
    assert_eq!(
        member.headers()["x-ratelimit-limit-requests"],
        "300",
        "the PRO org pool"
    );
}
