//! Reading the view: pools, their open holds, owners' totals, and positions.
//!
//! Statements are not kept prepared: each resolves the table names when it runs, so a
//! copy swapped in by a rebuild is read at once.

use serde::{Serialize, Serializer};
use sqlx::PgPool;
use uuid::Uuid;

/// One pool as the view holds it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct PoolRow {
    pub pool_id: String,
    pub owner_kind: String,
    pub owner_id: String,
    pub provider: String,
    pub tier: String,
    /// The tier-resolved policy (JSON text in the row, an object when serialised).
    #[serde(serialize_with = "json_text")]
    pub policy: String,
    pub granted: i64,
    pub consumed: i64,
    pub reserved: i64,
    pub overdraft: i64,
    pub remaining: i64,
    pub provisioned_at_ms: i64,
    pub updated_at_ms: i64,
    pub last_partition: i32,
    pub last_offset: i64,
}

/// One open hold.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct ReservationRow {
    pub pool_id: String,
    pub reservation_id: Uuid,
    pub amount: i64,
    pub reserved_at_ms: i64,
    pub expires_at_ms: i64,
    /// On whose behalf it is held (the actor); `None` for holds from before holders.
    pub held_by: Option<String>,
    /// The service holding it (`gateway`: in use for a call, only the gateway resolves it).
    pub held_via: Option<String>,
}

/// An owner's totals across the pools it has.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct OwnerTotals {
    pub owner_kind: String,
    pub owner_id: String,
    pub pools: i64,
    pub granted: i64,
    pub consumed: i64,
    pub reserved: i64,
    pub overdraft: i64,
    pub remaining: i64,
}

/// Where a projection stands on one partition: the next offset it will apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct Position {
    pub partition: i32,
    pub next_offset: i64,
}

const POOL_COLUMNS: &str = "pool_id, owner_kind, owner_id, provider, tier, policy::text AS policy, \
     granted, consumed, reserved, overdraft, remaining, provisioned_at_ms, updated_at_ms, \
     last_partition, last_offset";

/// One pool, if provisioned.
pub async fn pool(db: &PgPool, pool_id: &str) -> Result<Option<PoolRow>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {POOL_COLUMNS} FROM pools WHERE pool_id = $1"
    ))
    .bind(pool_id)
    .persistent(false)
    .fetch_optional(db)
    .await
}

/// Every pool of an owner (`kind` `user` or `org`), by provider.
pub async fn owner_pools(db: &PgPool, kind: &str, id: &str) -> Result<Vec<PoolRow>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {POOL_COLUMNS} FROM pools WHERE owner_kind = $1 AND owner_id = $2 ORDER BY provider"
    ))
    .bind(kind)
    .bind(id)
    .persistent(false)
    .fetch_all(db)
    .await
}

/// An owner's totals, if it has any pool.
pub async fn owner_totals(
    db: &PgPool,
    kind: &str,
    id: &str,
) -> Result<Option<OwnerTotals>, sqlx::Error> {
    sqlx::query_as("SELECT * FROM owner_quotas WHERE owner_kind = $1 AND owner_id = $2")
        .bind(kind)
        .bind(id)
        .persistent(false)
        .fetch_optional(db)
        .await
}

/// The open holds of a pool, soonest expiry first.
pub async fn open_reservations(
    db: &PgPool,
    pool_id: &str,
) -> Result<Vec<ReservationRow>, sqlx::Error> {
    sqlx::query_as(
        "SELECT pool_id, reservation_id, amount, reserved_at_ms, expires_at_ms, held_by, \
         held_via FROM open_reservations WHERE pool_id = $1 ORDER BY expires_at_ms, reservation_id",
    )
    .bind(pool_id)
    .persistent(false)
    .fetch_all(db)
    .await
}

/// The next offset `projection` will apply on `partition`: zero before its first batch,
/// and before the projector has created the view at all.
pub async fn position(db: &PgPool, projection: &str, partition: i32) -> Result<i64, sqlx::Error> {
    let stored: Result<Option<i64>, sqlx::Error> = sqlx::query_scalar(
        "SELECT next_offset FROM projection_positions WHERE projection = $1 AND partition = $2",
    )
    .bind(projection)
    .bind(partition)
    .persistent(false)
    .fetch_optional(db)
    .await;
    match stored {
        Ok(stored) => Ok(stored.unwrap_or(0)),
        Err(sqlx::Error::Database(error)) if error.code().as_deref() == Some(UNDEFINED_TABLE) => {
            Ok(0)
        }
        Err(error) => Err(error),
    }
}

/// Postgres' SQLSTATE for a relation that does not exist.
const UNDEFINED_TABLE: &str = "42P01";

/// Every partition's position of `projection`.
pub async fn positions(db: &PgPool, projection: &str) -> Result<Vec<Position>, sqlx::Error> {
    sqlx::query_as(
        "SELECT partition, next_offset FROM projection_positions \
         WHERE projection = $1 ORDER BY partition",
    )
    .bind(projection)
    .persistent(false)
    .fetch_all(db)
    .await
}

/// Every pool and every open hold, in key order: the whole view, for comparing two copies.
pub async fn everything(db: &PgPool) -> Result<(Vec<PoolRow>, Vec<ReservationRow>), sqlx::Error> {
    let pools = sqlx::query_as(&format!(
        "SELECT {POOL_COLUMNS} FROM pools ORDER BY pool_id"
    ))
    .persistent(false)
    .fetch_all(db)
    .await?;
    let holds = sqlx::query_as(
        "SELECT pool_id, reservation_id, amount, reserved_at_ms, expires_at_ms, held_by, \
         held_via FROM open_reservations ORDER BY pool_id, reservation_id",
    )
    .persistent(false)
    .fetch_all(db)
    .await?;
    Ok((pools, holds))
}

fn json_text<S: Serializer>(text: &str, serializer: S) -> Result<S::Ok, S::Error> {
    let value: serde_json::Value = serde_json::from_str(text).map_err(serde::ser::Error::custom)?;
    value.serialize(serializer)
}
