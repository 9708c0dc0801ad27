//! Tiers and the per-tier table that comes from configuration.
//!
//! A tier changes two things about a pool: its rate limits are scaled by the tier's
//! multiplier (capacity and rate alike), and it may hold at most `quota_cap` tokens
//! granted-but-unspent (reserved tokens count as unspent: they may still be released).
//! The cap stops one account from stockpiling an unbounded prepaid balance; a grant that
//! would pass it is refused with `QuotaCapExceeded` and the purchase saga compensates.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::tokens::Tokens;

/// Why a value is not a valid tier or multiplier.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TierError {
    /// Not one of `USER`, `PRO`, `ENTERPRISE`, `ADMIN`.
    #[error("tier must be one of USER, PRO, ENTERPRISE, ADMIN, got {input:?}")]
    UnknownTier {
        /// The rejected input.
        input: String,
    },
    /// A multiplier outside `1..=100_000` percent.
    #[error("multiplier must be between 1 and {max} percent, got {percent}")]
    MultiplierOutOfRange {
        /// The rejected value.
        percent: u32,
        /// The largest accepted value.
        max: u32,
    },
}

/// Service tier of a pool's owner.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Tier {
    /// Free or entry-level accounts.
    User,
    /// Paying individuals.
    Pro,
    /// Organisations on contract.
    Enterprise,
    /// Operators and internal use.
    Admin,
}

impl Tier {
    /// Every tier, lowest first.
    pub const ALL: [Tier; 4] = [Tier::User, Tier::Pro, Tier::Enterprise, Tier::Admin];

    /// The canonical (SCREAMING_CASE) name.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::User => "USER",
            Self::Pro => "PRO",
            Self::Enterprise => "ENTERPRISE",
            Self::Admin => "ADMIN",
        }
    }
}

impl FromStr for Tier {
    type Err = TierError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|tier| tier.as_str() == s)
            .ok_or_else(|| TierError::UnknownTier {
                input: s.to_owned(),
            })
    }
}

impl fmt::Display for Tier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A scaling factor in whole percent (100 = ×1, 250 = ×2.5), integer so scaling is exact.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "u32", into = "u32")]
pub struct Multiplier(u32);

impl Multiplier {
    /// ×1.
    pub const ONE: Self = Self(100);
    /// ×1000, far above any sensible tier.
    pub const MAX_PERCENT: u32 = 100_000;

    /// A multiplier of `percent` / 100, if within `1..=MAX_PERCENT`.
    pub const fn from_percent(percent: u32) -> Result<Self, TierError> {
        if percent == 0 || percent > Self::MAX_PERCENT {
            return Err(TierError::MultiplierOutOfRange {
                percent,
                max: Self::MAX_PERCENT,
            });
        }
        Ok(Self(percent))
    }

    /// The multiplier in percent.
    pub const fn percent(self) -> u32 {
        self.0
    }

    /// `value` scaled, rounded down but never below 1 (a limit of zero would block forever).
    pub fn scale(self, value: u64) -> u64 {
        let scaled = u128::from(value) * u128::from(self.0) / 100;
        u64::try_from(scaled).unwrap_or(u64::MAX).max(1)
    }
}

impl TryFrom<u32> for Multiplier {
    type Error = TierError;
    fn try_from(percent: u32) -> Result<Self, Self::Error> {
        Self::from_percent(percent)
    }
}

impl From<Multiplier> for u32 {
    fn from(m: Multiplier) -> u32 {
        m.0
    }
}

/// What one tier grants.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct TierLimits {
    /// Applied to the capacity and the rate of both rate limits.
    pub rate_limit_multiplier: Multiplier,
    /// Most tokens a pool may hold granted-but-unspent (reserved counts as unspent).
    pub quota_cap: Tokens,
}

/// Limits of every tier, as loaded from configuration (all four must be present).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct TierTable {
    /// Limits of [`Tier::User`].
    #[serde(rename = "USER")]
    pub user: TierLimits,
    /// Limits of [`Tier::Pro`].
    #[serde(rename = "PRO")]
    pub pro: TierLimits,
    /// Limits of [`Tier::Enterprise`].
    #[serde(rename = "ENTERPRISE")]
    pub enterprise: TierLimits,
    /// Limits of [`Tier::Admin`].
    #[serde(rename = "ADMIN")]
    pub admin: TierLimits,
}

impl TierTable {
    /// The limits of `tier`.
    pub fn limits(&self, tier: Tier) -> &TierLimits {
        match tier {
            Tier::User => &self.user,
            Tier::Pro => &self.pro,
            Tier::Enterprise => &self.enterprise,
            Tier::Admin => &self.admin,
        }
    }
}
