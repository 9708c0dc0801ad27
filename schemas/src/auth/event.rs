//! `auth.events` values: an [`AuthEvent`], its user hoisted to the top of the record.
//!
//! The user is the record key and every event is about one, so the record carries it once
//! beside the `event` union rather than in each branch.

use apache_avro::types::Value;
use domain::{AuthEvent, Role, UserId};

use crate::datum::TopicRecord;
use crate::topic::TopicKind;
use crate::value::{Fields, MappingError, Symbols, Union, record, string, timestamp};

/// The `event` union: one record per [`AuthEvent`] variant, named like it.
pub(crate) const AUTH_EVENT: Union = Union {
    record: "AuthEventRecord",
    field: "event",
    branches: &[
        "UserRegistered",
        "OrgMembershipGranted",
        "ApiKeyCreated",
        "ApiKeyRevoked",
        "RoleChanged",
        "OrgMembershipRevoked",
        "InvitationIssued",
    ],
};

/// The `Role` enum of `UserRegistered` (and of `RoleChanged`, which names the same type).
pub(crate) const ROLE: Symbols<Role> = Symbols {
    record: "UserRegistered",
    field: "role",
    table: &[
        ("USER", Role::User),
        ("PRO", Role::Pro),
        ("ENTERPRISE", Role::Enterprise),
        ("ADMIN", Role::Admin),
    ],
};

impl TopicRecord for AuthEvent {
    const KIND: TopicKind = TopicKind::AuthEvents;

    fn to_avro(&self) -> Result<Value, MappingError> {
        Ok(record(vec![
            ("user", string(self.user())),
            ("event", event_value(self)?),
        ]))
    }

    fn from_avro(value: Value) -> Result<Self, MappingError> {
        let mut f = Fields::of("AuthEventRecord", value)?;
        let user = f.parse("user")?;
        take_event(f.take("event")?, user)
    }
}

fn event_value(event: &AuthEvent) -> Result<Value, MappingError> {
    use AuthEvent as E;
    let fields = match event {
        E::UserRegistered {
            password_hash,
            role,
            at,
            ..
        } => vec![
            ("password_hash", string(password_hash)),
            ("role", ROLE.value(*role)?),
            ("at", timestamp(*at)),
        ],
        E::OrgMembershipGranted { org, at, .. } => {
            vec![("org", string(org)), ("at", timestamp(*at))]
        }
        E::ApiKeyCreated {
            key_id,
            sha256,
            name,
            at,
            ..
        } => vec![
            ("key_id", string(key_id)),
            ("sha256", string(sha256)),
            ("name", string(name)),
            ("at", timestamp(*at)),
        ],
        E::ApiKeyRevoked { key_id, at, .. } => {
            vec![("key_id", string(key_id)), ("at", timestamp(*at))]
        }
        E::RoleChanged { role, by, at, .. } => vec![
            ("role", ROLE.value(*role)?),
            ("by", string(by)),
            ("at", timestamp(*at)),
        ],
        E::OrgMembershipRevoked { org, by, at, .. } => vec![
            ("org", string(org)),
            ("by", string(by)),
            ("at", timestamp(*at)),
        ],
        E::InvitationIssued { sha256, by, at, .. } => vec![
            ("sha256", string(sha256)),
            ("by", string(by)),
            ("at", timestamp(*at)),
        ],
    };
    AUTH_EVENT.wrap(event.name(), record(fields))
}

fn take_event(value: Value, user: UserId) -> Result<AuthEvent, MappingError> {
    use AuthEvent as E;
    let (branch, value) = AUTH_EVENT.unwrap(value)?;
    let mut f = Fields::of(branch, value)?;
    Ok(match branch {
        "UserRegistered" => E::UserRegistered {
            user,
            password_hash: f.string("password_hash")?,
            role: ROLE.take(&mut f)?,
            at: f.timestamp("at")?,
        },
        "OrgMembershipGranted" => E::OrgMembershipGranted {
            user,
            org: f.parse("org")?,
            at: f.timestamp("at")?,
        },
        "ApiKeyCreated" => E::ApiKeyCreated {
            user,
            key_id: f.string("key_id")?,
            sha256: f.string("sha256")?,
            name: f.string("name")?,
            at: f.timestamp("at")?,
        },
        "ApiKeyRevoked" => E::ApiKeyRevoked {
            user,
            key_id: f.string("key_id")?,
            at: f.timestamp("at")?,
        },
        "RoleChanged" => E::RoleChanged {
            user,
            role: ROLE.take(&mut f)?,
            by: f.parse("by")?,
            at: f.timestamp("at")?,
        },
        "OrgMembershipRevoked" => E::OrgMembershipRevoked {
            user,
            org: f.parse("org")?,
            by: f.parse("by")?,
            at: f.timestamp("at")?,
        },
        "InvitationIssued" => E::InvitationIssued {
            user,
            sha256: f.string("sha256")?,
            by: f.parse("by")?,
            at: f.timestamp("at")?,
        },
        other => return Err(AUTH_EVENT.unknown(other)),
    })
}
