//! Fixtures and a given/when/then harness for purchases, like the pool's:
//! every `then*` also checks that the state rebuilt by replay equals the live one.

use domain::{
    Aggregate, Cents, CommandId, Ctx, FailureReason, GrantId, Purchase, PurchaseCommand,
    PurchaseEvent, PurchaseId, PurchaseOrder, PurchaseRejection, Timestamp, Tokens, replay,
};
use uuid::Uuid;

/// An instant `ms` milliseconds after the epoch.
pub fn t(ms: i64) -> Timestamp {
    Timestamp::from_millis(ms).expect("test timestamp in range")
}

/// Purchase number 7.
pub fn pid() -> PurchaseId {
    PurchaseId::from_uuid(Uuid::from_u128(7))
}

/// The grant the saga derives for purchase 7.
pub fn gid() -> GrantId {
    GrantId::from_uuid(Uuid::from_u128(70))
}

/// 5,000 tokens for `user:alice/openai`, 1,250 cents, paid with a test card.
pub fn order() -> PurchaseOrder {
    PurchaseOrder {
        pool: "user:alice/openai".parse().expect("valid pool"),
        tokens: Tokens::new(5_000).expect("valid amount"),
        price: Cents::new(1_250).expect("valid price"),
        payment_method: "pm_card_visa".parse().expect("valid payment method"),
    }
}

fn ctx(now: Timestamp) -> Ctx {
    Ctx {
        now,
        command_id: CommandId::from_uuid(Uuid::from_u128(1)),
        actor: "system:sagas".parse().expect("valid actor"),
    }
}

// ---- given: past events ------------------------------------------------------------

/// Placed at 0.
pub fn requested() -> PurchaseEvent {
    PurchaseEvent::PurchaseRequested {
        purchase_id: pid(),
        order: order(),
        at: t(0),
    }
}

/// Payment reserved at 10.
pub fn reserved() -> PurchaseEvent {
    PurchaseEvent::PaymentReserved { at: t(10) }
}

/// Tokens granted at 20.
pub fn granted() -> PurchaseEvent {
    PurchaseEvent::TokensGranted {
        grant_id: gid(),
        at: t(20),
    }
}

/// `reason` recorded at `at`, with the compensation it calls for.
pub fn step_failed(reason: FailureReason, at: i64) -> PurchaseEvent {
    PurchaseEvent::StepFailed {
        compensation: reason.compensation(),
        reason,
        at: t(at),
    }
}

/// The capture failed at 30.
pub fn capture_failed() -> FailureReason {
    FailureReason::CaptureFailed {
        message: "insufficient funds".into(),
    }
}

// ---- when: commands ----------------------------------------------------------------

/// Place purchase 7 with [`order`].
pub fn request() -> PurchaseCommand {
    PurchaseCommand::RequestPurchase {
        purchase_id: pid(),
        order: order(),
    }
}

/// Record `reason`.
pub fn fail(reason: FailureReason) -> PurchaseCommand {
    PurchaseCommand::RecordStepFailed { reason }
}

// ---- the harness -------------------------------------------------------------------

/// Past events of a purchase.
pub struct Given(Vec<PurchaseEvent>);

/// The purchase's history before the command under test.
pub fn given(events: impl IntoIterator<Item = PurchaseEvent>) -> Given {
    Given(events.into_iter().collect())
}

impl Given {
    /// Handles `cmd` at `now` against the state the events build.
    pub fn when(self, now: Timestamp, cmd: PurchaseCommand) -> When {
        let state: Purchase = replay(&self.0);
        let outcome = state.handle(&cmd, &ctx(now));
        When {
            history: self.0,
            state,
            outcome,
        }
    }

    /// The state the events build.
    pub fn state(self) -> Purchase {
        replay(&self.0)
    }
}

/// The outcome of one command.
pub struct When {
    history: Vec<PurchaseEvent>,
    state: Purchase,
    outcome: Result<Vec<PurchaseEvent>, PurchaseRejection>,
}

impl When {
    /// Asserts that exactly `expected` events were produced; returns the state after them.
    #[track_caller]
    pub fn then(self, expected: impl IntoIterator<Item = PurchaseEvent>) -> Purchase {
        let expected: Vec<_> = expected.into_iter().collect();
        match self.outcome {
            Ok(events) => {
                assert_eq!(events, expected, "produced events");
                let mut live = self.state;
                domain::apply_all(&mut live, &events);
                let mut history = self.history;
                history.extend(events);
                assert_eq!(
                    replay::<Purchase>(&history),
                    live,
                    "replay equals live state"
                );
                live
            }
            Err(rejection) => panic!("expected events {expected:#?}, got rejection {rejection:?}"),
        }
    }

    /// Asserts that the command was accepted but changed nothing (a repeat).
    #[track_caller]
    pub fn then_nothing(self) -> Purchase {
        self.then([])
    }

    /// Asserts that the command was refused with exactly `expected`.
    #[track_caller]
    pub fn then_rejected(self, expected: PurchaseRejection) {
        match self.outcome {
            Ok(events) => panic!("expected rejection {expected:?}, got events {events:#?}"),
            Err(rejection) => assert_eq!(rejection, expected, "rejection"),
        }
    }
}
