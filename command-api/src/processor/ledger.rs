//! The in-memory state of one partition's aggregates, and how a command is decided
//! against it.
//!
//! Pure: no Kafka here. The writer feeds commands in, writes what comes out inside one
//! transaction, and on an abort puts back the pools it touched with [`Undo`].

use std::collections::{HashMap, VecDeque};

use domain::{Aggregate, CommandId, Ctx, Timestamp};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use super::kind::Kind;

/// How many recent command ids each aggregate remembers for deduplication. A client
/// retrying with the same idempotency key after more than this many later commands on the
/// same aggregate is treated as a new command (documented in the API).
const REMEMBERED_COMMANDS_PER_AGGREGATE: usize = 256;

/// What the processor decided for one command.
#[derive(Debug, Clone, PartialEq)]
pub enum Decision<A: Aggregate> {
    /// New events, already applied to the aggregate.
    Accepted(Vec<A::Event>),
    /// Refused; nothing changed.
    Rejected(A::Rejection),
    /// Seen before with the same payload: answer as the first time.
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

/// What a command led to, kept so a retry gets the same answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RememberedOutcome<R> {
    /// `partition:offset` of the command's last event, if it wrote any.
    pub consistency_token: Option<String>,
    /// Names of the events it wrote.
    pub events: Vec<String>,
    /// The rejection, if it was refused.
    pub rejection: Option<R>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(bound(serialize = "R: Serialize", deserialize = "R: DeserializeOwned"))]
struct RememberedCommand<R> {
    command_id: CommandId,
    /// The command exactly as first received: a retry must match it to count as the same.
    /// `None` when the memory was rebuilt from the command's events after a takeover (events
    /// name their command but do not carry it): any retry of that id is then a repeat.
    payload: Option<String>,
    outcome: RememberedOutcome<R>,
}

/// One aggregate and the commands it has recently answered.
#[derive(Debug)]
pub struct Slot<A: Aggregate> {
    pub state: A,
    recent: VecDeque<RememberedCommand<A::Rejection>>,
}

impl<A: Aggregate<Rejection: PartialEq> + PartialEq> PartialEq for Slot<A> {
    fn eq(&self, other: &Self) -> bool {
        self.state == other.state && self.recent == other.recent
    }
}

impl<A: Aggregate<Rejection: Clone>> Clone for Slot<A> {
    fn clone(&self) -> Self {
        Self {
            state: self.state.clone(),
            recent: self.recent.clone(),
        }
    }
}

impl<A> Slot<A>
where
    A: Aggregate,
    A::Rejection: Clone + Serialize + DeserializeOwned,
{
    /// A slot from a snapshot: the aggregate and the processor's memory of recent commands.
    pub fn restore(state: A, recent: serde_json::Value) -> Result<Self, serde_json::Error> {
        Ok(Self {
            state,
            recent: serde_json::from_value(recent)?,
        })
    }

    /// The memory of recent commands, for the snapshot.
    pub fn recent_json(&self) -> serde_json::Value {
        serde_json::to_value(&self.recent).expect("remembered commands serialise to JSON")
    }

    fn remembered(&self, command_id: &CommandId) -> Option<&RememberedCommand<A::Rejection>> {
        self.recent.iter().find(|c| &c.command_id == command_id)
    }

    fn remember(
        &mut self,
        command_id: CommandId,
        payload: Option<String>,
        outcome: RememberedOutcome<A::Rejection>,
    ) {
        if self.recent.len() == REMEMBERED_COMMANDS_PER_AGGREGATE {
            self.recent.pop_front();
        }
        self.recent.push_back(RememberedCommand {
            command_id,
            payload,
            outcome,
        });
    }

    /// Remembers an event read back from the log as (part of) its command's outcome.
    fn remember_logged(&mut self, command_id: CommandId, event_name: &str, token: String) {
        if let Some(last) = self.recent.back_mut()
            && last.command_id == command_id
        {
            last.outcome.events.push(event_name.to_owned());
            last.outcome.consistency_token = Some(token);
            return;
        }
        if self.remembered(&command_id).is_some() {
            return; // already in the snapshot's memory
        }
        let outcome = RememberedOutcome {
            consistency_token: Some(token),
            events: vec![event_name.to_owned()],
            rejection: None,
        };
        self.remember(command_id, None, outcome);
    }
}

/// The aggregates of one partition as of the last committed (or in-flight) batch.
pub struct PartitionLedger<K: Kind> {
    slots: HashMap<K::Key, Slot<K::Aggregate>>,
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
        }
    }
}

/// The aggregates a batch touched, as they were before it, to restore on abort.
pub struct Undo<K: Kind> {
    before: HashMap<K::Key, Option<Slot<K::Aggregate>>>,
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

    /// Applies an event read back from the log (catching up after a snapshot), and remembers
    /// its command as answered, so a retry of it is never applied twice. `token` is the
    /// event's `partition:offset`.
    pub fn apply_logged(
        &mut self,
        key: &K::Key,
        command_id: CommandId,
        event: &<K::Aggregate as Aggregate>::Event,
        token: String,
    ) {
        let slot = self.slots.entry(key.clone()).or_insert_with(empty_slot);
        slot.state.apply(event);
        slot.remember_logged(command_id, K::event_name(event), token);
    }

    /// Decides `incoming` at `now`, applying any events to its aggregate; records the
    /// aggregate's prior state in `undo` the first time the batch touches it.
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
        let payload = canonical(K::command(incoming));
        if let Some(seen) = self.slots.get(key).and_then(|s| s.remembered(&command_id)) {
            return if seen.payload.as_ref().is_none_or(|seen| *seen == payload) {
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
        match domain::execute(&mut slot.state, K::command(incoming), &ctx) {
            Ok(events) => Decision::Accepted(events),
            Err(rejection) => Decision::Rejected(rejection),
        }
    }

    /// Records the outcome of a decided command, once its event offsets are known.
    pub fn remember(
        &mut self,
        incoming: &K::Envelope,
        outcome: RememberedOutcome<<K::Aggregate as Aggregate>::Rejection>,
    ) {
        let slot = self
            .slots
            .entry(K::key(incoming).clone())
            .or_insert_with(empty_slot);
        slot.remember(
            K::command_id(incoming),
            Some(canonical(K::command(incoming))),
            outcome,
        );
    }

    /// Puts back every aggregate the batch touched, as if it never ran.
    pub fn restore(&mut self, undo: Undo<K>) {
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
        recent: VecDeque::new(),
    }
}

/// The command's canonical form: serde_json of the domain value (field order is fixed by
/// the type), so equal commands always compare equal.
fn canonical(command: &impl Serialize) -> String {
    serde_json::to_string(command).expect("domain commands serialise to JSON")
}

#[cfg(test)]
#[path = "ledger_tests.rs"]
mod tests;
