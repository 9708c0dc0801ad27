//! The token-purchase saga: a process manager driving each purchase through payment,
//! grant and capture, and compensating in reverse when a step fails or stalls.
//!
//! [`decide`] and [`ids`] are pure; [`runner`] feeds them from `purchase.state` and
//! performs their actions against the payment provider and the pool processor.

pub mod decide;
mod follow;
pub mod ids;
mod metrics;
mod payment;
pub mod runner;

pub use metrics::SagaMetrics;
pub use payment::PaymentClient;
