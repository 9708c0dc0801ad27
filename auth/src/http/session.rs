//! Registering and logging in, and the JWKS that verifies what login issues.
//!
//! Both are throttled per client address (and login per user name too) before any Argon2
//! work is spent, and login answers an unknown user exactly like a wrong password: the
//! same problem, after the same Argon2 verification (against a dummy hash).

use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use domain::{Role, UserId};
use problem::Problem;
use serde::Deserialize;
use serde_json::json;

use super::{AuthState, body, decide_and_record, now, refused};
use crate::RegistrationMode;
use crate::client::ClientAddress;
use crate::directory::{AuthEvent, Refusal};
use crate::secrets;
use crate::tokens::Claims;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Credentials {
    username: String,
    password: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Registration {
    username: String,
    password: String,
    /// The ADMIN's invitation, in registration mode `invite`.
    #[serde(default)]
    invitation: Option<String>,
}

pub(super) async fn register(
    State(state): State<AuthState>,
    ClientAddress(address): ClientAddress,
    bytes: Bytes,
) -> Result<Response, Problem> {
    if state.settings.registration == RegistrationMode::Closed {
        return Err(Problem::forbidden(
            "Registration is closed",
            "users are created by an ADMIN (POST /api/v1/users)",
        ));
    }
    state
        .throttles
        .register_per_address
        .admit_address(address)?;
    let registration: Registration = body(&bytes)?;
    let user =
        UserId::parse(&registration.username).map_err(|e| Problem::invalid_field("username", e))?;
    if state.settings.registration == RegistrationMode::Invite {
        let presented = registration
            .invitation
            .as_deref()
            .map(secrets::key_hash)
            .unwrap_or_default();
        if !state.view.read(|d| d.invitation_matches(&user, &presented)) {
            return Err(Problem::forbidden(
                "An invitation is needed",
                "registration needs an ADMIN's invitation for this name",
            ));
        }
    }
    register_user(&state, &user, registration.password).await?;
    let body = json!({"user": user.as_str(), "role": Role::User, "tier": Role::User.tier()});
    Ok((StatusCode::CREATED, axum::Json(body)).into_response())
}

/// Registers `user` with `password` (as USER): 422 for a short password, 409 for a taken name.
pub(super) async fn register_user(
    state: &AuthState,
    user: &UserId,
    password: String,
) -> Result<(), Problem> {
    if password.chars().count() < 12 {
        return Err(Problem::invalid_field("password", "at least 12 characters"));
    }
    let password_hash = tokio::task::spawn_blocking(move || secrets::hash_password(&password))
        .await
        .map_err(|e| Problem::unavailable(e.to_string()))?
        .map_err(Problem::unavailable)?;
    let event = AuthEvent::UserRegistered {
        user: user.clone(),
        password_hash: password_hash.clone(),
        role: Role::User,
        at: now(),
    };
    decide_and_record(state, event, |d, e| d.register(e)).await?;
    // Another instance may have registered the name first: the log's first event wins.
    let ours = state.view.read(|d| {
        d.user(user)
            .is_some_and(|found| found.password_hash == password_hash)
    });
    if !ours {
        return Err(refused(Refusal::UserExists(user.clone())));
    }
    Ok(())
}

pub(super) async fn login(
    State(state): State<AuthState>,
    ClientAddress(address): ClientAddress,
    bytes: Bytes,
) -> Result<Response, Problem> {
    let credentials: Credentials = body(&bytes)?;
    state.throttles.login_per_address.admit_address(address)?;
    let user = UserId::parse(&credentials.username).ok();
    // Names that are no user id share one bucket: they can never log in anyway.
    let name_key = user.as_ref().map_or("(invalid)", UserId::as_str);
    state.throttles.login_per_user.admit(name_key)?;
    let found = user.and_then(|user| {
        state
            .view
            .read(|d| d.user(&user).cloned())
            .map(|record| (user, record))
    });
    // The same work whether or not the user exists: an Argon2 verification against their
    // hash or against a dummy one, so timing does not tell which names are registered.
    let hash = found.as_ref().map_or_else(
        || secrets::dummy_hash().to_owned(),
        |(_, record)| record.password_hash.clone(),
    );
    let password = credentials.password;
    let matches = tokio::task::spawn_blocking(move || secrets::password_matches(&password, &hash))
        .await
        .unwrap_or(false);
    let Some((user, record)) = found.filter(|_| matches) else {
        // One answer for an unknown user and a wrong password: no user enumeration.
        return Err(Problem::unauthorized("unknown user or wrong password"));
    };
    let now = now().as_millis() / 1_000;
    // Role and orgs are in the token for the client's information; every verifier takes
    // them from the auth log instead, so a change applies to tokens already issued.
    let claims = Claims {
        iss: state.settings.issuer.clone(),
        sub: user.to_string(),
        role: record.role,
        orgs: record.orgs.iter().map(ToString::to_string).collect(),
        iat: now,
        exp: now + state.settings.token_ttl_secs,
    };
    let token = state
        .signer
        .sign(&claims)
        .map_err(|e| Problem::unavailable(e.to_string()))?;
    let body = json!({"access_token": token, "token_type": "Bearer",
                      "expires_in": state.settings.token_ttl_secs, "tier": record.role.tier()});
    Ok(axum::Json(body).into_response())
}

pub(super) async fn jwks(State(state): State<AuthState>) -> Response {
    axum::Json(state.signer.jwks()).into_response()
}
