//! API keys: created and revoked by their owner, listed without the raw key.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use problem::Problem;
use serde::Deserialize;
use serde_json::json;

use super::{AuthState, Caller, body, decide_and_record, now};
use crate::directory::AuthEvent;
use crate::secrets;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewKey {
    name: String,
}

pub(super) async fn create_key(
    State(state): State<AuthState>,
    headers: HeaderMap,
    bytes: Bytes,
) -> Result<Response, Problem> {
    let user = Caller::of(&state, &headers)?.user;
    let NewKey { name } = body(&bytes)?;
    if name.is_empty() || name.len() > 100 {
        return Err(Problem::invalid_field("name", "1 to 100 characters"));
    }
    let (key_id, raw) = secrets::new_api_key();
    let event = AuthEvent::ApiKeyCreated {
        user,
        key_id: key_id.clone(),
        sha256: secrets::key_hash(&raw),
        name: name.clone(),
        at: now(),
    };
    decide_and_record(&state, event, |d, e| d.about_user(e)).await?;
    // The only time the raw key is ever shown.
    let body = json!({"id": key_id, "name": name, "key": raw});
    Ok((StatusCode::CREATED, axum::Json(body)).into_response())
}

pub(super) async fn list_keys(
    State(state): State<AuthState>,
    headers: HeaderMap,
) -> Result<Response, Problem> {
    let user = Caller::of(&state, &headers)?.user;
    let keys = state.view.read(|d| {
        d.keys_of(&user)
            .into_iter()
            .map(|(id, key)| json!({"id": id, "name": key.name, "created_at_ms": key.created_at_ms, "revoked": key.revoked}))
            .collect::<Vec<_>>()
    });
    Ok(axum::Json(json!({"keys": keys})).into_response())
}

pub(super) async fn revoke_key(
    State(state): State<AuthState>,
    headers: HeaderMap,
    Path(key_id): Path<String>,
) -> Result<Response, Problem> {
    let user = Caller::of(&state, &headers)?.user;
    let event = AuthEvent::ApiKeyRevoked {
        user,
        key_id,
        at: now(),
    };
    decide_and_record(&state, event, |d, e| d.about_user(e)).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
