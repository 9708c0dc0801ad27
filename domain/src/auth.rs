//! Who may spend: the roles users hold and the facts of the `auth.events` log (users
//! registered, org memberships, API keys created and revoked). Pure data; the auth service
//! decides and records them, and every reader folds them into its own directory.

use serde::{Deserialize, Serialize};

use crate::names::{OrgId, UserId};
use crate::tier::Tier;
use crate::time::Timestamp;

/// What a user may do; each role spends at the tier of the same name.
///
/// Serde form (`USER`, `PRO`, ...) because access tokens carry it as a claim.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Role {
    /// Spends from their own pools (and their orgs').
    User,
    /// A paying user.
    Pro,
    /// A member of an enterprise contract.
    Enterprise,
    /// Manages pools, policies and memberships.
    Admin,
}

impl Role {
    /// The tier a role's pools get.
    pub fn tier(self) -> Tier {
        match self {
            Self::User => Tier::User,
            Self::Pro => Tier::Pro,
            Self::Enterprise => Tier::Enterprise,
            Self::Admin => Tier::Admin,
        }
    }
}

/// A fact about users and keys, as stored in `auth.events` (keyed by user id).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthEvent {
    /// A user registered, with their password's Argon2id hash (PHC string).
    UserRegistered {
        /// Who.
        user: UserId,
        /// Argon2id PHC string of their password.
        password_hash: String,
        /// What they may do.
        role: Role,
        /// When.
        at: Timestamp,
    },
    /// A user joined an org (an admin decided).
    OrgMembershipGranted {
        /// Who.
        user: UserId,
        /// The org whose pools they may now spend from.
        org: OrgId,
        /// When.
        at: Timestamp,
    },
    /// A key was issued; only its SHA-256 is kept.
    ApiKeyCreated {
        /// Whose.
        user: UserId,
        /// The key's id (shown to its owner, used to revoke it).
        key_id: String,
        /// Hex SHA-256 of the raw key.
        sha256: String,
        /// The owner's label.
        name: String,
        /// When.
        at: Timestamp,
    },
    /// A key was revoked.
    ApiKeyRevoked {
        /// Whose.
        user: UserId,
        /// Which key.
        key_id: String,
        /// When.
        at: Timestamp,
    },
}

impl AuthEvent {
    /// The user it is about (the record key).
    pub fn user(&self) -> &UserId {
        match self {
            Self::UserRegistered { user, .. }
            | Self::OrgMembershipGranted { user, .. }
            | Self::ApiKeyCreated { user, .. }
            | Self::ApiKeyRevoked { user, .. } => user,
        }
    }

    /// The variant's name (also its Avro record's name).
    pub fn name(&self) -> &'static str {
        match self {
            Self::UserRegistered { .. } => "UserRegistered",
            Self::OrgMembershipGranted { .. } => "OrgMembershipGranted",
            Self::ApiKeyCreated { .. } => "ApiKeyCreated",
            Self::ApiKeyRevoked { .. } => "ApiKeyRevoked",
        }
    }
}
