//! A pool's two rate limiters: requests and tokens.

use serde::{Deserialize, Serialize};

use crate::policy::EffectivePolicy;
use crate::rate_limit::{LimitKind, LimitSnapshot, LimiterState, RateLimitStrategy, RetryAfter};
use crate::time::Timestamp;
use crate::tokens::Tokens;

/// Both limits of a pool at one instant, for `x-ratelimit-*` headers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct PoolRateLimits {
    /// The request limit.
    pub requests: LimitSnapshot,
    /// The token limit.
    pub tokens: LimitSnapshot,
}

/// The state of both limiters; rebuilt by replaying reserve and consume events.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub(crate) struct PoolLimiters {
    requests: LimiterState,
    tokens: LimiterState,
}

impl PoolLimiters {
    pub(crate) fn fresh(strategy: RateLimitStrategy) -> Self {
        Self {
            requests: LimiterState::fresh(strategy),
            tokens: LimiterState::fresh(strategy),
        }
    }

    fn state(&self, kind: LimitKind) -> &LimiterState {
        match kind {
            LimitKind::Requests => &self.requests,
            LimitKind::Tokens => &self.tokens,
        }
    }

    fn state_mut(&mut self, kind: LimitKind) -> &mut LimiterState {
        match kind {
            LimitKind::Requests => &mut self.requests,
            LimitKind::Tokens => &mut self.tokens,
        }
    }

    /// Whether one request of `tokens` passes both limits at `now`.
    ///
    /// If either refuses, the answer names the limit that frees up last and when, because
    /// the request passes only once both pass (neither gets tighter while nothing is admitted).
    pub(crate) fn check(
        &self,
        policy: &EffectivePolicy,
        now: Timestamp,
        tokens: Tokens,
    ) -> Result<(), (LimitKind, RetryAfter)> {
        let refusals = [(LimitKind::Requests, 1), (LimitKind::Tokens, tokens.get())]
            .into_iter()
            .filter_map(|(kind, amount)| {
                self.state(kind)
                    .check(policy.limit(kind), now, amount)
                    .err()
                    .map(|retry| (kind, retry))
            });
        match refusals.max_by_key(|&(_, retry)| retry) {
            Some(latest) => Err(latest),
            None => Ok(()),
        }
    }

    /// Records one admitted request of `tokens` at `now`.
    pub(crate) fn admit(&mut self, policy: &EffectivePolicy, now: Timestamp, tokens: Tokens) {
        self.requests.admit(policy.requests, now, 1);
        self.tokens.admit(policy.tokens, now, tokens.get());
    }

    pub(crate) fn snapshot(&self, policy: &EffectivePolicy, now: Timestamp) -> PoolRateLimits {
        PoolRateLimits {
            requests: self.requests.snapshot(policy.requests, now),
            tokens: self.tokens.snapshot(policy.tokens, now),
        }
    }

    /// Adapts to a policy change: a limiter whose strategy or numbers changed starts fresh.
    ///
    /// Converting a level between different strategies or periods has no exact meaning, and
    /// policy changes are rare operator actions, so the price is at most one extra burst.
    pub(crate) fn on_policy_change(&mut self, old: &EffectivePolicy, new: &EffectivePolicy) {
        for kind in [LimitKind::Requests, LimitKind::Tokens] {
            if old.strategy != new.strategy || old.limit(kind) != new.limit(kind) {
                *self.state_mut(kind) = LimiterState::fresh(new.strategy);
            }
        }
    }
}
