//! Throttling of guesses: one leaky bucket (the domain's own strategy) per user name or
//! client address, so password guessing, mass registration and floods of made-up API keys
//! are slowed to the configured rate and answered `429` with `Retry-After`.
//!
//! [`Buckets`] is the pure part (every decision takes `now`); [`Throttle`] adds the clock,
//! a lock and the metric, and is shared by the auth service and every credential checker.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};

use domain::rate_limit::{LeakyBucket, LeakyBucketState};
use domain::{DurationMs, Limiter, RateLimit, RetryAfter, Timestamp};
use problem::Problem;
use prometheus::IntCounterVec;

/// Keys remembered at most: past this, drained buckets are forgotten, and if all are still
/// filling, all are (an attacker cycling through keys must not exhaust memory).
const MAX_KEYS: usize = 100_000;

/// One leaky bucket per key under one limit, as a pure value.
#[derive(Debug, Clone)]
pub struct Buckets {
    limit: RateLimit,
    states: HashMap<String, LeakyBucketState>,
}

impl Buckets {
    /// Empty buckets under `limit`.
    pub fn new(limit: RateLimit) -> Self {
        Self {
            limit,
            states: HashMap::new(),
        }
    }

    /// Admits one attempt for `key` at `now`, or says how long until one would pass.
    pub fn admit(&mut self, key: &str, now: Timestamp) -> Result<(), DurationMs> {
        let bucket = LeakyBucket::new(self.limit);
        if !self.states.contains_key(key) && self.states.len() >= MAX_KEYS {
            self.forget_drained(now);
        }
        let state = self.states.entry(key.to_owned()).or_default();
        match bucket.check(state, now, 1) {
            Ok(()) => {
                bucket.admit(state, now, 1);
                Ok(())
            }
            Err(RetryAfter::After(wait)) => Err(wait),
            // A limit's capacity is at least 1, so one attempt always fits eventually.
            Err(RetryAfter::Never) => Err(self.limit.period()),
        }
    }

    /// Whether one attempt for `key` would be admitted at `now`, admitting nothing.
    pub fn check(&self, key: &str, now: Timestamp) -> Result<(), DurationMs> {
        let Some(state) = self.states.get(key) else {
            return Ok(());
        };
        match LeakyBucket::new(self.limit).check(state, now, 1) {
            Ok(()) => Ok(()),
            Err(RetryAfter::After(wait)) => Err(wait),
            Err(RetryAfter::Never) => Err(self.limit.period()),
        }
    }

    /// Keys with a bucket now.
    pub fn len(&self) -> usize {
        self.states.len()
    }

    /// Whether no key has a bucket.
    pub fn is_empty(&self) -> bool {
        self.states.is_empty()
    }

    fn forget_drained(&mut self, now: Timestamp) {
        let bucket = LeakyBucket::new(self.limit);
        let full = self.limit.capacity();
        self.states
            .retain(|_, state| bucket.snapshot(state, now).remaining < full);
        if self.states.len() >= MAX_KEYS {
            self.states.clear();
        }
    }
}

/// What is throttled, for the metric's `what` label.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Throttled {
    /// Login attempts per user name.
    LoginPerUser,
    /// Login attempts per client address.
    LoginPerAddress,
    /// Registrations per client address.
    RegisterPerAddress,
    /// Unknown or refused credentials per client address (the APIs and the gateway).
    FailedCredentialsPerAddress,
}

impl Throttled {
    fn label(self) -> &'static str {
        match self {
            Self::LoginPerUser => "login_per_user",
            Self::LoginPerAddress => "login_per_address",
            Self::RegisterPerAddress => "register_per_address",
            Self::FailedCredentialsPerAddress => "failed_credentials_per_address",
        }
    }
}

/// [`Buckets`] on the wall clock, shared between requests, counting what it refuses.
#[derive(Debug, Clone)]
pub struct Throttle {
    what: Throttled,
    buckets: Arc<Mutex<Buckets>>,
    refused: IntCounterVec,
}

impl Throttle {
    /// A throttle of `what` under `limit`, counting refusals in `refused` (see [`metric`]).
    pub fn new(what: Throttled, limit: RateLimit, refused: IntCounterVec) -> Self {
        Self {
            what,
            buckets: Arc::new(Mutex::new(Buckets::new(limit))),
            refused,
        }
    }

    /// Admits one attempt for `key` now, or the `429` problem (with `Retry-After`) to answer.
    pub fn admit(&self, key: &str) -> Result<(), Problem> {
        let now = Timestamp::from_system_time(std::time::SystemTime::now());
        let decided = self
            .buckets
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .admit(key, now);
        decided.map_err(|wait| {
            self.refused.with_label_values(&[self.what.label()]).inc();
            too_many(wait)
        })
    }

    /// Whether an attempt from `address` would be admitted now (admitting nothing): the
    /// `429` to answer before spending work on an address already past its limit.
    pub fn check_address(&self, address: Option<IpAddr>) -> Result<(), Problem> {
        let Some(address) = address else {
            return Ok(());
        };
        let now = Timestamp::from_system_time(std::time::SystemTime::now());
        let decided = self
            .buckets
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .check(&address.to_string(), now);
        decided.map_err(|wait| {
            self.refused.with_label_values(&[self.what.label()]).inc();
            too_many(wait)
        })
    }

    /// [`Throttle::admit`] for a client address; an unknown address is not throttled here
    /// (one shared bucket for all of them would let one client lock everyone out).
    pub fn admit_address(&self, address: Option<IpAddr>) -> Result<(), Problem> {
        match address {
            Some(address) => self.admit(&address.to_string()),
            None => Ok(()),
        }
    }
}

/// The counter of refused attempts, `leaky_throttled_total{what}`, for a service to register.
pub fn metric() -> IntCounterVec {
    IntCounterVec::new(
        prometheus::Opts::new(
            "throttled_total",
            "Attempts refused with 429 by the guess throttles (login, registration, credentials)",
        ),
        &["what"],
    )
    .expect("a valid metric definition")
}

/// The `429` answer: too many attempts, retry after `wait` (whole seconds, at least one).
pub fn too_many(wait: DurationMs) -> Problem {
    let seconds = wait.as_millis().div_ceil(1_000).max(1);
    Problem::new(
        axum::http::StatusCode::TOO_MANY_REQUESTS,
        "too-many-attempts",
        "Too many attempts",
        format!("too many attempts from here; retry in {seconds} s"),
    )
    .retry_after(seconds)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(ms: i64) -> Timestamp {
        Timestamp::from_millis(ms).unwrap()
    }

    /// Three attempts at once, then one per second.
    fn three_then_one_a_second() -> Buckets {
        Buckets::new(RateLimit::new(3, 1, DurationMs::SECOND).unwrap())
    }

    #[test]
    fn a_burst_passes_up_to_capacity_then_waits_for_the_bucket_to_drain() {
        let mut buckets = three_then_one_a_second();
        for _ in 0..3 {
            assert_eq!(buckets.admit("alice", at(1_000)), Ok(()));
        }
        assert_eq!(
            buckets.admit("alice", at(1_000)),
            Err(DurationMs::SECOND),
            "the fourth guess waits exactly for one to drain"
        );
        assert_eq!(
            buckets.admit("alice", at(1_999)),
            Err(DurationMs::from_millis(1).unwrap())
        );
        assert_eq!(buckets.admit("alice", at(2_000)), Ok(()));
    }

    #[test]
    fn checking_admits_nothing() {
        let mut buckets = three_then_one_a_second();
        assert_eq!(buckets.check("alice", at(0)), Ok(()));
        for _ in 0..3 {
            buckets.admit("alice", at(0)).unwrap();
        }
        assert_eq!(buckets.check("alice", at(0)), Err(DurationMs::SECOND));
        assert_eq!(buckets.check("alice", at(1_000)), Ok(()));
        assert_eq!(
            buckets.check("alice", at(1_000)),
            Ok(()),
            "still: nothing admitted"
        );
    }

    #[test]
    fn each_key_has_its_own_bucket() {
        let mut buckets = three_then_one_a_second();
        for _ in 0..3 {
            buckets.admit("alice", at(0)).unwrap();
        }
        assert!(buckets.admit("alice", at(0)).is_err());
        assert_eq!(buckets.admit("bob", at(0)), Ok(()));
    }

    #[test]
    fn memory_stays_bounded_whatever_the_number_of_keys() {
        let mut buckets = Buckets::new(RateLimit::new(1, 1, DurationMs::SECOND).unwrap());
        for n in 0..(MAX_KEYS + 10) {
            let _ = buckets.admit(&n.to_string(), at(0));
        }
        assert!(buckets.len() <= MAX_KEYS);
        // Drained buckets are the first to go.
        let _ = buckets.admit("late", at(10_000));
        assert!(buckets.len() <= MAX_KEYS);
    }

    #[test]
    fn a_refusal_is_a_429_problem_with_retry_after_in_whole_seconds() {
        let problem = too_many(DurationMs::from_millis(1_200).unwrap());
        assert_eq!(problem.status(), axum::http::StatusCode::TOO_MANY_REQUESTS);
        let response = axum::response::IntoResponse::into_response(problem);
        assert_eq!(response.headers()["retry-after"], "2");
    }
}
