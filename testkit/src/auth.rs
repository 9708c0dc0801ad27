//! The real auth service for a test deployment, and what tests need of it: users
//! registered, the ADMIN its bootstrap password made, their access tokens, API keys, roles
//! and org memberships, and the settings that point a service's credential checks at it.

use reqwest::{Client, StatusCode};
use serde_json::{Value, json};
use settings::KafkaSettings;

use crate::spawn::SpawnedService;
use crate::stack::workspace_binary;

/// The user name the test auth service's bootstrap password makes ADMIN
/// (`auth.bootstrap_admin`); registering it gives no rights.
pub const ADMIN: &str = "admin";

/// The bootstrap password of every test auth service (`LEAKY_AUTH__BOOTSTRAP_ADMIN_PASSWORD`):
/// the ADMIN's password.
pub const ADMIN_PASSWORD: &str = "the test bootstrap admin password";

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
    /// Starts the `auth` binary on the topics of `kafka` (its topic prefix), with the test
    /// bootstrap password and throttles no test reaches.
    pub async fn start(kafka: &KafkaSettings) -> Self {
        Self::start_with(kafka, &[]).await
    }

    /// [`AuthService::start`] with more `LEAKY_*` settings (later ones win).
    pub async fn start_with(kafka: &KafkaSettings, extra: &[(&str, &str)]) -> Self {
        let binary = workspace_binary("auth").await;
        let key_file = signing_key_file();
        let registry = crate::infra().registry.url;
        let mut env = vec![
            ("LEAKY_KAFKA__TOPIC_PREFIX", kafka.topic_prefix.as_str()),
            ("LEAKY_SCHEMA_REGISTRY__URL", registry.as_str()),
            ("LEAKY_AUTH__ISSUER", ISSUER),
            ("LEAKY_AUTH__SIGNING_KEY_FILE", key_file.as_str()),
            ("LEAKY_AUTH__BOOTSTRAP_ADMIN_PASSWORD", ADMIN_PASSWORD),
        ];
        env.extend(GENEROUS_THROTTLE_ENV);
        env.extend_from_slice(extra);
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

    /// The address it listens on (`host:port`), e.g. for a successor to take over.
    pub fn addr(&self) -> String {
        self.url("").trim_start_matches("http://").to_owned()
    }

    /// Kills the service (SIGKILL) and waits for it to be gone.
    pub async fn kill(self) {
        self.service.kill().await;
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
            // Tests send refused credentials by the dozen, all from loopback.
            (
                "LEAKY_ACCESS__FAILED_CREDENTIALS_PER_ADDRESS__CAPACITY".to_owned(),
                "1000000".to_owned(),
            ),
            (
                "LEAKY_ACCESS__FAILED_CREDENTIALS_PER_ADDRESS__RATE".to_owned(),
                "1000000".to_owned(),
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

    /// Logs `user` in; its access token.
    pub async fn login(&self, user: &str) -> String {
        self.login_with(user, PASSWORD).await
    }

    /// Logs `user` in with `password`; its access token.
    pub async fn login_with(&self, user: &str, password: &str) -> String {
        let response = self
            .http
            .post(self.url("/api/v1/auth/login"))
            .json(&json!({"username": user, "password": password}))
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

    /// Logs in the ADMIN the bootstrap password made: its access token. (It is not
    /// registered: the auth service made it at start, from the bootstrap password.)
    pub async fn admin(&self) -> String {
        self.login_with(ADMIN, ADMIN_PASSWORD).await
    }

    /// Sets the role of `user` (with the ADMIN's `admin_token`), e.g. to grant or revoke ADMIN.
    pub async fn set_role(&self, admin_token: &str, user: &str, role: ::auth::Role) {
        let response = self
            .http
            .put(self.url(&format!("/api/v1/users/{user}/role")))
            .bearer_auth(admin_token)
            .json(&json!({"role": role}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK, "setting {user}'s role");
    }

    /// Removes `user` from `org` (with the ADMIN's `admin_token`).
    pub async fn remove_member(&self, admin_token: &str, org: &str, user: &str) {
        let response = self
            .http
            .delete(self.url(&format!("/api/v1/orgs/{org}/members/{user}")))
            .bearer_auth(admin_token)
            .send()
            .await
            .unwrap();
        assert_eq!(
            response.status(),
            StatusCode::NO_CONTENT,
            "removing a member"
        );
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
/// `alg: none`, one naming a key id the JWKS does not have, an API key nobody has, and one
/// of `user`'s keys revoked.
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
        (
            "token naming a key the JWKS does not have",
            format!(
                "{}.{}.{}",
                URL_SAFE_NO_PAD.encode(br#"{"alg":"RS256","typ":"JWT","kid":"not-ours"}"#),
                parts[1],
                parts[2]
            ),
        ),
        ("unknown API key", "lt_nobody-has-this-key".to_owned()),
        ("revoked API key", key),
    ]
}

/// `LEAKY_AUTH__THROTTLE__*` settings no test reaches (tests log in from one address by the
/// hundred); the security tests set their own.
pub const GENEROUS_THROTTLE_ENV: [(&str, &str); 6] = [
    ("LEAKY_AUTH__THROTTLE__LOGIN_PER_USER__CAPACITY", "1000000"),
    ("LEAKY_AUTH__THROTTLE__LOGIN_PER_USER__RATE", "1000000"),
    (
        "LEAKY_AUTH__THROTTLE__LOGIN_PER_ADDRESS__CAPACITY",
        "1000000",
    ),
    ("LEAKY_AUTH__THROTTLE__LOGIN_PER_ADDRESS__RATE", "1000000"),
    (
        "LEAKY_AUTH__THROTTLE__REGISTER_PER_ADDRESS__CAPACITY",
        "1000000",
    ),
    (
        "LEAKY_AUTH__THROTTLE__REGISTER_PER_ADDRESS__RATE",
        "1000000",
    ),
];

/// The throttles of [`GENEROUS_THROTTLE_ENV`], for an auth service built in process.
pub fn generous_throttle() -> ::auth::ThrottleSettings {
    let generous =
        domain::RateLimit::new(1_000_000, 1_000_000, domain::DurationMs::MINUTE).unwrap();
    ::auth::ThrottleSettings {
        login_per_user: generous,
        login_per_address: generous,
        register_per_address: generous,
    }
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
