//! What the gateway needs to know, from the shared configuration file (`[gateway]`).

use std::collections::BTreeMap;
use std::net::SocketAddr;

use access::AccessSettings;
use serde::{Deserialize, Serialize};
use settings::{HttpSettings, KafkaSettings, RegistrySettings};

/// Configuration of the gateway service.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Config {
    pub gateway: GatewaySettings,
    pub kafka: KafkaSettings,
    pub schema_registry: RegistrySettings,
    /// Whose credentials are accepted.
    pub access: AccessSettings,
    /// Limits of the HTTP port (`[http]`): slow and flooding clients.
    #[serde(default)]
    pub http: probes::HttpLimits,
}

/// The `[gateway]` section.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GatewaySettings {
    /// Address to bind; port 0 picks a free port.
    pub listen: SocketAddr,
    /// How long a reserve may wait for the pool processor's reply before the call is
    /// refused with 503 (and the hold, if it lands later, released).
    pub reply_wait_ms: u64,
    /// How long a hold lives if the gateway never resolves it (it crashed). A call's hold
    /// lives at least as long as the call can last (`UpstreamSettings::longest_call_ms`)
    /// plus `reply_wait_ms`; a pool whose policy allows no hold that long refuses the call
    /// (422 `pool-hold-too-short`) rather than have the hold lapse mid-call.
    pub reservation_ttl_ms: u64,
    /// The completion budget of a request that names none.
    pub default_max_tokens: u64,
    /// The most completion tokens a request may ask for; larger asks are lowered to it
    /// (and the upstream is told so), which bounds every hold.
    pub max_tokens_cap: u64,
    /// Largest request body accepted.
    pub max_body_bytes: usize,
    /// Most holds reserved ahead of calls per (pool, caller), so calls skip the reserve's
    /// round trip; kept only while the pool is far from its limits. 0 turns them off.
    #[serde(default = "default_ready_holds")]
    pub ready_holds: usize,
    /// A (pool, caller) without calls for this long gives its ready holds back.
    #[serde(default = "default_ready_hold_idle_ms")]
    pub ready_hold_idle_ms: u64,
    /// Upstream providers by name (the provider part of a pool id).
    pub providers: BTreeMap<String, UpstreamSettings>,
    /// Model-name prefix → provider, for `/v1/chat/completions`; the longest prefix wins.
    pub models: BTreeMap<String, String>,
}

fn default_ready_holds() -> usize {
    256
}

fn default_ready_hold_idle_ms() -> u64 {
    5_000
}

/// One upstream provider.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpstreamSettings {
    /// Base of its OpenAI-compatible API: chat is `{base_url}/chat/completions`.
    pub base_url: String,
    /// Base of Gemini's native API (`{native_base_url}/models/{model}:generateContent`).
    #[serde(default)]
    pub native_base_url: Option<String>,
    /// Bearer key sent upstream, if the provider needs one.
    #[serde(default)]
    pub api_key: Option<String>,
    /// Per attempt: until the whole answer (plain) or its headers (streamed) arrive.
    #[serde(default = "default_timeout_ms")]
    pub timeout_ms: u64,
    /// Longest silence allowed between two chunks of a stream.
    #[serde(default = "default_idle_timeout_ms")]
    pub stream_idle_timeout_ms: u64,
    /// Longest a stream may last after its headers; it is cut (and charged) there, so
    /// every call has a bound its hold can cover.
    #[serde(default = "default_stream_max_ms")]
    pub stream_max_ms: u64,
    /// Extra attempts after a connection error, 429 or 5xx (never after a request was sent
    /// and not refused: a timeout may have been billed, so it is charged, not retried).
    #[serde(default = "default_retries")]
    pub retries: u32,
    /// Consecutive failed attempts that open the circuit.
    #[serde(default = "default_breaker_failures")]
    pub breaker_failures: u32,
    /// How long an open circuit refuses calls before letting one through to try.
    #[serde(default = "default_breaker_open_ms")]
    pub breaker_open_ms: u64,
}

fn default_timeout_ms() -> u64 {
    30_000
}
fn default_idle_timeout_ms() -> u64 {
    30_000
}
fn default_stream_max_ms() -> u64 {
    300_000
}
fn default_retries() -> u32 {
    2
}
fn default_breaker_failures() -> u32 {
    5
}
fn default_breaker_open_ms() -> u64 {
    10_000
}

impl UpstreamSettings {
    /// An upstream at `base_url` with default timeouts, retries and breaker.
    pub fn at(base_url: impl Into<String>) -> Self {
        Self {
            base_url: base_url.into(),
            native_base_url: None,
            api_key: None,
            timeout_ms: default_timeout_ms(),
            stream_idle_timeout_ms: default_idle_timeout_ms(),
            stream_max_ms: default_stream_max_ms(),
            retries: default_retries(),
            breaker_failures: default_breaker_failures(),
            breaker_open_ms: default_breaker_open_ms(),
        }
    }
}

impl UpstreamSettings {
    /// The longest a call to this provider can last: every attempt timing out, the backoff
    /// between them (as `upstream` sleeps it), and for a stream its longest life after that.
    pub fn longest_call_ms(&self, stream: bool) -> u64 {
        let attempts = u64::from(self.retries) + 1;
        let backoff: u64 = (1..=self.retries).map(|a| 50u64 << a.min(6)).sum();
        let streaming = if stream { self.stream_max_ms } else { 0 };
        self.timeout_ms
            .saturating_mul(attempts)
            .saturating_add(backoff)
            .saturating_add(streaming)
    }
}

impl Default for GatewaySettings {
    fn default() -> Self {
        let stub = "http://127.0.0.1:8090";
        let mut gemini = UpstreamSettings::at(format!("{stub}/gemini/v1beta/openai"));
        gemini.native_base_url = Some(format!("{stub}/gemini/v1beta"));
        let providers = BTreeMap::from([
            (
                "openai".to_owned(),
                UpstreamSettings::at(format!("{stub}/openai/v1")),
            ),
            ("gemini".to_owned(), gemini),
            (
                "qwen".to_owned(),
                UpstreamSettings::at(format!("{stub}/qwen/compatible-mode/v1")),
            ),
        ]);
        let models = [
            ("gpt-", "openai"),
            ("o1", "openai"),
            ("o3", "openai"),
            ("o4", "openai"),
            ("gemini-", "gemini"),
            ("qwen", "qwen"),
        ]
        .into_iter()
        .map(|(prefix, provider)| (prefix.to_owned(), provider.to_owned()))
        .collect();
        Self {
            listen: HttpSettings::loopback(8086).listen,
            reply_wait_ms: 5_000,
            reservation_ttl_ms: 600_000,
            default_max_tokens: 1_024,
            max_tokens_cap: 16_384,
            max_body_bytes: 1024 * 1024,
            ready_holds: default_ready_holds(),
            ready_hold_idle_ms: default_ready_hold_idle_ms(),
            providers,
            models,
        }
    }
}

impl GatewaySettings {
    /// The TTL of a hold for a call to `provider`: the configured one, or longer if a call
    /// can last longer (with time for the settle to arrive).
    pub fn hold_ttl_ms(&self, provider: &str, stream: bool) -> u64 {
        let longest = self
            .providers
            .get(provider)
            .map_or(0, |p| p.longest_call_ms(stream));
        self.reservation_ttl_ms
            .max(longest.saturating_add(self.reply_wait_ms))
    }

    /// The provider serving `model`: the one mapped to its longest matching prefix.
    pub fn provider_of(&self, model: &str) -> Option<&str> {
        self.models
            .iter()
            .filter(|(prefix, _)| model.starts_with(prefix.as_str()))
            .max_by_key(|(prefix, _)| prefix.len())
            .map(|(_, provider)| provider.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The documented configuration file and the built-in defaults must not drift apart.
    #[test]
    fn the_configuration_file_states_the_defaults() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../config/leaky.toml");
        let config: Config =
            settings::load(Some(std::path::Path::new(path))).expect("config/leaky.toml loads");
        assert_eq!(config.gateway, GatewaySettings::default());
    }

    #[test]
    fn a_calls_hold_outlives_every_attempt_and_the_longest_stream() {
        let mut settings = GatewaySettings {
            reservation_ttl_ms: 2_000,
            ..GatewaySettings::default()
        };
        let openai = settings.providers.get_mut("openai").unwrap();
        openai.timeout_ms = 4_000;
        openai.retries = 2;
        openai.stream_max_ms = 10_000;
        // Three attempts of 4 s, backoff 100 + 200 ms, and the settle's reply wait.
        assert_eq!(settings.hold_ttl_ms("openai", false), 12_300 + 5_000);
        assert_eq!(settings.hold_ttl_ms("openai", true), 22_300 + 5_000);
        settings.reservation_ttl_ms = 600_000;
        assert_eq!(settings.hold_ttl_ms("openai", true), 600_000);
    }

    #[test]
    fn the_longest_model_prefix_names_the_provider() {
        let mut settings = GatewaySettings::default();
        settings
            .models
            .insert("gpt-4o-special".to_owned(), "qwen".to_owned());
        assert_eq!(settings.provider_of("gpt-4o-mini"), Some("openai"));
        assert_eq!(settings.provider_of("gpt-4o-special-1"), Some("qwen"));
        assert_eq!(settings.provider_of("gemini-2.0-flash"), Some("gemini"));
        assert_eq!(settings.provider_of("qwen-plus"), Some("qwen"));
        assert_eq!(settings.provider_of("llama-3"), None);
    }
}
