//! `projectors rebuild <projection>`: replays a projection from offset zero into a fresh
//! copy while the live one keeps serving (and being written), then swaps them.
//!
//! Postgres views (`quota`, `purchases`) are rebuilt into a fresh schema and swapped by
//! renaming schemas; the Redis bucket view (`buckets`) and the Cassandra analytics
//! (`analytics`) into a fresh generation of keys or tables, swapped by moving the view's
//! active-generation pointer, after which the old generation is dropped.

mod analytics;
mod buckets;
mod postgres;

use std::future::Future;

use futures::FutureExt;
use schemas::PoolCodec;

use crate::consumer::{self, LoopSettings, Projection};
use crate::{Config, DeadLetters, ProjectorMetrics};

/// Every projection `rebuild` knows.
pub const REBUILDABLE: &str = "quota, purchases, buckets, analytics";

/// Rebuilds `projection`; returns once the rebuilt copy is live.
pub async fn rebuild(config: Config, projection: &str) -> anyhow::Result<()> {
    match projection {
        "quota" => postgres::rebuild_quota(config).await,
        "purchases" => postgres::rebuild_purchases(config).await,
        "buckets" => buckets::rebuild_buckets(config).await,
        "analytics" => analytics::rebuild_analytics(config).await,
        other => anyhow::bail!("cannot rebuild {other:?}: the projections are {REBUILDABLE}"),
    }
}

/// What every rebuild needs: a codec, dead letters, metrics, and a name unique to it.
struct RebuildKit {
    codec: PoolCodec,
    dead_letters: DeadLetters,
    metrics: ProjectorMetrics,
    /// Milliseconds since the epoch at the start: names the rebuild's consumer groups.
    started: u128,
}

impl RebuildKit {
    fn new(config: &Config) -> anyhow::Result<Self> {
        let registry = telemetry::metrics_registry(crate::SERVICE);
        let metrics = ProjectorMetrics::register(&registry)?;
        let codec = PoolCodec::new(&config.schema_registry)?;
        let dead_letters = DeadLetters::new(&config.kafka, metrics.clone())?;
        let started = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)?
            .as_millis();
        Ok(Self {
            codec,
            dead_letters,
            metrics,
            started,
        })
    }
}

/// A replay of one topic into a copy, running until stopped.
struct Replay {
    stop: tokio::sync::oneshot::Sender<()>,
    task: tokio::task::JoinHandle<anyhow::Result<()>>,
}

impl Replay {
    /// Starts replaying `topic` from offset zero into `projection`, in a consumer group of
    /// its own (whatever the live projection has read).
    fn start<P: Projection>(
        config: &Config,
        kit: &RebuildKit,
        topic: String,
        projection: P,
    ) -> Self {
        let settings = LoopSettings {
            group: format!(
                "{}.{}-rebuild-{}",
                config.projectors.group,
                projection.name(),
                kit.started
            ),
            topic,
            batch_max: config.projectors.batch_max,
        };
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let kafka = config.kafka.clone();
        let metrics = kit.metrics.clone();
        let task = tokio::spawn(async move {
            consumer::run(&kafka, settings, projection, metrics, stopped.map(|_| ())).await
        });
        Self { stop, task }
    }

    fn is_finished(&self) -> bool {
        self.task.is_finished()
    }

    /// Stops the replay; its in-flight batch, if any, completes or fails harmlessly.
    async fn stop(self) {
        let _ = self.stop.send(());
        let _ = self.task.await;
    }
}

/// Tries `swap` every 200 ms while `replays` run; the swap's answer once it is `Some`.
async fn swap_when_caught_up<T, F, Fut>(replays: &[&Replay], mut swap: F) -> anyhow::Result<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = anyhow::Result<Option<T>>>,
{
    loop {
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        if replays.iter().any(|r| r.is_finished()) {
            anyhow::bail!("the replay stopped before the copy caught up");
        }
        if let Some(swapped) = swap().await? {
            return Ok(swapped);
        }
    }
}
