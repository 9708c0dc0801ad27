//! At least one example of every command, event and rejection variant (and of every auth
//! event), and an exhaustive match per enum so that a new variant does not compile here
//! until it has an example.

use domain::{
    AmountField, AuthEvent, ConflictSubject, DurationMs, EffectivePolicy, GrantSource, LimitKind,
    OverageRule, PeriodicQuota, RateLimit, RateLimitStrategy, ReservationTtl, ResolutionKind,
    RetryAfter, Role, Tier, TokenPoolCommand as C, TokenPoolEvent as E, TokenPoolRejection as R,
    Tokens, UserId,
};

use super::{id, pool_id, t, tokens};

/// How many variants `TokenPoolCommand` has; [`command_variant`] numbers them.
pub const COMMAND_VARIANTS: usize = 11;
/// How many variants `TokenPoolEvent` has; [`event_variant`] numbers them.
pub const EVENT_VARIANTS: usize = 10;
/// How many variants `TokenPoolRejection` has; [`rejection_variant`] numbers them.
pub const REJECTION_VARIANTS: usize = 15;
/// How many variants `AuthEvent` has; [`auth_event_variant`] numbers them.
pub const AUTH_EVENT_VARIANTS: usize = 7;

/// The variant number of a command. No wildcard: a new variant is a compile error here.
pub fn command_variant(command: &C) -> usize {
    match command {
        C::ProvisionPool { .. } => 0,
        C::GrantTokens { .. } => 1,
        C::RevokeGrant { .. } => 2,
        C::Reserve { .. } => 3,
        C::Settle { .. } => 4,
        C::Release { .. } => 5,
        C::ExpireReservations => 6,
        C::Consume { .. } => 7,
        C::ChangePolicy { .. } => 8,
        C::ResetQuotaPeriod { .. } => 9,
        C::ChargeUsage { .. } => 10,
    }
}

/// The variant number of an event. No wildcard: a new variant is a compile error here.
pub fn event_variant(event: &E) -> usize {
    match event {
        E::PoolProvisioned { .. } => 0,
        E::TokensGranted { .. } => 1,
        E::GrantRevoked { .. } => 2,
        E::TokensReserved { .. } => 3,
        E::ReservationSettled { .. } => 4,
        E::ReservationReleased { .. } => 5,
        E::ReservationExpired { .. } => 6,
        E::TokensConsumed { .. } => 7,
        E::PolicyChanged { .. } => 8,
        E::QuotaPeriodReset { .. } => 9,
    }
}

/// The variant number of a rejection. No wildcard: a new variant is a compile error here.
pub fn rejection_variant(rejection: &R) -> usize {
    match rejection {
        R::PoolNotProvisioned => 0,
        R::AlreadyProvisioned { .. } => 1,
        R::InvalidAmount { .. } => 2,
        R::QuotaExhausted { .. } => 3,
        R::PeriodicQuotaExhausted { .. } => 4,
        R::RateLimited { .. } => 5,
        R::QuotaCapExceeded { .. } => 6,
        R::ReservationNotFound { .. } => 7,
        R::AlreadyResolved { .. } => 8,
        R::SettleExceedsReservation { .. } => 9,
        R::Conflict { .. } => 10,
        R::GrantAlreadyRevoked { .. } => 11,
        R::InvalidPeriodStart { .. } => 12,
        R::NotHolder { .. } => 13,
        R::TtlAboveMaximum { .. } => 14,
    }
}

/// The variant number of an auth event. No wildcard: a new variant is a compile error here.
pub fn auth_event_variant(event: &AuthEvent) -> usize {
    match event {
        AuthEvent::UserRegistered { .. } => 0,
        AuthEvent::OrgMembershipGranted { .. } => 1,
        AuthEvent::ApiKeyCreated { .. } => 2,
        AuthEvent::ApiKeyRevoked { .. } => 3,
        AuthEvent::RoleChanged { .. } => 4,
        AuthEvent::OrgMembershipRevoked { .. } => 5,
        AuthEvent::InvitationIssued { .. } => 6,
    }
}

fn ms(n: u64) -> DurationMs {
    DurationMs::from_millis(n).unwrap()
}

/// A policy with every optional part present.
pub fn full_policy() -> EffectivePolicy {
    EffectivePolicy {
        strategy: RateLimitStrategy::TokenBucket,
        requests: RateLimit::new(100, 10, ms(1_000)).unwrap(),
        // The largest capacity with the longest period whose product fits an i64.
        tokens: RateLimit::new(Tokens::MAX.get(), Tokens::MAX.get(), ms(9_000_000)).unwrap(),
        overage: OverageRule::Cap,
        reservation_ttl: ReservationTtl::new(ms(1), ReservationTtl::LIMIT).unwrap(),
        periodic_quota: Some(PeriodicQuota::new(Tokens::MAX, DurationMs::MAX).unwrap()),
        quota_cap: Tokens::MAX,
    }
}

/// A policy with every optional part absent.
pub fn bare_policy() -> EffectivePolicy {
    EffectivePolicy {
        strategy: RateLimitStrategy::FixedWindow,
        requests: RateLimit::new(1, 1, ms(1)).unwrap(),
        tokens: RateLimit::new(1_000, 500, ms(60_000)).unwrap(),
        overage: OverageRule::Reject,
        reservation_ttl: ReservationTtl::new(ms(60_000), ms(600_000)).unwrap(),
        periodic_quota: None,
        quota_cap: Tokens::ZERO,
    }
}

/// Every command variant, with both shapes of every optional or union-typed part.
pub fn commands() -> Vec<C> {
    let mut all = Vec::new();
    for (tier, policy) in [
        (Tier::User, bare_policy()),
        (Tier::Enterprise, full_policy()),
    ] {
        all.push(C::ProvisionPool {
            pool: pool_id(),
            tier,
            policy,
        });
    }
    all.extend([
        C::GrantTokens {
            grant_id: id(1),
            amount: tokens(1_000),
            source: GrantSource::Purchase { purchase_id: id(2) },
        },
        C::GrantTokens {
            grant_id: id(u128::MAX),
            amount: Tokens::MAX,
            source: GrantSource::Admin,
        },
        C::RevokeGrant { grant_id: id(1) },
        C::Reserve {
            reservation_id: id(3),
            amount: tokens(300),
            ttl_ms: Some(ms(30_000)),
            via: Some("gateway".parse().unwrap()),
        },
        C::Reserve {
            reservation_id: id(4),
            amount: Tokens::ZERO,
            ttl_ms: None,
            via: None,
        },
        C::Settle {
            reservation_id: id(3),
            actual: tokens(250),
            via: Some("gateway".parse().unwrap()),
        },
        C::Settle {
            reservation_id: id(4),
            actual: tokens(0),
            via: None,
        },
        C::Release {
            reservation_id: id(4),
            via: None,
        },
        C::Release {
            reservation_id: id(3),
            via: Some("gateway".parse().unwrap()),
        },
        C::ChargeUsage { amount: tokens(26) },
        C::ExpireReservations,
        C::Consume { amount: tokens(42) },
        C::ChangePolicy {
            tier: Tier::Admin,
            policy: full_policy(),
        },
        C::ChangePolicy {
            tier: Tier::Pro,
            policy: bare_policy(),
        },
        C::ResetQuotaPeriod {
            period_start: domain::Timestamp::MAX,
        },
    ]);
    all
}

/// Every event variant, with both shapes of every optional or union-typed part.
pub fn events() -> Vec<E> {
    vec![
        E::PoolProvisioned {
            pool: "org:acme.corp/gemini".parse().unwrap(),
            tier: Tier::Pro,
            policy: full_policy(),
            at: t(0),
        },
        E::TokensGranted {
            grant_id: id(1),
            amount: tokens(1_000),
            source: GrantSource::Admin,
            overdraft_repaid: tokens(10),
            at: t(1),
        },
        E::TokensGranted {
            grant_id: id(2),
            amount: Tokens::MAX,
            source: GrantSource::Purchase { purchase_id: id(9) },
            overdraft_repaid: Tokens::ZERO,
            at: t(2),
        },
        E::GrantRevoked {
            grant_id: id(1),
            amount: tokens(1_000),
            recovered: tokens(600),
            overdraft_added: tokens(400),
            at: t(3),
        },
        E::TokensReserved {
            reservation_id: id(3),
            amount: tokens(300),
            expires_at: t(60_003),
            holder: Some(domain::Holder::new(
                "user:alice".parse().unwrap(),
                Some("gateway".parse().unwrap()),
            )),
            at: t(3),
        },
        E::TokensReserved {
            reservation_id: id(6),
            amount: tokens(30),
            expires_at: t(60_003),
            holder: Some(domain::Holder::new("org:acme".parse().unwrap(), None)),
            at: t(3),
        },
        E::TokensReserved {
            reservation_id: id(7),
            amount: tokens(30),
            expires_at: t(60_003),
            holder: None,
            at: t(3),
        },
        E::ReservationSettled {
            reservation_id: id(3),
            reserved: tokens(300),
            consumed: tokens(300),
            released: Tokens::ZERO,
            uncharged_overage: tokens(5),
            at: t(4),
        },
        E::ReservationReleased {
            reservation_id: id(4),
            amount: tokens(7),
            at: t(5),
        },
        E::ReservationExpired {
            reservation_id: id(5),
            amount: tokens(8),
            expires_at: t(5),
            at: t(6),
        },
        E::TokensConsumed {
            amount: tokens(1),
            overdrawn: Tokens::ZERO,
            at: t(7),
        },
        E::TokensConsumed {
            amount: tokens(130),
            overdrawn: tokens(30),
            at: t(7),
        },
        E::PolicyChanged {
            tier: Tier::User,
            policy: bare_policy(),
            at: t(8),
        },
        E::QuotaPeriodReset {
            period_start: t(0),
            at: domain::Timestamp::MAX,
        },
    ]
}

/// Every rejection variant, with each enum-typed part in more than one shape.
pub fn rejections() -> Vec<R> {
    let mut all = vec![
        R::PoolNotProvisioned,
        R::AlreadyProvisioned { pool: pool_id() },
        R::QuotaExhausted {
            requested: tokens(10),
            available: tokens(3),
        },
        R::PeriodicQuotaExhausted {
            requested: tokens(10),
            remaining: Tokens::ZERO,
            period_ends_at: t(86_400_000),
        },
        R::RateLimited {
            limit: LimitKind::Requests,
            retry_after: RetryAfter::After(ms(250)),
        },
        R::RateLimited {
            limit: LimitKind::Tokens,
            retry_after: RetryAfter::Never,
        },
        R::QuotaCapExceeded {
            requested: tokens(5),
            unspent: tokens(999),
            cap: tokens(1_000),
        },
        R::ReservationNotFound {
            reservation_id: id(3),
        },
        R::SettleExceedsReservation {
            reservation_id: id(3),
            reserved: tokens(300),
            actual: tokens(301),
        },
        R::Conflict {
            subject: ConflictSubject::Reservation(id(3)),
        },
        R::Conflict {
            subject: ConflictSubject::Grant(id(4)),
        },
        R::GrantAlreadyRevoked { grant_id: id(4) },
        R::NotHolder {
            reservation_id: id(3),
            held_by_service: true,
        },
        R::NotHolder {
            reservation_id: id(3),
            held_by_service: false,
        },
        R::TtlAboveMaximum {
            requested: ms(4_000),
            max: ms(2_000),
        },
        R::InvalidPeriodStart {
            period_start: t(10),
            now: t(9),
        },
    ];
    for field in [
        AmountField::GrantAmount,
        AmountField::ReserveAmount,
        AmountField::ReservationTtl,
        AmountField::ConsumeAmount,
    ] {
        all.push(R::InvalidAmount { field });
    }
    for how in [
        ResolutionKind::Settled,
        ResolutionKind::Released,
        ResolutionKind::Expired,
    ] {
        all.push(R::AlreadyResolved {
            reservation_id: id(3),
            how,
        });
    }
    all
}

/// Every auth event variant, with every role; at the largest instant and the epoch.
pub fn auth_events() -> Vec<AuthEvent> {
    let user = || UserId::parse("alice.b-1").unwrap();
    let mut all: Vec<AuthEvent> = [Role::User, Role::Pro, Role::Enterprise, Role::Admin]
        .into_iter()
        .map(|role| AuthEvent::UserRegistered {
            user: user(),
            password_hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".into(),
            role,
            at: t(1_700_000_000_000),
        })
        .collect();
    all.extend([
        AuthEvent::OrgMembershipGranted {
            user: user(),
            org: "acme.corp".parse().unwrap(),
            at: domain::Timestamp::MAX,
        },
        AuthEvent::ApiKeyCreated {
            user: user(),
            key_id: "k_0f3a".into(),
            sha256: "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08".into(),
            name: "laptop (ünïcode ok)".into(),
            at: t(0),
        },
        AuthEvent::ApiKeyRevoked {
            user: user(),
            key_id: "k_0f3a".into(),
            at: t(1_700_000_000_001),
        },
        AuthEvent::OrgMembershipRevoked {
            user: user(),
            org: "acme.corp".parse().unwrap(),
            by: "admin:root".parse().unwrap(),
            at: t(1_700_000_000_002),
        },
        AuthEvent::InvitationIssued {
            user: user(),
            sha256: "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08".into(),
            by: "admin:root".parse().unwrap(),
            at: t(1_700_000_000_003),
        },
    ]);
    all.extend(
        [Role::User, Role::Pro, Role::Enterprise, Role::Admin]
            .into_iter()
            .map(|role| AuthEvent::RoleChanged {
                user: user(),
                role,
                by: "system:auth-bootstrap".parse().unwrap(),
                at: t(1_700_000_000_004),
            }),
    );
    all
}
