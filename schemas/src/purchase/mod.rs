//! Values of the purchase topics: one module per topic, plus the parts they share.

mod codec;
mod command;
mod event;
mod parts;
mod snapshot;

pub use codec::PurchaseCodec;
pub use command::PurchaseCommandEnvelope;
pub use event::PurchaseEventEnvelope;
pub use snapshot::PurchaseSnapshot;

#[cfg(test)]
pub(crate) use command::PURCHASE_COMMAND;
#[cfg(test)]
pub(crate) use event::PURCHASE_EVENT;
#[cfg(test)]
pub(crate) use parts::FAILURE_CODE;
