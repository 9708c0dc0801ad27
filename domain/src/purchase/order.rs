//! What a purchase buys and how it is paid: the order, as the buyer placed it.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::pool_id::PoolId;
use crate::tokens::Tokens;

/// Why a price or payment method is not valid.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OrderError {
    /// A price of zero or above [`Cents::MAX`].
    #[error("price must be between 1 and {max} cents, got {value}")]
    PriceOutOfRange {
        /// The rejected value.
        value: u64,
        /// The largest accepted price.
        max: u64,
    },
    /// A payment method that is empty, too long or has characters outside `[A-Za-z0-9_-]`.
    #[error(
        "payment method must be 1 to 64 characters of letters, digits, '_' and '-', got {input:?}"
    )]
    InvalidPaymentMethod {
        /// The rejected input.
        input: String,
    },
}

/// A price in cents, from 1 to [`Cents::MAX`] (10^12, ten billion in the currency).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "u64", into = "u64")]
pub struct Cents(u64);

impl Cents {
    /// The largest price.
    pub const MAX: u64 = 1_000_000_000_000;

    /// `value` cents, if in range.
    pub const fn new(value: u64) -> Result<Self, OrderError> {
        if value == 0 || value > Self::MAX {
            return Err(OrderError::PriceOutOfRange {
                value,
                max: Self::MAX,
            });
        }
        Ok(Self(value))
    }

    /// The amount in cents.
    pub const fn get(self) -> u64 {
        self.0
    }
}

impl TryFrom<u64> for Cents {
    type Error = OrderError;
    fn try_from(value: u64) -> Result<Self, Self::Error> {
        Self::new(value)
    }
}

impl From<Cents> for u64 {
    fn from(c: Cents) -> u64 {
        c.0
    }
}

impl fmt::Display for Cents {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} cents", self.0)
    }
}

/// An opaque token naming how the buyer pays, issued by the payment provider
/// (like a card token): the saga passes it on and never looks inside.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct PaymentMethod(String);

impl PaymentMethod {
    /// The token as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for PaymentMethod {
    type Err = OrderError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let valid = (1..=64).contains(&s.len())
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
        if !valid {
            return Err(OrderError::InvalidPaymentMethod {
                input: s.to_owned(),
            });
        }
        Ok(Self(s.to_owned()))
    }
}

impl TryFrom<String> for PaymentMethod {
    type Error = OrderError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

impl From<PaymentMethod> for String {
    fn from(m: PaymentMethod) -> String {
        m.0
    }
}

impl fmt::Display for PaymentMethod {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A purchase order: `tokens` for `pool`, paid `price` with `payment_method`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct PurchaseOrder {
    /// The pool (a user's or an organisation's) that receives the tokens.
    pub pool: PoolId,
    /// Tokens bought.
    pub tokens: Tokens,
    /// What they cost.
    pub price: Cents,
    /// How the buyer pays.
    pub payment_method: PaymentMethod,
}
