//! Any sequence of commands at any times (including a clock stepping back) keeps the
//! ledger invariant, and the events it produces rebuild exactly the same state.

use domain::{
    Aggregate, EffectivePolicy, LimitKind, MAX_RESOLVED, OverageRule, RateLimitStrategy, Tier,
    TokenPool, TokenPoolCommand, TokenPoolEvent, replay,
};
use proptest::prelude::*;

use crate::support::*;

/// A handful of policies, tight enough that every rejection actually happens.
fn policy_variant(n: u8) -> EffectivePolicy {
    let strategies = [
        RateLimitStrategy::LeakyBucket,
        RateLimitStrategy::TokenBucket,
        RateLimitStrategy::FixedWindow,
    ];
    policy_with(|p| {
        p.strategy = strategies[usize::from(n % 3)];
        p.requests = limit(3, 2 + u64::from(n % 2), 10_000);
        p.tokens = limit(1_500, 1_000, 10_000);
        p.overage = if n.is_multiple_of(2) {
            OverageRule::Reject
        } else {
            OverageRule::Cap
        };
        p.periodic_quota = (n % 4 == 3).then(|| periodic(2_000, 50_000));
        p.quota_cap = tokens(4_000 + 1_000 * u64::from(n % 3));
    })
}

fn tier_variant(n: u8) -> Tier {
    Tier::ALL[usize::from(n) % Tier::ALL.len()]
}

#[derive(Debug, Clone)]
enum Op {
    Provision(u8),
    Grant {
        id: u8,
        amount: u64,
        purchase: bool,
    },
    Revoke(u8),
    Reserve {
        id: u8,
        amount: u64,
        ttl: Option<u64>,
    },
    Settle {
        id: u8,
        actual: u64,
    },
    Release(u8),
    Expire,
    Consume(u64),
    ChangePolicy(u8),
    ResetPeriod {
        back: i64,
    },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        1 => any::<u8>().prop_map(Op::Provision),
        3 => (0..4u8, 0..2_500u64, any::<bool>())
            .prop_map(|(id, amount, purchase)| Op::Grant { id, amount, purchase }),
        1 => (0..5u8).prop_map(Op::Revoke),
        6 => (0..8u8, 0..1_200u64, prop::option::of(0..120_000u64))
            .prop_map(|(id, amount, ttl)| Op::Reserve { id, amount, ttl }),
        4 => (0..8u8, 0..1_500u64).prop_map(|(id, actual)| Op::Settle { id, actual }),
        2 => (0..8u8).prop_map(Op::Release),
        1 => Just(Op::Expire),
        3 => (0..800u64).prop_map(Op::Consume),
        1 => any::<u8>().prop_map(Op::ChangePolicy),
        1 => (-1_000..60_000i64).prop_map(|back| Op::ResetPeriod { back }),
    ]
}

/// Time steps: mostly forward, sometimes far, sometimes a clock stepping back.
fn step() -> impl Strategy<Value = i64> {
    prop_oneof![
        6 => 0..5_000i64,
        2 => 5_000..90_000i64,
        1 => -3_000..0i64,
    ]
}

fn command(op: &Op, now: i64) -> TokenPoolCommand {
    match *op {
        Op::Provision(n) => TokenPoolCommand::ProvisionPool {
            pool: pool_id(),
            tier: tier_variant(n),
            policy: policy_variant(n),
        },
        Op::Grant {
            id,
            amount,
            purchase: bought,
        } => TokenPoolCommand::GrantTokens {
            grant_id: gid(u128::from(id)),
            amount: tokens(amount),
            source: if bought {
                purchase(u128::from(id))
            } else {
                domain::GrantSource::Admin
            },
        },
        Op::Revoke(id) => revoke(u128::from(id)),
        Op::Reserve { id, amount, ttl } => TokenPoolCommand::Reserve {
            reservation_id: rid(u128::from(id)),
            amount: tokens(amount),
            ttl_ms: ttl.map(ms),
            via: None,
        },
        Op::Settle { id, actual } => settle(u128::from(id), actual),
        Op::Release(id) => release(u128::from(id)),
        Op::Expire => TokenPoolCommand::ExpireReservations,
        Op::Consume(amount) => consume(amount),
        Op::ChangePolicy(n) => TokenPoolCommand::ChangePolicy {
            tier: tier_variant(n),
            policy: policy_variant(n),
        },
        Op::ResetPeriod { back } => TokenPoolCommand::ResetQuotaPeriod {
            period_start: t((now - back).max(0)),
        },
    }
}

/// What the events say the ledger must be, computed independently of `apply`.
#[derive(Default)]
struct Model {
    grants_in_force: i128,
    consumed: u64,
}

impl Model {
    fn observe(&mut self, event: &TokenPoolEvent) {
        match event {
            TokenPoolEvent::TokensGranted { amount, .. } => {
                self.grants_in_force += i128::from(amount.get());
            }
            TokenPoolEvent::GrantRevoked { amount, .. } => {
                self.grants_in_force -= i128::from(amount.get());
            }
            TokenPoolEvent::TokensConsumed { amount, .. } => self.consumed += amount.get(),
            TokenPoolEvent::ReservationSettled { consumed, .. } => self.consumed += consumed.get(),
            _ => {}
        }
    }
}

fn check_invariants(pool: &TokenPool, model: &Model) -> Result<(), TestCaseError> {
    let (g, c, r, o) = (
        pool.granted().get(),
        pool.consumed().get(),
        pool.reserved().get(),
        pool.overdraft().get(),
    );
    prop_assert!(c + r <= g, "consumed {c} + reserved {r} > granted {g}");
    prop_assert!(o <= g, "overdraft {o} > granted {g}");
    prop_assert_eq!(
        pool.available().get(),
        g.saturating_sub(c + r + o),
        "available is what is left"
    );
    let open: u64 = pool.open_reservations().map(|h| h.amount.get()).sum();
    prop_assert_eq!(open, r, "reserved is the sum of open holds");
    prop_assert_eq!(i128::from(g) - i128::from(o), model.grants_in_force);
    prop_assert_eq!(c, model.consumed);
    prop_assert!(pool.resolved_count() <= MAX_RESOLVED);
    Ok(())
}

/// Holds after a reserve or consume that took tokens: they fit in what was available.
fn check_admission(
    before: &TokenPool,
    after: &TokenPool,
    events: &[TokenPoolEvent],
    now: i64,
) -> Result<(), TestCaseError> {
    let Some(amount) = events.iter().find_map(|e| match e {
        TokenPoolEvent::TokensReserved { amount, .. }
        | TokenPoolEvent::TokensConsumed { amount, .. } => Some(*amount),
        _ => None,
    }) else {
        return Ok(());
    };
    prop_assert!(
        amount <= before.available_at(t(now)),
        "admitted more than available"
    );
    let policy = after.policy().expect("provisioned");
    if let (Some(quota), Some(period)) = (policy.periodic_quota, after.quota_period_at(t(now))) {
        let used = period.consumed.get() + after.reserved().get();
        prop_assert!(
            used <= quota.limit().get(),
            "periodic quota exceeded: {used}"
        );
    }
    Ok(())
}

/// Commands keyed by an id (or with nothing left to do) answer a repeat with no events.
fn is_idempotent(cmd: &TokenPoolCommand) -> bool {
    !matches!(cmd, TokenPoolCommand::Consume { .. })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn any_command_sequence_keeps_the_ledger_invariant_and_replays_exactly(
        first in any::<u8>(),
        steps in prop::collection::vec((step(), op()), 1..80),
    ) {
        let mut live = TokenPool::default();
        let mut history: Vec<TokenPoolEvent> = Vec::new();
        let mut model = Model::default();
        let mut now = 0i64;
        let mut snapshot_at_half = None;
        let ops = std::iter::once((0, Op::Provision(first))).chain(steps.clone());
        for (i, (dt, op)) in ops.enumerate() {
            now = (now + dt).max(0);
            let cmd = command(&op, now);
            let Ok(events) = live.handle(&cmd, &ctx(t(now))) else { continue };
            for event in &events {
                prop_assert_eq!(event.at(), t(now), "events carry the command's time");
                model.observe(event);
            }
            let before = live.clone();
            domain::apply_all(&mut live, &events);
            check_invariants(&live, &model)?;
            check_admission(&before, &live, &events, now)?;
            history.extend(events);
            if is_idempotent(&cmd) {
                prop_assert_eq!(live.handle(&cmd, &ctx(t(now))), Ok(vec![]), "repeat of {:?}", cmd);
            }
            if i == steps.len() / 2 {
                snapshot_at_half = Some((serde_json::to_string(&live).unwrap(), history.len()));
            }
        }
        prop_assert_eq!(&replay::<TokenPool>(&history), &live, "replay rebuilds the live state");

        let json = serde_json::to_string(&live).unwrap();
        prop_assert_eq!(&serde_json::from_str::<TokenPool>(&json).unwrap(), &live, "snapshot round-trip");

        if let Some((snapshot, seen)) = snapshot_at_half {
            let mut restored: TokenPool = serde_json::from_str(&snapshot).unwrap();
            domain::apply_all(&mut restored, &history[seen..]);
            prop_assert_eq!(&restored, &live, "snapshot + later events = live state");
        }
    }

    #[test]
    fn rejections_are_classified_and_decisions_only_come_from_admission(
        first in any::<u8>(),
        steps in prop::collection::vec((step(), op()), 1..60),
    ) {
        let mut live = TokenPool::default();
        let mut now = 0i64;
        let ops = std::iter::once((0, Op::Provision(first))).chain(steps);
        for (dt, op) in ops {
            now = (now + dt).max(0);
            let cmd = command(&op, now);
            match live.handle(&cmd, &ctx(t(now))) {
                Ok(events) => domain::apply_all(&mut live, &events),
                Err(rejection) => {
                    let admits = matches!(
                        cmd,
                        TokenPoolCommand::Reserve { .. } | TokenPoolCommand::Consume { .. }
                    );
                    prop_assert!(!rejection.is_decision() || admits, "{rejection:?} for {cmd:?}");
                    prop_assert!(!rejection.to_string().is_empty());
                    let json = serde_json::to_value(&rejection).unwrap();
                    prop_assert_eq!(json["code"].as_str(), Some(rejection.code()));
                    prop_assert_eq!(serde_json::from_value::<domain::TokenPoolRejection>(json).unwrap(), rejection.clone());
                    if let domain::TokenPoolRejection::RateLimited { limit, .. } = rejection {
                        prop_assert!(matches!(limit, LimitKind::Requests | LimitKind::Tokens));
                    }
                }
            }
        }
    }
}

#[test]
fn the_generators_reach_every_kind_of_event_and_rejection() {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;
    use std::collections::BTreeSet;

    let mut runner = TestRunner::deterministic();
    let mut events = BTreeSet::new();
    let mut rejections = BTreeSet::new();
    for _ in 0..300 {
        let steps = prop::collection::vec((step(), op()), 60)
            .new_tree(&mut runner)
            .expect("generates")
            .current();
        let mut live = TokenPool::default();
        let mut now = 0;
        for (dt, op) in std::iter::once((0, Op::Provision(0))).chain(steps) {
            now = (now + dt).max(0);
            match live.handle(&command(&op, now), &ctx(t(now))) {
                Ok(produced) => {
                    events.extend(produced.iter().map(TokenPoolEvent::name));
                    domain::apply_all(&mut live, &produced);
                }
                Err(rejection) => {
                    rejections.insert(rejection.code());
                }
            }
        }
    }
    assert_eq!(events.len(), 10, "every event type reached: {events:?}");
    // Only `pool_not_provisioned` is missing: every sequence starts by provisioning.
    for code in [
        "already_provisioned",
        "invalid_amount",
        "quota_exhausted",
        "rate_limited",
        "quota_cap_exceeded",
        "reservation_not_found",
        "already_resolved",
        "settle_exceeds_reservation",
        "conflict",
        "grant_already_revoked",
        "invalid_period_start",
        "periodic_quota_exhausted",
    ] {
        assert!(
            rejections.contains(code),
            "{code} never reached: {rejections:?}"
        );
    }
}
