//! Stand-in upstream LLM providers: one real HTTP server answering in the shapes of OpenAI,
//! Gemini (native and its OpenAI-compatible endpoint) and Qwen (DashScope's OpenAI-compatible
//! mode), plain and streamed (SSE), reporting usage from a deterministic token count.
//!
//! Every request can be told, by `x-stub-*` headers or by defaults set on the admin
//! endpoint, to be slow, fail with a status, abort mid-stream or never answer. The usage each
//! request was sent is recorded under its request id (`x-request-id`, else generated) so
//! tests can add it up (`GET /admin/usage`).
#![forbid(unsafe_code)]

mod admin;
mod behaviour;
mod gemini;
mod ledger;
mod openai;
mod reply;
pub mod tokens;

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::routing::post;
use probes::{HttpService, Readiness};
use serde::{Deserialize, Serialize};
use settings::HttpSettings;

pub use behaviour::{Behaviour, Chaos};
pub use ledger::{Usage, UsageLedger};

/// Name in logs and metrics.
pub const SERVICE: &str = "llm-stub";

/// Configuration of the stub (`[llm_stub]` in the shared file).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Config {
    pub llm_stub: HttpSettings,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            llm_stub: HttpSettings::loopback(8090),
        }
    }
}

/// What every handler shares: the behaviour defaults and the usage ledger.
#[derive(Debug, Clone, Default)]
pub struct StubState {
    /// Defaults and random faults applied to requests that do not say otherwise.
    pub chaos: Arc<std::sync::RwLock<Chaos>>,
    /// Usage reported per request id.
    pub ledger: Arc<UsageLedger>,
}

/// The stub's routes: each provider under its own prefix, plus `/admin`.
pub fn app(state: StubState) -> Router {
    Router::new()
        .route(
            "/openai/v1/chat/completions",
            post(openai::chat_completions),
        )
        .route(
            "/qwen/compatible-mode/v1/chat/completions",
            post(openai::chat_completions),
        )
        .route(
            "/gemini/v1beta/openai/chat/completions",
            post(openai::chat_completions),
        )
        .route(
            "/gemini/v1beta/models/{model_action}",
            post(gemini::generate),
        )
        .merge(admin::routes())
        .with_state(state)
}

/// The stub with its probes, bound and ready to run.
pub async fn build(config: Config) -> anyhow::Result<HttpService> {
    build_at(config.llm_stub.listen, StubState::default()).await
}

/// The stub on `listen` with a state the caller keeps (in-process tests read its ledger).
pub async fn build_at(listen: SocketAddr, state: StubState) -> anyhow::Result<HttpService> {
    let router =
        probes::router(Readiness::new(), telemetry::metrics_registry(SERVICE)).merge(app(state));
    Ok(HttpService::bind(listen, router).await?)
}
