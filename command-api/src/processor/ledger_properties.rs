//! The ledger decides a command id once: any sequence of commands with copies of them
//! anywhere after the first (the same id with the same or another payload), cut into
//! batches anywhere, some of them aborted and read again, writes exactly the events of the
//! sequence without the copies.

use domain::{ReservationId, TokenPoolCommand, TokenPoolEvent, Tokens};
use proptest::prelude::*;
use schemas::PoolCommandEnvelope;
use uuid::Uuid;

use super::tests::{command, grant, provision, t};
use super::*;
use crate::processor::kind::PoolKind;

#[derive(Debug, Clone)]
enum Op {
    Consume(u64),
    Reserve { hold: u8, amount: u64 },
    Settle { hold: u8, actual: u64 },
    Release { hold: u8 },
    Grant { id: u8, amount: u64 },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        (1..400_u64).prop_map(Op::Consume),
        (0..6_u8, 1..400_u64).prop_map(|(hold, amount)| Op::Reserve { hold, amount }),
        (0..6_u8, 0..400_u64).prop_map(|(hold, actual)| Op::Settle { hold, actual }),
        (0..6_u8).prop_map(|hold| Op::Release { hold }),
        (0..4_u8, 1..1_000_u64).prop_map(|(id, amount)| Op::Grant { id, amount }),
    ]
}

fn hold(n: u8) -> ReservationId {
    ReservationId::from_uuid(Uuid::from_u128(1_000 + u128::from(n)))
}

fn to_command(op: &Op) -> TokenPoolCommand {
    let tokens = |n: u64| Tokens::new(n).unwrap();
    match *op {
        Op::Consume(amount) => TokenPoolCommand::Consume {
            amount: tokens(amount),
        },
        Op::Reserve { hold: h, amount } => TokenPoolCommand::Reserve {
            reservation_id: hold(h),
            amount: tokens(amount),
            ttl_ms: None,
            via: None,
        },
        Op::Settle { hold: h, actual } => TokenPoolCommand::Settle {
            reservation_id: hold(h),
            actual: tokens(actual),
            via: None,
        },
        Op::Release { hold: h } => TokenPoolCommand::Release {
            reservation_id: hold(h),
            via: None,
        },
        Op::Grant { id, amount } => grant(u128::from(id) + 100, amount),
    }
}

/// A copy of the `of`-th command: the same payload, or another one under its id.
#[derive(Debug, Clone)]
struct Copy {
    of: prop::sample::Index,
    other_payload: Option<Op>,
}

fn copy() -> impl Strategy<Value = Copy> {
    (
        any::<prop::sample::Index>(),
        prop::option::weighted(0.3, op()),
    )
        .prop_map(|(of, other_payload)| Copy { of, other_payload })
}

/// One step of the run: the next original command, then copies of those already sent.
#[derive(Debug, Clone)]
struct Step {
    op: Op,
    copies: Vec<Copy>,
    /// The batch ends after this step.
    cut: bool,
    /// The batch this step ends is aborted once and read again.
    abort: bool,
}

fn step() -> impl Strategy<Value = Step> {
    (
        op(),
        prop::collection::vec(copy(), 0..3),
        any::<bool>(),
        prop::bool::weighted(0.2),
    )
        .prop_map(|(op, copies, cut, abort)| Step {
            op,
            copies,
            cut,
            abort,
        })
}

/// The events of deciding `batches` in order, each at its records' times; an aborted batch
/// is decided, put back, and decided again.
fn run(batches: &[(Vec<(PoolCommandEnvelope, i64)>, bool)]) -> Vec<TokenPoolEvent> {
    let mut ledger = PartitionLedger::<PoolKind>::default();
    let mut events = Vec::new();
    for (batch, abort) in batches {
        if *abort {
            let mut undo = Undo::default();
            for (c, at) in batch {
                ledger.decide(c, t(*at), &mut undo);
            }
            ledger.restore(undo);
        }
        let mut undo = Undo::default();
        for (c, at) in batch {
            if let Decision::Accepted(new) = ledger.decide(c, t(*at), &mut undo) {
                events.extend(new);
            }
        }
    }
    events
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn copies_anywhere_change_no_event(steps in prop::collection::vec(step(), 1..40)) {
        let setup = vec![
            (command(1, provision()), 1_000),
            (command(2, grant(9, 2_000)), 1_000),
        ];
        let mut originals: Vec<PoolCommandEnvelope> = Vec::new();
        let mut without_copies = vec![(setup.clone(), false)];
        let mut with_copies = vec![(setup, false)];
        let (mut plain, mut copied) = (Vec::new(), Vec::new());
        for (n, step) in steps.iter().enumerate() {
            let at = 2_000 + 10 * n as i64;
            let original = command(10 + n as u128, to_command(&step.op));
            plain.push((original.clone(), at));
            copied.push((original.clone(), at));
            originals.push(original);
            for (k, copy) in step.copies.iter().enumerate() {
                let of = copy.of.get(&originals);
                let payload = copy.other_payload.as_ref().map_or_else(|| of.command.clone(), to_command);
                let again = PoolCommandEnvelope { command: payload, ..of.clone() };
                copied.push((again, at + 1 + k as i64));
            }
            if step.cut {
                without_copies.push((std::mem::take(&mut plain), false));
                with_copies.push((std::mem::take(&mut copied), step.abort));
            }
        }
        without_copies.push((plain, false));
        with_copies.push((copied, false));
        prop_assert_eq!(run(&with_copies), run(&without_copies));
    }
}
