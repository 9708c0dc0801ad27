//! What only an ADMIN (as the log says now) does here: create users, set roles, invite,
//! and grant or revoke org memberships. Every change records who made it.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use domain::{OrgId, Role, UserId};
use problem::Problem;
use serde::Deserialize;
use serde_json::json;

use super::session::register_user;
use super::{AuthState, Caller, body, decide_and_record, now};
use crate::directory::AuthEvent;
use crate::secrets;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewUser {
    username: String,
    password: String,
}

/// `POST /api/v1/users`: the way users are made in registration mode `closed` (and
/// available in every mode).
pub(super) async fn create_user(
    State(state): State<AuthState>,
    headers: HeaderMap,
    bytes: Bytes,
) -> Result<Response, Problem> {
    Caller::admin(&state, &headers, "create users")?;
    let NewUser { username, password } = body(&bytes)?;
    let user = UserId::parse(&username).map_err(|e| Problem::invalid_field("username", e))?;
    register_user(&state, &user, password).await?;
    let body = json!({"user": user.as_str(), "role": Role::User, "tier": Role::User.tier()});
    Ok((StatusCode::CREATED, axum::Json(body)).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewRole {
    role: Role,
}

/// `PUT /api/v1/users/{user}/role`: grants or revokes ADMIN (or sets another role).
pub(super) async fn set_role(
    State(state): State<AuthState>,
    headers: HeaderMap,
    Path(user): Path<String>,
    bytes: Bytes,
) -> Result<Response, Problem> {
    let caller = Caller::admin(&state, &headers, "change roles")?;
    let user = UserId::parse(&user).map_err(|e| Problem::invalid_field("user", e))?;
    let NewRole { role } = body(&bytes)?;
    let event = AuthEvent::RoleChanged {
        user: user.clone(),
        role,
        by: caller.actor(),
        at: now(),
    };
    decide_and_record(&state, event, |d, e| d.about_user(e)).await?;
    Ok(
        axum::Json(json!({"user": user.as_str(), "role": role, "tier": role.tier()}))
            .into_response(),
    )
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewInvitation {
    username: String,
}

/// `POST /api/v1/invitations`: a single-use invitation for one user name (shown once).
pub(super) async fn invite(
    State(state): State<AuthState>,
    headers: HeaderMap,
    bytes: Bytes,
) -> Result<Response, Problem> {
    let caller = Caller::admin(&state, &headers, "invite users")?;
    let NewInvitation { username } = body(&bytes)?;
    let user = UserId::parse(&username).map_err(|e| Problem::invalid_field("username", e))?;
    let raw = secrets::new_invitation();
    let event = AuthEvent::InvitationIssued {
        user: user.clone(),
        sha256: secrets::key_hash(&raw),
        by: caller.actor(),
        at: now(),
    };
    decide_and_record(&state, event, |d, e| d.register(e)).await?;
    // The only time the raw invitation is ever shown.
    let body = json!({"user": user.as_str(), "invitation": raw});
    Ok((StatusCode::CREATED, axum::Json(body)).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewMember {
    user: String,
}

pub(super) async fn add_member(
    State(state): State<AuthState>,
    headers: HeaderMap,
    Path(org): Path<String>,
    bytes: Bytes,
) -> Result<Response, Problem> {
    Caller::admin(&state, &headers, "grant memberships")?;
    let org = OrgId::parse(&org).map_err(|e| Problem::invalid_field("org", e))?;
    let NewMember { user } = body(&bytes)?;
    let user = UserId::parse(&user).map_err(|e| Problem::invalid_field("user", e))?;
    let event = AuthEvent::OrgMembershipGranted {
        user,
        org,
        at: now(),
    };
    decide_and_record(&state, event, |d, e| d.about_user(e)).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `DELETE /api/v1/orgs/{org}/members/{user}`: effective for tokens already issued, since
/// every verifier reads memberships from the log.
pub(super) async fn remove_member(
    State(state): State<AuthState>,
    headers: HeaderMap,
    Path((org, user)): Path<(String, String)>,
) -> Result<Response, Problem> {
    let caller = Caller::admin(&state, &headers, "revoke memberships")?;
    let org = OrgId::parse(&org).map_err(|e| Problem::invalid_field("org", e))?;
    let user = UserId::parse(&user).map_err(|e| Problem::invalid_field("user", e))?;
    let event = AuthEvent::OrgMembershipRevoked {
        user,
        org,
        by: caller.actor(),
        at: now(),
    };
    decide_and_record(&state, event, |d, e| d.about_user(e)).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
