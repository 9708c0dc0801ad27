//! The Postgres quota view: its schema (migrations), how each pool event changes it (pure),
//! how a partition's batch is written with its position, and how it is read.
//!
//! The purchases view (`purchases`) lives next to it in a schema of its own.
//!
//! Shared by the projector, which writes them, and the query API, which reads them.
#![forbid(unsafe_code)]

mod change;
pub mod purchases;
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
    rebuild::QUOTA.migrator.run(db).await
}
