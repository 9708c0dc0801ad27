//! Whole ranges: any value of any topic survives Avro binary and back exactly.

use std::collections::BTreeSet;

use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::TestRunner;
use schemas::command_type;

use crate::support::arbitrary::records::{
    command_envelope, event_envelope, rejection_record, reply, snapshot,
};
use crate::support::arbitrary::{auth_event, command, event, rejection};
use crate::support::examples::{
    AUTH_EVENT_VARIANTS, COMMAND_VARIANTS, EVENT_VARIANTS, REJECTION_VARIANTS,
};
use crate::support::round_trip;

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn any_command_round_trips(sent in command_envelope()) {
        prop_assert_eq!(round_trip(&sent), sent);
    }

    #[test]
    fn any_event_round_trips(sent in event_envelope()) {
        prop_assert_eq!(round_trip(&sent), sent);
    }

    #[test]
    fn any_rejection_round_trips(sent in rejection_record()) {
        prop_assert_eq!(round_trip(&sent), sent);
    }

    #[test]
    fn any_reply_round_trips(sent in reply()) {
        prop_assert_eq!(round_trip(&sent), sent);
    }

    #[test]
    fn any_auth_event_round_trips(sent in auth_event()) {
        prop_assert_eq!(round_trip(&sent), sent);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn any_snapshot_round_trips(sent in snapshot()) {
        prop_assert_eq!(round_trip(&sent), sent);
    }
}

/// Distinct values of `key` over many samples of `strategy`.
fn reached<T: std::fmt::Debug>(
    strategy: impl Strategy<Value = T>,
    key: impl Fn(&T) -> String,
) -> BTreeSet<String> {
    let mut runner = TestRunner::deterministic();
    (0..2_000)
        .map(|_| key(&strategy.new_tree(&mut runner).unwrap().current()))
        .collect()
}

#[test]
fn the_generators_reach_every_variant() {
    assert_eq!(
        reached(command(), |c| command_type(c).to_owned()).len(),
        COMMAND_VARIANTS
    );
    assert_eq!(
        reached(event(), |e| e.name().to_owned()).len(),
        EVENT_VARIANTS
    );
    assert_eq!(
        reached(rejection(), |r| r.code().to_owned()).len(),
        REJECTION_VARIANTS
    );
    assert_eq!(
        reached(auth_event(), |e| e.name().to_owned()).len(),
        AUTH_EVENT_VARIANTS
    );
}
