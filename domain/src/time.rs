//! Time as the domain sees it: instants and spans in whole milliseconds, always passed in.
//!
//! Both types are bounded so that adding any `DurationMs` to any `Timestamp` stays inside
//! `i64`: arithmetic never wraps, and "checked" only ever fails at the end of year 9999.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// Why a number is not a valid instant or span.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TimeError {
    /// An instant before the Unix epoch or after the end of year 9999.
    #[error("timestamp must be between 0 and {max} ms since the Unix epoch, got {millis}")]
    TimestampOutOfRange {
        /// The rejected value.
        millis: i64,
        /// The largest accepted value.
        max: i64,
    },
    /// A span longer than the whole representable range.
    #[error("duration must be at most {max} ms, got {millis}")]
    DurationOutOfRange {
        /// The rejected value.
        millis: u64,
        /// The largest accepted value.
        max: u64,
    },
    /// Text that is not a whole number of milliseconds.
    #[error("expected a whole number of milliseconds, got {input:?}")]
    NotANumber {
        /// The rejected input.
        input: String,
    },
}

/// An instant in milliseconds since the Unix epoch, from 1970 to the end of year 9999.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(try_from = "i64", into = "i64")]
pub struct Timestamp(i64);

impl Timestamp {
    /// 1970-01-01T00:00:00Z.
    pub const EPOCH: Self = Self(0);
    /// 9999-12-31T23:59:59.999Z.
    pub const MAX: Self = Self(253_402_300_799_999);

    /// The instant `millis` ms after the epoch, if within range.
    pub const fn from_millis(millis: i64) -> Result<Self, TimeError> {
        if millis < 0 || millis > Self::MAX.0 {
            return Err(TimeError::TimestampOutOfRange {
                millis,
                max: Self::MAX.0,
            });
        }
        Ok(Self(millis))
    }

    /// The instant `time` (e.g. a clock's reading, which the caller takes: the domain has
    /// no clock), to the millisecond; one outside the range is clamped to its ends.
    pub fn from_system_time(time: std::time::SystemTime) -> Self {
        match time.duration_since(std::time::UNIX_EPOCH) {
            Ok(since) => {
                Self(i64::try_from(since.as_millis()).map_or(Self::MAX.0, |ms| ms.min(Self::MAX.0)))
            }
            Err(_) => Self::EPOCH,
        }
    }

    /// Milliseconds since the epoch.
    pub const fn as_millis(self) -> i64 {
        self.0
    }

    /// `self + d`, or `None` past [`Timestamp::MAX`].
    pub fn checked_add(self, d: DurationMs) -> Option<Self> {
        // Both operands are below 2^48, so the sum cannot overflow i64.
        Self::from_millis(self.0 + d.as_millis_i64()).ok()
    }

    /// `self + d`, clamped to [`Timestamp::MAX`].
    pub fn saturating_add(self, d: DurationMs) -> Self {
        self.checked_add(d).unwrap_or(Self::MAX)
    }

    /// How long after `earlier` this is; zero if it is not after it (clocks can step back).
    pub fn saturating_duration_since(self, earlier: Timestamp) -> DurationMs {
        // Non-negative and at most MAX, so the conversion cannot fail.
        DurationMs(self.0.saturating_sub(earlier.0).max(0).unsigned_abs())
    }

    /// Start of the window of length `period` containing this instant, windows being aligned
    /// to the epoch; `self` when `period` is zero.
    pub fn floor_to(self, period: DurationMs) -> Self {
        match period.as_millis_i64() {
            0 => self,
            p => Self(self.0 - self.0 % p),
        }
    }
}

impl TryFrom<i64> for Timestamp {
    type Error = TimeError;
    fn try_from(millis: i64) -> Result<Self, Self::Error> {
        Self::from_millis(millis)
    }
}

impl From<Timestamp> for i64 {
    fn from(t: Timestamp) -> i64 {
        t.0
    }
}

impl FromStr for Timestamp {
    type Err = TimeError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let millis = s.parse::<i64>().map_err(|_| TimeError::NotANumber {
            input: s.to_owned(),
        })?;
        Self::from_millis(millis)
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}ms", self.0)
    }
}

/// A non-negative span of whole milliseconds, at most as long as the whole timestamp range.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(try_from = "u64", into = "u64")]
pub struct DurationMs(u64);

impl DurationMs {
    /// No time at all.
    pub const ZERO: Self = Self(0);
    /// One second.
    pub const SECOND: Self = Self(1_000);
    /// One minute.
    pub const MINUTE: Self = Self(60_000);
    /// One hour.
    pub const HOUR: Self = Self(3_600_000);
    /// One day.
    pub const DAY: Self = Self(86_400_000);
    /// The longest span: from the epoch to [`Timestamp::MAX`].
    pub const MAX: Self = Self(Timestamp::MAX.0.unsigned_abs());

    /// A span of `millis` ms, if not longer than [`DurationMs::MAX`].
    pub const fn from_millis(millis: u64) -> Result<Self, TimeError> {
        if millis > Self::MAX.0 {
            return Err(TimeError::DurationOutOfRange {
                millis,
                max: Self::MAX.0,
            });
        }
        Ok(Self(millis))
    }

    /// A span of `millis` ms, clamped to [`DurationMs::MAX`].
    pub const fn saturating_from_millis(millis: u64) -> Self {
        if millis > Self::MAX.0 {
            Self::MAX
        } else {
            Self(millis)
        }
    }

    /// Length in milliseconds.
    pub const fn as_millis(self) -> u64 {
        self.0
    }

    /// Whether this is the empty span.
    pub const fn is_zero(self) -> bool {
        self.0 == 0
    }

    /// `self + other`, clamped to [`DurationMs::MAX`].
    pub const fn saturating_add(self, other: DurationMs) -> Self {
        Self::saturating_from_millis(self.0 + other.0)
    }

    /// `self * n`, or `None` past [`DurationMs::MAX`].
    pub fn checked_mul(self, n: u64) -> Option<Self> {
        self.0
            .checked_mul(n)
            .and_then(|ms| Self::from_millis(ms).ok())
    }

    const fn as_millis_i64(self) -> i64 {
        // At most Timestamp::MAX, so it fits.
        self.0 as i64
    }
}

impl TryFrom<u64> for DurationMs {
    type Error = TimeError;
    fn try_from(millis: u64) -> Result<Self, Self::Error> {
        Self::from_millis(millis)
    }
}

impl From<DurationMs> for u64 {
    fn from(d: DurationMs) -> u64 {
        d.0
    }
}

impl FromStr for DurationMs {
    type Err = TimeError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let millis = s.parse::<u64>().map_err(|_| TimeError::NotANumber {
            input: s.to_owned(),
        })?;
        Self::from_millis(millis)
    }
}

impl fmt::Display for DurationMs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}ms", self.0)
    }
}
