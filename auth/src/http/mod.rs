//! The auth API: register, log in, JWKS, API keys, and what ADMINs do (users, roles,
//! invitations, org memberships).

mod admin;
mod keys;
mod session;

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode, header};
use axum::routing::{delete, get, post, put};
use domain::{Actor, Role, Timestamp, UserId};
use problem::Problem;
use prometheus::IntCounterVec;
use serde::de::DeserializeOwned;

use crate::directory::{AuthEvent, Refusal};
use crate::log::{Appender, DirectoryView};
use crate::throttle::{Throttle, Throttled};
use crate::tokens::{Signer, Verifier};
use crate::{AuthSettings, ThrottleSettings};

/// What every handler shares.
#[derive(Debug, Clone)]
pub struct AuthState {
    pub settings: Arc<AuthSettings>,
    pub signer: Signer,
    /// Verifies the access tokens callers of this service present (built once: parsing
    /// the JWKS keys for every request would be wasted work).
    pub verifier: Verifier,
    pub view: DirectoryView,
    pub appender: Appender,
    /// One change at a time in this instance (decide, append, read back), so two requests
    /// never both pass a check that the other's event invalidates. Across instances the
    /// log's order decides, and a loser learns it when it reads its event back.
    pub writes: Arc<tokio::sync::Mutex<()>>,
    /// How fast guesses may come.
    pub throttles: Throttles,
}

/// The guess throttles of login and registration.
#[derive(Debug, Clone)]
pub struct Throttles {
    pub login_per_user: Throttle,
    pub login_per_address: Throttle,
    pub register_per_address: Throttle,
}

impl Throttles {
    /// The throttles of `settings`, counting refusals in `refused`.
    pub fn new(settings: &ThrottleSettings, refused: &IntCounterVec) -> Self {
        let throttle = |what, limit| Throttle::new(what, limit, refused.clone());
        Self {
            login_per_user: throttle(Throttled::LoginPerUser, settings.login_per_user),
            login_per_address: throttle(Throttled::LoginPerAddress, settings.login_per_address),
            register_per_address: throttle(
                Throttled::RegisterPerAddress,
                settings.register_per_address,
            ),
        }
    }
}

/// The routes (`HttpService` adds the security headers to every answer).
pub fn routes(state: AuthState) -> Router {
    Router::new()
        .route("/api/v1/auth/register", post(session::register))
        .route("/api/v1/auth/login", post(session::login))
        .route("/.well-known/jwks.json", get(session::jwks))
        .route("/api/v1/keys", post(keys::create_key).get(keys::list_keys))
        .route("/api/v1/keys/{key_id}", delete(keys::revoke_key))
        .route("/api/v1/users", post(admin::create_user))
        .route("/api/v1/users/{user}/role", put(admin::set_role))
        .route("/api/v1/invitations", post(admin::invite))
        .route("/api/v1/orgs/{org}/members", post(admin::add_member))
        .route(
            "/api/v1/orgs/{org}/members/{user}",
            delete(admin::remove_member),
        )
        .with_state(state)
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

fn refused(refusal: Refusal) -> Problem {
    match refusal {
        Refusal::UserExists(_) => Problem::new(
            StatusCode::CONFLICT,
            "conflict",
            "Already exists",
            refusal.to_string(),
        ),
        Refusal::UnknownUser(_) | Refusal::UnknownKey(_) | Refusal::NotAMember { .. } => {
            Problem::new(
                StatusCode::NOT_FOUND,
                "not-found",
                "No such resource",
                refusal.to_string(),
            )
        }
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

/// Whoever presents a valid access token, with their role as the log says now (not as the
/// token says: a demoted ADMIN's token must not keep its rights until it expires).
#[derive(Debug, Clone)]
struct Caller {
    user: UserId,
    role: Role,
}

impl Caller {
    /// The caller of `headers`: 401 without a valid token of a user the log knows.
    fn of(state: &AuthState, headers: &HeaderMap) -> Result<Self, Problem> {
        let token = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .ok_or_else(|| Problem::unauthorized("send Authorization: Bearer <access token>"))?;
        let claims = state
            .verifier
            .verify(token)
            .map_err(|e| Problem::unauthorized(e.to_string()))?;
        let user = UserId::parse(&claims.sub).map_err(|e| Problem::unauthorized(e.to_string()))?;
        let role = state
            .view
            .read(|d| d.user(&user).map(|u| u.role))
            .ok_or_else(|| Problem::unauthorized("no such user"))?;
        Ok(Self { user, role })
    }

    /// The caller, if it is an ADMIN now (403 otherwise).
    fn admin(state: &AuthState, headers: &HeaderMap, what: &str) -> Result<Self, Problem> {
        let caller = Self::of(state, headers)?;
        if caller.role != Role::Admin {
            return Err(Problem::forbidden(
                "Only an admin may do this",
                format!("only an ADMIN may {what}, and {} is not one", caller.user),
            ));
        }
        Ok(caller)
    }

    /// Who they are in the log's `by` fields.
    fn actor(&self) -> Actor {
        Actor::Admin(self.user.clone())
    }
}
