//! Structured logs and metrics, set up the same way in every service.
#![forbid(unsafe_code)]

mod trace_context;

pub use trace_context::{TRACEPARENT, TraceContext, current_trace, in_trace, next_hop};

use prometheus::Registry;
use tracing_subscriber::EnvFilter;

/// Environment variable holding the log filter (`tracing` directives, e.g. `info,rdkafka=warn`).
pub const LOG_FILTER_ENV: &str = "LEAKY_LOG";

/// Installs JSON logs on stderr for `service`, filtered by `$LEAKY_LOG` (default `info`).
///
/// JSON because the logs are read by machines first; every line carries the service name
/// so logs of several services can be interleaved and still told apart.
pub fn init_tracing(service: &'static str) {
    let filter = EnvFilter::try_from_env(LOG_FILTER_ENV).unwrap_or_else(|_| EnvFilter::new("info"));
    let installed = tracing_subscriber::fmt()
        .json()
        .with_current_span(true)
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
    // A second init (tests starting several services in one process) keeps the first one.
    if installed.is_ok() {
        tracing::info!(service, "logging started");
    }
}

/// A metrics registry whose every series carries `service="<name>"`.
pub fn metrics_registry(service: &'static str) -> Registry {
    let labels = [("service".to_owned(), service.to_owned())].into();
    Registry::new_custom(Some("leaky".into()), Some(labels))
        .expect("a constant prefix and label are valid")
}
