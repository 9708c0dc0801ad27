//! Who is calling, and which owner's pools they spend from: the credential is checked by
//! `access` (an API key or an access token); `X-Leaky-Org: <org>` spends from the org's
//! pools instead, if the caller is a member.

use access::Identity;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use domain::{Actor, OrgId, Owner};
use problem::Problem;

use crate::GatewayState;

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

impl FromRequestParts<GatewayState> for Caller {
    type Rejection = Problem;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &GatewayState,
    ) -> Result<Self, Self::Rejection> {
        let identity: Identity = state.credentials.identify_request(parts).await?;
        let org = match parts.headers.get(ORG_HEADER) {
            None => None,
            Some(org) => Some(
                org.to_str()
                    .ok()
                    .and_then(|o| OrgId::parse(o).ok())
                    .ok_or_else(|| {
                        Problem::invalid_field(ORG_HEADER, "must be an organisation id")
                    })?,
            ),
        };
        let owner = identity.acting_for(org)?;
        Ok(Self {
            actor: identity.actor(),
            owner,
        })
    }
}
