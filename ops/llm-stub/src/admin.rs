//! `/admin`: set the defaults and random faults, read and clear the usage ledger.

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{Value, json};

use crate::StubState;
use crate::behaviour::Chaos;

/// `GET|PUT /admin/behaviour`, `GET|DELETE /admin/usage`.
pub fn routes() -> Router<StubState> {
    Router::new()
        .route("/admin/behaviour", get(behaviour).put(set_behaviour))
        .route("/admin/usage", get(usage).delete(clear_usage))
}

async fn behaviour(State(state): State<StubState>) -> Json<Chaos> {
    Json(
        state
            .chaos
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone(),
    )
}

async fn set_behaviour(State(state): State<StubState>, Json(chaos): Json<Chaos>) -> Json<Chaos> {
    *state.chaos.write().unwrap_or_else(|p| p.into_inner()) = chaos.clone();
    Json(chaos)
}

/// Every request whose usage was delivered, and the total.
async fn usage(State(state): State<StubState>) -> Json<Value> {
    let requests = state.ledger.snapshot();
    let total: u64 = requests.values().map(|u| u.total_tokens).sum();
    Json(json!({ "total_tokens": total, "count": requests.len(), "requests": requests }))
}

async fn clear_usage(State(state): State<StubState>) -> StatusCode {
    state.ledger.clear();
    StatusCode::NO_CONTENT
}
