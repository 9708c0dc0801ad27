//! Users, their roles and org memberships, invitations and API keys: a pure state rebuilt
//! from the `auth.events` log, and the decisions taken against it.
//!
//! ADMIN is never taken from a name or a registration: only a `RoleChanged` grants it,
//! written by an ADMIN or, once per log, by the bootstrap credential given at install.

use std::collections::{BTreeMap, BTreeSet};

use domain::{Actor, OrgId, UserId};
use serde::Serialize;
use subtle::ConstantTimeEq;

/// The facts of the log and the roles they grant live in the pure domain; here they are
/// folded into a directory.
pub use domain::{AuthEvent, Role};

/// A registered user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    /// Argon2id PHC string.
    pub password_hash: String,
    /// Their role.
    pub role: Role,
    /// Orgs whose pools they may spend from.
    pub orgs: BTreeSet<OrgId>,
}

/// An API key, by id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ApiKey {
    /// Whose.
    pub user: UserId,
    /// The caller's label.
    pub name: String,
    /// Hex SHA-256 of the raw key.
    #[serde(skip)]
    pub sha256: String,
    /// When created.
    pub created_at_ms: i64,
    /// Whether revoked.
    pub revoked: bool,
}

/// The actor of the install's first ADMIN grant (`system:auth-bootstrap`).
pub fn bootstrap_actor() -> Actor {
    // A constant that parses: a valid service name.
    Actor::System("auth-bootstrap".parse().expect("a valid service name"))
}

/// Everything the log says so far.
#[derive(Debug, Clone, Default)]
pub struct Directory {
    users: BTreeMap<UserId, User>,
    keys: BTreeMap<String, ApiKey>,
    by_hash: BTreeMap<String, String>,
    /// Hex SHA-256 of the open invitation of each name not registered yet.
    invitations: BTreeMap<UserId, String>,
    /// Whether the bootstrap credential has granted ADMIN once: it never does again, so a
    /// demoted bootstrap ADMIN does not come back at the next start.
    bootstrapped: bool,
}

/// Why a change was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// The user name is taken.
    #[error("user {0} already exists")]
    UserExists(UserId),
    /// No such user.
    #[error("no user {0}")]
    UnknownUser(UserId),
    /// No such key of this user.
    #[error("no key {0}")]
    UnknownKey(String),
    /// The user is not a member of the org.
    #[error("{user} is not a member of org {org}")]
    NotAMember {
        /// Who.
        user: UserId,
        /// Which org.
        org: OrgId,
    },
}

/// What the bootstrap credential should do at start, for the configured ADMIN name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Bootstrap {
    /// The log has had its bootstrap ADMIN already: nothing, ever again.
    Done,
    /// Nobody has the name: register it with the bootstrap password, then grant ADMIN.
    Register,
    /// Someone has the name: grant ADMIN only if its password is the bootstrap password
    /// (checked by the caller), so a squatter of the name gains nothing.
    PromoteIfPasswordMatches(String),
}

impl Directory {
    /// Applies one fact.
    pub fn apply(&mut self, event: &AuthEvent) {
        match event {
            AuthEvent::UserRegistered {
                user,
                password_hash,
                role,
                ..
            } => {
                // ADMIN from a registration was the first-come rule: never honoured.
                let role = match role {
                    Role::Admin => Role::User,
                    other => *other,
                };
                self.invitations.remove(user);
                self.users.entry(user.clone()).or_insert_with(|| User {
                    password_hash: password_hash.clone(),
                    role,
                    orgs: BTreeSet::new(),
                });
            }
            AuthEvent::RoleChanged { user, role, by, .. } => {
                if *by == bootstrap_actor() {
                    self.bootstrapped = true;
                }
                if let Some(found) = self.users.get_mut(user) {
                    found.role = *role;
                }
            }
            AuthEvent::OrgMembershipGranted { user, org, .. } => {
                if let Some(found) = self.users.get_mut(user) {
                    found.orgs.insert(org.clone());
                }
            }
            AuthEvent::OrgMembershipRevoked { user, org, .. } => {
                if let Some(found) = self.users.get_mut(user) {
                    found.orgs.remove(org);
                }
            }
            AuthEvent::InvitationIssued { user, sha256, .. } => {
                if !self.users.contains_key(user) {
                    self.invitations.insert(user.clone(), sha256.clone());
                }
            }
            AuthEvent::ApiKeyCreated {
                user,
                key_id,
                sha256,
                name,
                at,
            } => {
                self.by_hash.insert(sha256.clone(), key_id.clone());
                self.keys.insert(
                    key_id.clone(),
                    ApiKey {
                        user: user.clone(),
                        name: name.clone(),
                        sha256: sha256.clone(),
                        created_at_ms: at.as_millis(),
                        revoked: false,
                    },
                );
            }
            AuthEvent::ApiKeyRevoked { key_id, .. } => {
                if let Some(key) = self.keys.get_mut(key_id) {
                    key.revoked = true;
                    self.by_hash.remove(&key.sha256);
                }
            }
        }
    }

    /// The user named `user`.
    pub fn user(&self, user: &UserId) -> Option<&User> {
        self.users.get(user)
    }

    /// The live (not revoked) key whose hash is `sha256`, with its id.
    pub fn live_key(&self, sha256: &str) -> Option<(&str, &ApiKey)> {
        let id = self.by_hash.get(sha256)?;
        self.keys
            .get(id)
            .filter(|k| !k.revoked)
            .map(|k| (id.as_str(), k))
    }

    /// The keys of `user`, by id.
    pub fn keys_of(&self, user: &UserId) -> Vec<(&str, &ApiKey)> {
        self.keys
            .iter()
            .filter(|(_, k)| &k.user == user)
            .map(|(id, k)| (id.as_str(), k))
            .collect()
    }

    /// Whether `sha256` (hex SHA-256 of a presented invitation) is the open invitation of
    /// `user`, compared in constant time.
    pub fn invitation_matches(&self, user: &UserId, sha256: &str) -> bool {
        self.invitations
            .get(user)
            .is_some_and(|open| bool::from(open.as_bytes().ct_eq(sha256.as_bytes())))
    }

    /// What the bootstrap credential should do for the ADMIN name `admin`.
    pub fn bootstrap(&self, admin: &UserId) -> Bootstrap {
        if self.bootstrapped {
            return Bootstrap::Done;
        }
        match self.users.get(admin) {
            None => Bootstrap::Register,
            Some(user) => Bootstrap::PromoteIfPasswordMatches(user.password_hash.clone()),
        }
    }

    /// Decides a registration (and an invitation, which is for a name not taken yet).
    pub fn register(&self, event: AuthEvent) -> Result<AuthEvent, Refusal> {
        if self.users.contains_key(event.user()) {
            return Err(Refusal::UserExists(event.user().clone()));
        }
        Ok(event)
    }

    /// Decides a change about an existing user (role, membership, key).
    pub fn about_user(&self, event: AuthEvent) -> Result<AuthEvent, Refusal> {
        let Some(found) = self.users.get(event.user()) else {
            return Err(Refusal::UnknownUser(event.user().clone()));
        };
        match &event {
            AuthEvent::ApiKeyRevoked { user, key_id, .. } => match self.keys.get(key_id) {
                Some(key) if &key.user == user => {}
                _ => return Err(Refusal::UnknownKey(key_id.clone())),
            },
            AuthEvent::OrgMembershipRevoked { user, org, .. } if !found.orgs.contains(org) => {
                return Err(Refusal::NotAMember {
                    user: user.clone(),
                    org: org.clone(),
                });
            }
            _ => {}
        }
        Ok(event)
    }
}

#[cfg(test)]
#[path = "directory_tests.rs"]
mod tests;
