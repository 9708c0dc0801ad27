//! Invariants that hold for every input, checked with proptest.

#[path = "../support/mod.rs"]
mod support;

mod pool;
mod rate_limit;
