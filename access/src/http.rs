//! Credentials at the HTTP edge: a middleware that identifies the caller of every request
//! of the routes it wraps (or answers 401/503 before any handler runs), and the extractor
//! handlers take the [`Identity`] with.

use axum::extract::{FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use problem::Problem;

use crate::{Credentials, Identity};

/// Middleware (`axum::middleware::from_fn_with_state(credentials, authenticate)`): refuses
/// a request without a valid credential, else hands its [`Identity`] to the handler.
pub async fn authenticate(
    State(credentials): State<Credentials>,
    request: Request,
    next: Next,
) -> Response {
    let (parts, body) = request.into_parts();
    let identified = credentials.identify_request(&parts).await;
    let mut request = Request::from_parts(parts, body);
    match identified {
        Ok(identity) => {
            request.extensions_mut().insert(identity);
            next.run(request).await
        }
        Err(problem) => problem.into_response(),
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Identity {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        // Only a route outside `authenticate` lacks it: refuse rather than serve anyone.
        parts
            .extensions
            .get::<Identity>()
            .cloned()
            .ok_or_else(|| Problem::unauthorized("this route checks no credential"))
    }
}
