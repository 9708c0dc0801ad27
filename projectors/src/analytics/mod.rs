//! The analytics projections: usage per provider, user and org in minute / hour / day
//! buckets in Cassandra, from `token-pool.events` (tokens, requests) and
//! `token-pool.rejections` (refusals). One projection per source topic; both write the
//! same rows, each under its own source column.

pub mod contributions;
pub mod generations;
mod store;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use futures::future::try_join_all;
use schemas::PoolCodec;
use scylla::client::session::Session;
use settings::CassandraSettings;
use tokio::sync::OnceCell;
use viewstore::AnalyticsTables;

use self::contributions::{Usage, UsageKey};
use self::store::AnalyticsStore;
use crate::consumer::{Projection, Record, Reposition};
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
    session: Arc<OnceCell<Arc<Session>>>,
    /// The statements of the generation written (none before `prepare`).
    store: Arc<Mutex<Option<Arc<AnalyticsStore>>>>,
    /// The generation a rebuild fills; `None`: follow the active one.
    pinned: Option<i32>,
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
            session: Arc::default(),
            store: Arc::default(),
            pinned: None,
            codec,
            dead_letters,
        }
    }

    /// A projection into generation `generation` only (a rebuild's).
    pub fn into_generation(mut self, generation: i32) -> Self {
        self.pinned = Some(generation);
        self
    }

    async fn session(&self) -> anyhow::Result<Arc<Session>> {
        let session = self
            .session
            .get_or_try_init(|| store::connect(&self.settings))
            .await?;
        Ok(session.clone())
    }

    /// The generation to write: the pinned one; else the one a rebuild hands over to, if
    /// any, or the one readers use.
    async fn target_generation(&self) -> anyhow::Result<i32> {
        match self.pinned {
            Some(generation) => Ok(generation),
            None => {
                let session = self.session().await?;
                let (active, next) =
                    viewstore::analytics_generations(&session, &self.settings.keyspace)
                        .await
                        .map_err(anyhow::Error::msg)?;
                Ok(next.unwrap_or(active))
            }
        }
    }

    fn current(&self) -> Option<Arc<AnalyticsStore>> {
        self.store
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
    }

    /// Opens the statements of `generation` and writes through them from now on.
    async fn switch_to(&self, generation: i32) -> anyhow::Result<Arc<AnalyticsStore>> {
        let session = self.session().await?;
        let opened =
            Arc::new(AnalyticsStore::open(session, AnalyticsTables::new(generation)).await?);
        *self
            .store
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = Some(opened.clone());
        Ok(opened)
    }

    /// The store to write through. When following, a rebuild may have handed its new
    /// generation over since the last batch: then the projection switches to it and asks
    /// the loop to reposition every partition at that generation's positions, since the
    /// batch in hand may start past them (the rebuild stopped where it was; the live
    /// projection applied more to the old generation meanwhile).
    async fn store(&self) -> anyhow::Result<Arc<AnalyticsStore>> {
        let target = self.target_generation().await?;
        match self.current() {
            Some(store) if store.generation() == target => Ok(store),
            Some(_) => {
                self.switch_to(target).await?;
                tracing::info!(generation = target, "following the rebuilt analytics");
                Err(Reposition.into())
            }
            None => self.switch_to(target).await,
        }
    }

    /// What `record` adds, `None` if it is poison (set aside).
    async fn contributions(
        &self,
        record: &Record,
    ) -> anyhow::Result<Option<Vec<(UsageKey, Usage)>>> {
        let dead_letters = &self.dead_letters;
        match self.source {
            Source::Events => Ok(dead_letters
                .decode(self.name(), record, |value| self.codec.decode_event(value))
                .await?
                .map(|e| contributions::of_event(&e.pool_id, &e.event))),
            Source::Rejections => Ok(dead_letters
                .decode(self.name(), record, |value| {
                    self.codec.decode_rejection(value)
                })
                .await?
                .map(|r| contributions::of_rejection(&r.pool_id, r.at))),
        }
    }
}

impl Projection for AnalyticsProjection {
    fn name(&self) -> &'static str {
        self.source.projection()
    }

    async fn prepare(&self) -> anyhow::Result<()> {
        let target = self.target_generation().await?;
        self.switch_to(target).await.map(|_| ())
    }

    async fn position(&self, partition: i32) -> anyhow::Result<i64> {
        let store = match self.current() {
            Some(store) => store,
            None => self.store().await?,
        };
        store.position(self.source.projection(), partition).await
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
