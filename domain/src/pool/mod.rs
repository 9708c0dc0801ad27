//! The `TokenPool` aggregate: one per [`PoolId`](crate::PoolId), the unit of consistency.
//!
//! Semantics follow TigerBeetle's pending transfers: a reservation is a pending hold that
//! is posted (`Settle`), voided (`Release`) or times out (expiry) exactly once; every id is
//! an idempotency key, and "exists with a different payload" is an answer (`Conflict`),
//! not a crash.
//!
//! The ledger has four totals (see the accessors on [`TokenPool`]):
//! - `granted`: tokens granted and not taken back. Revocation takes back only what is
//!   available; the rest becomes `overdraft`, and later grants repay it first
//!   (`TokensGranted::overdraft_repaid`), taking it out of `granted` then.
//! - `consumed`: tokens charged over the pool's lifetime.
//! - `reserved`: tokens on hold in open reservations.
//! - `overdraft`: revoked tokens that were already spent or held when revoked.
//!
//! Invariant after every event: `consumed + reserved <= granted` and `overdraft <= granted`;
//! `available = granted - consumed - reserved - overdraft` (never below zero), and a hold
//! or charge is admitted only within `available`.

mod apply;
mod command;
mod event;
mod grants;
mod handle;
mod holder;
mod limiters;
mod quota_period;
mod rejection;
mod reservations;
mod state;
mod view;

use serde::{Deserialize, Serialize};

use crate::aggregate::{Aggregate, Ctx};

pub use command::{GrantSource, TokenPoolCommand};
pub use event::TokenPoolEvent;
pub use grants::GrantRecord;
pub use holder::Holder;
pub use limiters::PoolRateLimits;
pub use quota_period::QuotaPeriod;
pub use rejection::{
    AmountField, ConflictSubject, RejectionKind, ResolutionKind, TokenPoolRejection,
};
pub use reservations::{
    MAX_RESOLVED, OpenReservation, RESOLVED_RETENTION, Resolution, ResolvedReservation,
};

/// A prepaid token pool with its rate limits; `Default` is a pool not yet provisioned.
///
/// Serialisable for snapshots (`token-pool.state`) and comparable, so a replayed pool can
/// be checked against the live one. `handle` reads `ctx.now`, and `ctx.actor` for who holds
/// a reservation; the command id and the actor are otherwise recorded by the processor in
/// the event envelope.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenPool {
    state: Option<state::PoolState>,
}

impl Aggregate for TokenPool {
    type Command = TokenPoolCommand;
    type Event = TokenPoolEvent;
    type Rejection = TokenPoolRejection;

    fn handle(&self, cmd: &Self::Command, ctx: &Ctx) -> Result<Vec<Self::Event>, Self::Rejection> {
        handle::handle(self.state.as_ref(), cmd, ctx)
    }

    fn apply(&mut self, event: &Self::Event) {
        apply::apply(&mut self.state, event);
    }
}
