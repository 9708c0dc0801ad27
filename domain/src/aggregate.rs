//! The aggregate contract shared by every event-sourced entity, and replay helpers.

use crate::actor::Actor;
use crate::ids::CommandId;
use crate::time::Timestamp;

/// Everything about a command that is not its payload; the domain's only source of time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ctx {
    /// When the command is handled, as decided by the command processor.
    pub now: Timestamp,
    /// The command's id (the processor deduplicates on it).
    pub command_id: CommandId,
    /// On whose behalf the command was issued.
    pub actor: Actor,
}

/// An event-sourced aggregate: `handle` decides, `apply` evolves; both are pure.
///
/// State is only ever `fold(apply)` over events, so `handle` must put into its events
/// everything `apply` needs, and `apply` must not fail (events are facts).
pub trait Aggregate: Default + Clone {
    /// What can be asked of the aggregate.
    type Command;
    /// What happened to it.
    type Event;
    /// Why a command was refused (no events are produced then).
    type Rejection: std::error::Error;
    /// Decides what a command means for the current state, without changing it.
    fn handle(&self, cmd: &Self::Command, ctx: &Ctx) -> Result<Vec<Self::Event>, Self::Rejection>;
    /// Evolves the state by one event.
    fn apply(&mut self, event: &Self::Event);
}

/// Applies `events` in order on top of `state` (e.g. a snapshot and the events after it).
pub fn apply_all<'a, A>(state: &mut A, events: impl IntoIterator<Item = &'a A::Event>)
where
    A: Aggregate,
    A::Event: 'a,
{
    for event in events {
        state.apply(event);
    }
}

/// Rebuilds an aggregate from its whole history.
pub fn replay<'a, A>(events: impl IntoIterator<Item = &'a A::Event>) -> A
where
    A: Aggregate,
    A::Event: 'a,
{
    let mut state = A::default();
    apply_all(&mut state, events);
    state
}

/// Handles a command and, if accepted, applies its events: what the processor does per command.
pub fn execute<A: Aggregate>(
    state: &mut A,
    cmd: &A::Command,
    ctx: &Ctx,
) -> Result<Vec<A::Event>, A::Rejection> {
    let events = state.handle(cmd, ctx)?;
    apply_all(state, &events);
    Ok(events)
}
