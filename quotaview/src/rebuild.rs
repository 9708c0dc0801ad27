//! Rebuilding the view into a fresh copy (schema `quota_rebuild`) while the live copy
//! (schema `public`) keeps serving, and swapping the two once the copy has caught up.
//!
//! The swap is one transaction: it marks the live copy retired (which waits for, then
//! blocks, the live writers' batches: they hold `view_meta` under a share lock), checks
//! that the copy has applied at least everything the live copy has, and renames the
//! schemas. Readers and writers resolve table names per statement, so the next statement
//! anyone runs sees the new copy; a batch that waited for the swap finds its copy retired
//! and is written again, into the new one, skipping what it already holds.

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{Connection, PgPool};

use crate::PROJECTION;

/// The schema a rebuild writes into.
pub const REBUILD_SCHEMA: &str = "quota_rebuild";

/// A fresh, migrated copy of the view in [`REBUILD_SCHEMA`] of the database at `url`
/// (any earlier unfinished copy is dropped), and a pool whose statements resolve to it.
pub async fn fresh_copy(url: &str) -> Result<PgPool, sqlx::Error> {
    let mut admin = sqlx::PgConnection::connect(url).await?;
    sqlx::query(&format!("DROP SCHEMA IF EXISTS {REBUILD_SCHEMA} CASCADE"))
        .execute(&mut admin)
        .await?;
    sqlx::query(&format!("CREATE SCHEMA {REBUILD_SCHEMA}"))
        .execute(&mut admin)
        .await?;
    let options = url
        .parse::<PgConnectOptions>()?
        .options([("search_path", REBUILD_SCHEMA)]);
    let copy = PgPoolOptions::new()
        .max_connections(2)
        .connect_with(options)
        .await?;
    crate::migrate(&copy)
        .await
        .map_err(|e| sqlx::Error::Migrate(Box::new(e)))?;
    Ok(copy)
}

/// What a swap attempt did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Swap {
    /// The copy is live; the old one is kept as this schema.
    Swapped { retired_schema: String },
    /// The copy has not yet applied everything the live one has; nothing changed.
    Behind,
}

/// Swaps the copy in if it has caught up with the live view (see the module doc).
pub async fn try_swap(live: &PgPool, retired_suffix: &str) -> Result<Swap, sqlx::Error> {
    let mut tx = live.begin().await?;
    sqlx::query("UPDATE public.view_meta SET retired = true WHERE id = 1")
        .execute(&mut *tx)
        .await?;
    let behind: bool = sqlx::query_scalar(&format!(
        "SELECT EXISTS (SELECT 1 FROM public.projection_positions l \
           LEFT JOIN {REBUILD_SCHEMA}.projection_positions c \
             ON c.projection = l.projection AND c.partition = l.partition \
           WHERE l.projection = $1 AND COALESCE(c.next_offset, 0) < l.next_offset)"
    ))
    .bind(PROJECTION)
    .fetch_one(&mut *tx)
    .await?;
    if behind {
        tx.rollback().await?;
        return Ok(Swap::Behind);
    }
    let retired_schema = format!("quota_retired_{retired_suffix}");
    sqlx::query(&format!("ALTER SCHEMA public RENAME TO {retired_schema}"))
        .execute(&mut *tx)
        .await?;
    sqlx::query(&format!("ALTER SCHEMA {REBUILD_SCHEMA} RENAME TO public"))
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(Swap::Swapped { retired_schema })
}
