//! Rebuilding the Cassandra analytics into a fresh generation of tables and moving the
//! active-generation pointer once it has caught up; the old generation is then dropped.
//!
//! Cassandra cannot make the pointer move atomic with the live projectors' writes, so a
//! live batch may still land in the old generation just after the check. That is safe: a
//! live projector checks the pointer before each batch and, once it sees the new
//! generation, repositions its partitions at that generation's positions (see
//! `AnalyticsProjection::store`), re-applying what only the old generation had. The
//! replay keeps running until the new generation has again caught up, so readers see the
//! totals move forward only.

use std::time::{Duration, Instant};

use eventlog::Topics;
use viewstore::AnalyticsTables;

use super::{RebuildKit, Replay, swap_when_caught_up};
use crate::analytics::generations::{activate, caught_up, connect, drop_generation, ensure};
use crate::{AnalyticsProjection, Config, Source};

/// How long readers that resolved the old generation just before the swap may still read
/// it before its tables are dropped (a read takes milliseconds; a reader that does find
/// them gone resolves the pointer again).
const DROP_GRACE: Duration = Duration::from_secs(2);

/// How long, after the swap, the replay keeps feeding the new generation while the live
/// projectors move over to it.
const HANDOVER: Duration = Duration::from_secs(10);

/// `projectors rebuild analytics`.
pub async fn rebuild_analytics(config: Config) -> anyhow::Result<()> {
    let kit = RebuildKit::new(&config)?;
    let session = connect(&config.cassandra).await?;
    let active = viewstore::active_analytics(&session, &config.cassandra.keyspace)
        .await
        .map_err(anyhow::Error::msg)?;
    let live = AnalyticsTables::new(active);
    let fresh = AnalyticsTables::new(active + 1);
    // The live generation exists even if no projector ever ran; whatever an earlier
    // unfinished rebuild left in the fresh generation goes first.
    ensure(&session, live).await?;
    drop_generation(&session, fresh).await?;
    let topics = Topics::new(&config.kafka);
    let replays = [
        (Source::Events, topics.pool_events()),
        (Source::Rejections, topics.pool_rejections()),
    ]
    .map(|(source, topic)| {
        let projection = AnalyticsProjection::new(
            source,
            config.cassandra.clone(),
            kit.codec.clone(),
            kit.dead_letters.clone(),
        )
        .into_generation(fresh.number());
        Replay::start(&config, &kit, topic, projection)
    });
    tracing::info!(
        generation = fresh.number(),
        "replaying token-pool.events and .rejections into a fresh generation of the analytics"
    );
    let running: Vec<&Replay> = replays.iter().collect();
    swap_when_caught_up(&running, || {
        let session = session.clone();
        async move {
            // The fresh tables exist once both replays have prepared them.
            let ready = caught_up(&session, live, fresh).await.unwrap_or(false);
            if ready {
                activate(&session, fresh).await?;
            }
            Ok(ready.then_some(()))
        }
    })
    .await?;
    let handover = Instant::now();
    while handover.elapsed() < HANDOVER && !caught_up(&session, live, fresh).await? {
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    for replay in replays {
        replay.stop().await;
    }
    tokio::time::sleep(DROP_GRACE).await;
    drop_generation(&session, live).await?;
    tracing::info!(
        generation = fresh.number(),
        "the rebuilt analytics are live"
    );
    eprintln!(
        "analytics view rebuilt and swapped in as generation {}; generation {} dropped",
        fresh.number(),
        live.number()
    );
    Ok(())
}
