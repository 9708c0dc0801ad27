//! Who owns a pool and which provider it is for; `PoolId` is the Kafka key of a pool.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::names::{NameError, OrgId, ProviderName, UserId, split_kind};

/// Why a string is not a valid owner (`user:<id>` or `org:<id>`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OwnerError {
    /// There was no `kind:` prefix.
    #[error("owner must look like 'user:<id>' or 'org:<id>', got {input:?}")]
    MissingKind {
        /// The rejected input.
        input: String,
    },
    /// The prefix was neither `user` nor `org`.
    #[error("owner kind must be 'user' or 'org', got {kind:?}")]
    UnknownKind {
        /// The rejected kind.
        kind: String,
    },
    /// The id after the prefix was invalid.
    #[error(transparent)]
    Name(#[from] NameError),
}

/// Who a pool belongs to: a user or an organisation.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum Owner {
    /// A single user.
    User(UserId),
    /// An organisation.
    Org(OrgId),
}

impl FromStr for Owner {
    type Err = OwnerError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (kind, id) = split_kind(s).ok_or_else(|| OwnerError::MissingKind {
            input: s.to_owned(),
        })?;
        match kind {
            "user" => Ok(Self::User(id.parse()?)),
            "org" => Ok(Self::Org(id.parse()?)),
            other => Err(OwnerError::UnknownKind {
                kind: other.to_owned(),
            }),
        }
    }
}

impl Owner {
    /// `user` or `org`: the part before the colon.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::User(_) => "user",
            Self::Org(_) => "org",
        }
    }

    /// The user's or org's id: the part after the colon.
    pub fn id(&self) -> &str {
        match self {
            Self::User(id) => id.as_str(),
            Self::Org(id) => id.as_str(),
        }
    }
}

impl TryFrom<String> for Owner {
    type Error = OwnerError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

impl From<Owner> for String {
    fn from(owner: Owner) -> String {
        owner.to_string()
    }
}

impl fmt::Display for Owner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::User(id) => write!(f, "user:{id}"),
            Self::Org(id) => write!(f, "org:{id}"),
        }
    }
}

/// Why a string is not a valid pool id (`<owner>/<provider>`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PoolIdError {
    /// There was no `/<provider>` part.
    #[error(
        "pool id must look like 'user:<id>/<provider>' or 'org:<id>/<provider>', got {input:?}"
    )]
    MissingProvider {
        /// The rejected input.
        input: String,
    },
    /// The owner part was invalid.
    #[error("invalid pool owner: {0}")]
    Owner(#[from] OwnerError),
    /// The provider part was invalid.
    #[error("invalid pool provider: {0}")]
    Provider(#[source] NameError),
}

/// One token pool: an owner's balance and limits for one provider.
///
/// Its canonical string form (`user:alice/openai`, `org:acme/gemini`) is the Kafka key, so
/// `Display` and `FromStr` round-trip exactly and there is no other spelling of the same pool.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct PoolId {
    owner: Owner,
    provider: ProviderName,
}

impl PoolId {
    /// The pool of `owner` for `provider`.
    pub fn new(owner: Owner, provider: ProviderName) -> Self {
        Self { owner, provider }
    }

    /// Who the pool belongs to.
    pub fn owner(&self) -> &Owner {
        &self.owner
    }

    /// Which provider the pool is for.
    pub fn provider(&self) -> &ProviderName {
        &self.provider
    }
}

impl FromStr for PoolId {
    type Err = PoolIdError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        // Names cannot contain '/', so the first slash is the only separator.
        let (owner, provider) = s
            .split_once('/')
            .ok_or_else(|| PoolIdError::MissingProvider {
                input: s.to_owned(),
            })?;
        Ok(Self {
            owner: owner.parse()?,
            provider: provider.parse().map_err(PoolIdError::Provider)?,
        })
    }
}

impl TryFrom<String> for PoolId {
    type Error = PoolIdError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

impl From<PoolId> for String {
    fn from(id: PoolId) -> String {
        id.to_string()
    }
}

impl fmt::Display for PoolId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.owner, self.provider)
    }
}
