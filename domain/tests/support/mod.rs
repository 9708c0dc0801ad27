//! Fixtures for the pool's specification, and its entry to the given/when/then harness
//! (`crate::spec`), so pool tests read as specifications.
#![allow(dead_code)] // each test binary uses a different part of the support module

use domain::{
    Actor, CommandId, Ctx, DurationMs, EffectivePolicy, GrantId, GrantSource, Holder, OverageRule,
    PeriodicQuota, PoolId, PurchaseId, RateLimit, RateLimitStrategy, ReservationId, ReservationTtl,
    Tier, Timestamp, TokenPool, TokenPoolCommand, TokenPoolEvent, Tokens,
};
use uuid::Uuid;

/// An instant `ms` milliseconds after the epoch.
pub fn t(ms: i64) -> Timestamp {
    Timestamp::from_millis(ms).expect("test timestamp in range")
}

/// A span of `ms` milliseconds.
pub fn ms(ms: u64) -> DurationMs {
    DurationMs::from_millis(ms).expect("test duration in range")
}

/// `n` tokens.
pub fn tokens(n: u64) -> Tokens {
    Tokens::new(n).expect("test amount in range")
}

/// Reservation id number `n` (readable in failures as 00000000-...-0000000n).
pub fn rid(n: u128) -> ReservationId {
    ReservationId::from_uuid(Uuid::from_u128(n))
}

/// Grant id number `n`.
pub fn gid(n: u128) -> GrantId {
    GrantId::from_uuid(Uuid::from_u128(n))
}

/// Tokens paid for by purchase number `n`.
pub fn purchase(n: u128) -> GrantSource {
    GrantSource::Purchase {
        purchase_id: PurchaseId::from_uuid(Uuid::from_u128(n)),
    }
}

/// `user:alice/openai`.
pub fn pool_id() -> PoolId {
    "user:alice/openai".parse().expect("valid pool id")
}

/// A rate limit of `capacity` burst and `rate` per `period_ms`.
pub fn limit(capacity: u64, rate: u64, period_ms: u64) -> RateLimit {
    RateLimit::new(capacity, rate, ms(period_ms)).expect("valid test limit")
}

/// Default TTL of reservations in [`policy`].
pub const DEFAULT_TTL: i64 = 60_000;
/// Maximum TTL of reservations in [`policy`].
pub const MAX_TTL: i64 = 600_000;
/// Quota cap of [`policy`].
pub const CAP: u64 = 1_000_000;

/// A generous policy, so tests only meet the limit they are about: 1000 requests and
/// 1,000,000 tokens per minute (leaky bucket), overage rejected, TTL 60 s (max 10 min),
/// no periodic quota, cap 1,000,000.
pub fn policy() -> EffectivePolicy {
    EffectivePolicy {
        strategy: RateLimitStrategy::LeakyBucket,
        requests: limit(1_000, 1_000, 60_000),
        tokens: limit(1_000_000, 1_000_000, 60_000),
        overage: OverageRule::Reject,
        reservation_ttl: ReservationTtl::new(ms(DEFAULT_TTL as u64), ms(MAX_TTL as u64))
            .expect("valid ttl"),
        periodic_quota: None,
        quota_cap: tokens(CAP),
    }
}

/// [`policy`] changed by `change`.
pub fn policy_with(change: impl FnOnce(&mut EffectivePolicy)) -> EffectivePolicy {
    let mut p = policy();
    change(&mut p);
    p
}

/// A periodic quota of `limit` tokens per `period_ms`.
pub fn periodic(limit: u64, period_ms: u64) -> PeriodicQuota {
    PeriodicQuota::new(tokens(limit), ms(period_ms)).expect("valid quota")
}

/// The context of a command handled at `now`.
pub fn ctx(now: Timestamp) -> Ctx {
    Ctx {
        now,
        command_id: CommandId::from_uuid(Uuid::from_u128(1)),
        actor: "system:test".parse().expect("valid actor"),
    }
}

/// An actor for tests that care who asked.
pub fn alice() -> Actor {
    "user:alice".parse().expect("valid actor")
}

// ---- given: past events ------------------------------------------------------------

/// The pool was provisioned at 0 as a PRO pool with [`policy`].
pub fn provisioned() -> TokenPoolEvent {
    provisioned_with(policy())
}

/// The pool was provisioned at 0 as a PRO pool with `policy`.
pub fn provisioned_with(policy: EffectivePolicy) -> TokenPoolEvent {
    TokenPoolEvent::PoolProvisioned {
        pool: pool_id(),
        tier: Tier::Pro,
        policy,
        at: t(0),
    }
}

/// Grant `g` of `amount` tokens by an admin at 0.
pub fn granted(g: u128, amount: u64) -> TokenPoolEvent {
    TokenPoolEvent::TokensGranted {
        grant_id: gid(g),
        amount: tokens(amount),
        source: GrantSource::Admin,
        overdraft_repaid: Tokens::ZERO,
        at: t(0),
    }
}

/// The actor [`given`] issues commands as.
pub const TEST_ACTOR: &str = "system:test";

/// The holder of holds [`given`]'s actor makes through the command API.
pub fn test_holder() -> Holder {
    Holder::new(TEST_ACTOR.parse().expect("valid actor"), None)
}

/// The holder of holds the gateway makes for `actor`.
pub fn gateway_holder(actor: &str) -> Holder {
    Holder::new(
        actor.parse().expect("valid actor"),
        Some("gateway".parse().expect("valid service")),
    )
}

/// Hold `r` of `amount` made at `at` with the default TTL, by [`given`]'s actor.
pub fn reserved(r: u128, amount: u64, at: i64) -> TokenPoolEvent {
    reserved_by(r, amount, at, test_holder())
}

/// Hold `r` of `amount` made at `at` with the default TTL, by `holder`.
pub fn reserved_by(r: u128, amount: u64, at: i64, holder: Holder) -> TokenPoolEvent {
    TokenPoolEvent::TokensReserved {
        reservation_id: rid(r),
        amount: tokens(amount),
        expires_at: t(at + DEFAULT_TTL),
        holder: Some(holder),
        at: t(at),
    }
}

/// Hold `r` of `amount` settled at `at`, `consumed` used.
pub fn settled(r: u128, amount: u64, consumed: u64, at: i64) -> TokenPoolEvent {
    TokenPoolEvent::ReservationSettled {
        reservation_id: rid(r),
        reserved: tokens(amount),
        consumed: tokens(consumed),
        released: tokens(amount - consumed),
        uncharged_overage: Tokens::ZERO,
        at: t(at),
    }
}

/// Hold `r` of `amount` released at `at`.
pub fn released(r: u128, amount: u64, at: i64) -> TokenPoolEvent {
    TokenPoolEvent::ReservationReleased {
        reservation_id: rid(r),
        amount: tokens(amount),
        at: t(at),
    }
}

/// `amount` consumed without a hold at `at`.
pub fn consumed(amount: u64, at: i64) -> TokenPoolEvent {
    TokenPoolEvent::TokensConsumed {
        amount: tokens(amount),
        overdrawn: Tokens::ZERO,
        at: t(at),
    }
}

/// `amount` of already-billed usage charged at `at`, `overdrawn` of it beyond the balance.
pub fn charged(amount: u64, overdrawn: u64, at: i64) -> TokenPoolEvent {
    TokenPoolEvent::TokensConsumed {
        amount: tokens(amount),
        overdrawn: tokens(overdrawn),
        at: t(at),
    }
}

// ---- when: commands ----------------------------------------------------------------

/// Hold `amount` under id `r` with the default TTL.
pub fn reserve(r: u128, amount: u64) -> TokenPoolCommand {
    TokenPoolCommand::Reserve {
        reservation_id: rid(r),
        amount: tokens(amount),
        ttl_ms: None,
        via: None,
    }
}

/// The gateway holds `amount` under id `r` for `ttl` ms.
pub fn gateway_reserve(r: u128, amount: u64, ttl: u64) -> TokenPoolCommand {
    TokenPoolCommand::Reserve {
        reservation_id: rid(r),
        amount: tokens(amount),
        ttl_ms: Some(ms(ttl)),
        via: Some(gateway()),
    }
}

/// The gateway's service name.
pub fn gateway() -> domain::ServiceName {
    "gateway".parse().expect("valid service")
}

/// The gateway settles hold `r` with `actual` used.
pub fn gateway_settle(r: u128, actual: u64) -> TokenPoolCommand {
    TokenPoolCommand::Settle {
        reservation_id: rid(r),
        actual: tokens(actual),
        via: Some(gateway()),
    }
}

/// Charge `amount` of usage a provider already billed.
pub fn charge_usage(amount: u64) -> TokenPoolCommand {
    TokenPoolCommand::ChargeUsage {
        amount: tokens(amount),
    }
}

/// Hold `amount` under id `r` for `ttl` ms.
pub fn reserve_for(r: u128, amount: u64, ttl: u64) -> TokenPoolCommand {
    TokenPoolCommand::Reserve {
        reservation_id: rid(r),
        amount: tokens(amount),
        ttl_ms: Some(ms(ttl)),
        via: None,
    }
}

/// Settle hold `r` with `actual` used.
pub fn settle(r: u128, actual: u64) -> TokenPoolCommand {
    TokenPoolCommand::Settle {
        reservation_id: rid(r),
        actual: tokens(actual),
        via: None,
    }
}

/// Release hold `r`.
pub fn release(r: u128) -> TokenPoolCommand {
    TokenPoolCommand::Release {
        reservation_id: rid(r),
        via: None,
    }
}

/// Grant `amount` under id `g` from an admin.
pub fn grant(g: u128, amount: u64) -> TokenPoolCommand {
    TokenPoolCommand::GrantTokens {
        grant_id: gid(g),
        amount: tokens(amount),
        source: GrantSource::Admin,
    }
}

/// Revoke grant `g`.
pub fn revoke(g: u128) -> TokenPoolCommand {
    TokenPoolCommand::RevokeGrant { grant_id: gid(g) }
}

/// Consume `amount` without a hold.
pub fn consume(amount: u64) -> TokenPoolCommand {
    TokenPoolCommand::Consume {
        amount: tokens(amount),
    }
}

// ---- the harness -------------------------------------------------------------------

pub use crate::spec::Given;

/// The pool's history before the command under test (issued by `system:test`).
pub fn given(events: impl IntoIterator<Item = TokenPoolEvent>) -> Given<TokenPool> {
    crate::spec::given(events, TEST_ACTOR)
}

/// The pool's history before a command issued by `actor`.
pub fn given_as(events: impl IntoIterator<Item = TokenPoolEvent>, actor: &str) -> Given<TokenPool> {
    crate::spec::given(events, actor)
}
