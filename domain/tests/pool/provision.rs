//! ProvisionPool, and what an unprovisioned pool answers.

use domain::TokenPoolCommand::{self, *};
use domain::TokenPoolEvent::PoolProvisioned;
use domain::TokenPoolRejection::*;
use domain::{Tier, Tokens};

use crate::support::*;

fn provision(tier: Tier) -> TokenPoolCommand {
    ProvisionPool {
        pool: pool_id(),
        tier,
        policy: policy(),
    }
}

#[test]
fn provisioning_a_new_pool_records_its_tier_and_policy() {
    let pool = given([])
        .when(t(5), provision(Tier::Pro))
        .then([PoolProvisioned {
            pool: pool_id(),
            tier: Tier::Pro,
            policy: policy(),
            at: t(5),
        }]);
    assert_eq!(pool.pool_id(), Some(&pool_id()));
    assert_eq!(pool.tier(), Some(Tier::Pro));
    assert_eq!(pool.available(), Tokens::ZERO);
}

#[test]
fn provisioning_again_with_the_same_payload_changes_nothing() {
    given([provisioned()])
        .when(t(5), provision(Tier::Pro))
        .then_nothing();
}

#[test]
fn provisioning_again_with_another_tier_is_refused() {
    given([provisioned()])
        .when(t(5), provision(Tier::Enterprise))
        .then_rejected(AlreadyProvisioned { pool: pool_id() });
}

#[test]
fn provisioning_again_with_another_policy_is_refused() {
    let other = policy_with(|p| p.quota_cap = tokens(5));
    given([provisioned()])
        .when(
            t(5),
            ProvisionPool {
                pool: pool_id(),
                tier: Tier::Pro,
                policy: other,
            },
        )
        .then_rejected(AlreadyProvisioned { pool: pool_id() });
}

#[test]
fn every_other_command_needs_a_provisioned_pool() {
    let commands: Vec<TokenPoolCommand> = vec![
        grant(1, 10),
        revoke(1),
        reserve(1, 10),
        settle(1, 10),
        release(1),
        ExpireReservations,
        consume(10),
        ChangePolicy {
            tier: Tier::User,
            policy: policy(),
        },
        ResetQuotaPeriod { period_start: t(0) },
    ];
    for cmd in commands {
        given([]).when(t(5), cmd).then_rejected(PoolNotProvisioned);
    }
}

#[test]
fn events_other_than_provisioning_do_not_create_a_pool() {
    let pool = given([granted(1, 100)]).state();
    assert!(!pool.is_provisioned());
    assert_eq!(pool.granted().get(), 0);
}
