//! The whole system as real binaries: auth service, pool and purchase processors, command
//! API, payment stub and purchase saga, projectors and query API on a unique topic prefix and
//! a fresh Postgres database, for end-to-end tests.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use reqwest::{Client, StatusCode};
use serde_json::Value;
use settings::KafkaSettings;
use tokio::sync::{Mutex, OnceCell};

use crate::auth::AuthService;
use crate::spawn::SpawnedService;

/// One of the services a [`Stack`] runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Service {
    Processor,
    CommandApi,
    Projectors,
    QueryApi,
    /// The purchase processor (`purchase.commands` → `purchase.events`).
    PurchaseProcessor,
    /// The payment provider stub; start it before the saga, which is pointed at it.
    PaymentStub,
    /// The purchase saga.
    Saga,
}

impl Service {
    /// The pool writers and the projectors: what a projection test runs.
    pub const PROJECTING: &'static [Service] =
        &[Self::Processor, Self::CommandApi, Self::Projectors];

    /// The same, with the query API reading the views.
    pub const READING: &'static [Service] = &[
        Self::Processor,
        Self::CommandApi,
        Self::Projectors,
        Self::QueryApi,
    ];

    fn binary(self) -> &'static str {
        match self {
            Self::Processor => "pool-processor",
            Self::CommandApi => "command-api",
            Self::Projectors => "projectors",
            Self::QueryApi => "query-api",
            Self::PurchaseProcessor => "purchase-processor",
            Self::PaymentStub => "payment-stub",
            Self::Saga => "sagas",
        }
    }

    fn listen_key(self) -> &'static str {
        match self {
            Self::Processor => "LEAKY_POOL_PROCESSOR__LISTEN",
            Self::CommandApi => "LEAKY_COMMAND_API__LISTEN",
            Self::Projectors => "LEAKY_PROJECTORS__LISTEN",
            Self::QueryApi => "LEAKY_QUERY_API__LISTEN",
            Self::PurchaseProcessor => "LEAKY_PURCHASE_PROCESSOR__LISTEN",
            Self::PaymentStub => "LEAKY_PAYMENT_STUB__LISTEN",
            Self::Saga => "LEAKY_SAGAS__LISTEN",
        }
    }
}

/// The path of a workspace binary, built (once per test process) if needed, so a test of
/// one crate can run another crate's binary as it is now.
pub async fn workspace_binary(name: &str) -> PathBuf {
    static BUILT: OnceCell<PathBuf> = OnceCell::const_new();
    let dir = BUILT
        .get_or_init(|| async {
            let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
            // Only the variables a plain `cargo build` sees: the ones cargo sets for a running
            // test (CARGO_PKG_*, CARGO_MANIFEST_DIR, ...) would make build scripts that watch
            // them rebuild half the dependency tree.
            let keep = [
                "PATH",
                "HOME",
                "CARGO_HOME",
                "RUSTUP_HOME",
                "RUSTUP_TOOLCHAIN",
                "CARGO_TARGET_DIR",
                "RUSTFLAGS",
            ];
            let status = tokio::process::Command::new(cargo)
                .env_clear()
                .envs(std::env::vars().filter(|(key, _)| keep.contains(&key.as_str())))
                .args(["build", "--quiet", "--bins"])
                .args(["-p", "command-api", "-p", "projectors", "-p", "query-api"])
                .args(["-p", "sagas", "-p", "payment-stub", "-p", "auth"])
                .status()
                .await
                .expect("cargo runs");
            assert!(status.success(), "building the service binaries failed");
            // A test executable lives in <target>/<profile>/deps.
            let exe = std::env::current_exe().expect("the test knows its executable");
            exe.parent()
                .and_then(|deps| deps.parent())
                .expect("the test executable is in <target>/<profile>/deps")
                .to_path_buf()
        })
        .await;
    dir.join(name)
}

/// A fresh Postgres database on the test server; its URL.
pub async fn fresh_database() -> String {
    use sqlx::Connection;
    let base = crate::infra().postgres.url;
    let name = crate::unique_identifier("view");
    let mut admin = sqlx::PgConnection::connect(&base)
        .await
        .unwrap_or_else(|e| panic!("connecting to {base}: {e}"));
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&mut admin)
        .await
        .unwrap_or_else(|e| panic!("creating database {name}: {e}"));
    match base.rfind('/') {
        Some(slash) => format!("{}/{name}", &base[..slash]),
        None => panic!("postgres url {base} names no database"),
    }
}

/// The services of one deployment, on its own topics and database.
#[derive(Debug)]
pub struct Stack {
    /// Kafka settings of the deployment (with its topic prefix).
    pub kafka: KafkaSettings,
    /// Its views' database.
    pub postgres_url: String,
    /// Its analytics keyspace.
    pub keyspace: String,
    /// Its auth service (every API of the stack accepts its tokens and keys).
    pub auth: AuthService,
    /// An access token of the stack's ADMIN, which [`Stack::command`] and
    /// [`Stack::query`] send.
    pub admin: String,
    env: Vec<(String, String)>,
    running: Mutex<BTreeMap<Service, SpawnedService>>,
    /// An HTTP client without pooled connections (a killed service leaves dead ones).
    pub http: Client,
}

impl Stack {
    /// Creates fresh topics (`partitions` each) and a fresh database, starts the auth
    /// service, registers the ADMIN, and starts `services`.
    pub async fn start(partitions: u32, services: &[Service]) -> Self {
        let prefix = format!("{}.", crate::unique("stack"));
        let kafka = KafkaSettings {
            topic_prefix: prefix.clone(),
            partitions,
            ..crate::infra().kafka
        };
        let postgres_url = fresh_database().await;
        let keyspace = crate::unique_identifier("view");
        let auth = AuthService::start(&kafka).await;
        let admin = auth.admin().await;
        let mut env = vec![
            ("LEAKY_CASSANDRA__KEYSPACE".to_owned(), keyspace.clone()),
            ("LEAKY_KAFKA__TOPIC_PREFIX".to_owned(), prefix),
            ("LEAKY_KAFKA__PARTITIONS".to_owned(), partitions.to_string()),
            ("LEAKY_POSTGRES__URL".to_owned(), postgres_url.clone()),
        ];
        env.extend(auth.access_env());
        let mut stack = Self {
            kafka,
            postgres_url,
            keyspace,
            auth,
            admin,
            env,
            running: Mutex::new(BTreeMap::new()),
            http: Client::builder().pool_max_idle_per_host(0).build().unwrap(),
        };
        for service in services {
            stack.launch(*service, &[]).await;
            if *service == Service::PaymentStub {
                let url = stack.url(Service::PaymentStub, "").await;
                stack
                    .env
                    .push(("LEAKY_PURCHASE_SAGA__PAYMENT_URL".to_owned(), url));
            }
        }
        stack
    }

    /// The environment every service of the stack gets.
    pub fn env(&self) -> &[(String, String)] {
        &self.env
    }

    /// Starts `service` with `extra` settings on top of the stack's.
    pub async fn launch(&self, service: Service, extra: &[(&str, &str)]) {
        let service_instance = spawn(service, &self.env, extra).await;
        match service {
            Service::CommandApi => {
                wait_until_accepting_commands(&self.http, &service_instance, &self.admin).await;
            }
            Service::QueryApi => {
                wait_until_checking_credentials(&self.http, &service_instance).await
            }
            _ => {}
        }
        self.running.lock().await.insert(service, service_instance);
    }

    /// Starts another instance of `service` with `extra` settings, owned by the caller
    /// (e.g. a second projector rebuilding the views into another database).
    pub async fn spawn_extra(&self, service: Service, extra: &[(&str, &str)]) -> SpawnedService {
        spawn(service, &self.env, extra).await
    }

    /// Kills `service` at once (SIGKILL), as a crash would.
    pub async fn kill(&self, service: Service) {
        if let Some(running) = self.running.lock().await.remove(&service) {
            running.kill().await;
        }
    }

    /// `http://<service>/<path>`.
    pub async fn url(&self, service: Service, path: &str) -> String {
        let running = self.running.lock().await;
        let instance = running
            .get(&service)
            .unwrap_or_else(|| panic!("{service:?} is not running"));
        instance.url(path)
    }

    /// POSTs a command to the command API as the ADMIN; its status and JSON body.
    pub async fn command(&self, path: &str, body: Value) -> (StatusCode, Value) {
        self.command_as(&self.admin, path, body).await
    }

    /// POSTs a command to the command API with `credential` (an access token or API key);
    /// its status and JSON body.
    pub async fn command_as(
        &self,
        credential: &str,
        path: &str,
        body: Value,
    ) -> (StatusCode, Value) {
        let url = self.url(Service::CommandApi, path).await;
        let response = self
            .http
            .post(&url)
            .bearer_auth(credential)
            .json(&body)
            .send()
            .await
            .unwrap();
        let status = response.status();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    /// GETs from the query API as the ADMIN; its status, `leaky-view` header and JSON body.
    pub async fn query(&self, path: &str) -> (StatusCode, Option<String>, Value) {
        self.query_as(&self.admin, path).await
    }

    /// GETs from the query API with `credential`; its status, `leaky-view` header and
    /// JSON body.
    pub async fn query_as(
        &self,
        credential: &str,
        path: &str,
    ) -> (StatusCode, Option<String>, Value) {
        let url = self.url(Service::QueryApi, path).await;
        let response = self
            .http
            .get(&url)
            .bearer_auth(credential)
            .send()
            .await
            .unwrap();
        let status = response.status();
        let view = response
            .headers()
            .get("leaky-view")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        (status, view, response.json().await.unwrap_or(Value::Null))
    }

    /// Asserts that the query API refuses `path` (read as the ADMIN) with a 400
    /// problem+json naming `parameter` and saying why.
    pub async fn assert_bad_parameter(&self, path: &str, parameter: &str) {
        let url = self.url(Service::QueryApi, path).await;
        let response = self
            .http
            .get(&url)
            .bearer_auth(&self.admin)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{path}");
        assert_eq!(
            response.headers()["content-type"],
            "application/problem+json",
            "{path}"
        );
        let problem: Value = response.json().await.unwrap();
        assert_eq!(problem["parameter"], parameter, "{path}: {problem}");
        for member in ["type", "title", "detail"] {
            assert!(problem[member].is_string(), "{path}: {problem}");
        }
    }
}

async fn spawn(
    service: Service,
    env: &[(String, String)],
    extra: &[(&str, &str)],
) -> SpawnedService {
    let binary = workspace_binary(service.binary()).await;
    let mut vars: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    vars.extend_from_slice(extra);
    SpawnedService::start(binary.to_str().unwrap(), service.listen_key(), &vars).await
}

/// Until the processor has joined and answers (a fresh group takes a few seconds).
async fn wait_until_accepting_commands(http: &Client, api: &SpawnedService, admin: &str) {
    for _ in 0..300 {
        let response = http
            .post(api.url("/api/v1/pools/user/stack-probe/openai/consume"))
            .bearer_auth(admin)
            .json(&serde_json::json!({"amount": 1}))
            .send()
            .await;
        if let Ok(response) = response
            && response.status() != StatusCode::SERVICE_UNAVAILABLE
            && response.status() != StatusCode::ACCEPTED
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the command API never reached a processor");
}

/// Until the service has the auth service's keys and log (its readiness says so), so a
/// test's first read is not answered 503.
async fn wait_until_checking_credentials(http: &Client, service: &SpawnedService) {
    for _ in 0..300 {
        let report: Option<Value> = match http.get(service.url("/health/ready")).send().await {
            Ok(response) => response.json().await.ok(),
            Err(_) => None,
        };
        let auth_down = report.as_ref().is_none_or(|r| {
            r["down"]
                .as_array()
                .is_none_or(|down| down.iter().any(|d| d == "auth"))
        });
        if !auth_down {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the service never fetched the auth service's keys");
}

/// The consistency token of a command's reply (panics, naming the reply, if it has none).
pub fn consistency_token(reply: &Value) -> &str {
    reply["consistency_token"]
        .as_str()
        .unwrap_or_else(|| panic!("no consistency token in {reply}"))
}
