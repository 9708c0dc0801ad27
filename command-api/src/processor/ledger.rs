//! The in-memory state of one partition's aggregates, and how a command is decided
//! against it.
//!
//! Pure: no Kafka here. The writer feeds commands in, writes what comes out inside one
//! transaction, and on an abort puts back the pools it touched with [`Undo`].

use std::collections::HashMap;

use domain::{Aggregate, CommandId, Ctx, Timestamp};
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::kind::Kind;
pub use super::memory::RememberedOutcome;
use super::memory::{CommandMemory, PayloadDigest};

/// What the processor decided for one command.
#[derive(Debug, Clone, PartialEq)]
pub enum Decision<A: Aggregate> {
    /// New events, already applied to the aggregate.
    Accepted(Vec<A::Event>),
    /// Refused; nothing changed.
    Rejected(A::Rejection),
    /// Seen before with the same payload (in an earlier batch or earlier in this one):
    /// answer as the first time.
    Repeated(RememberedOutcome<A::Rejection>),
    /// Seen before with another payload.
    IdConflict,
    /// Arrived after its deadline: never applied, whatever it asked.
    Expired,
}

impl<A: Aggregate> Decision<A> {
    /// What kind of decision it is, for logs.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Accepted(_) => "accepted",
            Self::Rejected(_) => "rejected",
            Self::Repeated(_) => "repeated",
            Self::IdConflict => "id_conflict",
            Self::Expired => "expired",
        }
    }
}

/// One aggregate and the commands it has decided lately.
#[derive(Debug)]
pub struct Slot<A: Aggregate> {
    pub state: A,
    memory: CommandMemory<A::Rejection>,
}

impl<A: Aggregate<Rejection: PartialEq> + PartialEq> PartialEq for Slot<A> {
    fn eq(&self, other: &Self) -> bool {
        self.state == other.state && self.memory == other.memory
    }
}

impl<A: Aggregate<Rejection: Clone>> Clone for Slot<A> {
    fn clone(&self) -> Self {
        Self {
            state: self.state.clone(),
            memory: self.memory.clone(),
        }
    }
}

impl<A> Slot<A>
where
    A: Aggregate,
    A::Rejection: Clone + Serialize + DeserializeOwned,
{
    /// A slot from a snapshot: the aggregate and the processor's memory of its commands;
    /// also the first command offset the snapshot had not decided, when it says.
    pub fn restore(
        state: A,
        memory: serde_json::Value,
    ) -> Result<(Self, Option<i64>), serde_json::Error> {
        let (memory, commands_from) = CommandMemory::from_json(memory)?;
        Ok((Self { state, memory }, commands_from))
    }

    /// The memory of decided commands, for a snapshot taken when `commands_from` was the
    /// next undecided command offset.
    pub fn memory_json(&self, commands_from: i64) -> serde_json::Value {
        self.memory.to_json(commands_from)
    }

    /// How many command ids it remembers.
    pub fn remembered_commands(&self) -> usize {
        self.memory.len()
    }
}

/// The aggregates of one partition as of the last committed (or in-flight) batch.
pub struct PartitionLedger<K: Kind> {
    slots: HashMap<K::Key, Slot<K::Aggregate>>,
    /// Derived command ids any aggregate forgot before their retry window ended, kept as
    /// they happen so the writer reads it after every batch without visiting every pool.
    forgotten_early: u64,
}

impl<K: Kind> std::fmt::Debug for PartitionLedger<K> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PartitionLedger")
            .field("aggregates", &self.slots.len())
            .finish()
    }
}

impl<K: Kind> Default for PartitionLedger<K> {
    fn default() -> Self {
        Self {
            slots: HashMap::new(),
            forgotten_early: 0,
        }
    }
}

/// The aggregates a batch touched, as they were before it, to restore on abort.
pub struct Undo<K: Kind> {
    before: HashMap<K::Key, Option<Slot<K::Aggregate>>>,
    /// The ledger's count of ids forgotten early, before the batch.
    forgotten_early: Option<u64>,
}

impl<K: Kind> std::fmt::Debug for Undo<K> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Undo")
            .field("touched", &self.before.len())
            .finish()
    }
}

impl<K: Kind> Default for Undo<K> {
    fn default() -> Self {
        Self {
            before: HashMap::new(),
            forgotten_early: None,
        }
    }
}

impl<K: Kind> Undo<K> {
    /// The aggregates the batch touched.
    pub fn touched(&self) -> impl Iterator<Item = &K::Key> {
        self.before.keys()
    }
}

impl<K: Kind> PartitionLedger<K> {
    /// Starts from loaded snapshots.
    pub fn from_slots(slots: impl IntoIterator<Item = (K::Key, Slot<K::Aggregate>)>) -> Self {
        Self {
            slots: slots.into_iter().collect(),
            forgotten_early: 0,
        }
    }

    /// The aggregate's current slot, if it has ever been touched.
    pub fn slot(&self, key: &K::Key) -> Option<&Slot<K::Aggregate>> {
        self.slots.get(key)
    }

    /// Every aggregate of the partition.
    pub fn slots(&self) -> impl Iterator<Item = (&K::Key, &Slot<K::Aggregate>)> {
        self.slots.iter()
    }

    /// Applies an event read back from the log (catching up after a snapshot, at `now`),
    /// and remembers its command as decided, so a retry of it is never applied twice.
    /// `token` is the event's `partition:offset`.
    pub fn apply_logged(
        &mut self,
        key: &K::Key,
        command_id: CommandId,
        event: &<K::Aggregate as Aggregate>::Event,
        token: String,
        now: Timestamp,
    ) {
        let slot = self.slots.entry(key.clone()).or_insert_with(empty_slot);
        slot.state.apply(event);
        let forgotten_before = slot.memory.forgotten_early();
        slot.memory
            .add_logged_event(command_id, K::event_name(event), token, now);
        self.forgotten_early += slot.memory.forgotten_early() - forgotten_before;
    }

    /// The commands known only from their events (after a takeover), by aggregate.
    pub fn known_without_payload(&self) -> Vec<(K::Key, CommandId)> {
        self.slots
            .iter()
            .flat_map(|(key, slot)| slot.memory.without_digest().map(|id| (key.clone(), *id)))
            .collect()
    }

    /// Gives a command known only from its events the payload of its record, so a retry
    /// with another payload is a conflict after a takeover too. The first record of an id
    /// is the one that was decided; true if this filled one in.
    pub fn recover_payload(&mut self, incoming: &K::Envelope) -> bool {
        let digest = PayloadDigest::of(K::command(incoming));
        self.slots
            .get_mut(K::key(incoming))
            .is_some_and(|slot| slot.memory.recover_digest(&K::command_id(incoming), digest))
    }

    /// Decides `incoming` at `now`, applying any events to its aggregate, and remembers the
    /// decision at once, so a copy later in the same batch is a repeat (or a conflict);
    /// records the aggregate's prior state in `undo` the first time the batch touches it.
    pub fn decide(
        &mut self,
        incoming: &K::Envelope,
        now: Timestamp,
        undo: &mut Undo<K>,
    ) -> Decision<K::Aggregate> {
        if K::is_past_deadline(incoming, now) {
            return Decision::Expired;
        }
        let key = K::key(incoming);
        let command_id = K::command_id(incoming);
        let digest = PayloadDigest::of(K::command(incoming));
        if let Some(seen) = self.slots.get(key).and_then(|s| s.memory.get(&command_id)) {
            return if seen.digest.as_ref().is_none_or(|seen| *seen == digest) {
                Decision::Repeated(seen.outcome.clone())
            } else {
                Decision::IdConflict
            };
        }
        undo.before
            .entry(key.clone())
            .or_insert_with(|| self.slots.get(key).cloned());
        let slot = self.slots.entry(key.clone()).or_insert_with(empty_slot);
        let ctx = Ctx {
            now,
            command_id,
            actor: K::actor(incoming).clone(),
        };
        let decision = match domain::execute(&mut slot.state, K::command(incoming), &ctx) {
            Ok(events) => Decision::Accepted(events),
            Err(rejection) => Decision::Rejected(rejection),
        };
        let outcome = RememberedOutcome {
            consistency_token: None, // known once its events are written: see `set_token`
            events: match &decision {
                Decision::Accepted(events) => {
                    events.iter().map(|e| K::event_name(e).to_owned()).collect()
                }
                _ => Vec::new(),
            },
            rejection: match &decision {
                Decision::Rejected(rejection) => Some(Clone::clone(rejection)),
                _ => None,
            },
        };
        let forgotten_before = slot.memory.forgotten_early();
        slot.memory.remember(
            command_id,
            Some(digest),
            K::deadline(incoming),
            now,
            outcome,
        );
        let forgotten_now = slot.memory.forgotten_early() - forgotten_before;
        undo.forgotten_early.get_or_insert(self.forgotten_early);
        self.forgotten_early += forgotten_now;
        decision
    }

    /// Records the consistency token of a decided command once its events are written.
    pub fn set_token(&mut self, key: &K::Key, command_id: &CommandId, token: String) {
        if let Some(slot) = self.slots.get_mut(key) {
            slot.memory.set_token(command_id, token);
        }
    }

    /// The outcome remembered for a command, as it stands now.
    pub fn remembered(
        &self,
        key: &K::Key,
        command_id: &CommandId,
    ) -> Option<&RememberedOutcome<<K::Aggregate as Aggregate>::Rejection>> {
        Some(&self.slots.get(key)?.memory.get(command_id)?.outcome)
    }

    /// Derived command ids forgotten before their retry window ended, over every aggregate
    /// (an aggregate busier than the memory holds): logged by the writer.
    pub fn forgotten_early(&self) -> u64 {
        self.forgotten_early
    }

    /// Puts back every aggregate the batch touched, as if it never ran.
    pub fn restore(&mut self, undo: Undo<K>) {
        if let Some(forgotten_early) = undo.forgotten_early {
            self.forgotten_early = forgotten_early;
        }
        for (key, before) in undo.before {
            match before {
                Some(slot) => self.slots.insert(key, slot),
                None => self.slots.remove(&key),
            };
        }
    }
}

fn empty_slot<A: Aggregate>() -> Slot<A> {
    Slot {
        state: A::default(),
        memory: CommandMemory::default(),
    }
}

#[cfg(test)]
#[path = "ledger_tests.rs"]
mod tests;

#[cfg(test)]
#[path = "ledger_properties.rs"]
mod properties;
