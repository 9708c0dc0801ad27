//! The real auth service for a test deployment, and what tests need of it: users and
//! admins registered, their access tokens, API keys, org memberships, and the settings that
//! point a service's credential checks at it.

use reqwest::{Client, StatusCode};
use serde_json::{Value, json};
use settings::KafkaSettings;

use crate::spawn::SpawnedService;
use crate::stack::workspace_binary;

/// The user name the test auth service makes an ADMIN (its `auth.admins`).
pub const ADMIN: &str = "admin";

/// The issuer of test tokens (every service under test is told to expect it).
pub const ISSUER: &str = "https://auth.leaky-tests";

/// Every test user's password.
const PASSWORD: &str = "a long enough password";

/// The auth service binary on a free port, on a deployment's own auth log.
#[derive(Debug)]
pub struct AuthService {
    service: SpawnedService,
    http: Client,
}

impl AuthService {
    /// Starts the `auth` binary on the topics of `kafka` (its topic prefix).
    pub async fn start(kafka: &KafkaSettings) -> Self {
        let binary = workspace_binary("auth").await;
        let key_file = signing_key_file();
        let admins = format!("[{ADMIN}]");
        let registry = crate::infra().registry.url;
        let env = [
            ("LEAKY_KAFKA__TOPIC_PREFIX", kafka.topic_prefix.as_str()),
            ("LEAKY_SCHEMA_REGISTRY__URL", registry.as_str()),
            ("LEAKY_AUTH__ISSUER", ISSUER),
            ("LEAKY_AUTH__SIGNING_KEY_FILE", key_file.as_str()),
            ("LEAKY_AUTH__ADMINS", admins.as_str()),
        ];
        let service =
            SpawnedService::start(binary.to_str().unwrap(), "LEAKY_AUTH__LISTEN", &env).await;
        Self {
            service,
            http: Client::new(),
        }
    }

    /// `http://<auth service><path>`.
    pub fn url(&self, path: &str) -> String {
        self.service.url(path)
    }

    /// The settings that make a service accept this service's tokens and keys: the
    /// `LEAKY_ACCESS__*` section, and the registry its auth log's values are decoded with.
    pub fn access_env(&self) -> Vec<(String, String)> {
        vec![
            (
                "LEAKY_ACCESS__JWKS_URL".to_owned(),
                self.url("/.well-known/jwks.json"),
            ),
            ("LEAKY_ACCESS__ISSUER".to_owned(), ISSUER.to_owned()),
            (
                "LEAKY_SCHEMA_REGISTRY__URL".to_owned(),
                crate::infra().registry.url.as_str().to_owned(),
            ),
        ]
    }

    /// Registers `user` (201).
    pub async fn register(&self, user: &str) {
        let response = self
            .http
            .post(self.url("/api/v1/auth/register"))
            .json(&json!({"username": user, "password": PASSWORD}))
            .send()
            .await
            .unwrap();
        let status = response.status();
        assert_eq!(
            status,
            StatusCode::CREATED,
            "registering {user}: {}",
            response.text().await.unwrap_or_default()
        );
    }

    /// Logs `user` in; its access token (carrying its orgs as of now).
    pub async fn login(&self, user: &str) -> String {
        let response = self
            .http
            .post(self.url("/api/v1/auth/login"))
            .json(&json!({"username": user, "password": PASSWORD}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK, "logging {user} in");
        let body: Value = response.json().await.unwrap();
        body["access_token"].as_str().unwrap().to_owned()
    }

    /// Registers `user` and logs it in: its access token.
    pub async fn user(&self, user: &str) -> String {
        self.register(user).await;
        self.login(user).await
    }

    /// Registers the ADMIN and logs it in: its access token.
    pub async fn admin(&self) -> String {
        self.user(ADMIN).await
    }

    /// Creates an API key for the holder of `token`: `(key id, raw key)`.
    pub async fn api_key(&self, token: &str) -> (String, String) {
        let response = self
            .http
            .post(self.url("/api/v1/keys"))
            .bearer_auth(token)
            .json(&json!({"name": "tests"}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::CREATED, "creating a key");
        let body: Value = response.json().await.unwrap();
        (
            body["id"].as_str().unwrap().to_owned(),
            body["key"].as_str().unwrap().to_owned(),
        )
    }

    /// Revokes the key `key_id` of the holder of `token`.
    pub async fn revoke_key(&self, token: &str, key_id: &str) {
        let response = self
            .http
            .delete(self.url(&format!("/api/v1/keys/{key_id}")))
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::NO_CONTENT, "revoking a key");
    }

    /// Makes `user` a member of `org` (with the ADMIN's `admin_token`).
    pub async fn add_member(&self, admin_token: &str, org: &str, user: &str) {
        let response = self
            .http
            .post(self.url(&format!("/api/v1/orgs/{org}/members")))
            .bearer_auth(admin_token)
            .json(&json!({"user": user}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::NO_CONTENT, "adding a member");
    }
}

/// Credentials that must be refused with 401, each named by what is wrong with it: a
/// genuine token of `user` (registered here) with its payload changed to claim ADMIN, one
/// signed with the auth service's own key but expired, one of another issuer, one with
/// `alg: none`, an API key nobody has, and one of `user`'s keys revoked.
pub async fn refused_credentials(auth: &AuthService, user: &str) -> Vec<(&'static str, String)> {
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let token = auth.user(user).await;
    let (key_id, key) = auth.api_key(&token).await;
    auth.revoke_key(&token, &key_id).await;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let claims = ::auth::Claims {
        iss: ISSUER.to_owned(),
        sub: user.to_owned(),
        role: ::auth::Role::User,
        orgs: vec![],
        iat: now,
        exp: now + 600,
    };
    let signer =
        ::auth::Signer::from_pem(&std::fs::read_to_string(signing_key_file()).unwrap()).unwrap();
    let parts: Vec<&str> = token.split('.').collect();
    let as_admin = URL_SAFE_NO_PAD.encode(
        serde_json::to_vec(&::auth::Claims {
            role: ::auth::Role::Admin,
            ..claims.clone()
        })
        .unwrap(),
    );
    vec![
        (
            "tampered token",
            format!("{}.{as_admin}.{}", parts[0], parts[2]),
        ),
        (
            "expired token",
            signer
                .sign(&::auth::Claims {
                    iat: now - 7_200,
                    exp: now - 3_600,
                    ..claims.clone()
                })
                .unwrap(),
        ),
        (
            "token of another issuer",
            signer
                .sign(&::auth::Claims {
                    iss: "https://someone-else.test".into(),
                    ..claims.clone()
                })
                .unwrap(),
        ),
        (
            "alg: none token",
            format!(
                "{}.{}.",
                URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#),
                parts[1]
            ),
        ),
        ("unknown API key", "lt_nobody-has-this-key".to_owned()),
        ("revoked API key", key),
    ]
}

/// A PKCS#8 RSA key shared by every test run on this machine (generating one per test is
/// slow in debug builds).
pub fn signing_key_file() -> String {
    use rsa::pkcs8::EncodePrivateKey;
    let path = std::env::temp_dir().join("leaky-tests-auth-signing-key.pem");
    if !path.exists() {
        let key = rsa::RsaPrivateKey::new(&mut rsa::rand_core::OsRng, 2048).unwrap();
        let pem = key.to_pkcs8_pem(rsa::pkcs8::LineEnding::LF).unwrap();
        // Write then rename, so parallel tests never read half a key.
        let partial = path.with_extension(format!("{}.tmp", uuid::Uuid::new_v4()));
        std::fs::write(&partial, pem.as_bytes()).unwrap();
        std::fs::rename(&partial, &path).unwrap();
    }
    path.display().to_string()
}

/// An HTTP client that sends `Authorization: Bearer <credential>` with every request (a
/// request's own `bearer_auth` wins), without pooled connections (a server closes the
/// connection of a body it refused, and a killed service leaves dead ones).
pub fn client_as(credential: &str) -> Client {
    let mut headers = reqwest::header::HeaderMap::new();
    let mut value = reqwest::header::HeaderValue::from_str(&format!("Bearer {credential}"))
        .expect("a credential is visible ASCII");
    value.set_sensitive(true);
    headers.insert(reqwest::header::AUTHORIZATION, value);
    Client::builder()
        .default_headers(headers)
        .pool_max_idle_per_host(0)
        .build()
        .expect("the client builds")
}

/// Asserts that `status` and `problem` refuse a caller the way every API does: `expected`
/// (401 or 403) and a problem+json `unauthorized` / `forbidden` that says why.
#[track_caller]
pub fn assert_refused(case: &str, status: StatusCode, problem: &Value, expected: StatusCode) {
    assert_eq!(status, expected, "{case}: {problem}");
    let kind = match expected {
        StatusCode::UNAUTHORIZED => "unauthorized",
        _ => "forbidden",
    };
    assert_eq!(
        problem["type"],
        format!("https://leaky-tokens.dev/problems/{kind}"),
        "{case}: {problem}"
    );
    for field in ["title", "detail"] {
        let text = problem[field].as_str().unwrap_or_default();
        assert!(!text.is_empty(), "{case}: no {field} in {problem}");
    }
}
