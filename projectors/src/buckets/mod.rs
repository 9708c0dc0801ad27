//! The bucket projection: each pool's rate-limit buckets in Redis, from the compacted
//! `token-pool.state` topic (one absolute snapshot per pool per batch, so the newest
//! snapshot of a pool is its whole bucket state).

mod fields;
pub mod generations;
mod store;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use redis::aio::ConnectionManager;
use schemas::PoolCodec;
use tokio::sync::OnceCell;

pub use fields::bucket_fields;
pub use store::{BucketWrite, Retired};
pub use viewstore::{BucketKeys, GenerationKeys};

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
    /// The generation written: the active one (followed after a rebuild swaps another in),
    /// or the one a rebuild is filling.
    generation: Arc<AtomicU64>,
    /// Whether to follow the active generation (the live projector) or stay (a rebuild).
    follow: bool,
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
    /// A projection into the active generation of the view in the Redis at `client` under
    /// `keys`, decoding with `codec`.
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
            generation: Arc::default(),
            follow: true,
            codec,
            dead_letters,
        }
    }

    /// A projection into generation `generation` only (a rebuild's).
    pub fn into_generation(mut self, generation: u64) -> Self {
        self.generation = Arc::new(AtomicU64::new(generation));
        self.follow = false;
        self
    }

    fn generation(&self) -> GenerationKeys {
        self.keys.generation(self.generation.load(Ordering::SeqCst))
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
        let mut redis = self.redis().await?;
        if self.follow {
            let active = self.keys.read_active(&mut redis).await?;
            self.generation.store(active, Ordering::SeqCst);
        }
        Ok(())
    }

    async fn position(&self, partition: i32) -> anyhow::Result<i64> {
        let mut redis = self.redis().await?;
        Ok(store::position(&mut redis, &self.generation().positions(), partition).await?)
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
                    pool_id,
                    offset: record.offset,
                    fields,
                },
            );
        }
        let buckets: Vec<BucketWrite> = latest.into_values().collect();
        let mut redis = self.redis().await?;
        let generation = self.generation();
        let written = store::write_batch(
            &mut redis,
            &self.keys,
            &generation,
            partition,
            next_offset,
            &buckets,
        )
        .await;
        if let Err(error) = written {
            if self.follow && error.is::<Retired>() {
                // A rebuild swapped a newer generation in: the batch goes again, into it,
                // skipping what the rebuild already wrote (its positions are its own).
                let active = self.keys.read_active(&mut redis).await?;
                self.generation.store(active, Ordering::SeqCst);
                tracing::info!(generation = active, "following the rebuilt bucket view");
            }
            return Err(error);
        }
        Ok(buckets.len())
    }
}
