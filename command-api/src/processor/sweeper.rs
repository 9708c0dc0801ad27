//! Commands the processor issues to itself, through the commands topic like any client,
//! so they go through the single writer and are in the log with who asked for them (for
//! pools: expiring lapsed reservations even when nobody touches their pool again; see
//! [`Kind::due_commands`]).

use std::time::{Duration, Instant};

use domain::Timestamp;
use rdkafka::producer::{FutureProducer, FutureRecord};

use super::kind::Kind;
use super::ledger::PartitionLedger;
use super::wire::Wire;

/// How often the ledger is looked at for due commands.
pub const SWEEP_EVERY: Duration = Duration::from_secs(2);

/// Issues due commands at most every [`SWEEP_EVERY`].
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

    /// If it is time, sends the commands `ledger` has due at `now`.
    pub async fn sweep<K: Kind>(
        &mut self,
        wire: &Wire<K>,
        ledger: &PartitionLedger<K>,
        now: Timestamp,
    ) {
        if self.last.elapsed() < SWEEP_EVERY {
            return;
        }
        self.last = Instant::now();
        for command in K::due_commands(ledger, now) {
            if let Err(error) = self.send(wire, &command).await {
                tracing::warn!(%error, "cannot send a due command; next sweep retries");
            }
        }
    }

    async fn send<K: Kind>(&self, wire: &Wire<K>, command: &K::Envelope) -> anyhow::Result<()> {
        let topic = wire.commands_topic();
        let value = wire.encode_command(command).await?;
        let key = K::key(command).to_string();
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
