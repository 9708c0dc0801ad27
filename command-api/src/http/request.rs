//! The parts of a command request that are not its body: which pool (from the path), on
//! whose behalf (until authentication lands, an `X-Actor` header), and its idempotency key.

use axum::extract::{FromRequestParts, Path};
use axum::http::StatusCode;
use axum::http::request::Parts;
use domain::{Actor, CommandId, PoolId};
use uuid::Uuid;

use super::AppState;
use problem::Problem;

/// The pool named by `/pools/{owner_kind}/{owner_id}/{provider}`, for a known provider.
#[derive(Debug, Clone)]
pub struct PoolPath(pub PoolId);

impl FromRequestParts<AppState> for PoolPath {
    type Rejection = Problem;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let Path(params): Path<Vec<(String, String)>> = Path::from_request_parts(parts, state)
            .await
            .map_err(|e| Problem::malformed(e.body_text()))?;
        let param = |name: &str| {
            params
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.as_str())
                .unwrap_or_default()
        };
        let text = format!(
            "{}:{}/{}",
            param("owner_kind"),
            param("owner_id"),
            param("provider")
        );
        let pool: PoolId = text.parse().map_err(|e| {
            Problem::new(
                StatusCode::NOT_FOUND,
                "unknown-pool",
                "No such pool",
                format!("{text}: {e}"),
            )
        })?;
        if !state.pools.knows(pool.provider()) {
            let known: Vec<String> = state
                .pools
                .providers
                .iter()
                .map(ToString::to_string)
                .collect();
            return Err(Problem::new(
                StatusCode::NOT_FOUND,
                "unknown-provider",
                "No such provider",
                format!(
                    "provider {} is not one of {}",
                    pool.provider(),
                    known.join(", ")
                ),
            ));
        }
        Ok(Self(pool))
    }
}

/// Header naming who issues the command, e.g. `user:alice` (replaced by the caller's
/// identity once authentication is in place).
pub const ACTOR_HEADER: &str = "x-actor";

/// On whose behalf the command is issued.
#[derive(Debug, Clone)]
pub struct RequestActor(pub Actor);

impl<S: Send + Sync> FromRequestParts<S> for RequestActor {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let Some(value) = parts.headers.get(ACTOR_HEADER) else {
            return Ok(Self("system:api".parse().expect("constant actor")));
        };
        let text = value
            .to_str()
            .map_err(|_| Problem::invalid_field(ACTOR_HEADER, "not visible ASCII"))?;
        text.parse()
            .map(Self)
            .map_err(|e| Problem::invalid_field(ACTOR_HEADER, e))
    }
}

/// Header carrying the client's idempotency key.
pub const IDEMPOTENCY_HEADER: &str = "idempotency-key";

/// Names the command for deduplication: the same key from the same actor on the same route
/// is the same command (same payload: same answer; another payload: 409).
#[derive(Debug, Clone)]
pub struct IdempotencyKey(pub Option<String>);

impl<S: Send + Sync> FromRequestParts<S> for IdempotencyKey {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let Some(value) = parts.headers.get(IDEMPOTENCY_HEADER) else {
            return Ok(Self(None));
        };
        let key = value
            .to_str()
            .ok()
            .filter(|k| (1..=255).contains(&k.len()) && k.bytes().all(|b| b.is_ascii_graphic()))
            .ok_or_else(|| {
                Problem::invalid_field(IDEMPOTENCY_HEADER, "1 to 255 visible ASCII characters")
            })?;
        let route = format!("{} {}", parts.method, parts.uri.path());
        Ok(Self(Some(format!("{route}\n{key}"))))
    }
}

/// Namespace of command ids derived from idempotency keys.
const COMMAND_NAMESPACE: Uuid = Uuid::from_u128(0x6c65_616b_795f_746f_6b65_6e73_5f63_6d64);

impl IdempotencyKey {
    /// The command's id: derived from the key (so retries collide on purpose), else new.
    pub fn command_id(&self, actor: &Actor) -> CommandId {
        match &self.0 {
            Some(key) => CommandId::from_uuid(Uuid::new_v5(
                &COMMAND_NAMESPACE,
                format!("{actor}\n{key}").as_bytes(),
            )),
            None => CommandId::from_uuid(Uuid::new_v4()),
        }
    }
}
