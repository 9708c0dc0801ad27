//! Avro schemas of every topic value and their registration in the schema registry.
#![forbid(unsafe_code)]

mod check;

pub use check::RegistryCheck;
