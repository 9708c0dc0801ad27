//! `projectors rebuild <projection>`: replays a projection from offset zero into a fresh
//! copy while the live one keeps serving (and being written), then swaps them.

use std::time::Duration;

use eventlog::Topics;
use futures::FutureExt;
use quotaview::rebuild::{Swap, fresh_copy, try_swap};
use schemas::PoolCodec;

use crate::consumer::{self, LoopSettings};
use crate::{Config, DeadLetters, ProjectorMetrics, QuotaProjection};

/// Rebuilds `projection`; returns once the rebuilt copy is live.
pub async fn rebuild(config: Config, projection: &str) -> anyhow::Result<()> {
    match projection {
        quotaview::PROJECTION => rebuild_quota(config).await,
        other => anyhow::bail!(
            "cannot rebuild {other:?}: only \"quota\" has copies to swap; the Redis buckets \
             and Cassandra analytics are rebuilt by starting a projector with another \
             redis_key_prefix / keyspace and group"
        ),
    }
}

async fn rebuild_quota(config: Config) -> anyhow::Result<()> {
    let live = viewstore::connect_postgres(&config.postgres).await?;
    quotaview::migrate(&live).await?;
    let copy = fresh_copy(&config.postgres.url).await?;
    let registry = telemetry::metrics_registry(crate::SERVICE);
    let metrics = ProjectorMetrics::register(&registry)?;
    let codec = PoolCodec::new(&config.schema_registry)?;
    let dead_letters = DeadLetters::new(&config.kafka, metrics.clone())?;
    let projection = QuotaProjection::new(copy, codec, dead_letters);
    let started = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)?
        .as_millis();
    // A group of its own: the copy starts from offset zero, whatever the live one has read.
    let settings = LoopSettings {
        topic: Topics::new(&config.kafka).pool_events(),
        group: format!("{}.quota-rebuild-{started}", config.projectors.group),
        batch_max: config.projectors.batch_max,
    };
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let replay = tokio::spawn(async move {
        consumer::run(
            &config.kafka,
            settings,
            projection,
            metrics,
            stopped.map(|_| ()),
        )
        .await
    });
    tracing::info!("replaying token-pool.events into a fresh copy of the quota view");
    let retired = loop {
        tokio::time::sleep(Duration::from_millis(200)).await;
        if replay.is_finished() {
            anyhow::bail!("the replay stopped before the copy caught up");
        }
        match try_swap(&live, &started.to_string()).await? {
            Swap::Swapped { retired_schema } => break retired_schema,
            Swap::Behind => {}
        }
    };
    let _ = stop.send(());
    // The replay's in-flight batch, if any, committed into the copy (now live) or fails
    // harmlessly: its schema name no longer exists.
    let _ = replay.await;
    tracing::info!(retired = %retired, "the rebuilt quota view is live");
    eprintln!("quota view rebuilt and swapped in; the old copy is schema {retired}");
    Ok(())
}
