//! Values of the token-pool topics: one module per topic, plus the parts they share.

mod command;
mod event;
mod policy;
mod rejection;
mod snapshot;

pub use command::{PoolCommandEnvelope, command_type};
pub use event::PoolEventEnvelope;
pub use rejection::{CodeMismatch, PoolRejectionRecord};
pub use snapshot::PoolSnapshot;

#[cfg(test)]
pub(crate) use command::COMMAND;
#[cfg(test)]
pub(crate) use event::EVENT;
#[cfg(test)]
pub(crate) use policy::{GRANT_SOURCE, OVERAGE, STRATEGY, TIER};
