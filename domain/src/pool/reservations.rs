//! Holds on a pool: open ones, and a bounded log of resolved ones for exactly-once answers.
//!
//! A resolved reservation is remembered so that a retried `Reserve`, `Settle` or `Release`
//! gets the same answer instead of acting twice. The log is bounded deterministically by
//! event time and count: when an event at time `t` is applied, resolutions older than
//! `t - RESOLVED_RETENTION` are dropped, and so are the oldest beyond `MAX_RESOLVED`.
//! After that, a retry is answered `ReservationNotFound` (settle, release) or opens a new
//! hold that simply expires (reserve). Retries of the *same command* are also deduplicated
//! by `command_id` in the processor; this log covers a client retrying with a new command.

use std::collections::{BTreeMap, VecDeque};

use serde::{Deserialize, Serialize};

use super::holder::Holder;
use super::rejection::ResolutionKind;
use crate::ids::ReservationId;
use crate::time::{DurationMs, Timestamp};
use crate::tokens::Tokens;

/// How long a resolved reservation is remembered after its resolution.
pub const RESOLVED_RETENTION: DurationMs = DurationMs::HOUR;
/// Most resolved reservations remembered per pool, so snapshots stay small.
pub const MAX_RESOLVED: usize = 4_096;

/// A hold that has been neither settled, released nor expired.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct OpenReservation {
    /// The hold's id.
    pub id: ReservationId,
    /// Tokens held.
    pub amount: Tokens,
    /// When it was made.
    pub reserved_at: Timestamp,
    /// When it lapses: from this instant on it can no longer be settled or released.
    pub expires_at: Timestamp,
    /// Who alone may settle or release it (`None`: made before holders were recorded).
    #[serde(default)]
    pub holder: Option<Holder>,
}

impl OpenReservation {
    /// The TTL it was given.
    pub fn ttl(&self) -> DurationMs {
        self.expires_at.saturating_duration_since(self.reserved_at)
    }

    /// Whether it has lapsed at `now` (expiry is at `expires_at`, inclusive).
    pub fn is_expired_at(&self, now: Timestamp) -> bool {
        self.expires_at <= now
    }
}

/// How a reservation ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Resolution {
    /// Settled: `consumed` charged, `uncharged_overage` reported above the hold.
    Settled {
        /// Tokens charged.
        consumed: Tokens,
        /// Usage above the hold that was not charged.
        uncharged_overage: Tokens,
    },
    /// Released unused.
    Released,
    /// Lapsed at its TTL.
    Expired,
}

impl Resolution {
    /// The kind, without amounts.
    pub fn kind(&self) -> ResolutionKind {
        match self {
            Self::Settled { .. } => ResolutionKind::Settled,
            Self::Released => ResolutionKind::Released,
            Self::Expired => ResolutionKind::Expired,
        }
    }
}

/// A reservation that has ended, kept for a while to answer retries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ResolvedReservation {
    /// The hold's id.
    pub id: ReservationId,
    /// Tokens it held.
    pub amount: Tokens,
    /// The TTL it was given.
    pub ttl: DurationMs,
    /// How it ended.
    pub resolution: Resolution,
    /// When it ended (the resolving event's time).
    pub resolved_at: Timestamp,
}

impl ResolvedReservation {
    /// The usage a settlement reported (`consumed + uncharged_overage`), if it was settled.
    pub fn settled_actual(&self) -> Option<Tokens> {
        match self.resolution {
            Resolution::Settled {
                consumed,
                uncharged_overage,
            } => consumed.checked_add(uncharged_overage),
            _ => None,
        }
    }
}

/// Resolved reservations in resolution order, indexed by id.
///
/// Serialised as a plain list in resolution order; the index is rebuilt on load.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(
    try_from = "Vec<ResolvedReservation>",
    into = "Vec<ResolvedReservation>"
)]
pub(crate) struct ResolvedLog {
    by_id: BTreeMap<ReservationId, ResolvedReservation>,
    order: VecDeque<ReservationId>,
}

/// A snapshot listing the same reservation twice.
#[derive(Debug, thiserror::Error)]
#[error("resolved reservation {0} is listed twice")]
pub(crate) struct DuplicateResolution(ReservationId);

impl ResolvedLog {
    pub(crate) fn get(&self, id: &ReservationId) -> Option<&ResolvedReservation> {
        self.by_id.get(id)
    }

    pub(crate) fn len(&self) -> usize {
        self.order.len()
    }

    /// Remembers a resolution (an id is resolved at most once; a repeat replaces it).
    pub(crate) fn record(&mut self, resolved: ResolvedReservation) {
        if self.by_id.insert(resolved.id, resolved).is_some() {
            self.order.retain(|id| *id != resolved.id);
        }
        self.order.push_back(resolved.id);
    }

    /// Forgets resolutions that are too old at `now` or beyond the count bound.
    ///
    /// Oldest-first by resolution order, so the result depends only on the events applied.
    pub(crate) fn prune(&mut self, now: Timestamp) {
        while let Some(oldest) = self.order.front().and_then(|id| self.by_id.get(id)) {
            let expired = oldest.resolved_at.saturating_add(RESOLVED_RETENTION) <= now;
            if !expired && self.order.len() <= MAX_RESOLVED {
                break;
            }
            let id = oldest.id;
            self.by_id.remove(&id);
            self.order.pop_front();
        }
    }
}

impl TryFrom<Vec<ResolvedReservation>> for ResolvedLog {
    type Error = DuplicateResolution;
    fn try_from(list: Vec<ResolvedReservation>) -> Result<Self, Self::Error> {
        let mut log = Self::default();
        for resolved in list {
            if log.by_id.insert(resolved.id, resolved).is_some() {
                return Err(DuplicateResolution(resolved.id));
            }
            log.order.push_back(resolved.id);
        }
        Ok(log)
    }
}

impl From<ResolvedLog> for Vec<ResolvedReservation> {
    fn from(log: ResolvedLog) -> Self {
        log.order
            .iter()
            .filter_map(|id| log.by_id.get(id).copied())
            .collect()
    }
}
