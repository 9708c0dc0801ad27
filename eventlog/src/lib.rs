//! Kafka plumbing shared by the services: client configuration, the readiness check and
//! the one wrapper through which every Kafka transaction call goes.
#![forbid(unsafe_code)]

mod check;
mod client;
mod partitioner;
mod reader;
mod reply_ticket;
mod topics;
mod trace;
mod transactions;

pub use check::KafkaCheck;
pub use client::{ClientRole, client_config};
pub use partitioner::{murmur2, partition_for};
pub use reader::{StoredRecord, end_offset, read_committed, read_topic};
pub use reply_ticket::{REPLY_TICKET, reply_ticket_of, with_reply_ticket};
pub use topics::{TopicError, TopicSpec, Topics, ensure_topics};
pub use trace::{trace_headers, trace_of};
pub use transactions::{TransactionError, Transactions};
