//! Who issued a command, recorded for audit; authorisation itself happens at the API edge.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::names::{NameError, OrgId, ServiceName, UserId, split_kind};

/// Why a string is not a valid actor (`user:`, `org:`, `admin:` or `system:` and an id).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ActorError {
    /// There was no `kind:` prefix.
    #[error("actor must look like '<kind>:<id>', got {input:?}")]
    MissingKind {
        /// The rejected input.
        input: String,
    },
    /// The prefix was not one of the known kinds.
    #[error("actor kind must be 'user', 'org', 'admin' or 'system', got {kind:?}")]
    UnknownKind {
        /// The rejected kind.
        kind: String,
    },
    /// The id after the prefix was invalid.
    #[error(transparent)]
    Name(#[from] NameError),
}

/// The principal on whose behalf a command was issued.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum Actor {
    /// An end user, acting for themselves.
    User(UserId),
    /// An organisation's credentials (e.g. an org API key).
    Org(OrgId),
    /// An operator using admin rights.
    Admin(UserId),
    /// One of our own services (sagas, sweepers).
    System(ServiceName),
}

impl FromStr for Actor {
    type Err = ActorError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (kind, id) = split_kind(s).ok_or_else(|| ActorError::MissingKind {
            input: s.to_owned(),
        })?;
        match kind {
            "user" => Ok(Self::User(id.parse()?)),
            "org" => Ok(Self::Org(id.parse()?)),
            "admin" => Ok(Self::Admin(id.parse()?)),
            "system" => Ok(Self::System(id.parse()?)),
            other => Err(ActorError::UnknownKind {
                kind: other.to_owned(),
            }),
        }
    }
}

impl TryFrom<String> for Actor {
    type Error = ActorError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

impl From<Actor> for String {
    fn from(actor: Actor) -> String {
        actor.to_string()
    }
}

impl fmt::Display for Actor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::User(id) => write!(f, "user:{id}"),
            Self::Org(id) => write!(f, "org:{id}"),
            Self::Admin(id) => write!(f, "admin:{id}"),
            Self::System(name) => write!(f, "system:{name}"),
        }
    }
}
