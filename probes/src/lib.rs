//! What an orchestrator sees of a service: `/health/live`, `/health/ready` (with a check of
//! every dependency, naming the one that fails), `/metrics`, and the signal that stops it.
#![forbid(unsafe_code)]

mod readiness;
mod security;
mod serve;
mod shutdown;
mod traced;

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;
use prometheus::{Encoder, Registry, TextEncoder};

pub use readiness::{CheckResult, DependencyCheck, Readiness, ReadinessReport};
pub use security::{SECURITY_HEADERS, security_headers};
pub use serve::{HttpLimits, HttpService};
pub use shutdown::shutdown_signal;
pub use traced::trace_requests;

/// Routes for liveness, readiness and metrics, to merge into a service's router.
pub fn router(readiness: Readiness, metrics: Registry) -> Router {
    Router::new()
        .route("/health/live", get(live))
        .route("/health/ready", get(ready).with_state(readiness))
        .route("/metrics", get(render_metrics).with_state(metrics))
}

async fn live() -> impl IntoResponse {
    axum::Json(serde_json::json!({ "status": "live" }))
}

async fn ready(State(readiness): State<Readiness>) -> impl IntoResponse {
    let report = readiness.check().await;
    let status = if report.is_ready() {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, axum::Json(report))
}

async fn render_metrics(State(registry): State<Registry>) -> impl IntoResponse {
    let mut body = Vec::new();
    let encoder = TextEncoder::new();
    match encoder.encode(&registry.gather(), &mut body) {
        Ok(()) => (
            StatusCode::OK,
            [(header::CONTENT_TYPE, encoder.format_type().to_owned())],
            body,
        ),
        Err(error) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            [(header::CONTENT_TYPE, "text/plain".to_owned())],
            error.to_string().into_bytes(),
        ),
    }
}

#[cfg(test)]
mod tests;
