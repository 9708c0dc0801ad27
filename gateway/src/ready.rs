//! Holds reserved ahead of calls, per (pool, caller), so a call's reserve — a round trip
//! through the pool's single writer — is off its request path. The rules are in
//! [`crate::shelf`]; this keeps the shelves, refills them in the background, and gives idle
//! shelves' holds back to their pools.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use domain::{Actor, PoolId};

use crate::holds::{Hold, Holds, ReserveError};
use crate::metrics::Metrics;
use crate::shelf::Shelf;

type Key = (PoolId, Actor);

/// The shelves of ready holds of this gateway.
#[derive(Debug, Clone)]
pub struct ReadyHolds {
    shelves: Arc<Mutex<HashMap<Key, Shelf<Hold>>>>,
    holds: Holds,
    /// Most holds ready per shelf; 0 turns ready holds off.
    most: usize,
    /// A shelf without calls for this long gives its holds back.
    idle: Duration,
    /// The TTL of a hold, per provider: as long as the longest call to that provider (a
    /// ready hold may serve a long stream). A pool's provider is its calls' provider.
    ttls: Arc<BTreeMap<String, Duration>>,
    metrics: Metrics,
}

impl ReadyHolds {
    /// Shelves that reserve through `holds`.
    pub fn new(
        holds: Holds,
        most: usize,
        idle: Duration,
        ttls: BTreeMap<String, Duration>,
        metrics: Metrics,
    ) -> Self {
        Self {
            shelves: Arc::default(),
            holds,
            most,
            idle,
            ttls: Arc::new(ttls),
            metrics,
        }
    }

    /// A ready hold of `pool` for `actor` with room for `worst_case` tokens, if one is ready.
    pub fn take(&self, pool: &PoolId, actor: &Actor, worst_case: u64) -> Option<Hold> {
        if self.most == 0 {
            return None;
        }
        let key = (pool.clone(), actor.clone());
        let taken = {
            let mut shelves = self.lock();
            let shelf = shelves
                .entry(key.clone())
                .or_insert_with(|| Shelf::new(Instant::now()));
            shelf.take(worst_case, Instant::now())
        };
        let event = if taken.is_some() { "taken" } else { "missed" };
        self.metrics.ready_hold(event);
        if taken.is_some() {
            self.refill(&key);
        }
        taken
    }

    /// What the pool answered to a call's own reserve: keeps the shelf's idea of the room
    /// current and refills it.
    pub fn learn(&self, hold: &Hold) {
        if self.most == 0 {
            return;
        }
        let key = (hold.pool.clone(), hold.actor.clone());
        if let Some(shelf) = self.lock().get_mut(&key) {
            shelf.learn(hold.balance.as_ref(), hold.limits.as_ref());
        }
        self.refill(&key);
    }

    /// Starts the reserves the shelf of `key` is missing.
    fn refill(&self, key: &Key) {
        let (count, size) = {
            let mut shelves = self.lock();
            let Some(shelf) = shelves.get_mut(key) else {
                return;
            };
            (shelf.refills(self.most), shelf.size())
        };
        for _ in 0..count {
            let ready = self.clone();
            let key = key.clone();
            tokio::spawn(async move { ready.reserve_one(key, size).await });
        }
    }

    async fn reserve_one(&self, key: Key, size: u64) {
        let (pool, actor) = key.clone();
        // A pool of a provider the gateway does not serve gets no calls, so no ready holds.
        let hold = match self.ttls.get(pool.provider().as_str()) {
            Some(&ttl) => match self.holds.reserve(pool, actor, size, ttl).await {
                Ok(hold) => Some(hold),
                Err(ReserveError::Refused { .. }) => {
                    // Rare (the room rule keeps a margin): the pool moved under us.
                    self.metrics.ready_hold("refused");
                    if let Some(shelf) = self.lock().get_mut(&key) {
                        shelf.refused();
                    }
                    None
                }
                // A late answer is released by `reserve` itself.
                Err(ReserveError::Unavailable(_)) => None,
            },
            None => None,
        };
        let unwanted = {
            let mut shelves = self.lock();
            match shelves.get_mut(&key) {
                Some(shelf) => {
                    if let Some(hold) = &hold {
                        shelf.learn(hold.balance.as_ref(), hold.limits.as_ref());
                    }
                    shelf.filled(hold.map(|hold| {
                        let amount = hold.amount;
                        (hold, amount)
                    }))
                }
                // The shelf went idle meanwhile.
                None => hold,
            }
        };
        match unwanted {
            Some(hold) => self.give_back(vec![hold]),
            None => self.metrics.ready_hold("reserved"),
        }
    }

    /// Gives the holds of shelves idle for `idle` back to their pools, for ever.
    pub async fn sweep(self) {
        let mut tick = tokio::time::interval(self.idle.min(Duration::from_secs(1)));
        loop {
            tick.tick().await;
            let now = Instant::now();
            let mut idle_holds = Vec::new();
            self.lock().retain(|_, shelf| {
                if !shelf.idle(now, self.idle) {
                    return true;
                }
                idle_holds.extend(shelf.drain());
                shelf.filling() > 0
            });
            self.give_back(idle_holds);
        }
    }

    /// Gives every ready hold back (a stopping gateway), waiting for the releases.
    pub async fn give_all_back(&self) {
        let holds: Vec<Hold> = self
            .lock()
            .values_mut()
            .flat_map(|shelf| shelf.drain())
            .collect();
        let releases = holds.iter().map(|hold| self.holds.release(hold));
        futures::future::join_all(releases).await;
    }

    fn give_back(&self, holds: Vec<Hold>) {
        for hold in holds {
            self.metrics.ready_hold("returned");
            let releaser = self.holds.clone();
            tokio::spawn(async move { releaser.release(&hold).await });
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Key, Shelf<Hold>>> {
        // A panic while holding the lock cannot leave a shelf half-updated in a way that
        // matters (counts only): keep serving.
        self.shelves
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}
