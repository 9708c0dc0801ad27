//! The parts of a command request that are not its body: which pool (from the path), who
//! is calling and whether they may touch that pool (from their credential), and the
//! idempotency key.

use access::Identity;
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

/// A pool the caller may spend from: its own, an org's it belongs to, or any as ADMIN
/// (reserve, settle, release, consume, expire).
#[derive(Debug, Clone)]
pub struct SpendablePool {
    pub pool: PoolPath,
    pub caller: Identity,
}

impl FromRequestParts<AppState> for SpendablePool {
    type Rejection = Problem;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        // Who first: a stranger learns nothing about which pools or providers exist.
        let caller = Identity::from_request_parts(parts, state).await?;
        let pool = PoolPath::from_request_parts(parts, state).await?;
        caller.may_use_pool(&pool.0)?;
        Ok(Self { pool, caller })
    }
}

/// A pool the caller may manage: ADMIN only (provision, grants, policies, period resets).
#[derive(Debug, Clone)]
pub struct ManagedPool {
    pub pool: PoolPath,
    pub caller: Identity,
}

impl FromRequestParts<AppState> for ManagedPool {
    type Rejection = Problem;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let caller = Identity::from_request_parts(parts, state).await?;
        caller.may_manage("manage pools: provision them, grant or revoke tokens, change their policy or reset their period")?;
        let pool = PoolPath::from_request_parts(parts, state).await?;
        Ok(Self { pool, caller })
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
