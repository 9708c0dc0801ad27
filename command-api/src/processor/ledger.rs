//! The in-memory state of one partition's pools, and how a command is decided against it.
//!
//! Pure: no Kafka here. The writer feeds commands in, writes what comes out inside one
//! transaction, and on an abort puts back the pools it touched with [`Undo`].

use std::collections::{HashMap, VecDeque};

use domain::{
    CommandId, Ctx, PoolId, Timestamp, TokenPool, TokenPoolCommand, TokenPoolEvent,
    TokenPoolRejection,
};
use schemas::PoolCommandEnvelope;
use serde::{Deserialize, Serialize};

/// How many recent command ids each pool remembers for deduplication. A client retrying
/// with the same idempotency key after more than this many later commands on the same pool
/// is treated as a new command (documented in the API).
const REMEMBERED_COMMANDS_PER_POOL: usize = 256;

/// What the processor decided for one command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// New events, already applied to the pool.
    Accepted(Vec<TokenPoolEvent>),
    /// Refused; nothing changed.
    Rejected(TokenPoolRejection),
    /// Seen before with the same payload: answer as the first time.
    Repeated(RememberedOutcome),
    /// Seen before with another payload.
    IdConflict,
    /// Arrived after its deadline: never applied, whatever it asked.
    Expired,
}

/// What a command led to, kept so a retry gets the same answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RememberedOutcome {
    /// `partition:offset` of the command's last event, if it wrote any.
    pub consistency_token: Option<String>,
    /// Names of the events it wrote.
    pub events: Vec<String>,
    /// The rejection, if it was refused.
    pub rejection: Option<TokenPoolRejection>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct RememberedCommand {
    command_id: CommandId,
    /// The command exactly as first received: a retry must match it to count as the same.
    /// `None` when the memory was rebuilt from the command's events after a takeover (events
    /// name their command but do not carry it): any retry of that id is then a repeat.
    payload: Option<String>,
    outcome: RememberedOutcome,
}

/// One pool: its aggregate and the commands it has recently answered.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PoolSlot {
    pub pool: TokenPool,
    recent: VecDeque<RememberedCommand>,
}

impl PoolSlot {
    /// A slot from a snapshot: the pool and the processor's memory of recent commands.
    pub fn restore(pool: TokenPool, recent: serde_json::Value) -> Result<Self, serde_json::Error> {
        Ok(Self {
            pool,
            recent: serde_json::from_value(recent)?,
        })
    }

    /// The memory of recent commands, for the snapshot.
    pub fn recent_json(&self) -> serde_json::Value {
        serde_json::to_value(&self.recent).expect("remembered commands serialise to JSON")
    }

    fn remembered(&self, command_id: &CommandId) -> Option<&RememberedCommand> {
        self.recent.iter().find(|c| &c.command_id == command_id)
    }

    fn remember(
        &mut self,
        command_id: CommandId,
        payload: Option<String>,
        outcome: RememberedOutcome,
    ) {
        if self.recent.len() == REMEMBERED_COMMANDS_PER_POOL {
            self.recent.pop_front();
        }
        self.recent.push_back(RememberedCommand {
            command_id,
            payload,
            outcome,
        });
    }

    /// Remembers an event read back from the log as (part of) its command's outcome.
    fn remember_logged(&mut self, command_id: CommandId, event: &TokenPoolEvent, token: String) {
        if let Some(last) = self.recent.back_mut()
            && last.command_id == command_id
        {
            last.outcome.events.push(event.name().to_owned());
            last.outcome.consistency_token = Some(token);
            return;
        }
        if self.remembered(&command_id).is_some() {
            return; // already in the snapshot's memory
        }
        let outcome = RememberedOutcome {
            consistency_token: Some(token),
            events: vec![event.name().to_owned()],
            rejection: None,
        };
        self.remember(command_id, None, outcome);
    }
}

/// The pools of one partition as of the last committed (or in-flight) batch.
#[derive(Debug, Default)]
pub struct PartitionLedger {
    pools: HashMap<PoolId, PoolSlot>,
}

/// The pools a batch touched, as they were before it, to restore on abort.
#[derive(Debug, Default)]
pub struct Undo {
    before: HashMap<PoolId, Option<PoolSlot>>,
}

impl Undo {
    /// The pools the batch touched.
    pub fn touched(&self) -> impl Iterator<Item = &PoolId> {
        self.before.keys()
    }
}

impl PartitionLedger {
    /// Starts from loaded snapshots.
    pub fn from_slots(slots: impl IntoIterator<Item = (PoolId, PoolSlot)>) -> Self {
        Self {
            pools: slots.into_iter().collect(),
        }
    }

    /// The pool's current slot, if it has ever been touched.
    pub fn slot(&self, pool_id: &PoolId) -> Option<&PoolSlot> {
        self.pools.get(pool_id)
    }

    /// Every pool of the partition.
    pub fn slots(&self) -> impl Iterator<Item = (&PoolId, &PoolSlot)> {
        self.pools.iter()
    }

    /// Applies an event read back from the log (catching up after a snapshot), and remembers
    /// its command as answered, so a retry of it is never applied twice. `token` is the
    /// event's `partition:offset`.
    pub fn apply_logged(
        &mut self,
        pool_id: &PoolId,
        command_id: CommandId,
        event: &TokenPoolEvent,
        token: String,
    ) {
        let slot = self.pools.entry(pool_id.clone()).or_default();
        domain::Aggregate::apply(&mut slot.pool, event);
        slot.remember_logged(command_id, event, token);
    }

    /// Decides `incoming` at `now`, applying any events to the pool; records the pool's prior
    /// state in `undo` the first time the batch touches it.
    pub fn decide(
        &mut self,
        incoming: &PoolCommandEnvelope,
        now: Timestamp,
        undo: &mut Undo,
    ) -> Decision {
        if incoming.is_past_deadline(now) {
            return Decision::Expired;
        }
        let payload = canonical(&incoming.command);
        if let Some(seen) = self
            .pools
            .get(&incoming.pool_id)
            .and_then(|s| s.remembered(&incoming.command_id))
        {
            return if seen.payload.as_ref().is_none_or(|seen| *seen == payload) {
                Decision::Repeated(seen.outcome.clone())
            } else {
                Decision::IdConflict
            };
        }
        undo.before
            .entry(incoming.pool_id.clone())
            .or_insert_with(|| self.pools.get(&incoming.pool_id).cloned());
        let slot = self.pools.entry(incoming.pool_id.clone()).or_default();
        let ctx = Ctx {
            now,
            command_id: incoming.command_id,
            actor: incoming.actor.clone(),
        };
        match domain::execute(&mut slot.pool, &incoming.command, &ctx) {
            Ok(events) => Decision::Accepted(events),
            Err(rejection) => Decision::Rejected(rejection),
        }
    }

    /// Records the outcome of a decided command, once its event offsets are known.
    pub fn remember(&mut self, incoming: &PoolCommandEnvelope, outcome: RememberedOutcome) {
        let slot = self.pools.entry(incoming.pool_id.clone()).or_default();
        slot.remember(
            incoming.command_id,
            Some(canonical(&incoming.command)),
            outcome,
        );
    }

    /// Puts back every pool the batch touched, as if it never ran.
    pub fn restore(&mut self, undo: Undo) {
        for (pool_id, before) in undo.before {
            match before {
                Some(slot) => self.pools.insert(pool_id, slot),
                None => self.pools.remove(&pool_id),
            };
        }
    }
}

/// The command's canonical form: serde_json of the domain value (field order is fixed by
/// the type), so equal commands always compare equal.
fn canonical(command: &TokenPoolCommand) -> String {
    serde_json::to_string(command).expect("domain commands serialise to JSON")
}

#[cfg(test)]
#[path = "ledger_tests.rs"]
mod tests;
