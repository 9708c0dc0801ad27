//! Rebuilding the Cassandra analytics into a fresh generation of tables, handing the live
//! writers over to it, then moving the readers' pointer; the old generation is dropped.
//!
//! Cassandra has no transaction to make a pointer move atomic with the live projectors'
//! batches, and two writers must never fold into the same row at once (each reads the
//! row's totals and writes them back). So the hand-over goes in steps, one writer per
//! generation at any time:
//!
//! 1. the replay fills the fresh generation until it has applied everything the live one
//!    has, and stops;
//! 2. `next` names the fresh generation: a live projector reads it before each batch,
//!    switches, and seeks each partition to the fresh generation's positions (re-applying
//!    what only the old generation got while the replay stopped);
//! 3. once the old generation stops moving and the fresh one has caught up with it,
//!    `active` names the fresh one: readers move to totals that are at least those they
//!    saw, never fewer;
//! 4. after a grace for reads in flight, the old tables are dropped.
//!
//! A rebuild that dies after step 2 leaves `next` set; the next run finishes that
//! hand-over (steps 3 and 4) first.

use std::time::{Duration, Instant};

use eventlog::Topics;
use scylla::client::session::Session;
use viewstore::AnalyticsTables;

use super::{RebuildKit, Replay, swap_when_caught_up};
use crate::analytics::generations::{
    activate, all_positions, caught_up, connect, drop_generation, ensure, hand_over,
};
use crate::{AnalyticsProjection, Config, Source};

/// How long readers that resolved the old generation just before the swap may still read
/// it before its tables are dropped (a read takes milliseconds; a reader that does find
/// them gone resolves the pointer again).
const DROP_GRACE: Duration = Duration::from_secs(2);

/// How long the old generation must stay still before the writers count as moved over.
const SETTLED: Duration = Duration::from_secs(1);

/// The longest the hand-over may take (a live projector stuck on its store).
const HANDOVER_LIMIT: Duration = Duration::from_secs(120);

/// `projectors rebuild analytics`.
pub async fn rebuild_analytics(config: Config) -> anyhow::Result<()> {
    let kit = RebuildKit::new(&config)?;
    let session = connect(&config.cassandra).await?;
    let (active, next) = viewstore::analytics_generations(&session, &config.cassandra.keyspace)
        .await
        .map_err(anyhow::Error::msg)?;
    let live = AnalyticsTables::new(active);
    if let Some(next) = next {
        // An earlier rebuild died after handing the writers over: they write `next`, the
        // readers still read `active`. Finish that hand-over first.
        let handed = AnalyticsTables::new(next);
        finish_hand_over(&session, live, handed).await?;
        eprintln!(
            "finished an interrupted hand-over: analytics generation {next} is live; \
             generation {active} dropped. Run again to rebuild"
        );
        return Ok(());
    }
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
        // The fresh tables exist once both replays have prepared them.
        async move {
            Ok(caught_up(&session, live, fresh)
                .await
                .unwrap_or(false)
                .then_some(()))
        }
    })
    .await?;
    for replay in replays {
        replay.stop().await;
    }
    hand_over(&session, fresh).await?;
    finish_hand_over(&session, live, fresh).await?;
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

/// Steps 3 and 4: once the writers have left `live` and `fresh` has caught up with it,
/// readers move to `fresh`; after a grace, `live` is dropped.
async fn finish_hand_over(
    session: &Session,
    live: AnalyticsTables,
    fresh: AnalyticsTables,
) -> anyhow::Result<()> {
    let started = Instant::now();
    let mut last = all_positions(session, live).await?;
    let mut still_since = Instant::now();
    loop {
        tokio::time::sleep(Duration::from_millis(200)).await;
        let now = all_positions(session, live).await?;
        if now != last {
            (last, still_since) = (now, Instant::now());
        } else if still_since.elapsed() >= SETTLED
            // Not yet readable: no writer has created the new generation's tables yet.
            && caught_up(session, live, fresh).await.unwrap_or(false)
        {
            break;
        }
        anyhow::ensure!(
            started.elapsed() < HANDOVER_LIMIT,
            "the live projectors did not move to generation {} within {HANDOVER_LIMIT:?}; \
             readers still use generation {} (run the rebuild again to finish)",
            fresh.number(),
            live.number()
        );
    }
    activate(session, fresh).await?;
    tokio::time::sleep(DROP_GRACE).await;
    drop_generation(session, live).await
}
