//! Applying a batch of one partition's events to the view, and moving that partition's
//! position, in one transaction: the view and its position never disagree.

use domain::{PoolId, TokenPoolEvent};
use sqlx::{PgPool, Postgres, Transaction};

use crate::change::{QuotaChange, change_of};

/// An event as read from `token-pool.events`, with where it was.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoggedEvent {
    /// Its offset in its partition.
    pub offset: i64,
    /// The pool (the record key).
    pub pool_id: PoolId,
    /// The fact.
    pub event: TokenPoolEvent,
}

/// Why a batch was not written (nothing of it was).
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    /// The copy this batch was written to has just been replaced by a rebuilt one; the
    /// batch goes again and lands in the new copy.
    #[error("this copy of the view was retired by a rebuild; write the batch again")]
    Retired,
    /// Postgres refused or could not be reached.
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

/// What a batch did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Applied {
    /// Events applied (those before the stored position were skipped as already applied).
    pub applied: usize,
    /// The partition's position after the batch.
    pub next_offset: i64,
}

/// Applies `events` of `partition` (in offset order) and sets the partition's position to
/// `next_offset` (one past the last record read, decodable or not), in one transaction.
///
/// The stored position is read under a row lock first and events before it are skipped, so
/// a batch delivered twice (a restart, two instances during a rebalance) is applied once.
pub async fn apply_batch(
    db: &PgPool,
    projection: &str,
    partition: i32,
    events: &[LoggedEvent],
    next_offset: i64,
) -> Result<Applied, WriteError> {
    let (mut tx, stored) = begin_batch(db, projection, partition).await?;
    let mut applied = 0;
    for logged in events.iter().filter(|e| e.offset >= stored) {
        apply_one(&mut tx, partition, logged).await?;
        applied += 1;
    }
    let next_offset = finish_batch(tx, projection, partition, stored, next_offset).await?;
    Ok(Applied {
        applied,
        next_offset,
    })
}

/// Opens a batch's transaction on a live copy: fails with [`WriteError::Retired`] if a
/// rebuild replaced the copy; else the partition's stored position, locked until commit.
pub(crate) async fn begin_batch(
    db: &PgPool,
    projection: &str,
    partition: i32,
) -> Result<(Transaction<'static, Postgres>, i64), WriteError> {
    let mut tx = db.begin().await?;
    // Held until commit: a rebuild cannot swap this copy out from under the batch, and a
    // batch that waited for a swap sees that its copy is retired and goes again (its
    // statements then resolve to the new copy).
    let retired: bool = sqlx::query_scalar("SELECT retired FROM view_meta WHERE id = 1 FOR SHARE")
        .persistent(false)
        .fetch_one(&mut *tx)
        .await?;
    if retired {
        return Err(WriteError::Retired);
    }
    let stored = lock_position(&mut tx, projection, partition).await?;
    Ok((tx, stored))
}

/// Moves the partition's position to `next_offset` (never back) and commits; the position.
pub(crate) async fn finish_batch(
    mut tx: Transaction<'_, Postgres>,
    projection: &str,
    partition: i32,
    stored: i64,
    next_offset: i64,
) -> Result<i64, WriteError> {
    let next_offset = next_offset.max(stored);
    sqlx::query(
        "UPDATE projection_positions SET next_offset = $3, updated_at = now() \
         WHERE projection = $1 AND partition = $2",
    )
    .bind(projection)
    .bind(partition)
    .bind(next_offset)
    .persistent(false)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(next_offset)
}

/// The partition's position, created at zero if new, locked until the transaction ends.
async fn lock_position(
    tx: &mut Transaction<'_, Postgres>,
    projection: &str,
    partition: i32,
) -> Result<i64, sqlx::Error> {
    sqlx::query(
        "INSERT INTO projection_positions (projection, partition, next_offset) \
         VALUES ($1, $2, 0) ON CONFLICT DO NOTHING",
    )
    .bind(projection)
    .bind(partition)
    .persistent(false)
    .execute(&mut **tx)
    .await?;
    sqlx::query_scalar(
        "SELECT next_offset FROM projection_positions \
         WHERE projection = $1 AND partition = $2 FOR UPDATE",
    )
    .bind(projection)
    .bind(partition)
    .persistent(false)
    .fetch_one(&mut **tx)
    .await
}

async fn apply_one(
    tx: &mut Transaction<'_, Postgres>,
    partition: i32,
    logged: &LoggedEvent,
) -> Result<(), sqlx::Error> {
    let pool_id = logged.pool_id.to_string();
    let at = logged.event.at().as_millis();
    // Every statement also stamps the row with the event's time and position.
    let query = match change_of(&logged.pool_id, &logged.event) {
        QuotaChange::Provision {
            owner_kind,
            owner_id,
            provider,
            tier,
            policy,
        } => {
            let sql = "INSERT INTO pools (pool_id, owner_kind, owner_id, provider, tier, policy, \
                 provisioned_at_ms, updated_at_ms, last_partition, last_offset) \
                 VALUES ($1, $5, $6, $7, $8, $9::jsonb, $2, $2, $3, $4) \
                 ON CONFLICT (pool_id) DO NOTHING";
            stamped(sql, &pool_id, at, partition, logged.offset)
                .bind(owner_kind)
                .bind(owner_id)
                .bind(provider)
                .bind(tier)
                .bind(policy)
        }
        QuotaChange::Ledger(d) => {
            let sql = "UPDATE pools SET \
                 granted = GREATEST(granted + $5 - $6, 0), \
                 overdraft = GREATEST(overdraft + $7 - $8, 0), \
                 consumed = consumed + $9, \
                 updated_at_ms = $2, last_partition = $3, last_offset = $4 \
                 WHERE pool_id = $1";
            stamped(sql, &pool_id, at, partition, logged.offset)
                .bind(d.granted_add)
                .bind(d.granted_sub)
                .bind(d.overdraft_add)
                .bind(d.overdraft_sub)
                .bind(d.consumed_add)
        }
        QuotaChange::OpenHold {
            reservation_id,
            amount,
            reserved_at_ms,
            expires_at_ms,
            held_by,
            held_via,
        } => {
            let sql = "WITH opened AS ( \
                   INSERT INTO open_reservations \
                     (pool_id, reservation_id, amount, reserved_at_ms, expires_at_ms, \
                      held_by, held_via) \
                   SELECT $1, $5, $6, $7, $8, $9, $10 WHERE EXISTS (SELECT 1 FROM pools WHERE pool_id = $1) \
                   ON CONFLICT DO NOTHING RETURNING amount) \
                 UPDATE pools SET reserved = reserved + opened.amount, \
                   updated_at_ms = $2, last_partition = $3, last_offset = $4 \
                 FROM opened WHERE pool_id = $1";
            stamped(sql, &pool_id, at, partition, logged.offset)
                .bind(reservation_id)
                .bind(amount)
                .bind(reserved_at_ms)
                .bind(expires_at_ms)
                .bind(held_by)
                .bind(held_via)
        }
        QuotaChange::CloseHold {
            reservation_id,
            charge,
        } => {
            let sql = "WITH closed AS ( \
                   DELETE FROM open_reservations WHERE pool_id = $1 AND reservation_id = $5 \
                   RETURNING amount) \
                 UPDATE pools SET reserved = GREATEST(reserved - closed.amount, 0), \
                   consumed = consumed + $6, \
                   updated_at_ms = $2, last_partition = $3, last_offset = $4 \
                 FROM closed WHERE pool_id = $1";
            stamped(sql, &pool_id, at, partition, logged.offset)
                .bind(reservation_id)
                .bind(charge)
        }
        QuotaChange::Policy { tier, policy } => {
            let sql = "UPDATE pools SET tier = $5, policy = $6::jsonb, \
                 updated_at_ms = $2, last_partition = $3, last_offset = $4 WHERE pool_id = $1";
            stamped(sql, &pool_id, at, partition, logged.offset)
                .bind(tier)
                .bind(policy)
        }
        QuotaChange::Touch => {
            let sql = "UPDATE pools SET \
                 updated_at_ms = $2, last_partition = $3, last_offset = $4 WHERE pool_id = $1";
            stamped(sql, &pool_id, at, partition, logged.offset)
        }
    };
    query.execute(&mut **tx).await?;
    Ok(())
}

type PgQuery<'q> = sqlx::query::Query<'q, Postgres, sqlx::postgres::PgArguments>;

/// `sql` with the parameters every statement shares: `$1` pool, `$2` event time (ms),
/// `$3` partition, `$4` offset.
fn stamped(
    sql: &'static str,
    pool_id: &str,
    at: i64,
    partition: i32,
    offset: i64,
) -> PgQuery<'static> {
    sqlx::query(sql)
        .persistent(false)
        .bind(pool_id.to_owned())
        .bind(at)
        .bind(partition)
        .bind(offset)
}
