//! A command API on fresh topics, with the auth service and (unless a suite needs none) a
//! pool processor that can be killed and replaced: what the HTTP suites start.

use eventlog::{Topics, ensure_topics};
use settings::KafkaSettings;
use testkit::SpawnedService;
use testkit::auth::AuthService;

/// Partitions of every topic in these suites.
pub const PARTITIONS: u32 = 2;

const PROCESSOR: &str = env!("CARGO_BIN_EXE_pool-processor");
const PURCHASE_PROCESSOR: &str = env!("CARGO_BIN_EXE_purchase-processor");
const API: &str = env!("CARGO_BIN_EXE_command-api");

/// Whether a deployment runs a pool processor behind its API.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Processor {
    Running,
    /// For suites about what the API refuses before anything reaches Kafka.
    None,
}

/// The running services and the settings they share.
pub struct Deployment {
    pub kafka: KafkaSettings,
    pub auth: AuthService,
    pub api: SpawnedService,
    processor: tokio::sync::Mutex<Option<SpawnedService>>,
    env: Vec<(String, String)>,
}

impl Deployment {
    /// Starts it on topics named after `name`, with `settings` on top of the defaults.
    pub async fn start(name: &str, processor: Processor, settings: &[(&str, &str)]) -> Self {
        let prefix = format!("{}.", testkit::unique(name));
        let kafka = KafkaSettings {
            topic_prefix: prefix.clone(),
            partitions: PARTITIONS,
            ..testkit::infra().kafka
        };
        let topics = Topics::new(&kafka);
        for specs in [
            topics.pool_topic_specs(PARTITIONS),
            topics.purchase_topic_specs(PARTITIONS),
        ] {
            ensure_topics(&kafka, &specs).await.unwrap();
        }
        let auth = AuthService::start(&kafka).await;
        let mut env = vec![
            ("LEAKY_KAFKA__TOPIC_PREFIX".to_owned(), prefix),
            ("LEAKY_KAFKA__PARTITIONS".to_owned(), PARTITIONS.to_string()),
        ];
        env.extend(
            settings
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
        );
        env.extend(auth.access_env());
        let deployment = Self {
            api: SpawnedService::start(API, "LEAKY_COMMAND_API__LISTEN", &vars(&env)).await,
            kafka,
            auth,
            processor: tokio::sync::Mutex::new(None),
            env,
        };
        if processor == Processor::Running {
            deployment.restart_processor().await;
        }
        deployment.wait_until_ready().await;
        deployment
    }

    /// Until the API is ready: it reaches Kafka and knows the credentials (the auth
    /// service's keys and the users and API keys of the auth log), so an API key is judged,
    /// never answered 503.
    async fn wait_until_ready(&self) {
        for _ in 0..150 {
            let (status, _) = testkit::probes::get_json(&self.api.url("/health/ready")).await;
            if status == 200 {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        panic!("the command API never became ready");
    }

    /// Kills the processor (SIGKILL), if one runs, and starts a new one.
    pub async fn restart_processor(&self) {
        self.kill_processor().await;
        let started = self.spawn_processor().await;
        *self.processor.lock().await = Some(started);
    }

    /// The `/metrics` text of the running processor.
    pub async fn processor_metrics(&self) -> String {
        let url = match self.processor.lock().await.as_ref() {
            Some(processor) => processor.url("/metrics"),
            None => panic!("no processor runs"),
        };
        reqwest::get(url).await.unwrap().text().await.unwrap()
    }

    /// Kills the processor (SIGKILL), if one runs, and starts none: commands queue up.
    pub async fn kill_processor(&self) {
        if let Some(running) = self.processor.lock().await.take() {
            running.kill().await;
        }
    }

    /// A purchase processor (the deployment runs none of its own): purchase commands sent
    /// before it starts wait for it in `purchase.commands`.
    pub async fn spawn_purchase_processor(&self) -> SpawnedService {
        SpawnedService::start(
            PURCHASE_PROCESSOR,
            "LEAKY_PURCHASE_PROCESSOR__LISTEN",
            &vars(&self.env),
        )
        .await
    }

    /// Another processor instance in the same group: the two split the partitions between
    /// them (a rebalance) until one is killed.
    pub async fn spawn_processor(&self) -> SpawnedService {
        SpawnedService::start(PROCESSOR, "LEAKY_POOL_PROCESSOR__LISTEN", &vars(&self.env)).await
    }
}

fn vars(env: &[(String, String)]) -> Vec<(&str, &str)> {
    env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect()
}
