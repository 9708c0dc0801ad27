//! Invariants that hold for every input, checked with proptest.

#[path = "../spec/mod.rs"]
mod spec;
#[path = "../support/mod.rs"]
mod support;

mod pool;
mod rate_limit;
