//! Errors as RFC 9457 problem details (`application/problem+json`), the one shape of every
//! refusal the query API gives.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

/// Base of the `type` URIs; each names a kind of problem, documented in the README.
const TYPE_BASE: &str = "https://leaky-tokens.dev/problems/";

/// A problem to answer with.
#[derive(Debug, Clone)]
pub struct Problem {
    status: StatusCode,
    kind: &'static str,
    title: &'static str,
    detail: String,
    extra: Map<String, Value>,
}

impl Problem {
    /// A problem of `kind` (the last segment of its `type` URI).
    pub fn new(
        status: StatusCode,
        kind: &'static str,
        title: &'static str,
        detail: impl Into<String>,
    ) -> Self {
        Self {
            status,
            kind,
            title,
            detail: detail.into(),
            extra: Map::new(),
        }
    }

    /// A path segment or query parameter has a value it cannot have.
    pub fn invalid_parameter(parameter: &str, detail: impl std::fmt::Display) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "invalid-parameter",
            "A parameter has an invalid value",
            format!("{parameter}: {detail}"),
        )
        .with("parameter", json!(parameter))
    }

    /// Nothing is known under this path.
    pub fn not_found(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not-found", "Not found", detail)
    }

    /// The view store cannot be read right now.
    pub fn unavailable(detail: impl Into<String>) -> Self {
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            "The view is unavailable",
            detail,
        )
    }

    /// Adds a member to the problem body.
    pub fn with(mut self, key: &str, value: Value) -> Self {
        self.extra.insert(key.to_owned(), value);
        self
    }
}

impl From<sqlx::Error> for Problem {
    fn from(error: sqlx::Error) -> Self {
        // Logged in full, answered without internals.
        tracing::warn!(%error, "reading the view failed");
        Self::unavailable("the view store did not answer; retry shortly")
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let mut body = self.extra;
        body.insert("type".into(), json!(format!("{TYPE_BASE}{}", self.kind)));
        body.insert("title".into(), json!(self.title));
        body.insert("status".into(), json!(self.status.as_u16()));
        body.insert("detail".into(), json!(self.detail));
        let mut response = (self.status, axum::Json(Value::Object(body))).into_response();
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        if self.status == StatusCode::SERVICE_UNAVAILABLE {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        }
        response
    }
}
