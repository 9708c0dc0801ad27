//! Rebuilding a Postgres view (`quota`, `purchases`) into a fresh schema and swapping the
//! schemas (see `quotaview::rebuild`).

use eventlog::Topics;
use quotaview::rebuild::{PURCHASES, QUOTA, Swap, ViewSchema};
use schemas::PurchaseCodec;

use super::{RebuildKit, Replay, swap_when_caught_up};
use crate::consumer::Projection;
use crate::{Config, PurchaseProjection, QuotaProjection};

/// `projectors rebuild quota`.
pub async fn rebuild_quota(config: Config) -> anyhow::Result<()> {
    let kit = RebuildKit::new(&config)?;
    let copy = QUOTA.fresh_copy(&config.postgres.url).await?;
    let projection = QuotaProjection::new(copy, kit.codec.clone(), kit.dead_letters.clone());
    let topic = Topics::new(&config.kafka).pool_events();
    rebuild_view(&config, &kit, QUOTA, topic, projection).await
}

/// `projectors rebuild purchases`.
pub async fn rebuild_purchases(config: Config) -> anyhow::Result<()> {
    let kit = RebuildKit::new(&config)?;
    let copy = PURCHASES.fresh_copy(&config.postgres.url).await?;
    let codec = PurchaseCodec::sharing(kit.codec.clone());
    let projection = PurchaseProjection::copy(copy, codec, kit.dead_letters.clone());
    let topic = Topics::new(&config.kafka).purchase_events();
    rebuild_view(&config, &kit, PURCHASES, topic, projection).await
}

async fn rebuild_view<P: Projection>(
    config: &Config,
    kit: &RebuildKit,
    view: ViewSchema,
    topic: String,
    projection: P,
) -> anyhow::Result<()> {
    let live = view.live_pool(&config.postgres.url, 2)?;
    view.prepare_live(&live).await?;
    let replay = Replay::start(config, kit, topic, projection);
    tracing::info!(
        view = view.projection,
        "replaying the log into a fresh copy of the view"
    );
    let suffix = kit.started.to_string();
    let retired = swap_when_caught_up(&[&replay], || async {
        Ok(match view.try_swap(&live, &suffix).await? {
            Swap::Swapped { retired_schema } => Some(retired_schema),
            Swap::Behind => None,
        })
    })
    .await?;
    // The replay's in-flight batch, if any, committed into the copy (now live) or fails
    // harmlessly: its schema name no longer exists.
    replay.stop().await;
    tracing::info!(view = view.projection, retired = %retired, "the rebuilt view is live");
    eprintln!(
        "{} view rebuilt and swapped in; the old copy is schema {retired}",
        view.projection
    );
    Ok(())
}
