//! The auth API: register, log in, JWKS, API keys, org memberships.

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use domain::{OrgId, Timestamp, UserId};
use problem::Problem;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::json;

use crate::directory::{AuthEvent, Refusal, Role};
use crate::log::{Appender, DirectoryView};
use crate::tokens::{Claims, Signer, Verifier};
use crate::{AuthSettings, secrets};

/// What every handler shares.
#[derive(Debug, Clone)]
pub struct AuthState {
    pub settings: Arc<AuthSettings>,
    pub signer: Signer,
    pub view: DirectoryView,
    pub appender: Appender,
    /// One change at a time in this instance (decide, append, read back), so two requests
    /// never both pass a check that the other's event invalidates. Across instances the
    /// log's order decides, and a loser learns it when it reads its event back.
    pub writes: Arc<tokio::sync::Mutex<()>>,
}

/// The routes (`HttpService` adds the security headers to every answer).
pub fn routes(state: AuthState) -> Router {
    Router::new()
        .route("/api/v1/auth/register", post(register))
        .route("/api/v1/auth/login", post(login))
        .route("/.well-known/jwks.json", get(jwks))
        .route("/api/v1/keys", post(create_key).get(list_keys))
        .route("/api/v1/keys/{key_id}", delete(revoke_key))
        .route("/api/v1/orgs/{org}/members", post(add_member))
        .with_state(state)
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// When an event happens.
fn now() -> Timestamp {
    Timestamp::from_system_time(std::time::SystemTime::now())
}

fn body<T: DeserializeOwned>(bytes: &Bytes) -> Result<T, Problem> {
    serde_json::from_slice(bytes).map_err(|e| {
        if e.is_data() {
            Problem::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid-field",
                "A field has an invalid value",
                e.to_string(),
            )
        } else {
            Problem::malformed(e.to_string())
        }
    })
}

fn unauthorized(detail: impl Into<String>) -> Problem {
    Problem::unauthorized(detail)
}

fn refused(refusal: Refusal) -> Problem {
    match refusal {
        Refusal::UserExists(_) => Problem::new(
            StatusCode::CONFLICT,
            "conflict",
            "Already exists",
            refusal.to_string(),
        ),
        Refusal::UnknownUser(_) | Refusal::UnknownKey(_) => Problem::new(
            StatusCode::NOT_FOUND,
            "not-found",
            "No such resource",
            refusal.to_string(),
        ),
    }
}

/// Decides `event` against the directory, appends it and waits until it is read back.
async fn decide_and_record(
    state: &AuthState,
    event: AuthEvent,
    decide: impl FnOnce(&crate::directory::Directory, AuthEvent) -> Result<AuthEvent, Refusal>,
) -> Result<(), Problem> {
    let _one_at_a_time = state.writes.lock().await;
    let event = state.view.read(|d| decide(d, event)).map_err(refused)?;
    record(state, &event).await
}

/// Appends `event` and waits until this instance has read it back.
async fn record(state: &AuthState, event: &AuthEvent) -> Result<(), Problem> {
    let offset = state.appender.append(event).await.map_err(|e| {
        tracing::error!(%e, "cannot append to the auth log");
        Problem::unavailable("cannot record the change; nothing was applied")
    })?;
    if !state.view.caught_up_to(offset).await {
        return Err(Problem::unavailable("recorded, but not read back yet"));
    }
    Ok(())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Credentials {
    username: String,
    password: String,
}

async fn register(State(state): State<AuthState>, bytes: Bytes) -> Result<Response, Problem> {
    let credentials: Credentials = body(&bytes)?;
    let user =
        UserId::parse(&credentials.username).map_err(|e| Problem::invalid_field("username", e))?;
    if credentials.password.chars().count() < 12 {
        return Err(Problem::invalid_field("password", "at least 12 characters"));
    }
    let role = if state.settings.admins.iter().any(|a| a == user.as_str()) {
        Role::Admin
    } else {
        Role::User
    };
    let password = credentials.password.clone();
    let password_hash = tokio::task::spawn_blocking(move || secrets::hash_password(&password))
        .await
        .map_err(|e| Problem::unavailable(e.to_string()))?
        .map_err(Problem::unavailable)?;
    let event = AuthEvent::UserRegistered {
        user: user.clone(),
        password_hash: password_hash.clone(),
        role,
        at: now(),
    };
    decide_and_record(&state, event, |d, e| d.register(e)).await?;
    // Another instance may have registered the name first: the log's first event wins.
    let ours = state.view.read(|d| {
        d.user(&user)
            .is_some_and(|found| found.password_hash == password_hash)
    });
    if !ours {
        return Err(refused(Refusal::UserExists(user)));
    }
    let body = json!({"user": user.as_str(), "role": role, "tier": role.tier()});
    Ok((StatusCode::CREATED, axum::Json(body)).into_response())
}

async fn login(State(state): State<AuthState>, bytes: Bytes) -> Result<Response, Problem> {
    let credentials: Credentials = body(&bytes)?;
    let found = UserId::parse(&credentials.username).ok().and_then(|user| {
        state
            .view
            .read(|d| d.user(&user).cloned())
            .map(|u| (user, u))
    });
    // Same answer for an unknown user and a wrong password: no user enumeration.
    let hash = found.as_ref().map(|(_, u)| u.password_hash.clone());
    let password = credentials.password.clone();
    let matches = tokio::task::spawn_blocking(move || {
        hash.is_some_and(|hash| secrets::password_matches(&password, &hash))
    })
    .await
    .unwrap_or(false);
    let Some((user, record)) = found.filter(|_| matches) else {
        return Err(unauthorized("unknown user or wrong password"));
    };
    let now = now_ms() / 1_000;
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

async fn jwks(State(state): State<AuthState>) -> Response {
    axum::Json(state.signer.jwks()).into_response()
}

/// The caller of a key-management request: a valid access token.
fn claims(state: &AuthState, headers: &HeaderMap) -> Result<Claims, Problem> {
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .ok_or_else(|| unauthorized("send Authorization: Bearer <access token>"))?;
    let verifier = Verifier::from_jwks(&state.signer.jwks(), &state.settings.issuer)
        .map_err(|e| Problem::unavailable(e.to_string()))?;
    verifier
        .verify(token)
        .map_err(|e| unauthorized(e.to_string()))
}

fn user_of(claims: &Claims) -> Result<UserId, Problem> {
    UserId::parse(&claims.sub).map_err(|e| unauthorized(e.to_string()))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewKey {
    name: String,
}

async fn create_key(
    State(state): State<AuthState>,
    headers: HeaderMap,
    bytes: Bytes,
) -> Result<Response, Problem> {
    let user = user_of(&claims(&state, &headers)?)?;
    let NewKey { name } = body(&bytes)?;
    if name.is_empty() || name.len() > 100 {
        return Err(Problem::invalid_field("name", "1 to 100 characters"));
    }
    let (key_id, raw) = secrets::new_api_key();
    let event = AuthEvent::ApiKeyCreated {
        user,
        key_id: key_id.clone(),
        sha256: secrets::key_hash(&raw),
        name: name.clone(),
        at: now(),
    };
    decide_and_record(&state, event, |d, e| d.about_user(e)).await?;
    // The only time the raw key is ever shown.
    let body = json!({"id": key_id, "name": name, "key": raw});
    Ok((StatusCode::CREATED, axum::Json(body)).into_response())
}

async fn list_keys(
    State(state): State<AuthState>,
    headers: HeaderMap,
) -> Result<Response, Problem> {
    let user = user_of(&claims(&state, &headers)?)?;
    let keys = state.view.read(|d| {
        d.keys_of(&user)
            .into_iter()
            .map(|(id, key)| json!({"id": id, "name": key.name, "created_at_ms": key.created_at_ms, "revoked": key.revoked}))
            .collect::<Vec<_>>()
    });
    Ok(axum::Json(json!({"keys": keys})).into_response())
}

async fn revoke_key(
    State(state): State<AuthState>,
    headers: HeaderMap,
    Path(key_id): Path<String>,
) -> Result<Response, Problem> {
    let user = user_of(&claims(&state, &headers)?)?;
    let event = AuthEvent::ApiKeyRevoked {
        user,
        key_id,
        at: now(),
    };
    decide_and_record(&state, event, |d, e| d.about_user(e)).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewMember {
    user: String,
}

async fn add_member(
    State(state): State<AuthState>,
    headers: HeaderMap,
    Path(org): Path<String>,
    bytes: Bytes,
) -> Result<Response, Problem> {
    let caller = claims(&state, &headers)?;
    if caller.role != Role::Admin {
        return Err(Problem::forbidden(
            "Only an admin may do this",
            "memberships are granted by admins",
        ));
    }
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
