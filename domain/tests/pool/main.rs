//! Specification of the `TokenPool` aggregate, command by command.

#[path = "../spec/mod.rs"]
mod spec;
#[path = "../support/mod.rs"]
mod support;

mod consume;
mod grants;
mod holders;
mod policy_and_period;
mod provision;
mod release_and_expire;
mod reserve;
mod settle;
mod views;
