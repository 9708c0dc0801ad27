//! The numbers of one rate limit, validated so every strategy's arithmetic is exact.

use serde::{Deserialize, Serialize};

use crate::tier::Multiplier;
use crate::time::DurationMs;
use crate::tokens::Tokens;

/// Why numbers do not make a valid rate limit.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RateLimitError {
    /// Capacity outside `1..=MAX_UNITS`.
    #[error("rate limit capacity must be between 1 and {max}, got {capacity}")]
    Capacity {
        /// The rejected capacity.
        capacity: u64,
        /// The largest accepted capacity.
        max: u64,
    },
    /// Rate outside `1..=MAX_UNITS`.
    #[error("rate limit rate must be between 1 and {max}, got {rate}")]
    Rate {
        /// The rejected rate.
        rate: u64,
        /// The largest accepted rate.
        max: u64,
    },
    /// Period outside `1 ms..=MAX_PERIOD`.
    #[error("rate limit period must be between 1 and {max_ms} ms, got {period_ms}")]
    Period {
        /// The rejected period.
        period_ms: u64,
        /// The longest accepted period.
        max_ms: u64,
    },
    /// Capacity times period does not fit the bucket state.
    #[error(
        "rate limit capacity {capacity} over a period of {period_ms} ms is too large \
         (capacity × period must not exceed {max_product})"
    )]
    TooLarge {
        /// The rejected capacity.
        capacity: u64,
        /// The rejected period.
        period_ms: u64,
        /// The largest accepted product.
        max_product: u64,
    },
}

/// One limit: a `capacity` (burst size) and a sustained `rate` of units per `period`.
///
/// The leaky and token buckets use both; a fixed window admits `rate` per aligned window
/// of `period` and has no separate burst, so it ignores `capacity`. Bucket levels are kept
/// in units × milliseconds of period, so `capacity × period` must fit an `i64` (a snapshot
/// field is an Avro `long`): that allows e.g. 10^12 tokens per 100 days, or ~10^11 per day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "RawRateLimit", into = "RawRateLimit")]
pub struct RateLimit {
    capacity: u64,
    rate: u64,
    period: DurationMs,
}

/// The wire and configuration shape of a [`RateLimit`], before validation.
#[derive(Serialize, Deserialize)]
struct RawRateLimit {
    capacity: u64,
    rate: u64,
    period_ms: u64,
}

impl RateLimit {
    /// Largest capacity or rate: the largest token amount.
    pub const MAX_UNITS: u64 = Tokens::MAX.get();
    /// Longest period: 366 days.
    pub const MAX_PERIOD: DurationMs = DurationMs::saturating_from_millis(366 * 86_400_000);
    /// Largest `capacity × period`, so scaled bucket levels fit an `i64`.
    pub const MAX_PRODUCT: u64 = i64::MAX.unsigned_abs();

    /// A limit of `capacity` burst and `rate` per `period`, if all are within bounds.
    pub fn new(capacity: u64, rate: u64, period: DurationMs) -> Result<Self, RateLimitError> {
        if capacity == 0 || capacity > Self::MAX_UNITS {
            return Err(RateLimitError::Capacity {
                capacity,
                max: Self::MAX_UNITS,
            });
        }
        if rate == 0 || rate > Self::MAX_UNITS {
            return Err(RateLimitError::Rate {
                rate,
                max: Self::MAX_UNITS,
            });
        }
        if period.is_zero() || period > Self::MAX_PERIOD {
            return Err(RateLimitError::Period {
                period_ms: period.as_millis(),
                max_ms: Self::MAX_PERIOD.as_millis(),
            });
        }
        if capacity
            .checked_mul(period.as_millis())
            .is_none_or(|product| product > Self::MAX_PRODUCT)
        {
            return Err(RateLimitError::TooLarge {
                capacity,
                period_ms: period.as_millis(),
                max_product: Self::MAX_PRODUCT,
            });
        }
        Ok(Self {
            capacity,
            rate,
            period,
        })
    }

    /// Most units the limiter holds at once (the burst).
    pub const fn capacity(&self) -> u64 {
        self.capacity
    }

    /// Units restored (drained, refilled) per period.
    pub const fn rate(&self) -> u64 {
        self.rate
    }

    /// The period `rate` is measured over.
    pub const fn period(&self) -> DurationMs {
        self.period
    }

    /// Capacity and rate scaled by a tier multiplier; fails if the result is out of bounds.
    pub fn scaled(&self, by: Multiplier) -> Result<Self, RateLimitError> {
        Self::new(by.scale(self.capacity), by.scale(self.rate), self.period)
    }
}

impl TryFrom<RawRateLimit> for RateLimit {
    type Error = RateLimitError;
    fn try_from(raw: RawRateLimit) -> Result<Self, Self::Error> {
        let period =
            DurationMs::from_millis(raw.period_ms).map_err(|_| RateLimitError::Period {
                period_ms: raw.period_ms,
                max_ms: Self::MAX_PERIOD.as_millis(),
            })?;
        Self::new(raw.capacity, raw.rate, period)
    }
}

impl From<RateLimit> for RawRateLimit {
    fn from(limit: RateLimit) -> Self {
        Self {
            capacity: limit.capacity,
            rate: limit.rate,
            period_ms: limit.period.as_millis(),
        }
    }
}
