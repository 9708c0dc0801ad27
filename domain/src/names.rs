//! Validated names: users, organisations, providers and services.
//!
//! Each is a newtype over `String` that can only be built by parsing, so a value in hand is
//! always valid; serde goes through the same parser, so bad input fails to deserialise.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// Why a string is not a valid name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NameError {
    /// The string was empty.
    #[error("{what} must not be empty")]
    Empty {
        /// Which kind of name was being parsed.
        what: &'static str,
    },
    /// The string was longer than the kind allows.
    #[error("{what} must be at most {max} characters long, got {len}")]
    TooLong {
        /// Which kind of name was being parsed.
        what: &'static str,
        /// The longest accepted length.
        max: usize,
        /// The length that was given.
        len: usize,
    },
    /// The string held a character outside the kind's alphabet.
    #[error("{what} may only contain {allowed}; found {found:?} at position {position}")]
    InvalidChar {
        /// Which kind of name was being parsed.
        what: &'static str,
        /// The accepted alphabet, for the message.
        allowed: &'static str,
        /// The offending character.
        found: char,
        /// Its position (in characters).
        position: usize,
    },
}

/// Alphabet of user, organisation and service names.
const ID_ALPHABET: &str = "lowercase letters, digits, '_', '.' and '-'";
/// Alphabet of provider names (they appear in URLs and metric labels).
const PROVIDER_ALPHABET: &str = "lowercase letters, digits and '-'";

fn is_id_char(c: char) -> bool {
    c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '_' | '.' | '-')
}

fn is_provider_char(c: char) -> bool {
    c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'
}

fn validate(
    s: &str,
    what: &'static str,
    max: usize,
    allowed: &'static str,
    ok: fn(char) -> bool,
) -> Result<(), NameError> {
    if s.is_empty() {
        return Err(NameError::Empty { what });
    }
    if let Some((position, found)) = s.chars().enumerate().find(|&(_, c)| !ok(c)) {
        return Err(NameError::InvalidChar {
            what,
            allowed,
            found,
            position,
        });
    }
    // Only ASCII is left, so bytes and characters agree.
    if s.len() > max {
        return Err(NameError::TooLong {
            what,
            max,
            len: s.len(),
        });
    }
    Ok(())
}

/// Splits `kind:name` forms (owners, actors) at the first colon.
pub(crate) fn split_kind(s: &str) -> Option<(&str, &str)> {
    s.split_once(':')
}

macro_rules! name_type {
    ($(#[$doc:meta])* $name:ident, $what:literal, $max:literal, $allowed:expr, $ok:expr) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            /// Longest accepted name, in characters.
            pub const MAX_LEN: usize = $max;

            /// Parses `s`, refusing empty, over-long or out-of-alphabet input (no case folding).
            pub fn parse(s: &str) -> Result<Self, NameError> {
                validate(s, $what, $max, $allowed, $ok).map(|()| Self(s.to_owned()))
            }

            /// The name as a string slice.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl FromStr for $name {
            type Err = NameError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Self::parse(s)
            }
        }

        impl TryFrom<String> for $name {
            type Error = NameError;
            fn try_from(s: String) -> Result<Self, Self::Error> {
                validate(&s, $what, $max, $allowed, $ok).map(|()| Self(s))
            }
        }

        impl From<$name> for String {
            fn from(name: $name) -> String {
                name.0
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

name_type!(
    /// A user's id: 1–64 characters of `[a-z0-9_.-]`.
    UserId, "user id", 64, ID_ALPHABET, is_id_char
);
name_type!(
    /// An organisation's id: 1–64 characters of `[a-z0-9_.-]`.
    OrgId, "organisation id", 64, ID_ALPHABET, is_id_char
);
name_type!(
    /// An upstream provider's name (`openai`, `gemini`): 1–32 characters of `[a-z0-9-]`.
    ///
    /// Which providers exist is configuration, checked at the API edge, not here.
    ProviderName, "provider name", 32, PROVIDER_ALPHABET, is_provider_char
);
name_type!(
    /// A service acting on its own behalf (`purchase-saga`): 1–64 characters of `[a-z0-9_.-]`.
    ServiceName, "service name", 64, ID_ALPHABET, is_id_char
);
