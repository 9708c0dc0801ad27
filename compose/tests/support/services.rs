//! Our services and the infrastructure they read, as the specifications see them.

use serde_json::Value;

use super::{ComposeFile, load_from_env, load_from_repo_file};

/// Loads a service's real `Config` from defaults and the given environment variables.
pub type LoadFromEnv = fn(&[(String, String)]) -> Result<Value, String>;

/// One of our services as the compose file runs it.
pub struct ProjectService {
    /// Its compose service name, binary name and `SERVICE` build argument alike.
    pub name: &'static str,
    /// The configuration section holding its own `listen` address.
    pub http_section: &'static str,
    /// Loads its real `Config` as in its container: defaults and environment only.
    pub load_from_env: LoadFromEnv,
    /// Loads its real `Config` from `config/leaky.toml`, as on a developer's machine.
    pub load_from_repo_file: fn() -> Value,
}

pub const PROJECT_SERVICES: [ProjectService; 10] = [
    ProjectService {
        name: "pool-processor",
        http_section: "pool_processor",
        load_from_env: load_from_env::<command_api::ProcessorConfig>,
        load_from_repo_file: load_from_repo_file::<command_api::ProcessorConfig>,
    },
    ProjectService {
        name: "purchase-processor",
        http_section: "purchase_processor",
        load_from_env: load_from_env::<command_api::PurchaseProcessorConfig>,
        load_from_repo_file: load_from_repo_file::<command_api::PurchaseProcessorConfig>,
    },
    ProjectService {
        name: command_api::SERVICE,
        http_section: "command_api",
        load_from_env: load_from_env::<command_api::Config>,
        load_from_repo_file: load_from_repo_file::<command_api::Config>,
    },
    ProjectService {
        name: query_api::SERVICE,
        http_section: "query_api",
        load_from_env: load_from_env::<query_api::Config>,
        load_from_repo_file: load_from_repo_file::<query_api::Config>,
    },
    ProjectService {
        name: projectors::SERVICE,
        http_section: "projectors",
        load_from_env: load_from_env::<projectors::Config>,
        load_from_repo_file: load_from_repo_file::<projectors::Config>,
    },
    ProjectService {
        name: sagas::SERVICE,
        http_section: "sagas",
        load_from_env: load_from_env::<sagas::Config>,
        load_from_repo_file: load_from_repo_file::<sagas::Config>,
    },
    ProjectService {
        name: llm_stub::SERVICE,
        http_section: "llm_stub",
        load_from_env: load_from_env::<llm_stub::Config>,
        load_from_repo_file: load_from_repo_file::<llm_stub::Config>,
    },
    ProjectService {
        name: auth::SERVICE,
        http_section: "auth",
        load_from_env: load_from_env::<auth::Config>,
        load_from_repo_file: load_from_repo_file::<auth::Config>,
    },
    ProjectService {
        name: gateway::SERVICE,
        http_section: "gateway",
        load_from_env: load_from_env::<gateway::Config>,
        load_from_repo_file: load_from_repo_file::<gateway::Config>,
    },
    ProjectService {
        name: payment_stub::SERVICE,
        http_section: "payment_stub",
        load_from_env: load_from_env::<payment_stub::Config>,
        load_from_repo_file: load_from_repo_file::<payment_stub::Config>,
    },
];

/// The compose service that answers for each shared configuration section.
pub const INFRASTRUCTURE: [(&str, &str); 5] = [
    ("kafka", "kafka"),
    ("schema_registry", "schema-registry"),
    ("postgres", "postgres"),
    ("redis", "redis"),
    ("cassandra", "cassandra"),
];

/// The one-shot job that sets the registry's global compatibility rule.
pub const REGISTRY_RULE_JOB: &str = "schema-registry-init";

/// Environment variables with the settings prefix that are not settings.
pub const NOT_SETTINGS: [&str; 1] = [
    // The log filter, read by `telemetry`.
    "LEAKY_LOG",
];

impl ProjectService {
    /// Its configuration, loaded from its compose environment; panics with the reason.
    pub fn config(&self, compose: &ComposeFile) -> Value {
        let service = compose.service(self.name);
        (self.load_from_env)(&service.environment()).unwrap_or_else(|error| {
            panic!(
                "service {}: its environment does not load into its Config: {error}",
                self.name
            )
        })
    }
}

/// The infrastructure sections `config` has, with the compose service answering each.
pub fn infrastructure_read_by(config: &Value) -> Vec<(&'static str, &'static str)> {
    INFRASTRUCTURE
        .into_iter()
        .filter(|(section, _)| config.get(section).is_some())
        .collect()
}
