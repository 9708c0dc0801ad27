//! proptest generators of every domain value the topics carry, across their whole ranges.

pub mod records;

use domain::{
    Actor, AmountField, AuthEvent, ConflictSubject, DurationMs, EffectivePolicy, GrantSource,
    LimitKind, OrgId, OverageRule, PeriodicQuota, PoolId, RateLimit, RateLimitStrategy,
    ReservationTtl, ResolutionKind, RetryAfter, Role, Tier, Timestamp, TokenPoolCommand as C,
    TokenPoolEvent as E, TokenPoolRejection as R, Tokens, UserId,
};
use proptest::prelude::*;
use proptest::sample::select;
use uuid::Uuid;

pub fn timestamp() -> impl Strategy<Value = Timestamp> {
    (0..=Timestamp::MAX.as_millis()).prop_map(|ms| Timestamp::from_millis(ms).unwrap())
}

pub fn duration() -> impl Strategy<Value = DurationMs> {
    (0..=DurationMs::MAX.as_millis()).prop_map(|ms| DurationMs::from_millis(ms).unwrap())
}

pub fn amount() -> impl Strategy<Value = Tokens> {
    prop_oneof![0..=1_000u64, 0..=Tokens::MAX.get()].prop_map(|n| Tokens::new(n).unwrap())
}

pub fn id<T: From<Uuid> + std::fmt::Debug>() -> impl Strategy<Value = T> {
    any::<u128>().prop_map(|n| T::from(Uuid::from_u128(n)))
}

fn name(max: usize) -> impl Strategy<Value = String> {
    proptest::string::string_regex(&format!("[a-z0-9_.-]{{1,{max}}}")).unwrap()
}

pub fn pool_id() -> impl Strategy<Value = PoolId> {
    let provider = proptest::string::string_regex("[a-z0-9-]{1,32}").unwrap();
    (select(vec!["user", "org"]), name(64), provider)
        .prop_map(|(kind, id, provider)| format!("{kind}:{id}/{provider}").parse().unwrap())
}

pub fn actor() -> impl Strategy<Value = Actor> {
    (select(vec!["user", "org", "admin", "system"]), name(64))
        .prop_map(|(kind, id)| format!("{kind}:{id}").parse().unwrap())
}

pub fn tier() -> impl Strategy<Value = Tier> {
    select(Tier::ALL.to_vec())
}

fn rate_limit() -> impl Strategy<Value = RateLimit> {
    // Period first, then a capacity small enough that capacity x period fits an i64.
    (1..=RateLimit::MAX_PERIOD.as_millis()).prop_flat_map(|period| {
        let max_capacity = (RateLimit::MAX_PRODUCT / period).min(RateLimit::MAX_UNITS);
        (1..=max_capacity, 1..=RateLimit::MAX_UNITS).prop_map(move |(capacity, rate)| {
            RateLimit::new(capacity, rate, DurationMs::from_millis(period).unwrap()).unwrap()
        })
    })
}

pub fn policy() -> impl Strategy<Value = EffectivePolicy> {
    let strategies = vec![
        RateLimitStrategy::LeakyBucket,
        RateLimitStrategy::TokenBucket,
        RateLimitStrategy::FixedWindow,
    ];
    let day = ReservationTtl::LIMIT.as_millis();
    let ttl = (1..=day, 1..=day).prop_map(|(a, b)| {
        let (default, max) = (a.min(b), a.max(b));
        ReservationTtl::new(
            DurationMs::from_millis(default).unwrap(),
            DurationMs::from_millis(max).unwrap(),
        )
        .unwrap()
    });
    let quota = (1..=Tokens::MAX.get(), 1..=DurationMs::MAX.as_millis()).prop_map(|(l, p)| {
        PeriodicQuota::new(Tokens::new(l).unwrap(), DurationMs::from_millis(p).unwrap()).unwrap()
    });
    (
        select(strategies),
        rate_limit(),
        rate_limit(),
        select(vec![OverageRule::Reject, OverageRule::Cap]),
        ttl,
        proptest::option::of(quota),
        amount(),
    )
        .prop_map(
            |(strategy, requests, tokens, overage, reservation_ttl, periodic_quota, quota_cap)| {
                EffectivePolicy {
                    strategy,
                    requests,
                    tokens,
                    overage,
                    reservation_ttl,
                    periodic_quota,
                    quota_cap,
                }
            },
        )
}

pub fn source() -> impl Strategy<Value = GrantSource> {
    prop_oneof![
        Just(GrantSource::Admin),
        id().prop_map(|purchase_id| GrantSource::Purchase { purchase_id }),
    ]
}

/// Any command (every variant; `the_generators_reach_every_variant` checks).
pub fn command() -> impl Strategy<Value = C> {
    prop_oneof![
        (pool_id(), tier(), policy()).prop_map(|(pool, tier, policy)| C::ProvisionPool {
            pool,
            tier,
            policy
        }),
        (id(), amount(), source()).prop_map(|(grant_id, amount, source)| C::GrantTokens {
            grant_id,
            amount,
            source
        }),
        id().prop_map(|grant_id| C::RevokeGrant { grant_id }),
        (
            id(),
            amount(),
            proptest::option::of(duration()),
            proptest::option::of(service())
        )
            .prop_map(|(reservation_id, amount, ttl_ms, via)| C::Reserve {
                reservation_id,
                amount,
                ttl_ms,
                via
            }),
        (id(), amount(), proptest::option::of(service())).prop_map(
            |(reservation_id, actual, via)| C::Settle {
                reservation_id,
                actual,
                via
            }
        ),
        (id(), proptest::option::of(service())).prop_map(|(reservation_id, via)| C::Release {
            reservation_id,
            via
        }),
        Just(C::ExpireReservations),
        amount().prop_map(|amount| C::Consume { amount }),
        amount().prop_map(|amount| C::ChargeUsage { amount }),
        (tier(), policy()).prop_map(|(tier, policy)| C::ChangePolicy { tier, policy }),
        timestamp().prop_map(|period_start| C::ResetQuotaPeriod { period_start }),
    ]
}

/// Any event (every variant).
pub fn event() -> impl Strategy<Value = E> {
    let at = timestamp;
    prop_oneof![
        (pool_id(), tier(), policy(), at()).prop_map(|(pool, tier, policy, at)| {
            E::PoolProvisioned {
                pool,
                tier,
                policy,
                at,
            }
        }),
        (id(), amount(), source(), amount(), at()).prop_map(
            |(grant_id, amount, source, overdraft_repaid, at)| {
                E::TokensGranted {
                    grant_id,
                    amount,
                    source,
                    overdraft_repaid,
                    at,
                }
            }
        ),
        (id(), amount(), amount(), amount(), at()).prop_map(
            |(grant_id, amount, recovered, overdraft_added, at)| {
                E::GrantRevoked {
                    grant_id,
                    amount,
                    recovered,
                    overdraft_added,
                    at,
                }
            }
        ),
        (id(), amount(), at(), proptest::option::of(holder()), at()).prop_map(
            |(reservation_id, amount, expires_at, holder, at)| E::TokensReserved {
                reservation_id,
                amount,
                expires_at,
                holder,
                at,
            }
        ),
        (id(), amount(), amount(), amount(), amount(), at()).prop_map(
            |(reservation_id, reserved, consumed, released, uncharged_overage, at)| {
                E::ReservationSettled {
                    reservation_id,
                    reserved,
                    consumed,
                    released,
                    uncharged_overage,
                    at,
                }
            }
        ),
        (id(), amount(), at()).prop_map(|(reservation_id, amount, at)| E::ReservationReleased {
            reservation_id,
            amount,
            at
        }),
        (id(), amount(), at(), at()).prop_map(|(reservation_id, amount, expires_at, at)| {
            E::ReservationExpired {
                reservation_id,
                amount,
                expires_at,
                at,
            }
        }),
        (amount(), amount(), at()).prop_map(|(amount, overdrawn, at)| E::TokensConsumed {
            amount,
            overdrawn,
            at
        }),
        (tier(), policy(), at()).prop_map(|(tier, policy, at)| E::PolicyChanged {
            tier,
            policy,
            at
        }),
        (at(), at()).prop_map(|(period_start, at)| E::QuotaPeriodReset { period_start, at }),
    ]
}

/// Any rejection (every variant).
pub fn rejection() -> impl Strategy<Value = R> {
    let fields = vec![
        AmountField::GrantAmount,
        AmountField::ReserveAmount,
        AmountField::ReservationTtl,
        AmountField::ConsumeAmount,
    ];
    let hows = vec![
        ResolutionKind::Settled,
        ResolutionKind::Released,
        ResolutionKind::Expired,
    ];
    let retry = prop_oneof![
        Just(RetryAfter::Never),
        duration().prop_map(RetryAfter::After)
    ];
    let subject = prop_oneof![
        id().prop_map(ConflictSubject::Reservation),
        id().prop_map(ConflictSubject::Grant),
    ];
    prop_oneof![
        Just(R::PoolNotProvisioned),
        pool_id().prop_map(|pool| R::AlreadyProvisioned { pool }),
        select(fields).prop_map(|field| R::InvalidAmount { field }),
        (amount(), amount()).prop_map(|(requested, available)| R::QuotaExhausted {
            requested,
            available
        }),
        (amount(), amount(), timestamp()).prop_map(|(requested, remaining, period_ends_at)| {
            R::PeriodicQuotaExhausted {
                requested,
                remaining,
                period_ends_at,
            }
        }),
        (select(vec![LimitKind::Requests, LimitKind::Tokens]), retry)
            .prop_map(|(limit, retry_after)| R::RateLimited { limit, retry_after }),
        (amount(), amount(), amount()).prop_map(|(requested, unspent, cap)| R::QuotaCapExceeded {
            requested,
            unspent,
            cap
        }),
        id().prop_map(|reservation_id| R::ReservationNotFound { reservation_id }),
        (id(), select(hows)).prop_map(|(reservation_id, how)| R::AlreadyResolved {
            reservation_id,
            how
        }),
        (id(), amount(), amount()).prop_map(|(reservation_id, reserved, actual)| {
            R::SettleExceedsReservation {
                reservation_id,
                reserved,
                actual,
            }
        }),
        subject.prop_map(|subject| R::Conflict { subject }),
        id().prop_map(|grant_id| R::GrantAlreadyRevoked { grant_id }),
        (timestamp(), timestamp())
            .prop_map(|(period_start, now)| R::InvalidPeriodStart { period_start, now }),
        (id(), any::<bool>()).prop_map(|(reservation_id, held_by_service)| R::NotHolder {
            reservation_id,
            held_by_service
        }),
        (duration(), duration()).prop_map(|(requested, max)| R::TtlAboveMaximum { requested, max }),
    ]
}

/// Any service name (the whole alphabet and length).
pub fn service() -> impl Strategy<Value = domain::ServiceName> {
    "[a-z0-9_.-]{1,64}".prop_map(|s| s.parse().unwrap())
}

/// Any holder: any actor, through a service or not.
pub fn holder() -> impl Strategy<Value = domain::Holder> {
    (actor(), proptest::option::of(service()))
        .prop_map(|(actor, via)| domain::Holder::new(actor, via))
}

/// Any auth event: ids of the whole alphabet and length, any text, every role, any instant.
pub fn auth_event() -> impl Strategy<Value = AuthEvent> {
    let user = || name(64).prop_map(|n| UserId::parse(&n).unwrap());
    let role = || select(vec![Role::User, Role::Pro, Role::Enterprise, Role::Admin]);
    prop_oneof![
        (user(), any::<String>(), role(), timestamp()).prop_map(
            |(user, password_hash, role, at)| {
                AuthEvent::UserRegistered {
                    user,
                    password_hash,
                    role,
                    at,
                }
            }
        ),
        (user(), name(64), timestamp()).prop_map(|(user, org, at)| {
            AuthEvent::OrgMembershipGranted {
                user,
                org: OrgId::parse(&org).unwrap(),
                at,
            }
        }),
        (
            user(),
            any::<String>(),
            "[0-9a-f]{64}",
            any::<String>(),
            timestamp()
        )
            .prop_map(
                |(user, key_id, sha256, name, at)| AuthEvent::ApiKeyCreated {
                    user,
                    key_id,
                    sha256,
                    name,
                    at,
                }
            ),
        (user(), any::<String>(), timestamp())
            .prop_map(|(user, key_id, at)| AuthEvent::ApiKeyRevoked { user, key_id, at }),
        (user(), role(), actor(), timestamp())
            .prop_map(|(user, role, by, at)| { AuthEvent::RoleChanged { user, role, by, at } }),
        (user(), name(64), actor(), timestamp()).prop_map(|(user, org, by, at)| {
            AuthEvent::OrgMembershipRevoked {
                user,
                org: OrgId::parse(&org).unwrap(),
                by,
                at,
            }
        }),
        (user(), "[0-9a-f]{64}", actor(), timestamp()).prop_map(|(user, sha256, by, at)| {
            AuthEvent::InvitationIssued {
                user,
                sha256,
                by,
                at,
            }
        }),
    ]
}
