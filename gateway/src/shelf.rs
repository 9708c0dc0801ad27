//! The rules of ready holds, without IO: when a call may take a hold reserved ahead of it,
//! and how many to keep ready.
//!
//! A ready hold is an ordinary hold — reserved by the pool's single writer, settled to one
//! call's usage — taken a moment before its call instead of during it. Only a pool far from
//! its limits keeps any: holds stand ready only while the last answer of the pool shows room
//! for several times as many in its quota and in both rate limits. Near a limit the shelf is
//! empty and every call reserves exactly its worst case when it is made, so what is admitted
//! and refused there is what it would be without ready holds.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use domain::PoolRateLimits;
use schemas::Balance;

/// A shelf holds no more than this share of what the pool has free, in every dimension.
const SHARE_OF_ROOM: u64 = 4;
/// Ready holds for this long of calls at the recent rate: longer than a refill takes even
/// under load (a reserve's p99 is ~120 ms at 2,000 commands/s on the benchmark machine; with
/// 50 ms, one call in ten found the shelf empty and waited).
const COVER: Duration = Duration::from_millis(250);
/// Holds ready for a caller at any rate: two, so back-to-back calls find one while the
/// refill after the previous call is still under way.
const MIN_READY: usize = 2;
/// Calls are counted over windows this long to estimate the rate.
const RATE_WINDOW: Duration = Duration::from_secs(1);

/// The ready holds of one (pool, caller), and what is known of the pool's room.
#[derive(Debug)]
pub struct Shelf<H> {
    ready: VecDeque<(H, u64)>,
    /// Tokens per hold: the largest worst case seen, so any such call fits.
    size: u64,
    /// Reserves under way for this shelf.
    filling: usize,
    /// How many holds of `size` the pool has room for, from its last answer.
    room: usize,
    /// Calls in the current and the previous window.
    window_start: Instant,
    calls_now: u64,
    calls_before: u64,
    last_call: Instant,
}

impl<H> Shelf<H> {
    /// An empty shelf; nothing is kept ready until an answer shows room.
    pub fn new(now: Instant) -> Self {
        Self {
            ready: VecDeque::new(),
            size: 0,
            filling: 0,
            room: 0,
            window_start: now,
            calls_now: 0,
            calls_before: 0,
            last_call: now,
        }
    }

    /// A call of at most `worst_case` tokens: the oldest ready hold it fits in, if any.
    pub fn take(&mut self, worst_case: u64, now: Instant) -> Option<H> {
        self.count_call(now);
        self.size = self.size.max(worst_case);
        let index = self
            .ready
            .iter()
            .position(|(_, amount)| *amount >= worst_case)?;
        self.ready.remove(index).map(|(hold, _)| hold)
    }

    /// What the pool said after a reserve for this shelf (the call's own or a refill).
    pub fn learn(&mut self, balance: Option<&Balance>, limits: Option<&PoolRateLimits>) {
        self.room = room_for(self.size, balance, limits);
    }

    /// A refill was refused: keep nothing ready until an answer shows room again.
    pub fn refused(&mut self) {
        self.room = 0;
    }

    /// How many reserves to start now, each of [`Shelf::size`] tokens; counted as filling.
    pub fn refills(&mut self, most: usize) -> usize {
        let per_second = self.calls_now.max(self.calls_before);
        let cover_ms = u64::try_from(COVER.as_millis()).unwrap_or(u64::MAX);
        let cover = usize::try_from(per_second.saturating_mul(cover_ms).div_ceil(1_000))
            .unwrap_or(usize::MAX)
            .max(MIN_READY);
        let want = cover.min(most).min(self.room);
        let missing = want.saturating_sub(self.ready.len() + self.filling);
        self.filling += missing;
        missing
    }

    /// The size of the holds to reserve.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// A refill ended; its hold, if reserved, stands ready unless the shelf is over its want
    /// (then it is handed back to be released).
    pub fn filled(&mut self, hold: Option<(H, u64)>) -> Option<H> {
        self.filling = self.filling.saturating_sub(1);
        let (hold, amount) = hold?;
        if self.room == 0 {
            return Some(hold);
        }
        self.ready.push_back((hold, amount));
        None
    }

    /// Whether no call came for `idle`: its holds should go back to the pool.
    pub fn idle(&self, now: Instant, idle: Duration) -> bool {
        now.duration_since(self.last_call) >= idle
    }

    /// Empties the shelf, for release.
    pub fn drain(&mut self) -> Vec<H> {
        self.room = 0;
        self.ready.drain(..).map(|(hold, _)| hold).collect()
    }

    /// Holds ready now.
    pub fn ready(&self) -> usize {
        self.ready.len()
    }

    /// Reserves under way.
    pub fn filling(&self) -> usize {
        self.filling
    }

    fn count_call(&mut self, now: Instant) {
        let elapsed = now.duration_since(self.window_start);
        if elapsed >= RATE_WINDOW {
            self.calls_before = if elapsed >= 2 * RATE_WINDOW {
                0
            } else {
                self.calls_now
            };
            self.calls_now = 0;
            self.window_start = now;
        }
        self.calls_now += 1;
        self.last_call = now;
    }
}

/// How many holds of `size` tokens may stand ready: a [`SHARE_OF_ROOM`] of what is free in
/// the quota and in both limiters, none if anything is unknown.
pub fn room_for(size: u64, balance: Option<&Balance>, limits: Option<&PoolRateLimits>) -> usize {
    let (Some(balance), Some(limits)) = (balance, limits) else {
        return 0;
    };
    if size == 0 {
        return 0;
    }
    let by_quota = balance.available.get() / size;
    let by_tokens = limits.tokens.remaining / size;
    let by_requests = limits.requests.remaining;
    let room = by_quota.min(by_tokens).min(by_requests) / SHARE_OF_ROOM;
    usize::try_from(room).unwrap_or(usize::MAX)
}

#[cfg(test)]
#[path = "shelf_tests.rs"]
mod tests;
