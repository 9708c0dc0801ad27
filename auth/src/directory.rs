//! Users, their roles and org memberships, and API keys: a pure state rebuilt from the
//! `auth.events` log, and the decisions taken against it.

use std::collections::{BTreeMap, BTreeSet};

use domain::{OrgId, UserId};
use serde::Serialize;

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

/// Everything the log says so far.
#[derive(Debug, Clone, Default)]
pub struct Directory {
    users: BTreeMap<UserId, User>,
    keys: BTreeMap<String, ApiKey>,
    by_hash: BTreeMap<String, String>,
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
                self.users.entry(user.clone()).or_insert_with(|| User {
                    password_hash: password_hash.clone(),
                    role: *role,
                    orgs: BTreeSet::new(),
                });
            }
            AuthEvent::OrgMembershipGranted { user, org, .. } => {
                if let Some(found) = self.users.get_mut(user) {
                    found.orgs.insert(org.clone());
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

    /// Decides a registration.
    pub fn register(&self, event: AuthEvent) -> Result<AuthEvent, Refusal> {
        if self.users.contains_key(event.user()) {
            return Err(Refusal::UserExists(event.user().clone()));
        }
        Ok(event)
    }

    /// Decides a change about an existing user (membership, key).
    pub fn about_user(&self, event: AuthEvent) -> Result<AuthEvent, Refusal> {
        if !self.users.contains_key(event.user()) {
            return Err(Refusal::UnknownUser(event.user().clone()));
        }
        if let AuthEvent::ApiKeyRevoked { user, key_id, .. } = &event {
            match self.keys.get(key_id) {
                Some(key) if &key.user == user => {}
                _ => return Err(Refusal::UnknownKey(key_id.clone())),
            }
        }
        Ok(event)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(ms: i64) -> domain::Timestamp {
        domain::Timestamp::from_millis(ms).unwrap()
    }

    fn alice() -> UserId {
        UserId::parse("alice").unwrap()
    }

    fn registered() -> Directory {
        let mut directory = Directory::default();
        directory.apply(&AuthEvent::UserRegistered {
            user: alice(),
            password_hash: "h".into(),
            role: Role::User,
            at: t(1),
        });
        directory
    }

    #[test]
    fn a_name_is_registered_once() {
        let directory = registered();
        let again = AuthEvent::UserRegistered {
            user: alice(),
            password_hash: "x".into(),
            role: Role::Admin,
            at: t(2),
        };
        assert_eq!(directory.register(again), Err(Refusal::UserExists(alice())));
    }

    #[test]
    fn a_revoked_key_is_no_longer_found_by_its_hash() {
        let mut directory = registered();
        directory.apply(&AuthEvent::ApiKeyCreated {
            user: alice(),
            key_id: "k1".into(),
            sha256: "abc".into(),
            name: "ci".into(),
            at: t(2),
        });
        assert_eq!(directory.live_key("abc").unwrap().0, "k1");
        directory.apply(&AuthEvent::ApiKeyRevoked {
            user: alice(),
            key_id: "k1".into(),
            at: t(3),
        });
        assert!(directory.live_key("abc").is_none());
        assert!(directory.keys_of(&alice())[0].1.revoked);
    }

    #[test]
    fn only_the_owner_revokes_a_key() {
        let mut directory = registered();
        let bob = UserId::parse("bob").unwrap();
        directory.apply(&AuthEvent::UserRegistered {
            user: bob.clone(),
            password_hash: "h".into(),
            role: Role::User,
            at: t(1),
        });
        directory.apply(&AuthEvent::ApiKeyCreated {
            user: alice(),
            key_id: "k1".into(),
            sha256: "abc".into(),
            name: "ci".into(),
            at: t(2),
        });
        let theft = AuthEvent::ApiKeyRevoked {
            user: bob,
            key_id: "k1".into(),
            at: t(3),
        };
        assert_eq!(
            directory.about_user(theft),
            Err(Refusal::UnknownKey("k1".into()))
        );
    }
}
