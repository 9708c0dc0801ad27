//! The `Purchase` aggregate: one per [`PurchaseId`], the purchase saga's own log.
//!
//! Forward: requested → payment reserved → tokens granted → payment captured → completed.
//! A failed forward step (refused, or timed out as decided by the saga) starts the
//! compensation, in reverse: revoke the grant if it may have happened, then release the
//! payment if it may have been reserved → failed, with the reason. A timeout counts as
//! "may have happened", a definite refusal does not.
//!
//! The aggregate only records outcomes; the saga performs the steps. An outcome is accepted
//! while its step is awaited, a repeat of a recorded outcome changes nothing, and any other
//! outcome (a late success after a timeout) is refused, so the log tells one story.

mod command;
mod event;
mod failure;
mod handle;
mod order;
mod rejection;
mod state;
mod step;

use serde::{Deserialize, Serialize};

use crate::aggregate::{Aggregate, Ctx};
use crate::ids::{GrantId, PurchaseId};
use crate::time::Timestamp;

pub use command::PurchaseCommand;
pub use event::PurchaseEvent;
pub use failure::{Compensation, FailureReason};
pub use order::{Cents, OrderError, PaymentMethod, PurchaseOrder};
pub use rejection::PurchaseRejection;
pub use step::{PurchaseStatus, PurchaseStep};

/// A token purchase; `Default` is a purchase not placed yet.
///
/// Serialisable for snapshots (`purchase.state`) and comparable, so a replayed purchase can
/// be checked against the live one. `handle` reads only `ctx.now`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Purchase {
    state: Option<state::PurchaseState>,
}

impl Aggregate for Purchase {
    type Command = PurchaseCommand;
    type Event = PurchaseEvent;
    type Rejection = PurchaseRejection;

    fn handle(&self, cmd: &Self::Command, ctx: &Ctx) -> Result<Vec<Self::Event>, Self::Rejection> {
        handle::handle(self.state.as_ref(), cmd, ctx.now)
    }

    fn apply(&mut self, event: &Self::Event) {
        state::apply(&mut self.state, event);
    }
}

impl Purchase {
    /// Whether the purchase has been placed.
    pub fn is_requested(&self) -> bool {
        self.state.is_some()
    }

    /// The purchase's id, once placed.
    pub fn id(&self) -> Option<PurchaseId> {
        self.state.as_ref().map(|s| s.id)
    }

    /// The order, once placed.
    pub fn order(&self) -> Option<&PurchaseOrder> {
        self.state.as_ref().map(|s| &s.order)
    }

    /// Where the purchase stands, once placed.
    pub fn status(&self) -> Option<PurchaseStatus> {
        self.state.as_ref().map(|s| s.status)
    }

    /// The step the saga must perform next; `None` before it is placed and once done.
    pub fn awaiting(&self) -> Option<PurchaseStep> {
        self.state.as_ref().and_then(state::PurchaseState::awaiting)
    }

    /// When the current status began: the awaited step has been pending since then.
    pub fn since(&self) -> Option<Timestamp> {
        self.state.as_ref().map(|s| s.since)
    }

    /// The grant recorded by the pool, if any.
    pub fn grant_id(&self) -> Option<GrantId> {
        self.state.as_ref().and_then(|s| s.grant)
    }

    /// The failure that started the compensation, if any.
    pub fn failure(&self) -> Option<&FailureReason> {
        self.state.as_ref().and_then(|s| s.failure.as_ref())
    }

    /// Whether the payment was captured (the buyer was charged).
    pub fn payment_captured(&self) -> bool {
        self.state.as_ref().is_some_and(|s| s.payment_captured)
    }

    /// Whether the grant was revoked by the compensation.
    pub fn grant_revoked(&self) -> bool {
        self.state.as_ref().is_some_and(|s| s.grant_revoked)
    }

    /// Whether the payment was released by the compensation.
    pub fn payment_released(&self) -> bool {
        self.state.as_ref().is_some_and(|s| s.payment_released)
    }
}
