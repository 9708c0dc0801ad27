//! The single writer per partition: turns commands into events inside Kafka transactions.

pub mod ledger;
