//! The whole purchase path on real binaries: pool and purchase processors, command-api,
//! the payment stub and the saga, on free ports against the local infrastructure, under a
//! topic prefix of their own; and the two ledgers a test compares: the provider's charges
//! and the pool's grants.
#![allow(dead_code)] // each test uses a different part

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

use domain::{Aggregate, GrantSource, Purchase, PurchaseId, PurchaseStatus, TokenPoolEvent};
use eventlog::{Topics, read_topic};
use schemas::{PoolCodec, PurchaseCodec};
use serde_json::{Value, json};
use settings::KafkaSettings;
use testkit::SpawnedService;
use testkit::auth::AuthService;

/// Partitions of every topic in these tests (few: each one is a writer to take over).
pub const PARTITIONS: u32 = 2;

/// A binary of another package of the workspace, built next to this test's binary.
pub fn workspace_binary(name: &str) -> String {
    let mut dir = std::env::current_exe().unwrap();
    dir.pop(); // the test binary
    dir.pop(); // deps/
    let path = dir.join(name);
    assert!(
        path.exists(),
        "{} is missing: build the workspace's binaries first (cargo build --workspace --bins)",
        path.display()
    );
    path.display().to_string()
}

/// One deployment: its settings and its running services (the saga can be killed).
pub struct Stack {
    pub kafka: KafkaSettings,
    env: Vec<(String, String)>,
    pub stub: SpawnedService,
    pub api: SpawnedService,
    pub saga: Option<SpawnedService>,
    purchase_processor: Option<SpawnedService>,
    _pool_processor: SpawnedService,
    _auth: AuthService,
    /// The ADMIN's access token: these tests provision and buy as the ADMIN.
    pub admin: String,
}

impl Stack {
    /// Starts every service under a fresh topic prefix, with step timeouts of `timeout_ms`.
    pub async fn start(timeout_ms: u64) -> Self {
        let mut kafka = testkit::infra().kafka;
        kafka.topic_prefix = format!("{}.", testkit::unique("purchase"));
        kafka.partitions = PARTITIONS;
        let stub = SpawnedService::start(
            &workspace_binary("payment-stub"),
            "LEAKY_PAYMENT_STUB__LISTEN",
            &[],
        )
        .await;
        let auth = AuthService::start(&kafka).await;
        let admin = auth.admin().await;
        let timeout = timeout_ms.to_string();
        let env: Vec<(String, String)> = [
            ("LEAKY_KAFKA__TOPIC_PREFIX", kafka.topic_prefix.as_str()),
            ("LEAKY_KAFKA__PARTITIONS", &PARTITIONS.to_string()),
            ("LEAKY_PURCHASE_SAGA__PAYMENT_URL", &stub.url("")),
            ("LEAKY_PURCHASE_SAGA__PAYMENT_CALL_TIMEOUT_MS", "1000"),
            ("LEAKY_PURCHASE_SAGA__RESERVE_TIMEOUT_MS", &timeout),
            ("LEAKY_PURCHASE_SAGA__GRANT_TIMEOUT_MS", &timeout),
            ("LEAKY_PURCHASE_SAGA__CAPTURE_TIMEOUT_MS", &timeout),
            ("LEAKY_PURCHASE_SAGA__RETRY_MS", "300"),
            ("LEAKY_PURCHASE_SAGA__POOL_REPLY_WAIT_MS", "2000"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .chain(auth.access_env())
        .collect();
        let refs: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let pool_processor = SpawnedService::start(
            &workspace_binary("pool-processor"),
            "LEAKY_POOL_PROCESSOR__LISTEN",
            &refs,
        )
        .await;
        let api = SpawnedService::start(
            &workspace_binary("command-api"),
            "LEAKY_COMMAND_API__LISTEN",
            &refs,
        )
        .await;
        let mut stack = Self {
            kafka,
            env,
            stub,
            api,
            saga: None,
            purchase_processor: None,
            _pool_processor: pool_processor,
            _auth: auth,
            admin,
        };
        stack.start_purchase_processor().await;
        stack.start_saga().await;
        stack
    }

    fn env(&self) -> Vec<(&str, &str)> {
        self.env
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect()
    }

    /// Starts the saga (again).
    pub async fn start_saga(&mut self) {
        let saga = SpawnedService::start(
            env!("CARGO_BIN_EXE_sagas"),
            "LEAKY_SAGAS__LISTEN",
            &self.env(),
        )
        .await;
        self.saga = Some(saga);
    }

    /// Starts the purchase processor (again).
    pub async fn start_purchase_processor(&mut self) {
        let processor = SpawnedService::start(
            &workspace_binary("purchase-processor"),
            "LEAKY_PURCHASE_PROCESSOR__LISTEN",
            &self.env(),
        )
        .await;
        self.purchase_processor = Some(processor);
    }

    /// Kills the purchase processor with SIGKILL.
    pub async fn kill_purchase_processor(&mut self) {
        if let Some(processor) = self.purchase_processor.take() {
            processor.kill().await;
        }
    }

    /// Kills the saga with SIGKILL.
    pub async fn kill_saga(&mut self) {
        if let Some(saga) = self.saga.take() {
            saga.kill().await;
        }
    }

    /// A client that calls the APIs as the ADMIN.
    pub fn http(&self) -> reqwest::Client {
        testkit::auth::client_as(&self.admin)
    }

    /// Sets the payment stub's fault plan.
    pub async fn faults(&self, plan: Value) {
        let response = reqwest::Client::new()
            .put(self.stub.url("/v1/admin/faults"))
            .json(&plan)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
    }

    /// Provisions `user:<user>/openai` through the API (waiting while it connects to Kafka).
    pub async fn provision(&self, user: &str) {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let response = self
                .http()
                .post(self.api.url(&format!("/api/v1/pools/user/{user}/openai")))
                .json(&json!({"tier": "USER"}))
                .send()
                .await
                .unwrap();
            let status = response.status().as_u16();
            let body = response.text().await.unwrap();
            if status == 503 && Instant::now() < deadline {
                tokio::time::sleep(Duration::from_millis(200)).await;
                continue;
            }
            assert_eq!(status, 200, "{body}");
            return;
        }
    }

    /// POSTs a purchase; the status and body.
    pub async fn purchase(&self, key: &str, body: &Value) -> (u16, Value) {
        let response = self
            .http()
            .post(self.api.url("/api/v1/purchases"))
            .header("idempotency-key", key)
            .json(body)
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    /// How many `PurchaseRequested` events the log holds.
    pub async fn placed(&self) -> usize {
        let codec = PurchaseCodec::new(&testkit::infra().registry).unwrap();
        let topic = Topics::new(&self.kafka).purchase_events();
        let mut placed = 0;
        for record in read_topic(&self.kafka, &topic, PARTITIONS).await.unwrap() {
            let envelope = codec.decode_event(&record.value.unwrap()).await.unwrap();
            placed += usize::from(matches!(
                envelope.event,
                domain::PurchaseEvent::PurchaseRequested { .. }
            ));
        }
        placed
    }

    /// Every purchase, replayed from its events (the log is the truth; snapshots in
    /// `purchase.state` trail it by up to a flush interval).
    pub async fn purchases(&self) -> BTreeMap<PurchaseId, Purchase> {
        let codec = PurchaseCodec::new(&testkit::infra().registry).unwrap();
        let topic = Topics::new(&self.kafka).purchase_events();
        let mut purchases: BTreeMap<PurchaseId, Purchase> = BTreeMap::new();
        for record in read_topic(&self.kafka, &topic, PARTITIONS).await.unwrap() {
            let envelope = codec.decode_event(&record.value.unwrap()).await.unwrap();
            purchases
                .entry(envelope.purchase_id)
                .or_default()
                .apply(&envelope.event);
        }
        purchases
    }

    /// Waits until `expected` purchases exist and every one is completed or failed.
    pub async fn all_done(
        &self,
        expected: usize,
        within: Duration,
    ) -> BTreeMap<PurchaseId, Purchase> {
        let deadline = Instant::now() + within;
        loop {
            let purchases = self.purchases().await;
            let done = purchases
                .values()
                .filter(|p| p.status().is_some_and(PurchaseStatus::is_terminal))
                .count();
            if purchases.len() == expected && done == expected {
                return purchases;
            }
            assert!(
                Instant::now() < deadline,
                "{done} of {} purchases done ({expected} expected): {:#?}",
                purchases.len(),
                purchases
                    .values()
                    .map(|p| (p.status(), p.awaiting()))
                    .collect::<Vec<_>>()
            );
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }

    /// The provider's ledger: net charge and hold per payment id.
    pub async fn charges(&self) -> HashMap<String, (u64, u64)> {
        let (_, ledger) = testkit::probes::get_json(&self.stub.url("/v1/ledger")).await;
        ledger["payments"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| {
                (
                    p["payment_id"].as_str().unwrap().to_owned(),
                    (
                        p["net_charged_cents"].as_u64().unwrap(),
                        p["held_cents"].as_u64().unwrap(),
                    ),
                )
            })
            .collect()
    }

    /// The pool's grants per purchase: (times granted, tokens kept after revocations).
    pub async fn grants(&self) -> HashMap<PurchaseId, (usize, u64)> {
        let codec = PoolCodec::new(&testkit::infra().registry).unwrap();
        let topic = Topics::new(&self.kafka).pool_events();
        let mut by_grant = HashMap::new();
        let mut grants: HashMap<PurchaseId, (usize, u64)> = HashMap::new();
        for record in read_topic(&self.kafka, &topic, PARTITIONS).await.unwrap() {
            let envelope = codec.decode_event(&record.value.unwrap()).await.unwrap();
            match envelope.event {
                TokenPoolEvent::TokensGranted {
                    grant_id,
                    amount,
                    source: GrantSource::Purchase { purchase_id },
                    ..
                } => {
                    by_grant.insert(grant_id, purchase_id);
                    let entry = grants.entry(purchase_id).or_default();
                    entry.0 += 1;
                    entry.1 += amount.get();
                }
                TokenPoolEvent::GrantRevoked {
                    grant_id, amount, ..
                } => {
                    if let Some(purchase_id) = by_grant.get(&grant_id) {
                        let entry = grants.entry(*purchase_id).or_default();
                        entry.1 -= amount.get();
                    }
                }
                _ => {}
            }
        }
        grants
    }

    /// Asserts, purchase by purchase, that the provider charged exactly the completed
    /// purchases, once, holds nothing, and that the pool kept exactly their tokens, granted once.
    pub async fn assert_ledgers_agree(&self, purchases: &BTreeMap<PurchaseId, Purchase>) {
        let charges = self.charges().await;
        let grants = self.grants().await;
        for (id, purchase) in purchases {
            let order = purchase.order().unwrap();
            let payment_id = sagas::purchase::ids::payment_id(*id);
            let (charged, held) = charges.get(&payment_id).copied().unwrap_or_default();
            let (times_granted, kept) = grants.get(id).copied().unwrap_or_default();
            let completed = purchase.status() == Some(PurchaseStatus::Completed);
            let why = format!(
                "purchase {id}: {:?} {:?}, charged {charged} held {held}, granted {times_granted}x kept {kept}",
                purchase.status(),
                purchase.failure()
            );
            assert_eq!(held, 0, "{why}");
            assert!(times_granted <= 1, "granted twice: {why}");
            if completed {
                assert_eq!(charged, order.price.get(), "{why}");
                assert_eq!(kept, order.tokens.get(), "{why}");
            } else {
                assert_eq!((charged, kept), (0, 0), "{why}");
            }
        }
    }
}

/// A purchase body for `user:<user>/openai`.
pub fn order(user: &str, tokens: u64, payment_method: &str) -> Value {
    json!({
        "pool": format!("user:{user}/openai"),
        "tokens": tokens,
        "payment_method": payment_method,
    })
}
