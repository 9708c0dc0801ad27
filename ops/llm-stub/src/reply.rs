//! What every provider shape shares: the request id, the wait, injected failures, and a
//! server-sent-event stream that records its usage only once it was read to the end.

use std::collections::VecDeque;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use futures::stream;
use serde_json::{Value, json};

use crate::behaviour::Behaviour;

/// The header naming a request; the gateway sends its reservation id in it.
pub const REQUEST_ID: &str = "x-request-id";

/// The caller's request id, or a fresh one.
pub fn request_id(headers: &HeaderMap) -> String {
    headers
        .get(REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.is_empty())
        .map_or_else(|| uuid::Uuid::new_v4().to_string(), str::to_owned)
}

/// Waits as the behaviour says; a hanging request waits for an hour (its caller gives up
/// first, dropping this future).
pub async fn wait(behaviour: &Behaviour) {
    if behaviour.hang {
        tokio::time::sleep(Duration::from_secs(3_600)).await;
    }
    tokio::time::sleep(Duration::from_millis(behaviour.latency_ms)).await;
}

/// An error answer in the provider's shape (`google` selects Gemini's error object).
pub fn failure(status: u16, google: bool) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::SERVICE_UNAVAILABLE);
    let message = format!("stub failure injected: {status}");
    let body = if google {
        json!({"error": {"code": status.as_u16(), "message": message, "status": "UNAVAILABLE"}})
    } else {
        json!({"error": {"message": message, "type": "server_error", "code": status.as_u16()}})
    };
    let mut response = (status, axum::Json(body)).into_response();
    if status == StatusCode::TOO_MANY_REQUESTS {
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
    }
    response
}

/// A plain JSON answer tagged with its request id.
pub fn json_with_id(body: Value, request_id: &str) -> Response {
    let mut response = axum::Json(body).into_response();
    if let Ok(value) = HeaderValue::from_str(request_id) {
        response.headers_mut().insert(REQUEST_ID, value);
    }
    response
}

/// Streams `events` as `data:` lines, `behaviour.chunk_interval_ms` apart. Cut after
/// `abort_after_chunks` events if set (an error ends the body mid-way, as a dropped
/// connection would); otherwise, once the last event was taken by the server, `on_done`.
pub fn sse(
    events: Vec<String>,
    behaviour: &Behaviour,
    request_id: &str,
    on_done: impl FnOnce() + Send + 'static,
) -> Response {
    struct Progress<F> {
        events: VecDeque<String>,
        sent: u64,
        abort_after: Option<u64>,
        interval: Duration,
        on_done: Option<F>,
    }
    let progress = Progress {
        events: events.into(),
        sent: 0,
        abort_after: behaviour.abort_after_chunks,
        interval: Duration::from_millis(behaviour.chunk_interval_ms),
        on_done: Some(on_done),
    };
    let body = stream::unfold(progress, |mut p| async move {
        if p.abort_after.is_some_and(|limit| p.sent >= limit) {
            p.abort_after = None;
            p.events.clear();
            p.on_done = None;
            // Let what was sent reach the caller first, as it would before a real cut.
            tokio::time::sleep(Duration::from_millis(20)).await;
            let cut = std::io::Error::new(std::io::ErrorKind::ConnectionAborted, "stub abort");
            return Some((Err::<Bytes, std::io::Error>(cut), p));
        }
        match p.events.pop_front() {
            Some(event) => {
                if p.sent > 0 && !p.interval.is_zero() {
                    tokio::time::sleep(p.interval).await;
                }
                p.sent += 1;
                Some((Ok(Bytes::from(format!("data: {event}\n\n"))), p))
            }
            None => {
                // Asked for more after the last event: everything before was handed over.
                if let Some(done) = p.on_done.take() {
                    done();
                }
                None
            }
        }
    });
    let mut response = Response::new(Body::from_stream(body));
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/event-stream"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    if let Ok(value) = HeaderValue::from_str(request_id) {
        headers.insert(REQUEST_ID, value);
    }
    response
}

/// A 400 in the OpenAI error shape for a body the stub cannot read.
pub fn bad_request(detail: impl std::fmt::Display) -> Response {
    let body = json!({"error": {"message": detail.to_string(), "type": "invalid_request_error"}});
    (StatusCode::BAD_REQUEST, axum::Json(body)).into_response()
}
