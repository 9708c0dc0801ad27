//! A whole deployment for one test: fresh topics, the real pool processor (in-process, its
//! `run` function), the stub providers (in-process, so the test reads their usage ledger),
//! and the gateway binary; plus reading the pool log back.
#![allow(dead_code)] // each test binary uses a different part

pub mod log;

use std::time::Duration;

use command_api::dispatch::Dispatcher;
use command_api::pools::PoolsSettings;
use command_api::processor::{self, Batching, PoolKind};
use domain::{
    Actor, CommandId, GrantId, GrantSource, PoolId, Tier, Timestamp, TokenPoolCommand, Tokens,
};
use eventlog::{Topics, ensure_topics};
use llm_stub::StubState;
use schemas::{CommandReply, PoolCommandEnvelope, ReplyOutcome};
use settings::KafkaSettings;
use testkit::SpawnedService;
use tokio::sync::watch;

const GATEWAY: &str = env!("CARGO_BIN_EXE_gateway");
const PARTITIONS: u32 = 2;

/// Every test user's password, and the bootstrap ADMIN's.
const PASSWORD: &str = "a long enough password";

/// Fresh topics, a processor, the stubs, the auth service and a gateway.
pub struct Deployment {
    pub kafka: KafkaSettings,
    /// `Bearer <API key>` of the user `alice`, registered at start.
    pub alice: String,
    /// The auth service's base URL.
    pub auth_url: String,
    /// The command API's base URL (where a tenant would try to resolve holds itself).
    pub command_api_url: String,
    /// Signs tokens with the auth service's own key (to forge expired or foreign ones).
    pub signer: auth::Signer,
    /// The issuer the gateway accepts.
    pub issuer: String,
    pub stub: StubState,
    pub stub_url: String,
    pub gateway: SpawnedService,
    /// The gateway's environment, to start it again.
    gateway_env: Vec<(String, String)>,
    dispatcher: Dispatcher,
    _stop: watch::Sender<bool>,
}

impl Deployment {
    /// Starts everything; `gateway_env` adds `LEAKY_*` settings of the gateway.
    pub async fn start(gateway_env: &[(&str, &str)]) -> Self {
        let prefix = format!("{}.", testkit::unique("gateway"));
        let infra = testkit::infra();
        let kafka = KafkaSettings {
            topic_prefix: prefix.clone(),
            partitions: PARTITIONS,
            ..infra.kafka
        };
        ensure_topics(&kafka, &Topics::new(&kafka).pool_topic_specs(PARTITIONS))
            .await
            .unwrap();

        let (stop, stopped) = watch::channel(false);
        let mut until = stopped.clone();
        tokio::spawn(processor::run::<PoolKind>(
            kafka.clone(),
            infra.registry.clone(),
            Batching::default(),
            async move {
                let _ = until.wait_for(|stop| *stop).await;
            },
        ));

        let stub = StubState::default();
        let service = llm_stub::build_at("127.0.0.1:0".parse().unwrap(), stub.clone())
            .await
            .unwrap();
        let stub_url = format!("http://{}", service.local_addr().unwrap());
        let mut until = stopped.clone();
        tokio::spawn(service.run_until(async move {
            let _ = until.wait_for(|stop| *stop).await;
        }));

        let key_file = testkit::auth::signing_key_file();
        let issuer = "https://auth.gateway-tests".to_owned();
        let auth_service = auth::build(auth::Config {
            auth: auth::AuthSettings {
                listen: "127.0.0.1:0".parse().unwrap(),
                issuer: issuer.clone(),
                token_ttl_secs: 600,
                signing_key_file: Some(key_file.clone()),
                bootstrap_admin_password: Some(auth::Secret::new(PASSWORD)),
                throttle: testkit::auth::generous_throttle(),
                ..auth::AuthSettings::default()
            },
            kafka: kafka.clone(),
            schema_registry: infra.registry.clone(),
            http: Default::default(),
        })
        .await
        .unwrap();
        let auth_url = format!("http://{}", auth_service.local_addr().unwrap());
        let mut until = stopped.clone();
        tokio::spawn(auth_service.run_until(async move {
            let _ = until.wait_for(|stop| *stop).await;
        }));
        let signer = auth::Signer::from_pem(&std::fs::read_to_string(&key_file).unwrap()).unwrap();
        let jwks_url = format!("{auth_url}/.well-known/jwks.json");

        let command_api = command_api::build(command_api::Config {
            command_api: command_api::CommandApiSettings {
                listen: "127.0.0.1:0".parse().unwrap(),
                reply_wait_ms: 10_000,
                max_body_bytes: 1 << 20,
            },
            kafka: kafka.clone(),
            schema_registry: infra.registry.clone(),
            pools: PoolsSettings::default(),
            prices: Default::default(),
            access: access::AccessSettings {
                jwks_url: format!("{auth_url}/.well-known/jwks.json"),
                issuer: issuer.clone(),
                ..Default::default()
            },
            http: Default::default(),
        })
        .await
        .unwrap();
        let command_api_url = format!("http://{}", command_api.local_addr().unwrap());
        let mut until = stopped.clone();
        tokio::spawn(command_api.run_until(async move {
            let _ = until.wait_for(|stop| *stop).await;
        }));

        let partitions = PARTITIONS.to_string();
        let openai = format!("{stub_url}/openai/v1");
        let qwen = format!("{stub_url}/qwen/compatible-mode/v1");
        let gemini = format!("{stub_url}/gemini/v1beta/openai");
        let gemini_native = format!("{stub_url}/gemini/v1beta");
        let mut env: Vec<(&str, &str)> = vec![
            ("LEAKY_KAFKA__TOPIC_PREFIX", &prefix),
            ("LEAKY_KAFKA__PARTITIONS", &partitions),
            ("LEAKY_GATEWAY__PROVIDERS__OPENAI__BASE_URL", &openai),
            ("LEAKY_GATEWAY__PROVIDERS__QWEN__BASE_URL", &qwen),
            ("LEAKY_GATEWAY__PROVIDERS__GEMINI__BASE_URL", &gemini),
            (
                "LEAKY_GATEWAY__PROVIDERS__GEMINI__NATIVE_BASE_URL",
                &gemini_native,
            ),
            ("LEAKY_ACCESS__JWKS_URL", &jwks_url),
            ("LEAKY_ACCESS__ISSUER", &issuer),
            // Tests send refused credentials by the dozen, all from loopback.
            (
                "LEAKY_ACCESS__FAILED_CREDENTIALS_PER_ADDRESS__CAPACITY",
                "1000000",
            ),
            (
                "LEAKY_ACCESS__FAILED_CREDENTIALS_PER_ADDRESS__RATE",
                "1000000",
            ),
            ("LEAKY_SCHEMA_REGISTRY__URL", infra.registry.url.as_str()),
        ];
        env.extend_from_slice(gateway_env);
        let gateway = SpawnedService::start(GATEWAY, "LEAKY_GATEWAY__LISTEN", &env).await;
        let gateway_env = env
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();

        let dispatcher = Dispatcher::start(
            &kafka,
            &infra.registry,
            format!("test-{}", testkit::unique("admin")),
        )
        .await
        .unwrap();
        let mut deployment = Self {
            kafka,
            alice: String::new(),
            auth_url,
            command_api_url,
            signer,
            issuer,
            stub,
            stub_url,
            gateway,
            gateway_env,
            dispatcher,
            _stop: stop,
        };
        deployment.alice = format!("Bearer {}", deployment.api_key("alice").await);
        deployment.wait_until_ready().await;
        deployment
    }

    /// Starts another gateway on a new port, then kills the running one (SIGKILL) in the
    /// middle of whatever it was doing, as a crash would.
    pub async fn crash_gateway(&mut self) {
        let env: Vec<(&str, &str)> = self
            .gateway_env
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        let replacement = SpawnedService::start(GATEWAY, "LEAKY_GATEWAY__LISTEN", &env).await;
        std::mem::replace(&mut self.gateway, replacement)
            .kill()
            .await;
        self.wait_until_ready().await;
    }

    /// Registers `user` and logs in; returns the access token.
    pub async fn register(&self, user: &str) -> String {
        let credentials = serde_json::json!({"username": user, "password": PASSWORD});
        let registered = reqwest::Client::new()
            .post(format!("{}/api/v1/auth/register", self.auth_url))
            .json(&credentials)
            .send()
            .await
            .unwrap();
        assert_eq!(registered.status(), reqwest::StatusCode::CREATED);
        self.login(user).await
    }

    /// Logs in the ADMIN the bootstrap password made; returns the access token.
    pub async fn admin(&self) -> String {
        self.login("admin").await
    }

    /// Makes `user` a member of `org` (with the ADMIN's `admin_token`).
    pub async fn add_member(&self, admin_token: &str, org: &str, user: &str) {
        let response = reqwest::Client::new()
            .post(format!("{}/api/v1/orgs/{org}/members", self.auth_url))
            .bearer_auth(admin_token)
            .json(&serde_json::json!({"user": user}))
            .send()
            .await
            .unwrap();
        assert_eq!(
            response.status(),
            reqwest::StatusCode::NO_CONTENT,
            "adding {user} to {org}"
        );
    }

    /// Logs `user` in; returns the access token.
    pub async fn login(&self, user: &str) -> String {
        let http = reqwest::Client::new();
        let credentials = serde_json::json!({"username": user, "password": PASSWORD});
        let login: serde_json::Value = http
            .post(format!("{}/api/v1/auth/login", self.auth_url))
            .json(&credentials)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        login["access_token"].as_str().unwrap().to_owned()
    }

    /// Registers `user` and creates an API key; returns the raw key.
    pub async fn api_key(&self, user: &str) -> String {
        let token = self.register(user).await;
        self.new_key(&token).await.1
    }

    /// Creates an API key with `token`; returns its id and raw key.
    pub async fn new_key(&self, token: &str) -> (String, String) {
        let key: serde_json::Value = reqwest::Client::new()
            .post(format!("{}/api/v1/keys", self.auth_url))
            .bearer_auth(token)
            .json(&serde_json::json!({"name": "tests"}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        (
            key["id"].as_str().unwrap().to_owned(),
            key["key"].as_str().unwrap().to_owned(),
        )
    }

    async fn wait_until_ready(&self) {
        let http = reqwest::Client::new();
        for _ in 0..120 {
            let ready = http.get(self.gateway.url("/health/ready")).send().await;
            if ready.is_ok_and(|r| r.status().is_success()) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
        panic!("the gateway did not become ready");
    }

    /// Sends a command as an admin and waits for its reply.
    pub async fn command(&self, pool: &PoolId, command: TokenPoolCommand) -> CommandReply {
        let now = command_api::processor::now();
        let envelope = PoolCommandEnvelope {
            command_id: CommandId::from_uuid(uuid::Uuid::now_v7()),
            pool_id: pool.clone(),
            reply_to: self.dispatcher.instance_id().to_owned(),
            actor: "admin:root".parse::<Actor>().unwrap(),
            issued_at: now,
            deadline: Timestamp::from_millis(now.as_millis() + 60_000).unwrap(),
            command,
        };
        // The processor may still be taking its partitions over: wait for the reply.
        let reply = self
            .dispatcher
            .dispatch(&envelope, Duration::from_secs(60))
            .await
            .unwrap()
            .expect("the processor replies");
        assert_eq!(reply.outcome, ReplyOutcome::Accepted, "{reply:?}");
        reply
    }

    /// Provisions `pool` at `tier` with the default policy and grants it `tokens`.
    pub async fn pool_with(&self, pool: &str, tier: Tier, tokens: u64) -> PoolId {
        let pools = PoolsSettings::default();
        self.pool_with_policy(pool, tier, tokens, &pools).await
    }

    /// Like [`Self::pool_with`], with the default policy of `pools`.
    pub async fn pool_with_policy(
        &self,
        pool: &str,
        tier: Tier,
        tokens: u64,
        pools: &PoolsSettings,
    ) -> PoolId {
        let pool: PoolId = pool.parse().unwrap();
        let policy = pools.default_policy.resolve(tier, &pools.tiers).unwrap();
        self.command(
            &pool,
            TokenPoolCommand::ProvisionPool {
                pool: pool.clone(),
                tier,
                policy,
            },
        )
        .await;
        self.command(
            &pool,
            TokenPoolCommand::GrantTokens {
                grant_id: GrantId::from_uuid(uuid::Uuid::now_v7()),
                amount: Tokens::new(tokens).unwrap(),
                source: GrantSource::Admin,
            },
        )
        .await;
        pool
    }

    /// The gateway's `path`.
    pub fn url(&self, path: &str) -> String {
        self.gateway.url(path)
    }

    /// Usage the stub delivered for `request_id`.
    pub fn reported(&self, request_id: &str) -> Option<u64> {
        self.stub
            .ledger
            .snapshot()
            .get(request_id)
            .map(|u| u.total_tokens)
    }
}
