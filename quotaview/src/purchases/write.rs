//! Applying a batch of one partition's purchase events and moving that partition's
//! position, in one transaction.

use domain::{PurchaseEvent, PurchaseId};
use sqlx::{PgPool, Postgres, Transaction};

use super::change::{PurchaseChange, purchase_change};
use crate::write::{Applied, WriteError, begin_batch, finish_batch};

/// A purchase event as read from `purchase.events`, with where it was.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoggedPurchaseEvent {
    /// Its offset in its partition.
    pub offset: i64,
    /// The purchase (the record key).
    pub purchase_id: PurchaseId,
    /// The fact.
    pub event: PurchaseEvent,
}

/// Applies `events` of `partition` (offset order) to the purchases view in `db` and sets
/// the partition's position to `next_offset`, in one transaction; events before the stored
/// position are skipped, so a batch delivered twice is applied once.
pub async fn apply_purchase_batch(
    db: &PgPool,
    partition: i32,
    events: &[LoggedPurchaseEvent],
    next_offset: i64,
) -> Result<Applied, WriteError> {
    let (mut tx, stored) = begin_batch(db, super::PROJECTION, partition).await?;
    let mut applied = 0;
    for logged in events.iter().filter(|e| e.offset >= stored) {
        apply_one(&mut tx, partition, logged).await?;
        applied += 1;
    }
    let next_offset = finish_batch(tx, super::PROJECTION, partition, stored, next_offset).await?;
    Ok(Applied {
        applied,
        next_offset,
    })
}

async fn apply_one(
    tx: &mut Transaction<'static, Postgres>,
    partition: i32,
    logged: &LoggedPurchaseEvent,
) -> Result<(), sqlx::Error> {
    let at = logged.event.at().as_millis();
    let name = logged.event.name();
    // $1 purchase, $2 event time (ms), $3 event name, $4 partition, $5 offset.
    let stamped = |sql: &'static str| {
        sqlx::query(sql)
            .persistent(false)
            .bind(logged.purchase_id.as_uuid())
            .bind(at)
            .bind(name)
            .bind(partition)
            .bind(logged.offset)
    };
    let query = match purchase_change(logged.purchase_id, &logged.event) {
        PurchaseChange::Placed(new) => stamped(
            "INSERT INTO purchases (purchase_id, requested_at_ms, updated_at_ms, last_event, \
               last_partition, last_offset, owner_kind, owner_id, pool_id, provider, tokens, \
               price_cents, payment_method, status) \
             VALUES ($1, $2, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, 'REQUESTED') \
             ON CONFLICT (purchase_id) DO NOTHING",
        )
        .bind(new.owner_kind)
        .bind(new.owner_id)
        .bind(new.pool_id)
        .bind(new.provider)
        .bind(new.tokens)
        .bind(new.price_cents)
        .bind(new.payment_method),
        PurchaseChange::Progress(p) => {
            let (failure_code, failure_detail, revoke, release) = match p.failure {
                Some((code, detail, revoke, release)) => {
                    (Some(code), Some(detail), Some(revoke), Some(release))
                }
                None => (None, None, None, None),
            };
            // A failure sets the pending undo steps; an undo step done clears its own.
            stamped(
                "UPDATE purchases SET \
                   status = COALESCE($6, status), \
                   payment_reserved = payment_reserved OR $7, \
                   grant_id = COALESCE($8, grant_id), \
                   payment_captured = payment_captured OR $9, \
                   failure_code = COALESCE($10, failure_code), \
                   failure_detail = COALESCE($11, failure_detail), \
                   revoke_grant_pending = COALESCE($12, revoke_grant_pending) AND NOT $14, \
                   release_payment_pending = COALESCE($13, release_payment_pending) AND NOT $15, \
                   grant_revoked = grant_revoked OR $14, \
                   payment_released = payment_released OR $15, \
                   updated_at_ms = $2, last_event = $3, last_partition = $4, last_offset = $5 \
                 WHERE purchase_id = $1",
            )
            .bind(p.status)
            .bind(p.payment_reserved)
            .bind(p.grant_id)
            .bind(p.payment_captured)
            .bind(failure_code)
            .bind(failure_detail)
            .bind(revoke)
            .bind(release)
            .bind(p.grant_revoked)
            .bind(p.payment_released)
        }
    };
    query.execute(&mut **tx).await?;
    Ok(())
}
