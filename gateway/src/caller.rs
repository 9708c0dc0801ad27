//! Who is calling, and which owner's pools they spend from.
//!
//! A caller presents `Authorization: Bearer <credential>`: an API key (`lt_…`, looked up by
//! its SHA-256 in the auth log this gateway follows, so a revocation applies as soon as it
//! is read) or an access token (an RS256 JWT checked against the auth service's JWKS).
//! `X-Leaky-Org: <org>` spends from the org's pools instead, if the caller is a member.

use std::sync::Arc;

use auth::directory::Role;
use auth::log::DirectoryView;
use auth::secrets::{KEY_PREFIX, key_hash};
use auth::{Claims, Verifier};
use axum::extract::FromRequestParts;
use axum::http::StatusCode;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use command_api::http::Problem;
use domain::{Actor, OrgId, Owner, UserId};
use tokio::sync::OnceCell;

use crate::GatewayState;

/// The header naming the org a call acts for.
pub const ORG_HEADER: &str = "x-leaky-org";

/// What the gateway checks credentials against; filled once the auth service and its log
/// have been reached (calls are refused with 503 until then).
#[derive(Debug, Clone, Default)]
pub struct Credentials {
    /// Verifies access tokens.
    pub verifier: Arc<OnceCell<Verifier>>,
    /// Users and keys, as the auth log says.
    pub directory: Arc<OnceCell<DirectoryView>>,
}

impl probes::DependencyCheck for Credentials {
    fn name(&self) -> &str {
        "auth"
    }

    fn check(&self) -> futures::future::BoxFuture<'_, Result<(), String>> {
        let result = match (self.verifier.get(), self.directory.get()) {
            (Some(_), Some(_)) => Ok(()),
            (None, _) => Err("the auth service's JWKS has not been fetched yet".to_owned()),
            (_, None) => Err("the auth log has not been read yet".to_owned()),
        };
        Box::pin(std::future::ready(result))
    }
}

/// An identified caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    /// Who, for the audit trail of every command.
    pub actor: Actor,
    /// Whose pools are charged: the caller's own, or their org's.
    pub owner: Owner,
}

/// Who a credential names: the user, their role and orgs.
struct Identity {
    user: UserId,
    role: Role,
    orgs: Vec<String>,
}

impl FromRequestParts<GatewayState> for Caller {
    type Rejection = Problem;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &GatewayState,
    ) -> Result<Self, Self::Rejection> {
        let credential = parts
            .headers
            .get(AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::trim)
            .ok_or_else(|| unauthorized("send Authorization: Bearer <API key or access token>"))?;
        let identity = if credential.starts_with(KEY_PREFIX) {
            by_key(&state.credentials, credential).await?
        } else {
            by_token(&state.credentials, credential)?
        };
        let owner = match parts.headers.get(ORG_HEADER) {
            None => Owner::User(identity.user.clone()),
            Some(org) => {
                let org = org
                    .to_str()
                    .ok()
                    .and_then(|o| OrgId::parse(o).ok())
                    .ok_or_else(|| {
                        Problem::invalid_field(ORG_HEADER, "must be an organisation id")
                    })?;
                if !identity.orgs.iter().any(|o| o == org.as_str()) {
                    return Err(Problem::new(
                        StatusCode::FORBIDDEN,
                        "forbidden",
                        "Not your pool",
                        format!("{} is not a member of org {org}", identity.user),
                    ));
                }
                Owner::Org(org)
            }
        };
        let actor = match identity.role {
            Role::Admin => Actor::Admin(identity.user),
            _ => Actor::User(identity.user),
        };
        Ok(Self { actor, owner })
    }
}

async fn by_key(credentials: &Credentials, key: &str) -> Result<Identity, Problem> {
    let directory = credentials
        .directory
        .get()
        .ok_or_else(|| Problem::unavailable("the auth log has not been read yet"))?;
    let hash = key_hash(key);
    let lookup = |directory: &DirectoryView| {
        directory.read(|d| {
            let (_, found) = d.live_key(&hash)?;
            let user = d.user(&found.user)?;
            Some(Identity {
                user: found.user.clone(),
                role: user.role,
                orgs: user.orgs.iter().map(ToString::to_string).collect(),
            })
        })
    };
    if let Some(identity) = lookup(directory) {
        return Ok(identity);
    }
    // A key created a moment ago may not have been read yet: catch up with the log once.
    if directory.catch_up().await
        && let Some(identity) = lookup(directory)
    {
        return Ok(identity);
    }
    Err(unauthorized("unknown or revoked API key"))
}

fn by_token(credentials: &Credentials, token: &str) -> Result<Identity, Problem> {
    let verifier = credentials
        .verifier
        .get()
        .ok_or_else(|| Problem::unavailable("the auth service's keys are not known yet"))?;
    let Claims {
        sub, role, orgs, ..
    } = verifier
        .verify(token)
        .map_err(|e| unauthorized(format!("invalid access token: {e}")))?;
    let user = UserId::parse(&sub).map_err(|e| unauthorized(e.to_string()))?;
    Ok(Identity { user, role, orgs })
}

fn unauthorized(detail: impl Into<String>) -> Problem {
    Problem::new(
        StatusCode::UNAUTHORIZED,
        "unauthorized",
        "Who is calling is unknown",
        detail,
    )
}
