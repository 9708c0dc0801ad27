//! From a command's reply to the HTTP answer: 200 with the outcome, a problem with the
//! status its rejection deserves, or 202 while it is still in flight.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use domain::{CommandId, RetryAfter, TokenPoolRejection};
use schemas::{CommandReply, ReplyOutcome};
use serde_json::{Value, json};

use problem::Problem;

/// The JSON of a reply: what happened, the token to read one's own write with, and the
/// pool's balance and limits after it.
pub fn reply_json(reply: &CommandReply) -> Value {
    let outcome = match reply.outcome {
        ReplyOutcome::Accepted => "accepted",
        ReplyOutcome::Rejected => "rejected",
        ReplyOutcome::Expired => "expired",
    };
    json!({
        "command_id": reply.command_id.to_string(),
        "pool_id": reply.pool_id.to_string(),
        "outcome": outcome,
        "consistency_token": reply.consistency_token.map(|t| t.to_string()),
        "events": reply.events,
        "balance": reply.balance.map(|b| json!({
            "granted": b.granted.get(),
            "consumed": b.consumed.get(),
            "reserved": b.reserved.get(),
            "available": b.available.get(),
        })),
        "limits": reply.limits,
        "purchase": reply.purchase.as_ref().map(|p| json!({
            "purchase_id": p.purchase_id.to_string(),
            "status": p.status.code(),
            "failure_code": p.failure_code,
            "failure_message": p.failure_message,
        })),
    })
}

/// The answer to a command whose reply came, with `extra` members (e.g. the reservation id)
/// merged into a success body.
pub fn answer(reply: &CommandReply, extra: Value) -> Response {
    let mut body = reply_json(reply);
    match reply.outcome {
        ReplyOutcome::Accepted => {
            if let (Some(body), Value::Object(extra)) = (body.as_object_mut(), extra) {
                body.extend(extra);
            }
            (StatusCode::OK, axum::Json(body)).into_response()
        }
        ReplyOutcome::Expired => Problem::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "deadline-exceeded",
            "The command was not processed in time",
            "the processor reached the command after its deadline and did not apply it; retry",
        )
        .retry_after(1)
        .with("reply", body)
        .into_response(),
        ReplyOutcome::Rejected => rejected(reply, body).into_response(),
    }
}

fn rejected(reply: &CommandReply, body: Value) -> Problem {
    let Some(rejection) = &reply.rejection else {
        return Problem::new(
            StatusCode::CONFLICT,
            "rejected",
            "The command was refused",
            "no reason given",
        );
    };
    let (status, kind, title) = match rejection.code.as_str() {
        "rate_limited" => (
            StatusCode::TOO_MANY_REQUESTS,
            "rate-limited",
            "Rate limit exceeded",
        ),
        "quota_exhausted" | "periodic_quota_exhausted" => (
            StatusCode::TOO_MANY_REQUESTS,
            "quota-exhausted",
            "Not enough tokens left",
        ),
        "pool_not_provisioned" => (StatusCode::NOT_FOUND, "unknown-pool", "No such pool"),
        // The caller may use the pool but not this hold: it is someone else's (or the
        // gateway's, for a call in progress); nothing was written.
        "not_holder" => (
            StatusCode::FORBIDDEN,
            "forbidden",
            "The reservation is not the caller's",
        ),
        "reservation_not_found" => (
            StatusCode::NOT_FOUND,
            "unknown-reservation",
            "No such reservation",
        ),
        "already_provisioned"
        | "already_resolved"
        | "conflict"
        | "grant_already_revoked"
        | "idempotency_conflict" => (
            StatusCode::CONFLICT,
            "conflict",
            "The command conflicts with an earlier one",
        ),
        _ => (
            StatusCode::UNPROCESSABLE_ENTITY,
            "refused",
            "The command was refused",
        ),
    };
    let problem = Problem::new(status, kind, title, rejection.message.clone())
        .with("code", json!(rejection.code))
        .with("reason", rejection.detail.clone())
        .with("reply", body);
    match rejection.pool_rejection() {
        Some(TokenPoolRejection::RateLimited {
            retry_after: RetryAfter::After(wait),
            ..
        }) => problem.retry_after(wait.as_millis().div_ceil(1_000).max(1)),
        _ => problem,
    }
}

/// The answer while the command is still in flight.
pub fn accepted_for_later(command_id: CommandId) -> Response {
    let body = json!({
        "command_id": command_id.to_string(),
        "outcome": "pending",
        "status_url": format!("/api/v1/commands/{command_id}"),
    });
    (StatusCode::ACCEPTED, axum::Json(body)).into_response()
}
