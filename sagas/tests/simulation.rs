//! A deterministic simulation of the whole purchase flow, without Kafka or HTTP: the saga's
//! real decisions drive the real `Purchase` and `TokenPool` aggregates and the payment
//! stub's real ledger and fault plan. Answers get lost and the saga "crashes" between
//! doing a step and recording it, at random; every purchase must still end completed or
//! failed, and the provider's charges must match the pool's grants, purchase by purchase.

use std::collections::BTreeMap;
use std::time::Duration;

use domain::{
    Aggregate, Cents, CommandId, Ctx, DurationMs, EffectivePolicy, GrantSource, OverageRule,
    Purchase, PurchaseCommand, PurchaseId, PurchaseOrder, PurchaseStatus, PurchaseStep, RateLimit,
    RateLimitStrategy, ReservationTtl, Tier, Timestamp, TokenPool, TokenPoolCommand,
    TokenPoolEvent, Tokens, execute,
};
use payment_stub::faults::{CaptureFate, FaultPlan, ReserveFate};
use payment_stub::ledger::{Answer, Ledger, ReserveRequest};
use proptest::prelude::*;
use sagas::purchase::decide::{
    Action, PaymentAnswer, PoolAnswer, StepTimeouts, next_action, payment_outcome, pool_outcome,
};
use uuid::Uuid;

const CAP: u64 = 10_000;
const TIMEOUTS: StepTimeouts = StepTimeouts {
    reserve: Duration::from_secs(5),
    grant: Duration::from_secs(5),
    capture: Duration::from_secs(5),
};
const CARDS: [&str; 5] = [
    "pm_card_visa",
    "pm_card_declined",
    "pm_card_timeout",
    "pm_card_capture_fails",
    "pm_card_capture_timeout",
];

fn t(ms: i64) -> Timestamp {
    Timestamp::from_millis(ms).unwrap()
}

fn ctx(now: Timestamp) -> Ctx {
    Ctx {
        now,
        command_id: CommandId::from_uuid(Uuid::from_u128(1)),
        actor: "system:sagas".parse().unwrap(),
    }
}

fn policy() -> EffectivePolicy {
    let ms = |n| DurationMs::from_millis(n).unwrap();
    EffectivePolicy {
        strategy: RateLimitStrategy::LeakyBucket,
        requests: RateLimit::new(1_000_000, 1_000_000, ms(1_000)).unwrap(),
        tokens: RateLimit::new(1_000_000, 1_000_000, ms(1_000)).unwrap(),
        overage: OverageRule::Reject,
        reservation_ttl: ReservationTtl::new(ms(60_000), ms(60_000)).unwrap(),
        periodic_quota: None,
        quota_cap: Tokens::new(CAP).unwrap(),
    }
}

/// The provider, the pool and the purchase log, as the saga meets them.
struct World {
    payments: Ledger,
    faults: FaultPlan,
    pool: TokenPool,
    purchases: BTreeMap<PurchaseId, Purchase>,
    now: Timestamp,
}

impl World {
    fn new(orders: &[(u64, usize)]) -> Self {
        let mut pool = TokenPool::default();
        pool.apply(&TokenPoolEvent::PoolProvisioned {
            pool: "user:alice/openai".parse().unwrap(),
            tier: Tier::User,
            policy: policy(),
            at: t(0),
        });
        let mut purchases = BTreeMap::new();
        for (n, (tokens, card)) in (1u128..).zip(orders) {
            let id = PurchaseId::from_uuid(Uuid::from_u128(n));
            let order = PurchaseOrder {
                pool: "user:alice/openai".parse().unwrap(),
                tokens: Tokens::new(*tokens).unwrap(),
                price: Cents::new(tokens / 10 + 1).unwrap(),
                payment_method: CARDS[*card].parse().unwrap(),
            };
            let mut purchase = Purchase::default();
            let request = PurchaseCommand::RequestPurchase {
                purchase_id: id,
                order,
            };
            execute(&mut purchase, &request, &ctx(t(0))).unwrap();
            purchases.insert(id, purchase);
        }
        Self {
            payments: Ledger::default(),
            faults: FaultPlan::default(),
            pool,
            purchases,
            now: t(0),
        }
    }

    /// Does `action` for `id`; the command recording its outcome, if it had a definite one.
    fn perform(
        &mut self,
        id: PurchaseId,
        step: PurchaseStep,
        action: Action,
    ) -> Option<PurchaseCommand> {
        match action {
            Action::Record(command) => Some(command),
            Action::ReservePayment {
                payment_id,
                reference,
                amount_cents,
                payment_method,
            } => {
                let fate = self.faults.reserve_fate(&payment_id, &payment_method);
                let request = ReserveRequest {
                    reference: reference.to_string(),
                    amount_cents,
                    payment_method,
                };
                let answer =
                    self.payments
                        .reserve(&payment_id, request, fate == ReserveFate::Decline);
                let answer = match (fate, answer) {
                    (ReserveFate::ReserveAndHang, _) => PaymentAnswer::Unknown,
                    (_, Answer::Done(_)) => PaymentAnswer::Done,
                    (_, Answer::Declined(_)) => PaymentAnswer::Refused {
                        message: "declined".into(),
                    },
                    _ => PaymentAnswer::Unknown,
                };
                payment_outcome(step, answer)
            }
            Action::CapturePayment { payment_id } => {
                let method = self.purchases[&id]
                    .order()
                    .unwrap()
                    .payment_method
                    .to_string();
                let fate = self.faults.capture_fate(&payment_id, &method);
                let answer = self
                    .payments
                    .capture(&payment_id, fate == CaptureFate::Refuse);
                let answer = match (fate, answer) {
                    (CaptureFate::CaptureAndHang, _) => PaymentAnswer::Unknown,
                    (_, Answer::Done(_)) => PaymentAnswer::Done,
                    (_, Answer::CaptureRefused(_)) => PaymentAnswer::Refused {
                        message: "refused".into(),
                    },
                    _ => PaymentAnswer::Unknown,
                };
                payment_outcome(step, answer)
            }
            Action::ReleasePayment { payment_id } => {
                let answer = match self.payments.release(&payment_id) {
                    Answer::Done(_) => PaymentAnswer::Done,
                    _ => PaymentAnswer::Unknown,
                };
                payment_outcome(step, answer)
            }
            Action::GrantTokens {
                grant_id, amount, ..
            } => {
                let command = TokenPoolCommand::GrantTokens {
                    grant_id,
                    amount,
                    source: GrantSource::Purchase { purchase_id: id },
                };
                let answer = self.ask_pool(&command);
                pool_outcome(step, grant_id, answer)
            }
            Action::RevokeGrant { grant_id, .. } => {
                let answer = self.ask_pool(&TokenPoolCommand::RevokeGrant { grant_id });
                pool_outcome(step, grant_id, answer)
            }
        }
    }

    fn ask_pool(&mut self, command: &TokenPoolCommand) -> PoolAnswer {
        match execute(&mut self.pool, command, &ctx(self.now)) {
            Ok(_) => PoolAnswer::Accepted,
            Err(rejection) => PoolAnswer::Rejected {
                code: rejection.code().into(),
                message: rejection.to_string(),
            },
        }
    }

    /// Purchases whose tokens the pool holds while the provider has charged nothing: tokens
    /// spendable before they are paid for.
    fn granted_unpaid(&self) -> Vec<PurchaseId> {
        self.purchases
            .keys()
            .copied()
            .filter(|id| {
                let grant = self.pool.grant(&sagas::purchase::ids::grant_id(*id));
                let kept = grant.is_some_and(|g| g.source.is_some() && !g.revoked);
                let charged = self
                    .payments
                    .payment(&sagas::purchase::ids::payment_id(*id))
                    .map_or(0, |p| p.net_charged_cents);
                kept && charged == 0
            })
            .collect()
    }

    /// The provider's net charge and the pool's kept grant agree for `id`.
    fn agrees(&self, id: PurchaseId) -> Result<(), String> {
        let payment_id = sagas::purchase::ids::payment_id(id);
        let charged = self
            .payments
            .payment(&payment_id)
            .map_or(0, |p| p.net_charged_cents);
        let held = self
            .payments
            .payment(&payment_id)
            .map_or(0, |p| p.held_cents);
        let grant = self.pool.grant(&sagas::purchase::ids::grant_id(id));
        let kept = grant.is_some_and(|g| g.source.is_some() && !g.revoked);
        let purchase = &self.purchases[&id];
        let completed = purchase.status() == Some(PurchaseStatus::Completed);
        if (charged > 0) != kept || kept != completed || held > 0 {
            return Err(format!(
                "purchase {id}: charged {charged}, held {held}, grant kept {kept}, status {:?}, failure {:?}",
                purchase.status(),
                purchase.failure()
            ));
        }
        Ok(())
    }
}

/// Runs the saga over `world` until every purchase is done; `lost(round, n)` says whether
/// the n-th action of a round loses its outcome (a lost answer or a crash before recording).
fn run_saga(world: &mut World, mut lost: impl FnMut(usize, usize) -> bool) {
    for round in 0..200 {
        let ids: Vec<PurchaseId> = world.purchases.keys().copied().collect();
        let mut busy = false;
        for (n, id) in ids.into_iter().enumerate() {
            let purchase = world.purchases[&id].clone();
            let Some(action) = next_action(&purchase, world.now, &TIMEOUTS) else {
                continue;
            };
            busy = true;
            let step = purchase.awaiting().unwrap();
            let outcome = world.perform(id, step, action);
            let unpaid = world.granted_unpaid();
            assert!(
                unpaid.is_empty(),
                "tokens granted before the capture: {unpaid:?}"
            );
            if let Some(command) = outcome.filter(|_| !lost(round, n)) {
                // A refusal (a late or contradicting outcome) changes nothing, as in the processor.
                let _ = execute(
                    world.purchases.get_mut(&id).unwrap(),
                    &command,
                    &ctx(world.now),
                );
            }
        }
        if !busy {
            return;
        }
        world.now = t(world.now.as_millis() + 1_000);
    }
    panic!("purchases still unfinished after 200 rounds");
}

#[test]
fn every_branch_ends_consistent() {
    // Each card once, and a purchase over the quota cap.
    let mut world = World::new(&[
        (1_000, 0),
        (1_000, 1),
        (1_000, 2),
        (1_000, 3),
        (1_000, 4),
        (CAP + 1, 0),
    ]);
    run_saga(&mut world, |_, _| false);
    let statuses: Vec<_> = world
        .purchases
        .values()
        .map(|p| (p.status().unwrap(), p.failure().map(|f| f.code())))
        .collect();
    assert_eq!(
        statuses,
        [
            (PurchaseStatus::Completed, None),
            (PurchaseStatus::Failed, Some("payment_declined")),
            (PurchaseStatus::Failed, Some("payment_timed_out")),
            (PurchaseStatus::Failed, Some("capture_failed")),
            (PurchaseStatus::Failed, Some("capture_timed_out")),
            (PurchaseStatus::Failed, Some("grant_refused")),
        ]
    );
    for id in world.purchases.keys() {
        world.agrees(*id).unwrap();
    }
    assert_eq!(
        world.pool.granted().get(),
        1_000,
        "only the completed purchase's tokens"
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn lost_answers_and_crashes_at_any_step_never_charge_without_granting(
        orders in proptest::collection::vec((1u64..6_000, 0usize..5), 1..12),
        losses in proptest::collection::vec(any::<bool>(), 64),
    ) {
        let mut world = World::new(&orders);
        run_saga(&mut world, |round, n| losses[(round * 7 + n) % losses.len()] && round < 40);
        for (id, purchase) in &world.purchases {
            prop_assert!(purchase.status().is_some_and(PurchaseStatus::is_terminal));
            if let Err(e) = world.agrees(*id) {
                prop_assert!(false, "{}", e);
            }
        }
        prop_assert!(world.pool.granted().get() <= CAP);
    }
}
