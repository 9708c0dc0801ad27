//! The purchases view: one row per purchase (order, status, failure, compensation
//! progress), projected from `purchase.events` into the schema `purchases`, with its
//! position per partition in the same transaction.

mod change;
mod read;
mod write;

pub use change::{NewPurchase, Progress, PurchaseChange, purchase_change};
pub use read::{PurchaseRow, all_purchases, owner_purchases, purchase};
pub use write::{LoggedPurchaseEvent, apply_purchase_batch};

/// The projection's name in `projection_positions`.
pub const PROJECTION: &str = "purchases";
