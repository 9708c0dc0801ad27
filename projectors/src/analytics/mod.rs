//! The analytics projections: usage per provider, user and org in minute / hour / day
//! buckets in Cassandra, from `token-pool.events` (tokens, requests) and
//! `token-pool.rejections` (refusals). One projection per source topic; both write the
//! same rows, each under its own source column.

pub mod contributions;
mod store;

use std::collections::BTreeMap;
use std::sync::Arc;

use futures::future::try_join_all;
use schemas::PoolCodec;
use settings::CassandraSettings;
use tokio::sync::OnceCell;

use self::contributions::{Usage, UsageKey};
use self::store::AnalyticsStore;
use crate::consumer::{Projection, Record};
use crate::dead_letter::DeadLetters;

/// Which topic an analytics projection reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// `token-pool.events`: tokens charged and requests admitted.
    Events,
    /// `token-pool.rejections`: requests refused.
    Rejections,
}

impl Source {
    /// The projection's name (positions, metrics, consumer group).
    pub fn projection(self) -> &'static str {
        match self {
            Self::Events => "usage-events",
            Self::Rejections => "usage-rejections",
        }
    }

    /// The value of the rows' `source` column.
    fn column(self) -> &'static str {
        match self {
            Self::Events => "events",
            Self::Rejections => "rejections",
        }
    }
}

/// Folds one source topic into the usage rows.
#[derive(Debug, Clone)]
pub struct AnalyticsProjection {
    source: Source,
    settings: CassandraSettings,
    store: Arc<OnceCell<AnalyticsStore>>,
    codec: PoolCodec,
    dead_letters: DeadLetters,
}

impl AnalyticsProjection {
    /// A projection of `source` into the cluster in `settings`.
    pub fn new(
        source: Source,
        settings: CassandraSettings,
        codec: PoolCodec,
        dead_letters: DeadLetters,
    ) -> Self {
        Self {
            source,
            settings,
            store: Arc::default(),
            codec,
            dead_letters,
        }
    }

    async fn store(&self) -> anyhow::Result<&AnalyticsStore> {
        self.store
            .get_or_try_init(|| AnalyticsStore::open(&self.settings))
            .await
    }

    /// What `record` adds, `None` if it is poison (set aside).
    async fn contributions(
        &self,
        record: &Record,
    ) -> anyhow::Result<Option<Vec<(UsageKey, Usage)>>> {
        let Some(value) = record.value.as_deref() else {
            self.dead_letters
                .send(self.name(), record, "no_value", "the record has no value")
                .await?;
            return Ok(None);
        };
        let decoded = match self.source {
            Source::Events => self
                .codec
                .decode_event(value)
                .await
                .map(|e| contributions::of_event(&e.pool_id, &e.event)),
            Source::Rejections => self
                .codec
                .decode_rejection(value)
                .await
                .map(|r| contributions::of_rejection(&r.pool_id, r.at)),
        };
        match decoded {
            Ok(rows) => Ok(Some(rows)),
            Err(error) if error.is_poison() => {
                self.dead_letters
                    .send(self.name(), record, error.reason(), &error.to_string())
                    .await?;
                Ok(None)
            }
            Err(error) => Err(error.into()),
        }
    }
}

impl Projection for AnalyticsProjection {
    fn name(&self) -> &'static str {
        self.source.projection()
    }

    async fn prepare(&self) -> anyhow::Result<()> {
        self.store().await.map(|_| ())
    }

    async fn position(&self, partition: i32) -> anyhow::Result<i64> {
        self.store()
            .await?
            .position(self.source.projection(), partition)
            .await
    }

    async fn apply(
        &self,
        partition: i32,
        records: Vec<Record>,
        next_offset: i64,
    ) -> anyhow::Result<usize> {
        let store = self.store().await?;
        let column = self.source.column();
        let mut per_record = Vec::with_capacity(records.len());
        for record in &records {
            if let Some(rows) = self.contributions(record).await? {
                per_record.push((record.offset, rows));
            }
        }
        // The rows this batch touches, as stored now.
        let keys: Vec<UsageKey> = {
            let mut keys: Vec<UsageKey> = per_record
                .iter()
                .flat_map(|(_, rows)| rows.iter().map(|(key, _)| key.clone()))
                .collect();
            keys.sort();
            keys.dedup();
            keys
        };
        let stored =
            try_join_all(keys.iter().map(|key| store.folded(key, column, partition))).await?;
        let mut folded: BTreeMap<UsageKey, store::Folded> = keys.into_iter().zip(stored).collect();
        // Each record is folded into a row once: only if the row has not seen its offset.
        let mut applied = 0;
        for (offset, rows) in per_record {
            let mut counted = false;
            for (key, usage) in rows {
                let row = folded.get_mut(&key).expect("every touched row was read");
                if offset > row.last_offset {
                    row.usage = row.usage.plus(usage);
                    row.last_offset = offset;
                    counted = true;
                }
            }
            applied += usize::from(counted);
        }
        try_join_all(
            folded
                .iter()
                .map(|(key, row)| store.write(key, column, partition, *row)),
        )
        .await?;
        store
            .set_position(self.source.projection(), partition, next_offset)
            .await?;
        Ok(applied)
    }
}
