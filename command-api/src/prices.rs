//! The price of tokens, set by the server: a purchase names how many tokens it wants and the
//! price is computed here from the `[prices]` list, never taken from the client (a client
//! price would let a buyer pay one cent for a million tokens).

use std::collections::BTreeMap;

use domain::{Cents, OrderError, ProviderName, Tier, Tokens};
use serde::{Deserialize, Serialize};

/// Tokens a price in the list is given for.
pub const PRICED_PER: u64 = 1_000_000;

/// Cents per million tokens at each tier of one provider.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TierPrices {
    /// Tier USER.
    #[serde(rename = "USER")]
    pub user: u64,
    /// Tier PRO.
    #[serde(rename = "PRO")]
    pub pro: u64,
    /// Tier ENTERPRISE.
    #[serde(rename = "ENTERPRISE")]
    pub enterprise: u64,
    /// Tier ADMIN.
    #[serde(rename = "ADMIN")]
    pub admin: u64,
}

impl TierPrices {
    fn at(&self, tier: Tier) -> u64 {
        match tier {
            Tier::User => self.user,
            Tier::Pro => self.pro,
            Tier::Enterprise => self.enterprise,
            Tier::Admin => self.admin,
        }
    }
}

/// The `[prices]` section: per provider, cents per million tokens by tier.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct PriceList(BTreeMap<ProviderName, TierPrices>);

/// Why no price can be given.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PriceError {
    /// The provider has no entry in the list: it is not for sale.
    #[error("tokens of provider {0} are not for sale (no price is configured)")]
    NotForSale(ProviderName),
    /// The computed price is out of range.
    #[error(transparent)]
    OutOfRange(#[from] OrderError),
}

impl PriceList {
    /// The price of `tokens` of `provider` at `tier`: the listed rate, rounded up to a cent
    /// (so no purchase, however small, is free).
    pub fn price(
        &self,
        provider: &ProviderName,
        tier: Tier,
        tokens: Tokens,
    ) -> Result<Cents, PriceError> {
        let rate = self
            .0
            .get(provider)
            .ok_or_else(|| PriceError::NotForSale(provider.clone()))?
            .at(tier);
        let cents = u128::from(tokens.get())
            .saturating_mul(u128::from(rate))
            .div_ceil(u128::from(PRICED_PER))
            .max(1);
        Ok(Cents::new(u64::try_from(cents).unwrap_or(u64::MAX))?)
    }
}

impl Default for PriceList {
    /// The prices `config/leaky.toml` lists.
    fn default() -> Self {
        let prices = |user, pro, enterprise, admin| TierPrices {
            user,
            pro,
            enterprise,
            admin,
        };
        Self(BTreeMap::from([
            (provider("openai"), prices(1_500, 1_200, 1_000, 1_000)),
            (provider("gemini"), prices(1_000, 800, 700, 700)),
            (provider("qwen"), prices(800, 650, 500, 500)),
        ]))
    }
}

fn provider(name: &str) -> ProviderName {
    ProviderName::parse(name).expect("constant provider name")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tokens(n: u64) -> Tokens {
        Tokens::new(n).unwrap()
    }

    #[test]
    fn a_price_is_the_listed_rate_for_the_tier_rounded_up_to_a_cent() {
        let list = PriceList::default();
        let openai = provider("openai");
        assert_eq!(
            list.price(&openai, Tier::User, tokens(1_000_000)).unwrap(),
            Cents::new(1_500).unwrap()
        );
        assert_eq!(
            list.price(&openai, Tier::Pro, tokens(100_000)).unwrap(),
            Cents::new(120).unwrap()
        );
        // 1 token at 15 dollars a million is 0.0015 cents: charged one cent, never nothing.
        assert_eq!(
            list.price(&openai, Tier::User, tokens(1)).unwrap(),
            Cents::new(1).unwrap()
        );
    }

    #[test]
    fn a_provider_without_a_price_is_not_for_sale() {
        assert_eq!(
            PriceList::default().price(&provider("other"), Tier::User, tokens(5)),
            Err(PriceError::NotForSale(provider("other")))
        );
    }

    /// The documented configuration file and the built-in defaults must not drift apart.
    #[test]
    fn the_configuration_file_states_the_defaults() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../config/leaky.toml");
        let config: crate::Config =
            settings::load(Some(std::path::Path::new(path))).expect("config/leaky.toml loads");
        assert_eq!(config.prices, PriceList::default());
    }
}
