//! Reading the purchases view: one purchase, an owner's purchases, the whole view.

use serde::Serialize;
use sqlx::PgPool;
use uuid::Uuid;

/// One purchase as the view holds it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct PurchaseRow {
    pub purchase_id: Uuid,
    pub owner_kind: String,
    pub owner_id: String,
    pub pool_id: String,
    pub provider: String,
    pub tokens: i64,
    pub price_cents: i64,
    pub payment_method: String,
    /// `REQUESTED`, `PAYMENT_RESERVED`, `PAYMENT_CAPTURED`, `TOKENS_GRANTED`, `COMPLETED`, `COMPENSATING`, `FAILED`.
    pub status: String,
    pub payment_reserved: bool,
    pub grant_id: Option<Uuid>,
    pub payment_captured: bool,
    pub failure_code: Option<String>,
    pub failure_detail: Option<String>,
    pub revoke_grant_pending: bool,
    pub release_payment_pending: bool,
    pub grant_revoked: bool,
    pub payment_released: bool,
    /// The step the saga performs next; `None` once the purchase is done.
    pub awaiting: Option<String>,
    pub requested_at_ms: i64,
    pub updated_at_ms: i64,
    pub last_event: String,
    pub last_partition: i32,
    pub last_offset: i64,
}

const COLUMNS: &str = "purchase_id, owner_kind, owner_id, pool_id, provider, tokens, \
     price_cents, payment_method, status, payment_reserved, grant_id, payment_captured, \
     failure_code, failure_detail, revoke_grant_pending, release_payment_pending, \
     grant_revoked, payment_released, awaiting, requested_at_ms, updated_at_ms, last_event, \
     last_partition, last_offset";

/// One purchase, if the view has it.
pub async fn purchase(db: &PgPool, purchase_id: Uuid) -> Result<Option<PurchaseRow>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM purchases WHERE purchase_id = $1"
    ))
    .bind(purchase_id)
    .persistent(false)
    .fetch_optional(db)
    .await
}

/// Up to `limit` purchases of an owner (`kind` `user` or `org`), newest first, only those
/// in `status` if given.
pub async fn owner_purchases(
    db: &PgPool,
    kind: &str,
    id: &str,
    status: Option<&str>,
    limit: i64,
) -> Result<Vec<PurchaseRow>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM purchases \
         WHERE owner_kind = $1 AND owner_id = $2 AND ($3::text IS NULL OR status = $3) \
         ORDER BY requested_at_ms DESC, purchase_id LIMIT $4"
    ))
    .bind(kind)
    .bind(id)
    .bind(status)
    .bind(limit)
    .persistent(false)
    .fetch_all(db)
    .await
}

/// Every purchase, by id: the whole view, for comparing two copies.
pub async fn all_purchases(db: &PgPool) -> Result<Vec<PurchaseRow>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM purchases ORDER BY purchase_id"
    ))
    .persistent(false)
    .fetch_all(db)
    .await
}
