//! The purchases projection: `purchase.events` into the Postgres purchases view.

use quotaview::purchases::{LoggedPurchaseEvent, PROJECTION, apply_purchase_batch};
use quotaview::rebuild::PURCHASES;
use schemas::PurchaseCodec;
use sqlx::PgPool;

use crate::consumer::{Projection, Record};
use crate::dead_letter::DeadLetters;

/// Writes the Postgres purchases view (one row per purchase).
#[derive(Debug, Clone)]
pub struct PurchaseProjection {
    /// Statements resolve in the schema of the copy being written.
    db: PgPool,
    /// Whether `db` is the live copy, created on start if missing (else a rebuild's copy).
    live: bool,
    codec: PurchaseCodec,
    dead_letters: DeadLetters,
}

impl PurchaseProjection {
    /// A projection into the live view through `db` (created and migrated on start).
    pub fn live(db: PgPool, codec: PurchaseCodec, dead_letters: DeadLetters) -> Self {
        Self {
            db,
            live: true,
            codec,
            dead_letters,
        }
    }

    /// A projection into a rebuild's copy through `db` (already migrated).
    pub fn copy(db: PgPool, codec: PurchaseCodec, dead_letters: DeadLetters) -> Self {
        Self {
            db,
            live: false,
            codec,
            dead_letters,
        }
    }
}

impl Projection for PurchaseProjection {
    fn name(&self) -> &'static str {
        PROJECTION
    }

    async fn prepare(&self) -> anyhow::Result<()> {
        if self.live {
            PURCHASES.prepare_live(&self.db).await?;
        }
        Ok(())
    }

    async fn position(&self, partition: i32) -> anyhow::Result<i64> {
        Ok(quotaview::position(&self.db, PROJECTION, partition).await?)
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
                events.push(LoggedPurchaseEvent {
                    offset: record.offset,
                    purchase_id: envelope.purchase_id,
                    event: envelope.event,
                });
            }
        }
        // A `Retired` error is retried by the loop, and lands in the copy swapped in.
        let applied = apply_purchase_batch(&self.db, partition, &events, next_offset).await?;
        Ok(applied.applied)
    }
}
