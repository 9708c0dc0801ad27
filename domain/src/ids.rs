//! Opaque UUID identifiers. The domain never generates them: the edges do (UUIDv7).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// A string that is not a UUID.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{what} must be a UUID, got {input:?}")]
pub struct IdError {
    /// Which kind of id was being parsed.
    pub what: &'static str,
    /// The rejected input.
    pub input: String,
}

macro_rules! uuid_id {
    ($(#[$doc:meta])* $name:ident, $what:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(Uuid);

        impl $name {
            /// Wraps a UUID made at the edge.
            pub const fn from_uuid(id: Uuid) -> Self {
                Self(id)
            }

            /// The wrapped UUID.
            pub const fn as_uuid(&self) -> Uuid {
                self.0
            }
        }

        impl From<Uuid> for $name {
            fn from(id: Uuid) -> Self {
                Self(id)
            }
        }

        impl From<$name> for Uuid {
            fn from(id: $name) -> Uuid {
                id.0
            }
        }

        impl FromStr for $name {
            type Err = IdError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Uuid::parse_str(s).map(Self).map_err(|_| IdError {
                    what: $what,
                    input: s.to_owned(),
                })
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Display::fmt(&self.0.hyphenated(), f)
            }
        }
    };
}

uuid_id!(
    /// Identifies one reservation (hold) on a pool; the client picks it, so retries are safe.
    ReservationId, "reservation id"
);
uuid_id!(
    /// Identifies one grant of tokens to a pool; retries with the same id are idempotent.
    GrantId, "grant id"
);
uuid_id!(
    /// Identifies one command; the processor deduplicates on it.
    CommandId, "command id"
);
uuid_id!(
    /// Identifies one token purchase (the purchase saga's key).
    PurchaseId, "purchase id"
);
