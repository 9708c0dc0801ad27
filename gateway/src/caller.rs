//! Who is calling, and which owner's pools they spend from.
//!
//! TEMPORARY, until the `auth` crate lands (issue 6, step 4): the bearer token *is* the
//! caller (`Authorization: Bearer user:alice`), trusted as is, and `X-Leaky-Org: acme` makes
//! the call spend from the org's pools. Only the shape stays: a `Caller` with an actor and
//! the owner to charge. Never expose this to untrusted networks.

use axum::extract::FromRequestParts;
use axum::http::StatusCode;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use command_api::http::Problem;
use domain::{Actor, OrgId, Owner};

/// The header naming the org a call acts for.
pub const ORG_HEADER: &str = "x-leaky-org";

/// An identified caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    /// Who, for the audit trail of every command.
    pub actor: Actor,
    /// Whose pools are charged: the caller's own, or their org's.
    pub owner: Owner,
}

impl<S: Send + Sync> FromRequestParts<S> for Caller {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let token = parts
            .headers
            .get(AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .ok_or_else(|| unauthorized("send Authorization: Bearer <key>"))?;
        let actor: Actor = token
            .trim()
            .parse()
            .map_err(|e| unauthorized(format!("unknown key: {e}")))?;
        let user = match &actor {
            Actor::User(user) | Actor::Admin(user) => user.clone(),
            _ => return Err(unauthorized("only users may call the gateway")),
        };
        let owner = match parts.headers.get(ORG_HEADER) {
            None => Owner::User(user),
            Some(org) => {
                let org = org
                    .to_str()
                    .ok()
                    .and_then(|o| OrgId::parse(o).ok())
                    .ok_or_else(|| {
                        Problem::invalid_field(ORG_HEADER, "must be an organisation id")
                    })?;
                Owner::Org(org)
            }
        };
        Ok(Self { actor, owner })
    }
}

fn unauthorized(detail: impl Into<String>) -> Problem {
    Problem::new(
        StatusCode::UNAUTHORIZED,
        "unauthorized",
        "Who is calling is unknown",
        detail,
    )
}
