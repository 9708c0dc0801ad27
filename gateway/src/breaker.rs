//! A circuit breaker per upstream: after enough consecutive failures, calls are refused
//! at once for a while (no hold, no waiting on a dead provider), then one call is let
//! through to try; its success closes the circuit, its failure opens it again.

use std::time::{Duration, Instant};

/// The breaker's state machine; time is passed in, so it is tested without sleeping.
#[derive(Debug, Clone)]
pub struct Breaker {
    threshold: u32,
    open_for: Duration,
    failures: u32,
    state: State,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Closed,
    Open {
        until: Instant,
    },
    /// One trial call is out; others are refused until it ends.
    Trial,
}

/// A refused call: the circuit is open for this much longer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Open {
    /// Until the next trial may go.
    pub retry_in: Duration,
}

impl Breaker {
    /// Opens after `threshold` consecutive failures, for `open_for`.
    pub fn new(threshold: u32, open_for: Duration) -> Self {
        Self {
            threshold: threshold.max(1),
            open_for,
            failures: 0,
            state: State::Closed,
        }
    }

    /// Whether a call may start at `now`.
    pub fn admit(&mut self, now: Instant) -> Result<(), Open> {
        match self.state {
            State::Closed => Ok(()),
            State::Open { until } if now >= until => {
                self.state = State::Trial;
                Ok(())
            }
            State::Open { until } => Err(Open {
                retry_in: until - now,
            }),
            State::Trial => Err(Open {
                retry_in: Duration::ZERO,
            }),
        }
    }

    /// Whether a call would be admitted at `now`, without taking the trial slot.
    pub fn check(&self, now: Instant) -> Result<(), Open> {
        match self.state {
            State::Closed => Ok(()),
            State::Open { until } if now >= until => Ok(()),
            State::Open { until } => Err(Open {
                retry_in: until - now,
            }),
            State::Trial => Err(Open {
                retry_in: Duration::ZERO,
            }),
        }
    }

    /// Records a call that worked.
    pub fn succeeded(&mut self) {
        self.failures = 0;
        self.state = State::Closed;
    }

    /// Records a call that failed at `now`.
    pub fn failed(&mut self, now: Instant) {
        self.failures = self.failures.saturating_add(1);
        if self.state == State::Trial || self.failures >= self.threshold {
            self.state = State::Open {
                until: now + self.open_for,
            };
        }
    }

    /// Whether calls are being refused.
    pub fn is_open(&self) -> bool {
        !matches!(self.state, State::Closed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const OPEN: Duration = Duration::from_secs(10);

    #[test]
    fn opens_after_consecutive_failures_only() {
        let now = Instant::now();
        let mut breaker = Breaker::new(3, OPEN);
        breaker.failed(now);
        breaker.failed(now);
        breaker.succeeded();
        breaker.failed(now);
        breaker.failed(now);
        assert!(
            breaker.admit(now).is_ok(),
            "a success in between resets the count"
        );
        breaker.failed(now);
        assert_eq!(breaker.admit(now), Err(Open { retry_in: OPEN }));
    }

    #[test]
    fn after_the_pause_one_trial_decides() {
        let now = Instant::now();
        let mut breaker = Breaker::new(1, OPEN);
        breaker.failed(now);
        let later = now + OPEN;
        assert!(breaker.check(now).is_err());
        assert!(breaker.check(later).is_ok(), "checking takes nothing");
        assert!(breaker.admit(later).is_ok(), "the trial goes");
        assert!(breaker.admit(later).is_err(), "only one trial at a time");
        breaker.failed(later);
        assert_eq!(breaker.admit(later), Err(Open { retry_in: OPEN }));
        let much_later = later + OPEN;
        assert!(breaker.admit(much_later).is_ok());
        breaker.succeeded();
        assert!(breaker.admit(much_later).is_ok());
        assert!(!breaker.is_open());
    }
}
