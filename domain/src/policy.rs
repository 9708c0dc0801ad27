//! Pool policies: the configured shape ([`PoolPolicy`]) and, with a tier applied, the
//! concrete numbers ([`EffectivePolicy`]) that commands and events carry.
//!
//! Resolution happens where configuration lives (the command API), before the command is
//! written: the aggregate only ever sees an `EffectivePolicy`, and events record it, so
//! replaying a pool never depends on today's configuration.

use serde::{Deserialize, Serialize};

use crate::rate_limit::{LimitKind, RateLimit, RateLimitError, RateLimitStrategy};
use crate::tier::{Tier, TierTable};
use crate::time::DurationMs;
use crate::tokens::Tokens;

/// Why a policy is not valid.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PolicyError {
    /// A reservation TTL of zero, or a default above the maximum, or a maximum too long.
    #[error(
        "reservation TTL must satisfy 1 ms <= default ({default_ms} ms) <= max ({max_ms} ms) <= {limit_ms} ms"
    )]
    ReservationTtl {
        /// The rejected default.
        default_ms: u64,
        /// The rejected maximum.
        max_ms: u64,
        /// The longest accepted maximum.
        limit_ms: u64,
    },
    /// A periodic quota of zero tokens or over a zero-length period.
    #[error(
        "periodic quota needs a positive limit and period, got {limit} tokens per {period_ms} ms"
    )]
    PeriodicQuota {
        /// The rejected limit.
        limit: u64,
        /// The rejected period.
        period_ms: u64,
    },
    /// A rate limit out of bounds once scaled by the tier.
    #[error("{limit} rate limit for tier {tier} is invalid: {source}")]
    ScaledRateLimit {
        /// Which limit.
        limit: LimitKind,
        /// The tier that scaled it.
        tier: Tier,
        /// What is wrong with the result.
        #[source]
        source: RateLimitError,
    },
}

/// What to do when a settlement reports more tokens than were reserved.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum OverageRule {
    /// Refuse the settlement (`SettleExceedsReservation`); the reservation stays open.
    Reject,
    /// Charge the reservation in full and record the excess as `uncharged_overage`.
    Cap,
}

/// How long reservations live: the default when a reserve names none, and the ceiling.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "RawReservationTtl", into = "RawReservationTtl")]
pub struct ReservationTtl {
    default: DurationMs,
    max: DurationMs,
}

#[derive(Serialize, Deserialize)]
struct RawReservationTtl {
    default_ms: u64,
    max_ms: u64,
}

impl ReservationTtl {
    /// The longest a reservation may ever live: holds are for in-flight calls, not storage.
    pub const LIMIT: DurationMs = DurationMs::DAY;

    /// TTLs with this default and ceiling, if `1 ms <= default <= max <= LIMIT`.
    pub fn new(default: DurationMs, max: DurationMs) -> Result<Self, PolicyError> {
        if default.is_zero() || default > max || max > Self::LIMIT {
            return Err(PolicyError::ReservationTtl {
                default_ms: default.as_millis(),
                max_ms: max.as_millis(),
                limit_ms: Self::LIMIT.as_millis(),
            });
        }
        Ok(Self { default, max })
    }

    /// TTL of a reservation that names none.
    pub const fn default_ttl(&self) -> DurationMs {
        self.default
    }

    /// Longest TTL a reservation gets, whatever it asks for.
    pub const fn max_ttl(&self) -> DurationMs {
        self.max
    }

    /// The longest TTL a reservation gets.
    pub fn max(&self) -> DurationMs {
        self.max
    }

    /// The TTL a reservation asking for `requested` gets: the default, capped at the maximum.
    pub fn resolve(&self, requested: Option<DurationMs>) -> DurationMs {
        requested.unwrap_or(self.default).min(self.max)
    }
}

impl TryFrom<RawReservationTtl> for ReservationTtl {
    type Error = PolicyError;
    fn try_from(raw: RawReservationTtl) -> Result<Self, Self::Error> {
        let error = || PolicyError::ReservationTtl {
            default_ms: raw.default_ms,
            max_ms: raw.max_ms,
            limit_ms: Self::LIMIT.as_millis(),
        };
        let default = DurationMs::from_millis(raw.default_ms).map_err(|_| error())?;
        let max = DurationMs::from_millis(raw.max_ms).map_err(|_| error())?;
        Self::new(default, max)
    }
}

impl From<ReservationTtl> for RawReservationTtl {
    fn from(ttl: ReservationTtl) -> Self {
        Self {
            default_ms: ttl.default.as_millis(),
            max_ms: ttl.max.as_millis(),
        }
    }
}

/// A ceiling on tokens consumed per period, on top of the prepaid balance.
///
/// Periods roll by themselves every `period` from the last explicit start (provisioning or
/// `ResetQuotaPeriod`), so the quota works without a scheduler; a scheduler can still
/// re-anchor periods, e.g. to calendar months, which have no fixed length.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "RawPeriodicQuota", into = "RawPeriodicQuota")]
pub struct PeriodicQuota {
    limit: Tokens,
    period: DurationMs,
}

#[derive(Serialize, Deserialize)]
struct RawPeriodicQuota {
    limit: Tokens,
    period_ms: u64,
}

impl PeriodicQuota {
    /// At most `limit` tokens consumed per `period`; both must be positive.
    pub fn new(limit: Tokens, period: DurationMs) -> Result<Self, PolicyError> {
        if limit.is_zero() || period.is_zero() {
            return Err(PolicyError::PeriodicQuota {
                limit: limit.get(),
                period_ms: period.as_millis(),
            });
        }
        Ok(Self { limit, period })
    }

    /// Most tokens consumed (plus held) in one period.
    pub const fn limit(&self) -> Tokens {
        self.limit
    }

    /// Length of a period.
    pub const fn period(&self) -> DurationMs {
        self.period
    }
}

impl TryFrom<RawPeriodicQuota> for PeriodicQuota {
    type Error = PolicyError;
    fn try_from(raw: RawPeriodicQuota) -> Result<Self, Self::Error> {
        let period =
            DurationMs::from_millis(raw.period_ms).map_err(|_| PolicyError::PeriodicQuota {
                limit: raw.limit.get(),
                period_ms: raw.period_ms,
            })?;
        Self::new(raw.limit, period)
    }
}

impl From<PeriodicQuota> for RawPeriodicQuota {
    fn from(q: PeriodicQuota) -> Self {
        Self {
            limit: q.limit,
            period_ms: q.period.as_millis(),
        }
    }
}

/// A pool's policy as configured, before its tier is applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct PoolPolicy {
    /// Algorithm of both rate limits.
    pub strategy: RateLimitStrategy,
    /// Base request limit (each reserve or consume is one request).
    pub requests: RateLimit,
    /// Base token limit (each reserve or consume counts its amount).
    pub tokens: RateLimit,
    /// What a settlement above the reservation does.
    pub overage: OverageRule,
    /// Default and maximum reservation TTL.
    pub reservation_ttl: ReservationTtl,
    /// Optional ceiling on tokens consumed per period.
    pub periodic_quota: Option<PeriodicQuota>,
}

impl PoolPolicy {
    /// The concrete policy for a pool of `tier`: limits scaled, the tier's quota cap added.
    pub fn resolve(&self, tier: Tier, table: &TierTable) -> Result<EffectivePolicy, PolicyError> {
        let limits = table.limits(tier);
        let scale = |limit: RateLimit, kind: LimitKind| {
            limit
                .scaled(limits.rate_limit_multiplier)
                .map_err(|source| PolicyError::ScaledRateLimit {
                    limit: kind,
                    tier,
                    source,
                })
        };
        Ok(EffectivePolicy {
            strategy: self.strategy,
            requests: scale(self.requests, LimitKind::Requests)?,
            tokens: scale(self.tokens, LimitKind::Tokens)?,
            overage: self.overage,
            reservation_ttl: self.reservation_ttl,
            periodic_quota: self.periodic_quota,
            quota_cap: limits.quota_cap,
        })
    }
}

/// The policy a pool actually runs under: every number concrete, recorded in its events.
///
/// Every field is a validated type, so any value of this struct is a usable policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct EffectivePolicy {
    /// Algorithm of both rate limits.
    pub strategy: RateLimitStrategy,
    /// Request limit, tier applied.
    pub requests: RateLimit,
    /// Token limit, tier applied.
    pub tokens: RateLimit,
    /// What a settlement above the reservation does.
    pub overage: OverageRule,
    /// Default and maximum reservation TTL.
    pub reservation_ttl: ReservationTtl,
    /// Optional ceiling on tokens consumed per period.
    pub periodic_quota: Option<PeriodicQuota>,
    /// Most tokens the pool may hold granted-but-unspent (from the tier).
    pub quota_cap: Tokens,
}

impl EffectivePolicy {
    /// The numbers of the limit of `kind`.
    pub fn limit(&self, kind: LimitKind) -> RateLimit {
        match kind {
            LimitKind::Requests => self.requests,
            LimitKind::Tokens => self.tokens,
        }
    }
}
