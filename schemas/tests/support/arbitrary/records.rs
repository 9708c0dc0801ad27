//! Generators of whole topic values: envelopes, pools that have lived, replies.

use domain::{
    Ctx, GrantSource, LimitSnapshot, PoolRateLimits, PurchaseStatus, RateLimit, Tier, Timestamp,
    TokenPool, TokenPoolCommand as C, TokenTotal, Tokens, execute,
};
use proptest::prelude::*;
use proptest::sample::select;
use schemas::{
    Balance, CommandReply, ConsistencyToken, PoolCommandEnvelope, PoolEventEnvelope,
    PoolRejectionRecord, PoolSnapshot, PurchaseReplyPart, ReplyOutcome, ReplyRejection,
};

use super::{actor, amount, command, duration, event, id, policy, pool_id, rejection, timestamp};

pub fn command_envelope() -> impl Strategy<Value = PoolCommandEnvelope> {
    (
        id(),
        pool_id(),
        ".{0,40}",
        actor(),
        timestamp(),
        timestamp(),
        command(),
    )
        .prop_map(
            |(command_id, pool_id, reply_to, actor, issued_at, deadline, command)| {
                PoolCommandEnvelope {
                    command_id,
                    pool_id,
                    reply_to,
                    actor,
                    issued_at,
                    deadline,
                    command,
                }
            },
        )
}

pub fn event_envelope() -> impl Strategy<Value = PoolEventEnvelope> {
    (pool_id(), id(), actor(), event()).prop_map(|(pool_id, command_id, actor, event)| {
        PoolEventEnvelope {
            pool_id,
            command_id,
            actor,
            event,
        }
    })
}

pub fn rejection_record() -> impl Strategy<Value = PoolRejectionRecord> {
    (
        pool_id(),
        id(),
        actor(),
        timestamp(),
        "[A-Za-z]{1,20}",
        rejection(),
    )
        .prop_map(
            |(pool_id, command_id, actor, at, command_type, rejection)| PoolRejectionRecord {
                pool_id,
                command_id,
                actor,
                at,
                command_type,
                rejection,
            },
        )
}

/// A pool that lived through up to 30 random commands (rejected ones change nothing).
pub fn pool() -> impl Strategy<Value = TokenPool> {
    let step = (1..=120_000i64, command());
    (policy(), proptest::collection::vec(step, 0..30)).prop_map(|(policy, steps)| {
        let ctx = |ms: i64| Ctx {
            now: Timestamp::from_millis(ms).unwrap(),
            command_id: crate::support::command_id(1),
            actor: crate::support::alice(),
        };
        let mut pool = TokenPool::default();
        let provision = C::ProvisionPool {
            pool: crate::support::pool_id(),
            tier: Tier::Pro,
            policy,
        };
        let _ = execute(&mut pool, &provision, &ctx(0));
        let mut now = 0;
        for (elapsed, command) in steps {
            now += elapsed;
            // Mostly commands that touch the ledger, so states are varied.
            let command = match command {
                C::ProvisionPool { .. } => C::GrantTokens {
                    grant_id: crate::support::id(now.unsigned_abs().into()),
                    amount: Tokens::new(1_000).unwrap(),
                    source: GrantSource::Admin,
                },
                other => other,
            };
            let _ = execute(&mut pool, &command, &ctx(now));
        }
        pool
    })
}

pub fn snapshot() -> impl Strategy<Value = PoolSnapshot> {
    (pool_id(), 0..=i64::MAX, pool()).prop_map(|(pool_id, next_event_offset, state)| PoolSnapshot {
        pool_id,
        next_event_offset,
        state,
        recent_commands: serde_json::json!([]),
    })
}

fn limit() -> impl Strategy<Value = LimitSnapshot> {
    (
        0..=RateLimit::MAX_UNITS,
        0..=RateLimit::MAX_UNITS,
        duration(),
    )
        .prop_map(|(limit, remaining, reset_after)| LimitSnapshot {
            limit,
            remaining,
            reset_after,
        })
}

pub fn reply() -> impl Strategy<Value = CommandReply> {
    let total = || (0..=i64::MAX.unsigned_abs()).prop_map(TokenTotal::new);
    let balance = (total(), total(), total(), amount()).prop_map(
        |(granted, consumed, reserved, available)| Balance {
            granted,
            consumed,
            reserved,
            available,
        },
    );
    let limits =
        (limit(), limit()).prop_map(|(requests, tokens)| PoolRateLimits { requests, tokens });
    let token = (0..=i32::MAX, 0..=i64::MAX)
        .prop_map(|(partition, offset)| ConsistencyToken { partition, offset });
    let why = prop_oneof![
        rejection().prop_map(|r| ReplyRejection::from_rejection(&r)),
        (timestamp(), timestamp()).prop_map(|(d, n)| ReplyRejection::deadline_exceeded(d, n)),
    ];
    let outcome = select(vec![
        ReplyOutcome::Accepted,
        ReplyOutcome::Rejected,
        ReplyOutcome::Expired,
    ]);
    let names = proptest::collection::vec("[A-Za-z]{1,20}", 0..5);
    let failure = proptest::option::of(("[a-z_]{1,20}", "[ -~]{0,40}"));
    let status = select(vec![
        PurchaseStatus::Requested,
        PurchaseStatus::PaymentReserved,
        PurchaseStatus::PaymentCaptured,
        PurchaseStatus::TokensGranted,
        PurchaseStatus::Completed,
        PurchaseStatus::Compensating,
        PurchaseStatus::Failed,
    ]);
    let purchase =
        (id(), status, failure).prop_map(|(purchase_id, status, failure)| PurchaseReplyPart {
            purchase_id,
            status,
            failure_code: failure.as_ref().map(|(code, _)| code.clone()),
            failure_message: failure.map(|(_, message)| message),
        });
    (
        (id(), pool_id(), outcome, proptest::option::of(token), names),
        (
            proptest::option::of(why),
            proptest::option::of(balance),
            proptest::option::of(limits),
            proptest::option::of(purchase),
        ),
    )
        .prop_map(
            |(
                (command_id, pool_id, outcome, consistency_token, events),
                (rejection, balance, limits, purchase),
            )| {
                CommandReply {
                    command_id,
                    pool_id,
                    outcome,
                    consistency_token,
                    events,
                    rejection,
                    balance,
                    limits,
                    purchase,
                }
            },
        )
}
