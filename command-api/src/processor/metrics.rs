//! What a processor says about itself on `/metrics`: the partitions it writes, what it
//! decided, where each partition's events end, the holds open, and the command ids it had
//! to forget early.
//! An operator pages on a commands partition nobody writes, and compares `events_end` with
//! the projectors' positions to see a view fall behind.

use prometheus::{IntCounter, IntCounterVec, IntGauge, IntGaugeVec, Opts, Registry};

/// The processor's series (every one also carries the registry's `service` label).
#[derive(Debug, Clone)]
pub struct ProcessorMetrics {
    /// Partitions of the commands topic this instance writes.
    partitions_owned: IntGauge,
    /// Partitions of the commands topic (what all instances together must cover).
    partitions: IntGauge,
    /// Commands decided, by decision (`accepted`, `rejected`, `repeated`, …).
    commands: IntCounterVec,
    /// Rejections, by code (`quota_exhausted`, `rate_limited`, …).
    rejections: IntCounterVec,
    /// Next offset of each owned events partition, after the last committed batch.
    events_end: IntGaugeVec,
    /// Holds open in the aggregates of each owned partition.
    holds_open: IntGaugeVec,
    /// Batches aborted and read again.
    aborted: IntCounter,
    /// Command ids forgotten before their retry window ended.
    forgotten_early: IntCounter,
}

impl ProcessorMetrics {
    /// The metrics, registered in `registry` for a commands topic of `partitions`.
    pub fn register(registry: &Registry, partitions: u32) -> prometheus::Result<Self> {
        let metrics = Self::unregistered(partitions);
        registry.register(Box::new(metrics.partitions_owned.clone()))?;
        registry.register(Box::new(metrics.partitions.clone()))?;
        registry.register(Box::new(metrics.commands.clone()))?;
        registry.register(Box::new(metrics.rejections.clone()))?;
        registry.register(Box::new(metrics.events_end.clone()))?;
        registry.register(Box::new(metrics.holds_open.clone()))?;
        registry.register(Box::new(metrics.aborted.clone()))?;
        registry.register(Box::new(metrics.forgotten_early.clone()))?;
        Ok(metrics)
    }

    /// The metrics of a processor nobody scrapes (tests and tools running it in-process).
    pub fn unregistered(partitions: u32) -> Self {
        let gauge = |name: &str, help: &str| IntGauge::new(name, help).expect("a valid metric");
        let counter = |name: &str, help: &str| IntCounter::new(name, help).expect("a valid metric");
        let metrics = Self {
            partitions_owned: gauge(
                "processor_partitions_owned",
                "Partitions of the commands topic this instance writes",
            ),
            partitions: gauge(
                "processor_partitions",
                "Partitions of the commands topic, which the instances together must cover",
            ),
            commands: IntCounterVec::new(
                Opts::new("processor_commands_total", "Commands decided, by decision"),
                &["decision"],
            )
            .expect("a valid metric"),
            rejections: IntCounterVec::new(
                Opts::new("processor_rejections_total", "Commands refused, by code"),
                &["code"],
            )
            .expect("a valid metric"),
            events_end: IntGaugeVec::new(
                Opts::new(
                    "processor_events_end",
                    "Next offset of an owned events partition after the last committed batch",
                ),
                &["partition"],
            )
            .expect("a valid metric"),
            holds_open: IntGaugeVec::new(
                Opts::new(
                    "processor_holds_open",
                    "Holds open in the pools of an owned partition (as of its last snapshot)",
                ),
                &["partition"],
            )
            .expect("a valid metric"),
            aborted: counter(
                "processor_batches_aborted_total",
                "Batches aborted and read again",
            ),
            forgotten_early: counter(
                "processor_command_ids_forgotten_early_total",
                "Keyed command ids forgotten before their retry window ended",
            ),
        };
        metrics.partitions.set(i64::from(partitions));
        metrics
    }

    /// This instance now writes `owned` partitions.
    pub fn owned(&self, owned: usize) {
        self.partitions_owned.set(owned as i64);
    }

    /// A command was decided as `decision`, refused with `code` if it was.
    pub fn decided(&self, decision: &str, code: Option<&str>) {
        self.commands.with_label_values(&[decision]).inc();
        if let Some(code) = code {
            self.rejections.with_label_values(&[code]).inc();
        }
    }

    /// A batch of `partition` committed; its events now end at `events_end`.
    pub fn committed(&self, partition: i32, events_end: i64) {
        self.events_end
            .with_label_values(&[&partition.to_string()])
            .set(events_end);
    }

    /// `open` holds are open in the pools of `partition`.
    pub fn holds_open(&self, partition: i32, open: usize) {
        self.holds_open
            .with_label_values(&[&partition.to_string()])
            .set(open as i64);
    }

    /// The writer of `partition` gave it up: what it says of it is another instance's to say.
    pub fn released(&self, partition: i32) {
        let label = partition.to_string();
        let _ = self.events_end.remove_label_values(&[&label]);
        let _ = self.holds_open.remove_label_values(&[&label]);
    }

    /// A batch was aborted.
    pub fn aborted(&self) {
        self.aborted.inc();
    }

    /// `more` command ids were forgotten early since last said.
    pub fn forgot_early(&self, more: u64) {
        self.forgotten_early.inc_by(more);
    }
}
