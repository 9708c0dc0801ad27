//! Expiring lapsed reservations even when nobody touches their pool again.
//!
//! A lapsed hold already counts as free inside the aggregate, but the views and the audit
//! trail need the `ReservationExpired` fact. The sweeper finds pools with lapsed holds and
//! puts an `ExpireReservations` command into the commands topic like any client would, so
//! expiry goes through the single writer and is in the log with who asked for it.

use std::time::{Duration, Instant};

use domain::{Actor, CommandId, PoolId, Timestamp, TokenPoolCommand};
use rdkafka::producer::{FutureProducer, FutureRecord};
use schemas::PoolCommandEnvelope;
use uuid::Uuid;

use super::ledger::PartitionLedger;
use super::wire::PoolWire;

/// How often lapsed holds are looked for.
pub const SWEEP_EVERY: Duration = Duration::from_secs(2);

/// Replies to the sweeper's commands go here; nobody waits for them.
const SWEEPER_REPLY_TO: &str = "reservation-sweeper";

/// Issues expiry commands at most every [`SWEEP_EVERY`].
pub struct Sweeper {
    producer: FutureProducer,
    last: Instant,
}

impl std::fmt::Debug for Sweeper {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sweeper").finish_non_exhaustive()
    }
}

impl Sweeper {
    /// A sweeper producing through `producer`.
    pub fn new(producer: FutureProducer) -> Self {
        Self {
            producer,
            last: Instant::now(),
        }
    }

    /// If it is time, sends one `ExpireReservations` per pool of `ledger` holding a lapsed
    /// reservation at `now`.
    pub async fn sweep(&mut self, wire: &PoolWire, ledger: &PartitionLedger, now: Timestamp) {
        if self.last.elapsed() < SWEEP_EVERY {
            return;
        }
        self.last = Instant::now();
        for pool_id in lapsed_pools(ledger, now) {
            if let Err(error) = self.expire(wire, pool_id, now).await {
                tracing::warn!(%error, "cannot send an expiry command; next sweep retries");
            }
        }
    }

    async fn expire(&self, wire: &PoolWire, pool_id: PoolId, now: Timestamp) -> anyhow::Result<()> {
        let deadline = Timestamp::from_millis(now.as_millis() + 60_000)?;
        let envelope = PoolCommandEnvelope {
            command_id: CommandId::from_uuid(Uuid::new_v4()),
            pool_id,
            reply_to: SWEEPER_REPLY_TO.to_owned(),
            actor: "system:reservation-sweeper".parse::<Actor>()?,
            issued_at: now,
            deadline,
            command: TokenPoolCommand::ExpireReservations,
        };
        let topic = wire.topics.pool_commands();
        let value = wire.encode_command(&envelope).await?;
        let key = envelope.pool_id.to_string();
        self.producer
            .send(
                FutureRecord::to(&topic).key(&key).payload(&value),
                Duration::from_secs(5),
            )
            .await
            .map_err(|(error, _)| error)?;
        Ok(())
    }
}

/// Pools of `ledger` holding a reservation that has lapsed at `now`.
pub fn lapsed_pools(ledger: &PartitionLedger, now: Timestamp) -> Vec<PoolId> {
    ledger
        .slots()
        .filter(|(_, slot)| slot.pool.open_reservations().any(|r| r.expires_at <= now))
        .map(|(pool_id, _)| pool_id.clone())
        .collect()
}
