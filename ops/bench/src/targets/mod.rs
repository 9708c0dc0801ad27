//! The systems under test, each behind the generator's [`crate::load::Target`].

pub mod dispatch;
pub mod http;
pub mod kafka;
pub mod postgres;
