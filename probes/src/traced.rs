//! Every request joins a trace: the caller's (`traceparent`), or a new one. Its log lines
//! carry the `trace_id`, what it sends into Kafka carries the context onward, and the answer
//! names it in `traceparent`, so a caller can find everything one request caused.

use axum::extract::Request;
use axum::http::HeaderValue;
use axum::middleware::Next;
use axum::response::Response;
use telemetry::{TRACEPARENT, TraceContext, in_trace};
use tracing::Instrument;

/// Runs the request inside its trace (`HttpService` applies it to every service's router).
pub async fn trace_requests(request: Request, next: Next) -> Response {
    let context = request
        .headers()
        .get(TRACEPARENT)
        .and_then(|value| value.to_str().ok())
        .and_then(TraceContext::parse)
        .map_or_else(TraceContext::new_root, |caller| caller.child());
    let span = tracing::info_span!("request", trace_id = %context.trace_id());
    let mut response = in_trace(context, next.run(request).instrument(span)).await;
    if let Ok(value) = HeaderValue::from_str(&context.to_string()) {
        response.headers_mut().insert(TRACEPARENT, value);
    }
    response
}
