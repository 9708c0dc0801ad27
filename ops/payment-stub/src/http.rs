//! The provider's HTTP API: payments, the ledger tests read, and the fault admin endpoint.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::json;

use crate::faults::{CaptureFate, FaultPlan, ReserveFate};
use crate::ledger::{Answer, Ledger, Payment, ReserveRequest};

/// What every handler shares.
#[derive(Debug, Clone, Default)]
pub struct StubState {
    ledger: Arc<Mutex<Ledger>>,
    faults: Arc<Mutex<FaultPlan>>,
}

impl StubState {
    fn ledger(&self) -> std::sync::MutexGuard<'_, Ledger> {
        self.ledger.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn faults(&self) -> FaultPlan {
        *self.faults.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// The stub's routes under `/v1`.
pub fn routes(state: StubState) -> Router {
    Router::new()
        .route("/v1/payments/{payment_id}/reserve", post(reserve))
        .route("/v1/payments/{payment_id}/capture", post(capture))
        .route("/v1/payments/{payment_id}/release", post(release))
        .route("/v1/payments/{payment_id}", get(show))
        .route("/v1/ledger", get(ledger))
        .route("/v1/admin/faults", get(show_faults).put(set_faults))
        .with_state(state)
}

/// An `application/problem+json` answer.
fn problem(status: StatusCode, code: &str, detail: impl Into<String>) -> Response {
    let body = json!({
        "type": format!("https://leaky-tokens.dev/problems/payment-stub/{code}"),
        "title": code.replace('_', " "),
        "status": status.as_u16(),
        "detail": detail.into(),
        "code": code,
    });
    (
        status,
        [(header::CONTENT_TYPE, "application/problem+json")],
        body.to_string(),
    )
        .into_response()
}

/// Whether `payment_id` is 1 to 128 letters, digits, '-' or '_' (UUIDs fit).
fn is_valid_id(payment_id: &str) -> bool {
    (1..=128).contains(&payment_id.len())
        && payment_id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

fn invalid_id() -> Response {
    problem(
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_payment_id",
        "a payment id is 1 to 128 letters, digits, '-' or '_'",
    )
}

fn answer(answer: Answer) -> Response {
    match answer {
        Answer::Done(payment) => Json(payment).into_response(),
        Answer::Declined(payment) => {
            refused(StatusCode::PAYMENT_REQUIRED, "card_declined", payment)
        }
        Answer::CaptureRefused(payment) => {
            refused(StatusCode::PAYMENT_REQUIRED, "capture_failed", payment)
        }
        Answer::Conflict(detail) => problem(StatusCode::CONFLICT, "conflict", detail),
        Answer::NotFound => problem(StatusCode::NOT_FOUND, "unknown_payment", "no such payment"),
    }
}

fn refused(status: StatusCode, code: &str, payment: Payment) -> Response {
    problem(
        status,
        code,
        format!("payment {} was refused: {code}", payment.payment_id),
    )
}

/// Waits the configured latency, plus the hang time for a call fated to time out.
async fn delay(plan: FaultPlan, hang: bool) {
    let ms = plan.latency_ms + if hang { plan.hang_ms } else { 0 };
    if ms > 0 {
        tokio::time::sleep(Duration::from_millis(ms)).await;
    }
}

async fn reserve(
    State(state): State<StubState>,
    Path(payment_id): Path<String>,
    body: Result<Json<ReserveRequest>, JsonRejection>,
) -> Response {
    if !is_valid_id(&payment_id) {
        return invalid_id();
    }
    let Json(request) = match body {
        Ok(body) => body,
        Err(rejection) => {
            return problem(rejection.status(), "invalid_request", rejection.body_text());
        }
    };
    if request.amount_cents == 0 {
        return problem(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_amount",
            "amount_cents must be at least 1",
        );
    }
    let plan = state.faults();
    let fate = plan.reserve_fate(&payment_id, &request.payment_method);
    // Recorded before any delay: a caller that gives up still leaves the reservation,
    // as a real provider whose answer was lost would.
    let outcome = state
        .ledger()
        .reserve(&payment_id, request, fate == ReserveFate::Decline);
    tracing::info!(payment_id, ?fate, "reserve");
    delay(plan, fate == ReserveFate::ReserveAndHang).await;
    answer(outcome)
}

async fn capture(State(state): State<StubState>, Path(payment_id): Path<String>) -> Response {
    if !is_valid_id(&payment_id) {
        return invalid_id();
    }
    let plan = state.faults();
    let (outcome, fate) = {
        let mut ledger = state.ledger();
        let method = ledger
            .payment(&payment_id)
            .and_then(|p| p.request.map(|r| r.payment_method))
            .unwrap_or_default();
        let fate = plan.capture_fate(&payment_id, &method);
        (
            ledger.capture(&payment_id, fate == CaptureFate::Refuse),
            fate,
        )
    };
    tracing::info!(payment_id, ?fate, "capture");
    delay(plan, fate == CaptureFate::CaptureAndHang).await;
    answer(outcome)
}

async fn release(State(state): State<StubState>, Path(payment_id): Path<String>) -> Response {
    if !is_valid_id(&payment_id) {
        return invalid_id();
    }
    let outcome = state.ledger().release(&payment_id);
    tracing::info!(payment_id, "release");
    delay(state.faults(), false).await;
    answer(outcome)
}

async fn show(State(state): State<StubState>, Path(payment_id): Path<String>) -> Response {
    match state.ledger().payment(&payment_id) {
        Some(payment) => Json(payment).into_response(),
        None => answer(Answer::NotFound),
    }
}

async fn ledger(State(state): State<StubState>) -> Response {
    Json(json!({ "payments": state.ledger().payments() })).into_response()
}

async fn show_faults(State(state): State<StubState>) -> Response {
    Json(state.faults()).into_response()
}

async fn set_faults(
    State(state): State<StubState>,
    body: Result<Json<FaultPlan>, JsonRejection>,
) -> Response {
    let Json(plan) = match body {
        Ok(body) => body,
        Err(rejection) => {
            return problem(rejection.status(), "invalid_request", rejection.body_text());
        }
    };
    let percents = [
        plan.decline_percent,
        plan.reserve_timeout_percent,
        plan.capture_failure_percent,
        plan.capture_timeout_percent,
    ];
    if percents.iter().any(|p| *p > 100) {
        return problem(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_percent",
            "a percentage is 0 to 100",
        );
    }
    *state.faults.lock().unwrap_or_else(|p| p.into_inner()) = plan;
    tracing::info!(?plan, "faults set");
    Json(plan).into_response()
}
