//! Rebuilding the Redis bucket view into a fresh generation of keys and swapping the
//! active-generation pointer once it has caught up; the old generation is then dropped.

use eventlog::Topics;
use redis::aio::ConnectionManager;

use super::{RebuildKit, Replay, swap_when_caught_up};
use crate::buckets::generations::{GenerationSwap, drop_generation, fresh_generation, try_swap};
use crate::{BucketKeys, BucketProjection, Config};

/// `projectors rebuild buckets`.
pub async fn rebuild_buckets(config: Config) -> anyhow::Result<()> {
    let kit = RebuildKit::new(&config)?;
    let keys = BucketKeys::new(format!(
        "{}{}",
        config.kafka.topic_prefix, config.projectors.redis_key_prefix
    ));
    let client = redis::Client::open(config.redis.url.as_str())?;
    let mut redis = ConnectionManager::new(client.clone()).await?;
    let (live, fresh) = fresh_generation(&mut redis, &keys).await?;
    let projection = BucketProjection::new(
        client,
        keys.clone(),
        kit.codec.clone(),
        kit.dead_letters.clone(),
    )
    .into_generation(fresh.number());
    let topic = Topics::new(&config.kafka).pool_state();
    let replay = Replay::start(&config, &kit, topic, projection);
    tracing::info!(
        generation = fresh.number(),
        "replaying token-pool.state into a fresh generation of the bucket view"
    );
    swap_when_caught_up(&[&replay], || {
        let mut redis = redis.clone();
        let (keys, live, fresh) = (&keys, &live, &fresh);
        async move {
            Ok(match try_swap(&mut redis, keys, live, fresh).await? {
                GenerationSwap::Swapped => Some(()),
                GenerationSwap::Behind => None,
            })
        }
    })
    .await?;
    replay.stop().await;
    // Readers resolve the pointer, then read one hash: a reader that resolved the old
    // generation and finds its hash gone resolves again (query-api `buckets`).
    let dropped = drop_generation(&mut redis, &live).await?;
    tracing::info!(
        generation = fresh.number(),
        dropped,
        "the rebuilt bucket view is live"
    );
    eprintln!(
        "buckets view rebuilt and swapped in as generation {}; generation {} dropped ({dropped} keys)",
        fresh.number(),
        live.number()
    );
    Ok(())
}
