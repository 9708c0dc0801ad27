//! Specification of the `Purchase` aggregate: the forward path, each failure and its
//! compensation, repeats and late outcomes, and invariants over any sequence of outcomes.

mod compensation;
mod forward;
mod properties;
#[path = "../spec/mod.rs"]
mod spec;
mod support;
