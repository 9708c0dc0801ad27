//! Values of `auth.events`: [`AuthEvent`](domain::AuthEvent) mapped to its Avro record, and
//! [`AuthCodec`] for them.

mod codec;
mod event;

pub use codec::AuthCodec;

#[cfg(test)]
pub(crate) use event::{AUTH_EVENT, ROLE};
