//! What the command API knows about pools that the domain leaves to configuration: which
//! providers exist, the default policy, and the tier table it is scaled by.

use domain::{
    DurationMs, Multiplier, OverageRule, PoolPolicy, ProviderName, RateLimit, RateLimitStrategy,
    ReservationTtl, TierLimits, TierTable, Tokens,
};
use serde::{Deserialize, Serialize};

/// The `[pools]` section.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PoolsSettings {
    /// Providers pools may be provisioned for; any other is refused at the edge.
    pub providers: Vec<ProviderName>,
    /// Policy of a pool provisioned without one.
    pub default_policy: PoolPolicy,
    /// Per-tier multipliers and quota caps.
    pub tiers: TierTable,
}

impl PoolsSettings {
    /// True if pools may be provisioned for `provider`.
    pub fn knows(&self, provider: &ProviderName) -> bool {
        self.providers.contains(provider)
    }
}

impl Default for PoolsSettings {
    /// 60 requests and 100,000 tokens per minute at tier USER, leaky bucket; holds live
    /// 2 minutes by default, 15 at most; settling above a hold is refused.
    fn default() -> Self {
        let ms = |v: u64| DurationMs::from_millis(v).expect("constant duration");
        let tokens = |v: u64| Tokens::new(v).expect("constant amount");
        let percent = |v: u32| Multiplier::try_from(v).expect("constant multiplier");
        let tier = |multiplier: u32, cap: u64| TierLimits {
            rate_limit_multiplier: percent(multiplier),
            quota_cap: tokens(cap),
        };
        Self {
            providers: ["openai", "gemini", "qwen"]
                .iter()
                .map(|p| p.parse().expect("constant provider name"))
                .collect(),
            default_policy: PoolPolicy {
                strategy: RateLimitStrategy::LeakyBucket,
                requests: RateLimit::new(60, 60, ms(60_000)).expect("constant limit"),
                tokens: RateLimit::new(100_000, 100_000, ms(60_000)).expect("constant limit"),
                overage: OverageRule::Reject,
                reservation_ttl: ReservationTtl::new(ms(120_000), ms(900_000))
                    .expect("constant ttl"),
                periodic_quota: None,
            },
            tiers: TierTable {
                user: tier(100, 10_000_000),
                pro: tier(500, 100_000_000),
                enterprise: tier(2_000, 1_000_000_000),
                admin: tier(10_000, 1_000_000_000_000),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The documented configuration file and the built-in defaults must not drift apart.
    #[test]
    fn the_configuration_file_states_the_defaults() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../config/leaky.toml");
        let config: crate::Config =
            settings::load(Some(std::path::Path::new(path))).expect("config/leaky.toml loads");
        assert_eq!(config.pools, PoolsSettings::default());
        assert_eq!(config.http, probes::HttpLimits::default());
    }
}
