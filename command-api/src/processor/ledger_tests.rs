//! The partition ledger, specified command by command.

use domain::{
    Actor, CommandId, DurationMs, EffectivePolicy, GrantId, GrantSource, OverageRule, PoolId,
    RateLimit, RateLimitStrategy, ReservationTtl, Tier, Timestamp, TokenPoolCommand, Tokens,
};
use schemas::PoolCommandEnvelope;
use uuid::Uuid;

use super::*;
use crate::processor::kind::PoolKind;

fn t(ms: i64) -> Timestamp {
    Timestamp::from_millis(ms).unwrap()
}

fn pool() -> PoolId {
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

fn command(n: u128, command: TokenPoolCommand) -> PoolCommandEnvelope {
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

fn provision() -> TokenPoolCommand {
    TokenPoolCommand::ProvisionPool {
        pool: pool(),
        tier: Tier::User,
        policy: policy(),
    }
}

fn grant(n: u128, amount: u64) -> TokenPoolCommand {
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

/// A ledger that has decided (and remembered) `commands` at t=1000.
fn given(commands: &[PoolCommandEnvelope]) -> PartitionLedger<PoolKind> {
    let mut ledger = PartitionLedger::default();
    for incoming in commands {
        let decision = ledger.decide(incoming, t(1_000), &mut Undo::default());
        let outcome = RememberedOutcome {
            consistency_token: Some("0:1".into()),
            events: match &decision {
                Decision::Accepted(events) => events
                    .iter()
                    .map(|e: &domain::TokenPoolEvent| e.name().to_owned())
                    .collect(),
                _ => vec![],
            },
            rejection: match decision {
                Decision::Rejected(r) => Some(r),
                _ => None,
            },
        };
        ledger.remember(incoming, outcome);
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
    let before = ledger.slot(&pool()).cloned();
    let decision = ledger.decide(&command(3, consume(501)), t(2_000), &mut Undo::default());
    assert!(
        matches!(decision, Decision::Rejected(ref r) if r.is_decision()),
        "{decision:?}"
    );
    assert_eq!(ledger.slot(&pool()).cloned(), before);
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
    );

    let retry = ledger.decide(&command(3, consume(200)), t(2_000), &mut Undo::default());
    let Decision::Repeated(outcome) = retry else {
        panic!("expected the logged outcome, got {retry:?}");
    };
    assert_eq!(outcome.consistency_token.as_deref(), Some("0:7"));
    assert_eq!(outcome.events, ["TokensConsumed"]);
    assert_eq!(ledger.slot(&pool()).unwrap().state.consumed().get(), 200);
}
