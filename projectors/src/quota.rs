//! The quota projection: `token-pool.events` into the Postgres quota view.

use quotaview::LoggedEvent;
use schemas::PoolCodec;
use sqlx::PgPool;

use crate::consumer::{Projection, Record};
use crate::dead_letter::DeadLetters;

const PROJECTION: &str = quotaview::PROJECTION;

/// Writes the Postgres quota view (pools, open holds, per-owner totals).
#[derive(Debug, Clone)]
pub struct QuotaProjection {
    db: PgPool,
    codec: PoolCodec,
    dead_letters: DeadLetters,
}

impl QuotaProjection {
    /// A projection into `db` (already migrated), decoding with `codec`.
    pub fn new(db: PgPool, codec: PoolCodec, dead_letters: DeadLetters) -> Self {
        Self {
            db,
            codec,
            dead_letters,
        }
    }
}

impl Projection for QuotaProjection {
    fn name(&self) -> &'static str {
        quotaview::PROJECTION
    }

    async fn prepare(&self) -> anyhow::Result<()> {
        Ok(quotaview::migrate(&self.db).await?)
    }

    async fn position(&self, partition: i32) -> anyhow::Result<i64> {
        Ok(quotaview::position(&self.db, quotaview::PROJECTION, partition).await?)
    }

    async fn apply(
        &self,
        partition: i32,
        records: Vec<Record>,
        next_offset: i64,
    ) -> anyhow::Result<usize> {
        let mut events = Vec::with_capacity(records.len());
        for record in &records {
            let decoded = self
                .dead_letters
                .decode(PROJECTION, record, |value| self.codec.decode_event(value))
                .await?;
            if let Some(envelope) = decoded {
                events.push(LoggedEvent {
                    offset: record.offset,
                    pool_id: envelope.pool_id,
                    event: envelope.event,
                });
            }
        }
        // A `Retired` error is retried by the loop, and lands in the copy swapped in.
        let applied = quotaview::apply_batch(
            &self.db,
            quotaview::PROJECTION,
            partition,
            &events,
            next_offset,
        )
        .await?;
        Ok(applied.applied)
    }
}
