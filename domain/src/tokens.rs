//! Token amounts. `Tokens` is a bounded amount (what commands and events carry);
//! `TokenTotal` is a running total of a pool's ledger, which outgrows any single amount.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// Why a number is not a valid token amount.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokensError {
    /// Above [`Tokens::MAX`].
    #[error("token amount must be at most {max}, got {value}")]
    TooLarge {
        /// The rejected value.
        value: u64,
        /// The largest accepted amount.
        max: u64,
    },
    /// Text that is not a whole number.
    #[error("expected a whole number of tokens, got {input:?}")]
    NotANumber {
        /// The rejected input.
        input: String,
    },
}

/// An amount of tokens, from zero to [`Tokens::MAX`] (10^12).
///
/// The bound is far above any real request or purchase but keeps products with rates and
/// periods inside 128-bit arithmetic and every amount inside an Avro `long`.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(try_from = "u64", into = "u64")]
pub struct Tokens(u64);

impl Tokens {
    /// No tokens.
    pub const ZERO: Self = Self(0);
    /// The largest amount: one trillion tokens.
    pub const MAX: Self = Self(1_000_000_000_000);

    /// `value` tokens, if not above [`Tokens::MAX`].
    pub const fn new(value: u64) -> Result<Self, TokensError> {
        if value > Self::MAX.0 {
            return Err(TokensError::TooLarge {
                value,
                max: Self::MAX.0,
            });
        }
        Ok(Self(value))
    }

    /// `value` tokens, clamped to [`Tokens::MAX`].
    pub const fn saturating_new(value: u64) -> Self {
        if value > Self::MAX.0 {
            Self::MAX
        } else {
            Self(value)
        }
    }

    /// The amount as a plain number.
    pub const fn get(self) -> u64 {
        self.0
    }

    /// Whether this is zero tokens.
    pub const fn is_zero(self) -> bool {
        self.0 == 0
    }

    /// `self + other`, or `None` above [`Tokens::MAX`].
    pub fn checked_add(self, other: Tokens) -> Option<Tokens> {
        Self::new(self.0 + other.0).ok()
    }

    /// `self - other`, or `None` below zero.
    pub fn checked_sub(self, other: Tokens) -> Option<Tokens> {
        self.0.checked_sub(other.0).map(Self)
    }

    /// `self - other`, or zero.
    pub fn saturating_sub(self, other: Tokens) -> Tokens {
        Self(self.0.saturating_sub(other.0))
    }
}

impl TryFrom<u64> for Tokens {
    type Error = TokensError;
    fn try_from(value: u64) -> Result<Self, Self::Error> {
        Self::new(value)
    }
}

impl From<Tokens> for u64 {
    fn from(t: Tokens) -> u64 {
        t.0
    }
}

impl FromStr for Tokens {
    type Err = TokensError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let value = s.parse::<u64>().map_err(|_| TokensError::NotANumber {
            input: s.to_owned(),
        })?;
        Self::new(value)
    }
}

impl fmt::Display for Tokens {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// A running total in a pool's ledger (granted, consumed, reserved, overdraft).
///
/// Lifetime sums can pass [`Tokens::MAX`], so totals are plain `u64`. Commands are checked
/// before they are accepted, so the saturating operations used when applying events never
/// actually saturate; they exist so that `apply` cannot panic on a corrupt log.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct TokenTotal(u64);

impl TokenTotal {
    /// Nothing yet.
    pub const ZERO: Self = Self(0);

    /// A total of `value` tokens.
    pub const fn new(value: u64) -> Self {
        Self(value)
    }

    /// The total as a plain number.
    pub const fn get(self) -> u64 {
        self.0
    }

    /// `self + amount`, clamped at `u64::MAX`.
    pub fn saturating_add(self, amount: impl Into<TokenTotal>) -> Self {
        Self(self.0.saturating_add(amount.into().0))
    }

    /// `self - amount`, or zero.
    pub fn saturating_sub(self, amount: impl Into<TokenTotal>) -> Self {
        Self(self.0.saturating_sub(amount.into().0))
    }

    /// The total as an amount, clamped to [`Tokens::MAX`].
    pub fn to_tokens_saturating(self) -> Tokens {
        Tokens::saturating_new(self.0)
    }
}

impl From<Tokens> for TokenTotal {
    fn from(t: Tokens) -> Self {
        Self(t.0)
    }
}

impl fmt::Display for TokenTotal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}
