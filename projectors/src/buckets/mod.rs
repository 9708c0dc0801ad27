//! The bucket projection: each pool's rate-limit buckets in Redis, from the compacted
//! `token-pool.state` topic (one absolute snapshot per pool per batch, so the newest
//! snapshot of a pool is its whole bucket state).

mod fields;
mod store;

use std::collections::BTreeMap;

use redis::aio::ConnectionManager;
use schemas::PoolCodec;
use tokio::sync::OnceCell;

pub use fields::bucket_fields;
pub use store::BucketWrite;
pub use viewstore::BucketKeys;

use crate::consumer::{Projection, Record};
use crate::dead_letter::DeadLetters;

/// The projection's name (positions, metrics, consumer group).
pub const PROJECTION: &str = viewstore::BUCKETS_PROJECTION;

/// Writes each pool's bucket hash to Redis.
#[derive(Clone)]
pub struct BucketProjection {
    client: redis::Client,
    connection: OnceCell<ConnectionManager>,
    keys: BucketKeys,
    codec: PoolCodec,
    dead_letters: DeadLetters,
}

impl std::fmt::Debug for BucketProjection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BucketProjection")
            .field("keys", &self.keys)
            .finish_non_exhaustive()
    }
}

impl BucketProjection {
    /// A projection into the Redis at `client` under `keys`, decoding with `codec`.
    pub fn new(
        client: redis::Client,
        keys: BucketKeys,
        codec: PoolCodec,
        dead_letters: DeadLetters,
    ) -> Self {
        Self {
            client,
            connection: OnceCell::new(),
            keys,
            codec,
            dead_letters,
        }
    }

    async fn redis(&self) -> anyhow::Result<ConnectionManager> {
        let connection = self
            .connection
            .get_or_try_init(|| ConnectionManager::new(self.client.clone()))
            .await?;
        Ok(connection.clone())
    }
}

impl Projection for BucketProjection {
    fn name(&self) -> &'static str {
        PROJECTION
    }

    async fn prepare(&self) -> anyhow::Result<()> {
        self.redis().await.map(|_| ())
    }

    async fn position(&self, partition: i32) -> anyhow::Result<i64> {
        let mut redis = self.redis().await?;
        Ok(store::position(&mut redis, &self.keys.positions(), partition).await?)
    }

    async fn apply(
        &self,
        partition: i32,
        records: Vec<Record>,
        next_offset: i64,
    ) -> anyhow::Result<usize> {
        // Snapshots are absolute: per pool only the batch's newest one matters.
        let mut latest: BTreeMap<String, BucketWrite> = BTreeMap::new();
        for record in records {
            let Some(value) = record.value.as_deref() else {
                // A compacted topic's tombstone: nothing to show for that pool.
                continue;
            };
            let snapshot = match self.codec.decode_snapshot(value).await {
                Ok(snapshot) => snapshot,
                Err(error) if error.is_poison() => {
                    self.dead_letters
                        .send(PROJECTION, &record, error.reason(), &error.to_string())
                        .await?;
                    continue;
                }
                Err(error) => return Err(error.into()),
            };
            let at = domain::Timestamp::from_millis(record.timestamp_ms.unwrap_or(0))
                .unwrap_or(domain::Timestamp::EPOCH);
            let pool_id = snapshot.pool_id.to_string();
            let Some(fields) = bucket_fields(&snapshot.state, at, snapshot.next_event_offset)
            else {
                continue;
            };
            latest.insert(
                pool_id.clone(),
                BucketWrite {
                    key: self.keys.bucket(&pool_id),
                    offset: record.offset,
                    fields,
                },
            );
        }
        let buckets: Vec<BucketWrite> = latest.into_values().collect();
        let mut redis = self.redis().await?;
        store::write_batch(
            &mut redis,
            &self.keys.positions(),
            partition,
            next_offset,
            &buckets,
        )
        .await?;
        Ok(buckets.len())
    }
}
