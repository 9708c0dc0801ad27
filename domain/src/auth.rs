//! Who may spend: the roles users hold and the facts of the `auth.events` log (users
//! registered, roles changed, org memberships granted and revoked, invitations, API keys
//! created and revoked). Pure data; the auth service decides and records them, and every
//! reader folds them into its own directory.

use serde::{Deserialize, Serialize};

use crate::actor::Actor;
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
        /// The role asked for at registration. Readers never grant ADMIN from it (that was
        /// the first-come rule, which let whoever registered a name first own the system):
        /// ADMIN comes only from a [`AuthEvent::RoleChanged`].
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
    /// A user's role was set: by an ADMIN, or by the bootstrap credential given at install.
    RoleChanged {
        /// Whose.
        user: UserId,
        /// Their role from now on.
        role: Role,
        /// Who decided: `admin:<id>`, or `system:auth-bootstrap` for the install's ADMIN.
        by: Actor,
        /// When.
        at: Timestamp,
    },
    /// A user left an org (an ADMIN decided): they no longer spend from its pools.
    OrgMembershipRevoked {
        /// Who.
        user: UserId,
        /// The org.
        org: OrgId,
        /// Who decided.
        by: Actor,
        /// When.
        at: Timestamp,
    },
    /// An ADMIN invited a user name to register (registration mode `invite`); only the
    /// SHA-256 of the invitation is kept, and a name registers once, so it is single-use.
    InvitationIssued {
        /// The invited user name.
        user: UserId,
        /// Hex SHA-256 of the raw invitation.
        sha256: String,
        /// Who invited.
        by: Actor,
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
            | Self::ApiKeyRevoked { user, .. }
            | Self::RoleChanged { user, .. }
            | Self::OrgMembershipRevoked { user, .. }
            | Self::InvitationIssued { user, .. } => user,
        }
    }

    /// The variant's name (also its Avro record's name).
    pub fn name(&self) -> &'static str {
        match self {
            Self::UserRegistered { .. } => "UserRegistered",
            Self::OrgMembershipGranted { .. } => "OrgMembershipGranted",
            Self::ApiKeyCreated { .. } => "ApiKeyCreated",
            Self::ApiKeyRevoked { .. } => "ApiKeyRevoked",
            Self::RoleChanged { .. } => "RoleChanged",
            Self::OrgMembershipRevoked { .. } => "OrgMembershipRevoked",
            Self::InvitationIssued { .. } => "InvitationIssued",
        }
    }
}
