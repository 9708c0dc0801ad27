//! The Postgres quota view: its schema (migrations), how each pool event changes it (pure),
//! how a partition's batch is written with its position, and how it is read.
//!
//! Shared by the projector, which writes it, and the query API, which reads it.
#![forbid(unsafe_code)]

mod change;
mod read;
pub mod rebuild;
mod write;

pub use change::{LedgerDelta, QuotaChange, change_of, owner_columns};
pub use read::{
    OwnerTotals, PoolRow, Position, ReservationRow, everything, open_reservations, owner_pools,
    owner_totals, pool, position, positions,
};
pub use write::{Applied, LoggedEvent, WriteError, apply_batch};

/// The projection's name in `projection_positions`.
pub const PROJECTION: &str = "quota";

/// Creates or upgrades the view's tables.
pub async fn migrate(db: &sqlx::PgPool) -> Result<(), sqlx::migrate::MigrateError> {
    sqlx::migrate!("./migrations").run(db).await
}
