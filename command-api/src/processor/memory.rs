//! What one aggregate remembers of the commands it has decided, so that a command id is
//! decided once: a copy or a retry of an id gets the first outcome (or a conflict for
//! another payload), however it reaches the writer.
//!
//! Two kinds of id come back for different reasons, so they are kept for different times:
//! - an id *derived* from something a caller can send again (an `Idempotency-Key`, a hold
//!   and a step, a purchase and a step: UUIDv5) comes back as a retry, so it is kept for
//!   [`RETRY_WINDOW`] after its decision, and at least until its deadline;
//! - an id *minted* for one request (UUIDv4, UUIDv7) can only come back as a copy of its
//!   record, and a copy past the record's deadline is never applied, so it is kept until
//!   its deadline.
//!
//! Pure: no clock (time comes in), no IO.

use std::collections::{HashMap, VecDeque};

use domain::{CommandId, DurationMs, Timestamp};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// How long a derived id is remembered after its decision: longer than a command's
/// deadline (60 s) plus any client's retry schedule (the SDKs retry within a minute; a
/// caller answered `202` polls and retries within minutes).
pub const RETRY_WINDOW: DurationMs = DurationMs::saturating_from_millis(15 * 60 * 1000);

/// At most this many derived ids per aggregate: a snapshot carries them (~130 bytes each)
/// in one record, which must stay well under Kafka's 1 MB. An aggregate busier than that
/// over the window forgets its oldest early, and the writer logs it: see
/// [`CommandMemory::forgotten_early`].
pub const MAX_DERIVED: usize = 2048;

/// At most this many minted ids per aggregate: they guard against copies of one record,
/// which the idempotent producer already prevents, so fewer are kept.
pub const MAX_MINTED: usize = 256;

/// A command's payload, reduced to what tells two payloads apart: the first 16 bytes of
/// the SHA-256 of its canonical JSON, as hex.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct PayloadDigest(String);

impl PayloadDigest {
    /// The digest of `command`'s canonical form (serde_json of the domain value, whose
    /// field order is fixed by its type, so equal commands always digest equal).
    pub fn of(command: &impl Serialize) -> Self {
        Self::of_canonical(&serde_json::to_vec(command).expect("domain commands serialise to JSON"))
    }

    /// The digest of a payload already in canonical form.
    fn of_canonical(canonical: &[u8]) -> Self {
        let hash = Sha256::digest(canonical);
        Self(hash[..16].iter().map(|b| format!("{b:02x}")).collect())
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

/// One decided command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Remembered<R> {
    /// The payload as first decided; `None` when known only from its events after a
    /// takeover and its command record was not found (any retry is then a repeat).
    pub digest: Option<PayloadDigest>,
    /// After this it may be forgotten.
    pub until: Timestamp,
    pub outcome: RememberedOutcome<R>,
}

/// What an aggregate remembers, by id, with the order in which ids may be forgotten.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandMemory<R> {
    by_id: HashMap<CommandId, Remembered<R>>,
    /// Derived ids, oldest decision first.
    derived: VecDeque<CommandId>,
    /// Minted ids, oldest decision first.
    minted: VecDeque<CommandId>,
    /// Derived ids dropped for [`MAX_DERIVED`] before their window ended.
    forgotten_early: u64,
}

impl<R> Default for CommandMemory<R> {
    fn default() -> Self {
        Self {
            by_id: HashMap::new(),
            derived: VecDeque::new(),
            minted: VecDeque::new(),
            forgotten_early: 0,
        }
    }
}

/// Whether an id can come back as a retry (derived from a name: UUIDv5, or v3) rather than
/// only as a copy of its record (minted for one request: v4, v7).
fn is_derived(id: &CommandId) -> bool {
    matches!(
        id.as_uuid().get_version(),
        Some(uuid::Version::Sha1 | uuid::Version::Md5)
    )
}

impl<R: Clone> CommandMemory<R> {
    /// The decision remembered for `id`, if any.
    pub fn get(&self, id: &CommandId) -> Option<&Remembered<R>> {
        self.by_id.get(id)
    }

    /// How many ids are remembered.
    pub fn len(&self) -> usize {
        self.by_id.len()
    }

    /// Derived ids dropped before their window ended because the aggregate had more than
    /// [`MAX_DERIVED`] of them in it.
    pub fn forgotten_early(&self) -> u64 {
        self.forgotten_early
    }

    /// Remembers the decision of `id` taken at `now` for a command whose deadline is
    /// `deadline`, and forgets what may be forgotten at `now`.
    pub fn remember(
        &mut self,
        id: CommandId,
        digest: Option<PayloadDigest>,
        deadline: Timestamp,
        now: Timestamp,
        outcome: RememberedOutcome<R>,
    ) {
        self.forget_lapsed(now);
        let until = if is_derived(&id) {
            deadline.max(now.saturating_add(RETRY_WINDOW))
        } else {
            deadline
        };
        let entry = Remembered {
            digest,
            until,
            outcome,
        };
        if self.by_id.insert(id, entry).is_some() {
            return; // already in its queue
        }
        self.enqueue(id);
        while self.minted.len() > MAX_MINTED {
            self.pop_minted();
        }
        while self.derived.len() > MAX_DERIVED {
            if let Some(oldest) = self.derived.pop_front()
                && let Some(entry) = self.by_id.remove(&oldest)
                && entry.until > now
            {
                self.forgotten_early += 1;
            }
        }
    }

    /// Sets the consistency token of `id`'s outcome once its events' offsets are known.
    pub fn set_token(&mut self, id: &CommandId, token: String) {
        if let Some(entry) = self.by_id.get_mut(id) {
            entry.outcome.consistency_token = Some(token);
        }
    }

    /// Adds an event read back from the log to `id`'s outcome (remembering `id` if new).
    pub fn add_logged_event(
        &mut self,
        id: CommandId,
        event_name: &str,
        token: String,
        now: Timestamp,
    ) {
        if let Some(entry) = self.by_id.get_mut(&id) {
            if entry.digest.is_none() {
                entry.outcome.events.push(event_name.to_owned());
                entry.outcome.consistency_token = Some(token);
            }
            return; // otherwise already in the snapshot's memory, with its whole outcome
        }
        let outcome = RememberedOutcome {
            consistency_token: Some(token),
            events: vec![event_name.to_owned()],
            rejection: None,
        };
        // Its deadline is unknown here: keep it for a whole window from now.
        let until = now.saturating_add(RETRY_WINDOW);
        self.remember(id, None, until, now, outcome);
    }

    /// Fills in the payload of an id known only from its events, from its command record.
    /// True if it was such an id.
    pub fn recover_digest(&mut self, id: &CommandId, digest: PayloadDigest) -> bool {
        match self.by_id.get_mut(id) {
            Some(entry) if entry.digest.is_none() => {
                entry.digest = Some(digest);
                true
            }
            _ => false,
        }
    }

    /// Ids known only from their events.
    pub fn without_digest(&self) -> impl Iterator<Item = &CommandId> {
        self.by_id
            .iter()
            .filter(|(_, e)| e.digest.is_none())
            .map(|(id, _)| id)
    }

    /// Puts a newly remembered id at the back of its kind's queue.
    fn enqueue(&mut self, id: CommandId) {
        if is_derived(&id) {
            self.derived.push_back(id);
        } else {
            self.minted.push_back(id);
        }
    }

    fn pop_minted(&mut self) {
        if let Some(oldest) = self.minted.pop_front() {
            self.by_id.remove(&oldest);
        }
    }

    /// Forgets, from the front of each queue, the ids whose time has passed at `now`.
    fn forget_lapsed(&mut self, now: Timestamp) {
        for queue in [&mut self.derived, &mut self.minted] {
            while let Some(oldest) = queue.front() {
                match self.by_id.get(oldest) {
                    Some(entry) if entry.until > now => break,
                    _ => {
                        self.by_id.remove(oldest);
                        queue.pop_front();
                    }
                }
            }
        }
    }
}

/// The memory as a snapshot carries it: `commands_from` is the offset of the first command
/// record not yet decided when the snapshot was taken (where a takeover looks for the
/// payloads of commands it knows only from their events).
#[derive(Debug, Serialize, Deserialize)]
#[serde(bound(serialize = "R: Serialize", deserialize = "R: DeserializeOwned"))]
struct StoredMemory<R> {
    commands_from: i64,
    /// Oldest decision first: `[id, digest, until_ms, token, events, rejection]`.
    commands: Vec<StoredCommand<R>>,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(bound(serialize = "R: Serialize", deserialize = "R: DeserializeOwned"))]
struct StoredCommand<R>(
    CommandId,
    Option<PayloadDigest>,
    i64,
    Option<String>,
    Vec<String>,
    Option<R>,
);

/// A memory written before digests and windows (a list of `{command_id, payload,
/// outcome}`): read so an upgrade forgets nothing.
#[derive(Debug, Deserialize)]
#[serde(bound(deserialize = "R: DeserializeOwned"))]
struct LegacyCommand<R> {
    command_id: CommandId,
    payload: Option<String>,
    outcome: RememberedOutcome<R>,
}

#[derive(Debug, Deserialize)]
#[serde(untagged, bound(deserialize = "R: DeserializeOwned"))]
enum AnyStoredMemory<R> {
    Current(StoredMemory<R>),
    Legacy(Vec<LegacyCommand<R>>),
}

impl<R: Clone + Serialize + DeserializeOwned> CommandMemory<R> {
    /// The memory for a snapshot taken when `commands_from` was the next undecided command.
    pub fn to_json(&self, commands_from: i64) -> serde_json::Value {
        let in_order = in_queue_order(&self.derived, &self.minted, &self.by_id);
        let stored = StoredMemory {
            commands_from,
            commands: in_order
                .into_iter()
                .map(|(id, e)| {
                    StoredCommand(
                        *id,
                        e.digest.clone(),
                        e.until.as_millis(),
                        e.outcome.consistency_token.clone(),
                        e.outcome.events.clone(),
                        e.outcome.rejection.clone(),
                    )
                })
                .collect(),
        };
        serde_json::to_value(&stored).expect("remembered commands serialise to JSON")
    }

    /// The memory a snapshot carried, and the `commands_from` it was taken at (`None` for
    /// a memory written before it was recorded).
    pub fn from_json(value: serde_json::Value) -> Result<(Self, Option<i64>), serde_json::Error> {
        let mut memory = Self::default();
        match serde_json::from_value(value)? {
            AnyStoredMemory::Current(stored) => {
                for StoredCommand(id, digest, until, token, events, rejection) in stored.commands {
                    let entry = Remembered {
                        digest,
                        until: Timestamp::from_millis(until).unwrap_or(Timestamp::MAX),
                        outcome: RememberedOutcome {
                            consistency_token: token,
                            events,
                            rejection,
                        },
                    };
                    memory.restore_entry(id, entry);
                }
                Ok((memory, Some(stored.commands_from)))
            }
            AnyStoredMemory::Legacy(commands) => {
                for legacy in commands {
                    // The old memory kept the payload as canonical JSON text: digest it the
                    // same way a new command's is; its window starts over.
                    let digest = legacy
                        .payload
                        .map(|text| PayloadDigest::of_canonical(text.as_bytes()));
                    let entry = Remembered {
                        digest,
                        until: Timestamp::MAX,
                        outcome: legacy.outcome,
                    };
                    memory.restore_entry(legacy.command_id, entry);
                }
                Ok((memory, None))
            }
        }
    }

    fn restore_entry(&mut self, id: CommandId, entry: Remembered<R>) {
        if self.by_id.insert(id, entry).is_none() {
            self.enqueue(id);
        }
    }
}

/// Every entry, derived ids first, each queue oldest first (the order they are restored in).
fn in_queue_order<'a, R>(
    derived: &'a VecDeque<CommandId>,
    minted: &'a VecDeque<CommandId>,
    by_id: &'a HashMap<CommandId, Remembered<R>>,
) -> Vec<(&'a CommandId, &'a Remembered<R>)> {
    derived
        .iter()
        .chain(minted)
        .filter_map(|id| by_id.get(id).map(|e| (id, e)))
        .collect()
}
