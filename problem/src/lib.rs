//! Errors as RFC 9457 problem details (`application/problem+json`): every refusal our HTTP
//! services give, from a malformed body to an exhausted quota or a foreign pool, has this
//! one shape.
#![forbid(unsafe_code)]

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
    retry_after_secs: Option<u64>,
    /// `WWW-Authenticate` challenge (RFC 6750), for a 401.
    challenge: Option<&'static str>,
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
            retry_after_secs: None,
            challenge: None,
        }
    }

    /// The request body is not JSON.
    pub fn malformed(detail: impl Into<String>) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "malformed-request",
            "The request is malformed",
            detail,
        )
    }

    /// A field has a value it cannot have.
    pub fn invalid_field(field: &str, detail: impl std::fmt::Display) -> Self {
        Self::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid-field",
            "A field has an invalid value",
            format!("{field}: {detail}"),
        )
        .with("field", json!(field))
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

    /// The credential is missing, unknown, revoked, expired or forged (401, with a
    /// `WWW-Authenticate: Bearer` challenge).
    pub fn unauthorized(detail: impl Into<String>) -> Self {
        let mut problem = Self::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "Who is calling is unknown",
            detail,
        );
        problem.challenge = Some("Bearer realm=\"leaky-tokens\"");
        problem
    }

    /// The caller is known but may not do this (403).
    pub fn forbidden(title: &'static str, detail: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "forbidden", title, detail)
    }

    /// The service (or a store it reads) cannot answer right now; retry in a second.
    pub fn unavailable(detail: impl Into<String>) -> Self {
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            "The service is unavailable",
            detail,
        )
        .retry_after(1)
    }

    /// Adds a member to the problem body.
    pub fn with(mut self, key: &str, value: Value) -> Self {
        self.extra.insert(key.to_owned(), value);
        self
    }

    /// Sets `Retry-After`.
    pub fn retry_after(mut self, seconds: u64) -> Self {
        self.retry_after_secs = Some(seconds);
        self
    }

    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        self.status
    }
}

#[cfg(feature = "sqlx")]
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
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        if let Some(seconds) = self.retry_after_secs {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        if let Some(challenge) = self.challenge {
            headers.insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static(challenge),
            );
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use axum::body::to_bytes;

    use super::*;

    async fn rendered(problem: Problem) -> (StatusCode, axum::http::HeaderMap, Value) {
        let response = problem.into_response();
        let (parts, body) = response.into_parts();
        let body = to_bytes(body, 64 * 1024).await.unwrap();
        (
            parts.status,
            parts.headers,
            serde_json::from_slice(&body).unwrap(),
        )
    }

    #[tokio::test]
    async fn a_problem_is_rfc_9457_json_with_its_extra_members() {
        let (status, headers, body) =
            rendered(Problem::forbidden("Not your pool", "alice may not").with("pool", json!("p")))
                .await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        assert_eq!(headers[header::CONTENT_TYPE], "application/problem+json");
        assert_eq!(
            body,
            json!({"type": "https://leaky-tokens.dev/problems/forbidden", "title": "Not your pool",
                   "status": 403, "detail": "alice may not", "pool": "p"})
        );
    }

    #[tokio::test]
    async fn unavailable_says_when_to_retry_and_unauthorized_names_its_kind() {
        let (status, headers, _) = rendered(Problem::unavailable("later")).await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(headers[header::RETRY_AFTER], "1");
        let (status, headers, body) = rendered(Problem::unauthorized("who?")).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert_eq!(
            headers[header::WWW_AUTHENTICATE],
            "Bearer realm=\"leaky-tokens\""
        );
        assert_eq!(
            body["type"],
            "https://leaky-tokens.dev/problems/unauthorized"
        );
    }
}
