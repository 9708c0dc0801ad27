//! The HTTP API that accepts commands.

mod answer;
mod body;
mod commands;
mod purchases;
mod request;

use std::sync::Arc;
use std::time::Duration;

use access::Credentials;
use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};
use tokio::sync::OnceCell;

pub use problem::Problem;
pub use request::IDEMPOTENCY_HEADER;

use crate::dispatch::Dispatcher;
use crate::pools::PoolsSettings;
use crate::prices::PriceList;

/// What every handler shares.
#[derive(Debug, Clone)]
pub struct AppState {
    /// Set once Kafka has been reached; until then commands are answered 503.
    pub dispatcher: Arc<OnceCell<Dispatcher>>,
    pub pools: Arc<PoolsSettings>,
    /// What tokens cost.
    pub prices: Arc<PriceList>,
    pub reply_wait: Duration,
    /// What callers' credentials are checked against.
    pub credentials: Credentials,
}

/// The command routes under `/api/v1`; each needs a credential (401 without one), and
/// its handler says what the caller must be allowed to do.
pub fn routes(state: AppState, max_body_bytes: usize) -> Router {
    let credentials = state.credentials.clone();
    const POOL: &str = "/api/v1/pools/{owner_kind}/{owner_id}/{provider}";
    Router::new()
        .route(POOL, post(commands::provision))
        .route(&format!("{POOL}/grants"), post(commands::grant))
        .route(
            &format!("{POOL}/grants/{{grant_id}}/revoke"),
            post(commands::revoke),
        )
        .route(&format!("{POOL}/reservations"), post(commands::reserve))
        .route(
            &format!("{POOL}/reservations/expire"),
            post(commands::expire),
        )
        .route(
            &format!("{POOL}/reservations/{{reservation_id}}/settle"),
            post(commands::settle),
        )
        .route(
            &format!("{POOL}/reservations/{{reservation_id}}/release"),
            post(commands::release),
        )
        .route(&format!("{POOL}/consume"), post(commands::consume))
        .route(&format!("{POOL}/policy"), post(commands::change_policy))
        .route(
            &format!("{POOL}/quota-period/reset"),
            post(commands::reset_period),
        )
        .route("/api/v1/purchases", post(purchases::place))
        .route(
            "/api/v1/commands/{command_id}",
            get(commands::command_status),
        )
        .layer(DefaultBodyLimit::max(max_body_bytes))
        .route_layer(axum::middleware::from_fn_with_state(
            credentials,
            access::authenticate,
        ))
        .with_state(state)
}
