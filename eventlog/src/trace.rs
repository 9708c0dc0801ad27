//! The trace context of a record, in its `traceparent` header: how one request's trace
//! crosses Kafka from the API to the writers, the sagas and the projectors.

use rdkafka::Message;
use rdkafka::message::{Header, Headers, OwnedHeaders};
use telemetry::{TRACEPARENT, TraceContext};

/// Headers carrying `context`.
pub fn trace_headers(context: &TraceContext) -> OwnedHeaders {
    OwnedHeaders::new().insert(Header {
        key: TRACEPARENT,
        value: Some(&context.to_string()),
    })
}

/// The trace context a record carries, if any (and readable).
pub fn trace_of<M: Message>(message: &M) -> Option<TraceContext> {
    let headers = message.headers()?;
    headers
        .iter()
        .filter(|h| h.key == TRACEPARENT)
        .find_map(|h| {
            std::str::from_utf8(h.value?)
                .ok()
                .and_then(TraceContext::parse)
        })
}
