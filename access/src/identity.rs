//! The access rules, as pure functions of who is calling: a caller spends from and reads its
//! own pools and its orgs'; only an ADMIN manages pools and policies or reads across
//! tenants (top consumers, anomalies, per-provider usage).

use std::fmt;

use auth::Role;
use domain::{Actor, OrgId, Owner, PoolId, UserId};
use problem::Problem;

/// A caller whose credential checked out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// The user the credential belongs to.
    pub user: UserId,
    /// Their role.
    pub role: Role,
    /// The orgs they are a member of, as the auth log says at the lookup (never a token's claim).
    pub orgs: Vec<OrgId>,
}

/// Why an identified caller may not do something (answered 403).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// The pools of `owner` are neither the caller's nor an org's they belong to.
    NotYours { user: UserId, owner: Owner },
    /// Only an ADMIN may do `what`.
    AdminOnly { user: UserId, what: &'static str },
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NotYours {
                user,
                owner: Owner::User(other),
            } => write!(f, "{user} may not use the pools of user {other}"),
            Self::NotYours {
                user,
                owner: Owner::Org(org),
            } => write!(f, "{user} is not a member of org {org}"),
            Self::AdminOnly { user, what } => {
                write!(f, "only an ADMIN may {what}, and {user} is not one")
            }
        }
    }
}

impl std::error::Error for Refusal {}

impl From<Refusal> for Problem {
    fn from(refusal: Refusal) -> Self {
        let title = match refusal {
            Refusal::NotYours { .. } => "Not your pool",
            Refusal::AdminOnly { .. } => "Only an admin may do this",
        };
        Problem::forbidden(title, refusal.to_string())
    }
}

impl Identity {
    /// Whether the caller has the ADMIN role.
    pub fn is_admin(&self) -> bool {
        self.role == Role::Admin
    }

    /// Who the caller is in the audit trail of the commands it issues.
    pub fn actor(&self) -> Actor {
        if self.is_admin() {
            Actor::Admin(self.user.clone())
        } else {
            Actor::User(self.user.clone())
        }
    }

    /// Whether the caller belongs to `org`.
    pub fn is_member_of(&self, org: &OrgId) -> bool {
        self.orgs.contains(org)
    }

    /// Whose pools a call is charged to: the caller's own, or (when it acts for `org`) the
    /// org's, if the caller is a member — an ADMIN included, since spending is not managing.
    pub fn acting_for(&self, org: Option<OrgId>) -> Result<Owner, Refusal> {
        match org {
            None => Ok(Owner::User(self.user.clone())),
            Some(org) if self.is_member_of(&org) => Ok(Owner::Org(org)),
            Some(org) => Err(Refusal::NotYours {
                user: self.user.clone(),
                owner: Owner::Org(org),
            }),
        }
    }

    /// May spend from and read the pools of `owner`: its own, its orgs', or any as ADMIN.
    pub fn may_use_pools_of(&self, owner: &Owner) -> Result<(), Refusal> {
        let own = match owner {
            Owner::User(user) => *user == self.user,
            Owner::Org(org) => self.is_member_of(org),
        };
        if own || self.is_admin() {
            Ok(())
        } else {
            Err(Refusal::NotYours {
                user: self.user.clone(),
                owner: owner.clone(),
            })
        }
    }

    /// May reserve, settle, release, consume or expire in `pool`, read it, or buy tokens
    /// for it.
    pub fn may_use_pool(&self, pool: &PoolId) -> Result<(), Refusal> {
        self.may_use_pools_of(pool.owner())
    }

    /// May `what`, an act of managing pools (provisioning, grants, policies, period
    /// resets): ADMIN only.
    pub fn may_manage(&self, what: &'static str) -> Result<(), Refusal> {
        self.admin_only(what)
    }

    /// May read `what`, which spans tenants (top consumers, anomalies, per-provider
    /// usage): ADMIN only.
    pub fn may_read_across_tenants(&self, what: &'static str) -> Result<(), Refusal> {
        self.admin_only(what)
    }

    fn admin_only(&self, what: &'static str) -> Result<(), Refusal> {
        if self.is_admin() {
            Ok(())
        } else {
            Err(Refusal::AdminOnly {
                user: self.user.clone(),
                what,
            })
        }
    }
}

#[cfg(test)]
#[path = "identity_tests.rs"]
mod tests;
