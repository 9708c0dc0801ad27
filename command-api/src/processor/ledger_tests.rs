//! The partition ledger, specified command by command.

use domain::{
    Actor, CommandId, DurationMs, EffectivePolicy, GrantId, GrantSource, OverageRule, PoolId,
    RateLimit, RateLimitStrategy, ReservationTtl, Tier, Timestamp, TokenPoolCommand, Tokens,
};
use schemas::PoolCommandEnvelope;
use uuid::Uuid;

use super::*;
use crate::processor::kind::PoolKind;

pub(super) fn t(ms: i64) -> Timestamp {
    Timestamp::from_millis(ms).unwrap()
}

pub(super) fn pool() -> PoolId {
    "user:alice/openai".parse().unwrap()
}

fn policy() -> EffectivePolicy {
    let minute = DurationMs::from_millis(60_000).unwrap();
    EffectivePolicy {
        strategy: RateLimitStrategy::TokenBucket,
        requests: RateLimit::new(1_000, 1_000, minute).unwrap(),
        tokens: RateLimit::new(1_000_000, 1_000_000, minute).unwrap(),
        overage: OverageRule::Reject,
        reservation_ttl: ReservationTtl::new(minute, minute).unwrap(),
        periodic_quota: None,
        quota_cap: Tokens::new(1_000_000).unwrap(),
    }
}

pub(super) fn command(n: u128, command: TokenPoolCommand) -> PoolCommandEnvelope {
    PoolCommandEnvelope {
        command_id: CommandId::from_uuid(Uuid::from_u128(n)),
        pool_id: pool(),
        reply_to: "command-api-1".into(),
        actor: "system:test".parse::<Actor>().unwrap(),
        issued_at: t(0),
        deadline: t(10_000),
        command,
    }
}

pub(super) fn provision() -> TokenPoolCommand {
    TokenPoolCommand::ProvisionPool {
        pool: pool(),
        tier: Tier::User,
        policy: policy(),
    }
}

pub(super) fn grant(n: u128, amount: u64) -> TokenPoolCommand {
    TokenPoolCommand::GrantTokens {
        grant_id: GrantId::from_uuid(Uuid::from_u128(n)),
        amount: Tokens::new(amount).unwrap(),
        source: GrantSource::Admin,
    }
}

fn consume(amount: u64) -> TokenPoolCommand {
    TokenPoolCommand::Consume {
        amount: Tokens::new(amount).unwrap(),
    }
}

/// A ledger that has decided `commands` at t=1000, each in a batch of its own whose
/// events were written at offset 1.
fn given(commands: &[PoolCommandEnvelope]) -> PartitionLedger<PoolKind> {
    let mut ledger = PartitionLedger::default();
    for incoming in commands {
        ledger.decide(incoming, t(1_000), &mut Undo::default());
        ledger.set_token(&incoming.pool_id, &incoming.command_id, "0:1".into());
    }
    ledger
}

#[test]
fn an_accepted_command_changes_the_pool() {
    let mut ledger = given(&[command(1, provision()), command(2, grant(9, 500))]);
    let decision = ledger.decide(&command(3, consume(200)), t(2_000), &mut Undo::default());
    assert!(
        matches!(&decision, Decision::Accepted(events) if events.len() == 1),
        "{decision:?}"
    );
    assert_eq!(ledger.slot(&pool()).unwrap().state.consumed().get(), 200);
}

#[test]
fn a_retried_command_gets_the_first_answer_and_changes_nothing() {
    let mut ledger = given(&[
        command(1, provision()),
        command(2, grant(9, 500)),
        command(3, consume(200)),
    ]);
    let decision = ledger.decide(&command(3, consume(200)), t(2_000), &mut Undo::default());
    let Decision::Repeated(outcome) = decision else {
        panic!("expected the remembered outcome, got {decision:?}");
    };
    assert_eq!(outcome.events, ["TokensConsumed"]);
    assert_eq!(ledger.slot(&pool()).unwrap().state.consumed().get(), 200);
}

#[test]
fn the_same_id_with_another_payload_is_a_conflict() {
    let mut ledger = given(&[
        command(1, provision()),
        command(2, grant(9, 500)),
        command(3, consume(200)),
    ]);
    let decision = ledger.decide(&command(3, consume(300)), t(2_000), &mut Undo::default());
    assert_eq!(decision, Decision::IdConflict);
    assert_eq!(ledger.slot(&pool()).unwrap().state.consumed().get(), 200);
}

#[test]
fn a_command_past_its_deadline_is_never_applied() {
    let mut ledger = given(&[command(1, provision()), command(2, grant(9, 500))]);
    let decision = ledger.decide(&command(3, consume(200)), t(10_001), &mut Undo::default());
    assert_eq!(decision, Decision::Expired);
    assert_eq!(ledger.slot(&pool()).unwrap().state.consumed().get(), 0);
}

#[test]
fn a_rejected_command_leaves_the_pool_as_it_was() {
    let mut ledger = given(&[command(1, provision()), command(2, grant(9, 500))]);
    let before = ledger.slot(&pool()).unwrap().state.clone();
    let decision = ledger.decide(&command(3, consume(501)), t(2_000), &mut Undo::default());
    assert!(
        matches!(decision, Decision::Rejected(ref r) if r.is_decision()),
        "{decision:?}"
    );
    assert_eq!(ledger.slot(&pool()).unwrap().state, before);
}

#[test]
fn restoring_an_aborted_batch_puts_back_every_pool_it_touched() {
    let mut ledger = given(&[command(1, provision()), command(2, grant(9, 500))]);
    let before = ledger.slot(&pool()).cloned();
    let other: PoolId = "org:acme/gemini".parse().unwrap();

    let mut undo = Undo::default();
    ledger.decide(&command(3, consume(100)), t(2_000), &mut undo);
    ledger.decide(&command(4, consume(50)), t(2_001), &mut undo);
    let new_pool = PoolCommandEnvelope {
        pool_id: other.clone(),
        ..command(
            5,
            TokenPoolCommand::ProvisionPool {
                pool: other.clone(),
                tier: Tier::User,
                policy: policy(),
            },
        )
    };
    ledger.decide(&new_pool, t(2_002), &mut undo);
    assert_eq!(undo.touched().count(), 2);

    ledger.restore(undo);
    assert_eq!(ledger.slot(&pool()).cloned(), before);
    assert!(
        ledger.slot(&other).is_none(),
        "a pool created by the aborted batch must vanish"
    );
}

#[test]
fn a_command_known_only_from_its_replayed_events_is_a_repeat_never_applied_twice() {
    // A takeover replays the events written after the last snapshot; their commands were
    // answered, so a client retrying one must get that answer, not a second consume.
    let decided = given(&[command(1, provision()), command(2, grant(9, 500))]);
    let mut ledger =
        PartitionLedger::<PoolKind>::from_slots([(pool(), decided.slot(&pool()).unwrap().clone())]);
    let consumed = domain::TokenPoolEvent::TokensConsumed {
        amount: Tokens::new(200).unwrap(),
        overdrawn: Tokens::ZERO,
        at: t(1_500),
    };
    ledger.apply_logged(
        &pool(),
        command(3, consume(200)).command_id,
        &consumed,
        "0:7".into(),
        t(1_600),
    );

    let retry = ledger.decide(&command(3, consume(200)), t(2_000), &mut Undo::default());
    let Decision::Repeated(outcome) = retry else {
        panic!("expected the logged outcome, got {retry:?}");
    };
    assert_eq!(outcome.consistency_token.as_deref(), Some("0:7"));
    assert_eq!(outcome.events, ["TokensConsumed"]);
    assert_eq!(ledger.slot(&pool()).unwrap().state.consumed().get(), 200);
}

/// A command id derived from a name (an idempotency key, a hold and a step): retriable.
fn keyed(n: u128, command: TokenPoolCommand) -> PoolCommandEnvelope {
    PoolCommandEnvelope {
        command_id: CommandId::from_uuid(Uuid::new_v5(&Uuid::from_u128(1), &n.to_be_bytes())),
        ..self::command(0, command)
    }
}

/// A command id minted at random for one request: it comes back only as a copy.
fn minted(command: TokenPoolCommand, deadline_ms: i64) -> PoolCommandEnvelope {
    PoolCommandEnvelope {
        command_id: CommandId::from_uuid(Uuid::new_v4()),
        deadline: t(deadline_ms),
        ..self::command(0, command)
    }
}

/// Decides `batch` as one batch at `now`.
fn batch(
    ledger: &mut PartitionLedger<PoolKind>,
    batch: &[PoolCommandEnvelope],
    now: i64,
) -> Vec<Decision<domain::TokenPool>> {
    let mut undo = Undo::default();
    batch
        .iter()
        .map(|c| ledger.decide(c, t(now), &mut undo))
        .collect()
}

fn consumed(ledger: &PartitionLedger<PoolKind>) -> u64 {
    ledger.slot(&pool()).unwrap().state.consumed().get()
}

#[test]
fn copies_of_a_command_in_one_batch_are_applied_once() {
    // Three retries queued behind a dead writer reach its successor in one batch.
    let mut ledger = given(&[command(1, provision()), command(2, grant(9, 500))]);
    let retry = keyed(3, consume(10));
    let decisions = batch(
        &mut ledger,
        &[retry.clone(), retry.clone(), retry.clone()],
        2_000,
    );
    assert!(
        matches!(decisions[0], Decision::Accepted(_)),
        "{decisions:?}"
    );
    for copy in &decisions[1..] {
        let Decision::Repeated(outcome) = copy else {
            panic!("expected a repeat, got {copy:?}");
        };
        assert_eq!(outcome.events, ["TokensConsumed"]);
    }
    assert_eq!(consumed(&ledger), 10);
}

#[test]
fn another_payload_under_a_decided_id_in_the_same_batch_is_a_conflict() {
    let mut ledger = given(&[command(1, provision()), command(2, grant(9, 500))]);
    let decisions = batch(
        &mut ledger,
        &[keyed(3, consume(10)), keyed(3, consume(20))],
        2_000,
    );
    assert!(
        matches!(decisions[0], Decision::Accepted(_)),
        "{decisions:?}"
    );
    assert_eq!(decisions[1], Decision::IdConflict);
    assert_eq!(consumed(&ledger), 10);
}

#[test]
fn a_copy_in_the_batch_answers_with_the_first_copys_token_once_it_is_written() {
    let mut ledger = given(&[command(1, provision()), command(2, grant(9, 500))]);
    let retry = keyed(3, consume(10));
    batch(&mut ledger, &[retry.clone(), retry.clone()], 2_000);
    ledger.set_token(&pool(), &retry.command_id, "0:9".into());
    let outcome = ledger.remembered(&pool(), &retry.command_id).unwrap();
    assert_eq!(outcome.consistency_token.as_deref(), Some("0:9"));
}

#[test]
fn an_aborted_batch_forgets_the_ids_it_decided() {
    // The batch is read again after an abort: its commands must be decided again, once.
    let mut ledger = given(&[command(1, provision()), command(2, grant(9, 500))]);
    let mut undo = Undo::default();
    let retry = keyed(3, consume(10));
    ledger.decide(&retry, t(2_000), &mut undo);
    ledger.restore(undo);
    let again = ledger.decide(&retry, t(2_001), &mut Undo::default());
    assert!(matches!(again, Decision::Accepted(_)), "{again:?}");
    assert_eq!(consumed(&ledger), 10);
}

#[test]
fn a_retriable_id_is_remembered_for_the_retry_window_past_its_deadline() {
    let mut ledger = given(&[command(1, provision()), command(2, grant(9, 500_000))]);
    let first = PoolCommandEnvelope {
        deadline: t(2_000 + 60_000),
        ..keyed(3, consume(10))
    };
    batch(&mut ledger, std::slice::from_ref(&first), 2_000);
    // A client retries 14 minutes later with the same key: a new envelope, a new deadline.
    let late = 2_000 + super::super::memory::RETRY_WINDOW.as_millis() as i64 - 60_000;
    let retry = PoolCommandEnvelope {
        issued_at: t(late),
        deadline: t(late + 60_000),
        ..first.clone()
    };
    let decisions = batch(&mut ledger, std::slice::from_ref(&retry), late);
    assert!(
        matches!(decisions[0], Decision::Repeated(_)),
        "{decisions:?}"
    );
    assert_eq!(consumed(&ledger), 10);
}

#[test]
fn many_commands_without_a_key_never_push_out_a_keyed_one() {
    let mut ledger = given(&[command(1, provision()), command(2, grant(9, 500_000))]);
    let keyed_consume = keyed(3, consume(10));
    batch(&mut ledger, std::slice::from_ref(&keyed_consume), 2_000);
    let unkeyed: Vec<_> = (0..3 * super::super::memory::MAX_MINTED)
        .map(|_| minted(consume(1), 100_000))
        .collect();
    batch(&mut ledger, &unkeyed, 3_000);
    let before_retry = consumed(&ledger);
    let decisions = batch(&mut ledger, std::slice::from_ref(&keyed_consume), 4_000);
    assert!(
        matches!(decisions[0], Decision::Repeated(_)),
        "{decisions:?}"
    );
    assert_eq!(consumed(&ledger), before_retry);
}

#[test]
fn the_memory_survives_a_snapshot_with_its_payloads_and_windows() {
    let mut ledger = given(&[command(1, provision()), command(2, grant(9, 500))]);
    let first = keyed(3, consume(10));
    batch(&mut ledger, std::slice::from_ref(&first), 2_000);
    let slot = ledger.slot(&pool()).unwrap();
    let (restored, commands_from) =
        Slot::restore(slot.state.clone(), slot.memory_json(42)).unwrap();
    assert_eq!(commands_from, Some(42));
    assert_eq!(&restored, slot);

    let mut after_restart = PartitionLedger::<PoolKind>::from_slots([(pool(), restored)]);
    let conflict = after_restart.decide(&keyed(3, consume(20)), t(3_000), &mut Undo::default());
    assert_eq!(conflict, Decision::IdConflict);
}

#[test]
fn a_memory_written_before_windows_is_read_with_its_payloads() {
    let state = given(&[command(1, provision())])
        .slot(&pool())
        .unwrap()
        .state
        .clone();
    let id = command(3, consume(10)).command_id;
    let payload = serde_json::to_string(&consume(10)).unwrap();
    let legacy = serde_json::json!([{
        "command_id": id,
        "payload": payload,
        "outcome": {"consistency_token": "0:5", "events": ["TokensConsumed"], "rejection": null}
    }]);
    let (slot, commands_from) = Slot::restore(state, legacy).unwrap();
    assert_eq!(commands_from, None);
    let mut ledger = PartitionLedger::<PoolKind>::from_slots([(pool(), slot)]);
    let same = ledger.decide(&command(3, consume(10)), t(2_000), &mut Undo::default());
    assert!(matches!(same, Decision::Repeated(_)), "{same:?}");
    let other = ledger.decide(&command(3, consume(11)), t(2_000), &mut Undo::default());
    assert_eq!(other, Decision::IdConflict);
}

#[test]
fn a_command_known_from_its_events_gets_its_payload_from_its_record() {
    let decided = given(&[command(1, provision()), command(2, grant(9, 500))]);
    let mut ledger =
        PartitionLedger::<PoolKind>::from_slots([(pool(), decided.slot(&pool()).unwrap().clone())]);
    let first = keyed(3, consume(200));
    let event = domain::TokenPoolEvent::TokensConsumed {
        amount: Tokens::new(200).unwrap(),
        overdrawn: Tokens::ZERO,
        at: t(1_500),
    };
    ledger.apply_logged(&pool(), first.command_id, &event, "0:7".into(), t(1_600));
    assert_eq!(ledger.known_without_payload(), [(pool(), first.command_id)]);
    assert!(ledger.recover_payload(&first));
    assert!(ledger.known_without_payload().is_empty());

    let conflict = ledger.decide(&keyed(3, consume(300)), t(2_000), &mut Undo::default());
    assert_eq!(conflict, Decision::IdConflict);
}

#[test]
fn a_full_memory_fits_one_kafka_record_with_room_to_spare() {
    use super::super::memory::{MAX_DERIVED, MAX_MINTED};
    let mut ledger = given(&[command(1, provision()), command(2, grant(9, 500))]);
    // Every remembered command a refusal (the largest outcome), with a long token.
    let keyed_refusals: Vec<_> = (0..MAX_DERIVED as u128 + 10)
        .map(|n| keyed(1_000 + n, consume(1_000_000)))
        .collect();
    let minted_refusals: Vec<_> = (0..MAX_MINTED + 10)
        .map(|_| minted(consume(1_000_000), 100_000))
        .collect();
    batch(&mut ledger, &keyed_refusals, 2_000);
    batch(&mut ledger, &minted_refusals, 2_000);
    let slot = ledger.slot(&pool()).unwrap();
    assert_eq!(slot.remembered_commands(), MAX_DERIVED + MAX_MINTED);
    let bytes = slot.memory_json(i64::MAX).to_string().len();
    assert!(bytes < 600 * 1024, "{bytes} bytes");
}

#[test]
fn ids_forgotten_early_are_counted_once_even_when_a_batch_is_read_again() {
    use super::super::memory::MAX_DERIVED;
    let mut ledger = given(&[command(1, provision()), command(2, grant(9, 500))]);
    let keyed_refusals: Vec<_> = (0..MAX_DERIVED as u128 + 3)
        .map(|n| keyed(1_000 + n, consume(1_000_000)))
        .collect();
    let mut undo = Undo::default();
    for incoming in &keyed_refusals {
        ledger.decide(incoming, t(2_000), &mut undo);
    }
    assert_eq!(ledger.forgotten_early(), 3);
    ledger.restore(undo);
    assert_eq!(
        ledger.forgotten_early(),
        0,
        "the aborted batch forgot nothing"
    );
    batch(&mut ledger, &keyed_refusals, 2_000);
    assert_eq!(ledger.forgotten_early(), 3);
}
