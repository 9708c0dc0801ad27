//! Every domain value survives the trip to Avro binary and back exactly, without a registry:
//! every variant by example, and whole ranges by property; and values written with an
//! older schema are read by name, the way the Avro specification resolves schemas.

#[path = "../support/mod.rs"]
mod support;

mod properties;
mod resolution;
mod variants;
