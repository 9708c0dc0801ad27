//! The given/when/then harness every aggregate's specification uses:
//!
//! ```ignore
//! given([provisioned(), granted(1, 1_000)])
//!     .when(t(1_000), reserve(7, 300))
//!     .then([TokensReserved { .. }]);
//! ```
//!
//! Every `then*` also checks that handling did not depend on anything but the events:
//! the state rebuilt from `given` + produced events equals the state evolved step by step.
#![allow(dead_code)] // each test binary uses a different part of it

use std::fmt::Debug;

use domain::{Actor, Aggregate, CommandId, Ctx, Timestamp, replay};
use uuid::Uuid;

/// Past events of an aggregate, and who issues the command under test.
pub struct Given<A: Aggregate> {
    events: Vec<A::Event>,
    actor: Actor,
}

/// The aggregate's history before the command under test, issued by `actor`.
pub fn given<A: Aggregate>(events: impl IntoIterator<Item = A::Event>, actor: &str) -> Given<A> {
    Given {
        events: events.into_iter().collect(),
        actor: actor.parse().expect("valid actor"),
    }
}

impl<A: Aggregate> Given<A> {
    /// Handles `cmd` at `now` against the state the events build.
    pub fn when(self, now: Timestamp, cmd: A::Command) -> When<A> {
        let state: A = replay(&self.events);
        let ctx = Ctx {
            now,
            command_id: CommandId::from_uuid(Uuid::from_u128(1)),
            actor: self.actor,
        };
        let outcome = state.handle(&cmd, &ctx);
        When {
            history: self.events,
            state,
            outcome,
        }
    }

    /// The state the events build.
    pub fn state(self) -> A {
        replay(&self.events)
    }
}

/// The outcome of one command.
pub struct When<A: Aggregate> {
    history: Vec<A::Event>,
    state: A,
    outcome: Result<Vec<A::Event>, A::Rejection>,
}

impl<A> When<A>
where
    A: Aggregate + PartialEq + Debug,
    A::Event: PartialEq + Debug,
    A::Rejection: PartialEq + Debug,
{
    /// Asserts that exactly `expected` events were produced; returns the state after them.
    #[track_caller]
    pub fn then(self, expected: impl IntoIterator<Item = A::Event>) -> A {
        let expected: Vec<_> = expected.into_iter().collect();
        match self.outcome {
            Ok(events) => {
                assert_eq!(events, expected, "produced events");
                let mut live = self.state;
                domain::apply_all(&mut live, &events);
                let mut history = self.history;
                history.extend(events);
                assert_eq!(replay::<A>(&history), live, "replay equals live state");
                live
            }
            Err(rejection) => panic!("expected events {expected:#?}, got rejection {rejection:?}"),
        }
    }

    /// Asserts that the command was accepted but changed nothing (an idempotent repeat).
    #[track_caller]
    pub fn then_nothing(self) -> A {
        self.then([])
    }

    /// Asserts that the command was refused with exactly `expected`.
    #[track_caller]
    pub fn then_rejected(self, expected: A::Rejection) {
        match self.outcome {
            Ok(events) => panic!("expected rejection {expected:?}, got events {events:#?}"),
            Err(rejection) => assert_eq!(rejection, expected, "rejection"),
        }
    }

    /// The raw outcome, for tests that inspect it themselves.
    pub fn outcome(self) -> Result<Vec<A::Event>, A::Rejection> {
        self.outcome
    }
}
