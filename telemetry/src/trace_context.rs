//! W3C Trace Context (`traceparent`): the identity of one request's trace, carried from an
//! HTTP call through every Kafka record it causes, so the log lines of all services about
//! one request share a `trace_id`.

use std::fmt;

/// The `traceparent` of one hop: the trace it belongs to and the span that caused the next.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TraceContext {
    trace_id: u128,
    span_id: u64,
    sampled: bool,
}

/// The header name, in HTTP and in Kafka record headers alike.
pub const TRACEPARENT: &str = "traceparent";

impl TraceContext {
    /// The start of a new trace (a request that arrived without one).
    pub fn new_root() -> Self {
        Self {
            // A v4 uuid is never zero: its version bits are set.
            trace_id: uuid::Uuid::new_v4().as_u128(),
            span_id: fresh_span_id(),
            sampled: true,
        }
    }

    /// The next hop of the same trace: same trace id, a span id of its own.
    pub fn child(&self) -> Self {
        Self {
            span_id: fresh_span_id(),
            ..*self
        }
    }

    /// Reads a `traceparent` value; `None` for anything the spec says to ignore (wrong
    /// lengths, non-lowercase-hex, all-zero ids, version `ff`).
    pub fn parse(value: &str) -> Option<Self> {
        let mut parts = value.trim().split('-');
        let version = parts.next()?;
        let trace_id = parts.next()?;
        let span_id = parts.next()?;
        let flags = parts.next()?;
        // Version 00 has exactly four parts; later versions may append more.
        if version == "ff" || (version == "00" && parts.next().is_some()) {
            return None;
        }
        let (_, trace_id, span_id, flags) = (
            lower_hex(version, 2)?,
            lower_hex(trace_id, 32)?,
            lower_hex(span_id, 16)?,
            lower_hex(flags, 2)?,
        );
        if trace_id == 0 || span_id == 0 {
            return None;
        }
        Some(Self {
            trace_id,
            span_id: u64::try_from(span_id).ok()?,
            sampled: flags & 1 == 1,
        })
    }

    /// The trace id as 32 lowercase hex digits, as log lines carry it.
    pub fn trace_id(&self) -> String {
        format!("{:032x}", self.trace_id)
    }

    /// The span id as 16 lowercase hex digits.
    pub fn span_id(&self) -> String {
        format!("{:016x}", self.span_id)
    }
}

impl fmt::Display for TraceContext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "00-{:032x}-{:016x}-{:02x}",
            self.trace_id,
            self.span_id,
            u8::from(self.sampled)
        )
    }
}

tokio::task_local! {
    static CURRENT: TraceContext;
}

/// Runs `work` as part of the trace `context`: whatever it sends on (a command, a record)
/// carries a child of it. An HTTP request's trace is set by the probes' request layer.
pub async fn in_trace<F: Future>(context: TraceContext, work: F) -> F::Output {
    CURRENT.scope(context, work).await
}

/// The trace the running task is part of, if any.
pub fn current_trace() -> Option<TraceContext> {
    CURRENT.try_with(|context| *context).ok()
}

/// The context for the next hop: a child of the current trace, or a new trace.
pub fn next_hop() -> TraceContext {
    current_trace().map_or_else(TraceContext::new_root, |context| context.child())
}

fn fresh_span_id() -> u64 {
    // Half of a v4 uuid's random bits; zero is invalid and (practically) never drawn.
    (uuid::Uuid::new_v4().as_u64_pair().1).max(1)
}

/// `text` as a number if it is exactly `digits` lowercase hex digits (the spec refuses
/// uppercase, and `from_str_radix` alone would take it, and a sign).
fn lower_hex(text: &str, digits: usize) -> Option<u128> {
    let lower = |c: u8| c.is_ascii_digit() || (b'a'..=b'f').contains(&c);
    if text.len() != digits || !text.bytes().all(lower) {
        return None;
    }
    u128::from_str_radix(text, 16).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    const EXAMPLE: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

    #[test]
    fn the_spec_example_reads_and_prints_back_unchanged() {
        let context = TraceContext::parse(EXAMPLE).unwrap();
        assert_eq!(context.trace_id(), "4bf92f3577b34da6a3ce929d0e0e4736");
        assert_eq!(context.span_id(), "00f067aa0ba902b7");
        assert_eq!(context.to_string(), EXAMPLE);
    }

    #[test]
    fn what_the_spec_says_to_ignore_is_not_read() {
        for bad in [
            "",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7",
            "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
            "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
            "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra",
            "0x-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        ] {
            assert_eq!(TraceContext::parse(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn a_later_version_may_append_fields() {
        let context =
            TraceContext::parse("01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00-more");
        assert_eq!(
            context.map(|c| c.to_string()).as_deref(),
            Some("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00")
        );
    }

    #[test]
    fn a_child_keeps_the_trace_and_takes_a_span_of_its_own() {
        let parent = TraceContext::parse(EXAMPLE).unwrap();
        let child = parent.child();
        assert_eq!(child.trace_id(), parent.trace_id());
        assert_ne!(child.span_id(), parent.span_id());
        assert_eq!(TraceContext::parse(&child.to_string()), Some(child));
    }

    #[tokio::test]
    async fn the_next_hop_continues_the_current_trace_or_starts_one() {
        let parent = TraceContext::parse(EXAMPLE).unwrap();
        let inside = in_trace(parent, async { (current_trace(), next_hop()) }).await;
        assert_eq!(inside.0, Some(parent));
        assert_eq!(inside.1.trace_id(), parent.trace_id());
        assert_eq!(current_trace(), None);
        assert_ne!(next_hop().trace_id(), parent.trace_id());
    }

    #[test]
    fn new_roots_are_valid_and_distinct() {
        let (a, b) = (TraceContext::new_root(), TraceContext::new_root());
        assert_ne!(a.trace_id(), b.trace_id());
        assert_eq!(TraceContext::parse(&a.to_string()), Some(a));
    }
}
