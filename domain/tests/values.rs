//! Value types cannot hold bad values: parsing, bounds, arithmetic and serde.

use domain::{
    Actor, DurationMs, GrantId, LimitKind, Multiplier, NameError, OrgId, Owner, PeriodicQuota,
    PolicyError, PoolId, PoolIdError, PoolPolicy, ProviderName, RateLimit, RateLimitError,
    RateLimitStrategy, ReservationTtl, Tier, TierLimits, TierTable, Timestamp, TokenTotal, Tokens,
    UserId,
};
use domain::{OverageRule, ReservationId};
use proptest::prelude::*;

fn ms(n: u64) -> DurationMs {
    DurationMs::from_millis(n).unwrap()
}

// ---- names and ids -----------------------------------------------------------------

#[test]
fn pool_ids_have_one_canonical_string_form() {
    for s in [
        "user:alice/openai",
        "org:acme/gemini",
        "user:a.b_c-9/qwen-2",
    ] {
        let id: PoolId = s.parse().unwrap();
        assert_eq!(id.to_string(), s);
    }
    let id: PoolId = "org:acme/gemini".parse().unwrap();
    assert_eq!(id.owner(), &Owner::Org(OrgId::parse("acme").unwrap()));
    assert_eq!(id.provider().as_str(), "gemini");
    assert_eq!((id.owner().kind(), id.owner().id()), ("org", "acme"));
    let user: Owner = "user:a.b_c-9".parse().unwrap();
    assert_eq!((user.kind(), user.id()), ("user", "a.b_c-9"));
}

#[test]
fn malformed_pool_ids_are_refused_with_a_reason() {
    assert!(matches!(
        "user:alice".parse::<PoolId>(),
        Err(PoolIdError::MissingProvider { .. })
    ));
    assert!(matches!(
        "team:x/openai".parse::<PoolId>(),
        Err(PoolIdError::Owner(_))
    ));
    assert!(matches!(
        "alice/openai".parse::<PoolId>(),
        Err(PoolIdError::Owner(_))
    ));
    assert!(matches!(
        "user:alice/open_ai".parse::<PoolId>(),
        Err(PoolIdError::Provider(NameError::InvalidChar {
            found: '_',
            ..
        }))
    ));
    assert!(matches!(
        "user:alice/openai/extra".parse::<PoolId>(),
        Err(PoolIdError::Provider(_))
    ));
    for bad in [
        "user:/openai",
        "user:Alice/openai",
        "user:alice/",
        "user:al ice/openai",
    ] {
        assert!(bad.parse::<PoolId>().is_err(), "{bad} must be refused");
    }
}

#[test]
fn names_are_lowercase_and_bounded() {
    assert!(UserId::parse(&"a".repeat(64)).is_ok());
    assert_eq!(
        UserId::parse(&"a".repeat(65)),
        Err(NameError::TooLong {
            what: "user id",
            max: 64,
            len: 65
        })
    );
    assert!(ProviderName::parse(&"p".repeat(32)).is_ok());
    assert!(ProviderName::parse(&"p".repeat(33)).is_err());
    assert!(matches!(UserId::parse(""), Err(NameError::Empty { .. })));
    assert!(UserId::parse("Alice").is_err());
    assert!(UserId::parse("élodie").is_err());
    assert!(ProviderName::parse("open.ai").is_err());
}

#[test]
fn names_and_pool_ids_deserialise_only_when_valid() {
    let id: PoolId = serde_json::from_str("\"org:acme/gemini\"").unwrap();
    assert_eq!(serde_json::to_string(&id).unwrap(), "\"org:acme/gemini\"");
    assert!(serde_json::from_str::<PoolId>("\"org:ACME/gemini\"").is_err());
    assert!(serde_json::from_str::<UserId>("\"\"").is_err());
}

#[test]
fn actors_round_trip_through_their_string_form() {
    for s in [
        "user:alice",
        "org:acme",
        "admin:bob",
        "system:purchase-saga",
    ] {
        let actor: Actor = s.parse().unwrap();
        assert_eq!(actor.to_string(), s);
    }
    assert!("root:bob".parse::<Actor>().is_err());
    assert!("bob".parse::<Actor>().is_err());
}

#[test]
fn uuid_ids_parse_and_print_hyphenated() {
    let s = "01890a5d-ac96-774b-bcce-b302099a8057";
    let id: ReservationId = s.parse().unwrap();
    assert_eq!(id.to_string(), s);
    assert_eq!(serde_json::to_string(&id).unwrap(), format!("\"{s}\""));
    assert!("not-a-uuid".parse::<GrantId>().is_err());
}

// ---- tokens and time ---------------------------------------------------------------

#[test]
fn token_amounts_are_bounded_and_arithmetic_is_checked() {
    assert_eq!(Tokens::MAX.get(), 1_000_000_000_000);
    assert!(Tokens::new(1_000_000_000_001).is_err());
    let a = Tokens::new(5).unwrap();
    assert_eq!(a.checked_sub(Tokens::new(6).unwrap()), None);
    assert_eq!(Tokens::MAX.checked_add(a), None);
    assert_eq!(a.checked_add(a), Some(Tokens::new(10).unwrap()));
    assert!(serde_json::from_str::<Tokens>("1000000000001").is_err());
    assert!(serde_json::from_str::<Tokens>("-1").is_err());
    assert_eq!("42".parse::<Tokens>(), Ok(Tokens::new(42).unwrap()));
}

#[test]
fn running_totals_may_exceed_a_single_amount() {
    let total = TokenTotal::from(Tokens::MAX).saturating_add(Tokens::MAX);
    assert_eq!(total.get(), 2_000_000_000_000);
    assert_eq!(total.to_tokens_saturating(), Tokens::MAX);
}

#[test]
fn timestamps_are_bounded_and_adding_durations_is_checked() {
    assert!(Timestamp::from_millis(-1).is_err());
    let epoch = std::time::UNIX_EPOCH;
    let after = |ms: u64| epoch + std::time::Duration::from_millis(ms);
    assert_eq!(Timestamp::from_system_time(after(1_500)).as_millis(), 1_500);
    assert_eq!(
        Timestamp::from_system_time(epoch - std::time::Duration::from_millis(1)),
        Timestamp::EPOCH
    );
    let beyond = Timestamp::MAX.as_millis().unsigned_abs() + 1;
    assert_eq!(Timestamp::from_system_time(after(beyond)), Timestamp::MAX);
    assert!(Timestamp::from_millis(Timestamp::MAX.as_millis() + 1).is_err());
    let t = Timestamp::from_millis(1_000).unwrap();
    assert_eq!(
        t.checked_add(ms(500)),
        Some(Timestamp::from_millis(1_500).unwrap())
    );
    assert_eq!(Timestamp::MAX.checked_add(ms(1)), None);
    assert_eq!(
        Timestamp::MAX.saturating_add(DurationMs::MAX),
        Timestamp::MAX
    );
    assert_eq!(
        t.saturating_duration_since(Timestamp::MAX),
        DurationMs::ZERO
    );
    assert_eq!(
        Timestamp::from_millis(125_000)
            .unwrap()
            .floor_to(DurationMs::MINUTE),
        Timestamp::from_millis(120_000).unwrap()
    );
    assert!(serde_json::from_str::<Timestamp>("-5").is_err());
    assert!(DurationMs::from_millis(u64::MAX).is_err());
}

// ---- tiers and policies ------------------------------------------------------------

#[test]
fn tiers_are_screaming_case() {
    assert_eq!(
        serde_json::to_string(&Tier::Enterprise).unwrap(),
        "\"ENTERPRISE\""
    );
    assert_eq!("ADMIN".parse::<Tier>(), Ok(Tier::Admin));
    assert!("pro".parse::<Tier>().is_err());
    assert!(serde_json::from_str::<Tier>("\"Pro\"").is_err());
}

#[test]
fn multipliers_are_whole_percent_and_never_scale_to_zero() {
    let half = Multiplier::from_percent(50).unwrap();
    assert_eq!(half.scale(100), 50);
    assert_eq!(half.scale(1), 1);
    assert_eq!(Multiplier::from_percent(250).unwrap().scale(10), 25);
    assert!(Multiplier::from_percent(0).is_err());
    assert!(Multiplier::from_percent(Multiplier::MAX_PERCENT + 1).is_err());
}

#[test]
fn rate_limits_refuse_numbers_that_break_exact_arithmetic() {
    assert!(RateLimit::new(100, 100, ms(60_000)).is_ok());
    assert!(matches!(
        RateLimit::new(0, 1, ms(1)),
        Err(RateLimitError::Capacity { .. })
    ));
    assert!(matches!(
        RateLimit::new(1, 0, ms(1)),
        Err(RateLimitError::Rate { .. })
    ));
    assert!(matches!(
        RateLimit::new(1, 1, DurationMs::ZERO),
        Err(RateLimitError::Period { .. })
    ));
    assert!(matches!(
        RateLimit::new(Tokens::MAX.get(), 1, DurationMs::DAY),
        Err(RateLimitError::TooLarge { .. })
    ));
    let json = r#"{"capacity":0,"rate":1,"period_ms":1000}"#;
    assert!(serde_json::from_str::<RateLimit>(json).is_err());
    let json = r#"{"capacity":5,"rate":1,"period_ms":1000}"#;
    assert_eq!(
        serde_json::from_str::<RateLimit>(json).unwrap(),
        RateLimit::new(5, 1, ms(1_000)).unwrap()
    );
}

#[test]
fn reservation_ttls_have_a_default_within_a_bounded_maximum() {
    let ttl = ReservationTtl::new(ms(60_000), ms(600_000)).unwrap();
    assert_eq!(ttl.resolve(None), ms(60_000));
    assert_eq!(ttl.resolve(Some(ms(5))), ms(5));
    assert_eq!(ttl.resolve(Some(ms(900_000))), ms(600_000));
    assert!(ReservationTtl::new(ms(0), ms(10)).is_err());
    assert!(ReservationTtl::new(ms(20), ms(10)).is_err());
    assert!(ReservationTtl::new(ms(10), DurationMs::DAY.checked_mul(2).unwrap()).is_err());
    assert!(PeriodicQuota::new(Tokens::ZERO, DurationMs::DAY).is_err());
}

fn table() -> TierTable {
    let tier = |percent, cap| TierLimits {
        rate_limit_multiplier: Multiplier::from_percent(percent).unwrap(),
        quota_cap: Tokens::new(cap).unwrap(),
    };
    TierTable {
        user: tier(100, 100_000),
        pro: tier(500, 10_000_000),
        enterprise: tier(2_000, 1_000_000_000),
        admin: tier(100_000, Tokens::MAX.get()),
    }
}

fn base_policy() -> PoolPolicy {
    PoolPolicy {
        strategy: RateLimitStrategy::TokenBucket,
        requests: RateLimit::new(60, 60, DurationMs::MINUTE).unwrap(),
        tokens: RateLimit::new(90_000, 90_000, DurationMs::MINUTE).unwrap(),
        overage: OverageRule::Cap,
        reservation_ttl: ReservationTtl::new(DurationMs::MINUTE, DurationMs::HOUR).unwrap(),
        periodic_quota: None,
    }
}

#[test]
fn a_policy_resolves_with_its_tier_into_concrete_numbers() {
    let effective = base_policy().resolve(Tier::Pro, &table()).unwrap();
    assert_eq!(
        effective.requests,
        RateLimit::new(300, 300, DurationMs::MINUTE).unwrap()
    );
    assert_eq!(effective.tokens.capacity(), 450_000);
    assert_eq!(effective.quota_cap, Tokens::new(10_000_000).unwrap());
    assert_eq!(effective.overage, OverageRule::Cap);
}

#[test]
fn a_tier_that_scales_a_limit_out_of_bounds_is_a_configuration_error() {
    let mut policy = base_policy();
    policy.tokens = RateLimit::new(Tokens::MAX.get() / 10, 1, DurationMs::MINUTE).unwrap();
    let err = policy.resolve(Tier::Admin, &table()).unwrap_err();
    assert!(matches!(
        err,
        PolicyError::ScaledRateLimit {
            limit: LimitKind::Tokens,
            tier: Tier::Admin,
            ..
        }
    ));
}

#[test]
fn the_tier_table_is_keyed_by_tier_name_in_configuration() {
    let json = serde_json::to_value(table()).unwrap();
    assert_eq!(json["ENTERPRISE"]["rate_limit_multiplier"], 2_000);
    let back: TierTable = serde_json::from_value(json).unwrap();
    assert_eq!(back, table());
}

// ---- properties --------------------------------------------------------------------

proptest! {
    #[test]
    fn every_valid_pool_id_round_trips(
        owner in "(user|org):[a-z0-9_.-]{1,64}",
        provider in "[a-z0-9-]{1,32}",
    ) {
        let s = format!("{owner}/{provider}");
        let id: PoolId = s.parse().unwrap();
        prop_assert_eq!(id.to_string(), s.clone());
        let json = serde_json::to_string(&id).unwrap();
        prop_assert_eq!(serde_json::from_str::<PoolId>(&json).unwrap(), id);
    }

    #[test]
    fn parsing_never_panics_and_accepts_only_the_canonical_form(s in "\\PC{0,80}") {
        if let Ok(id) = s.parse::<PoolId>() {
            prop_assert_eq!(id.to_string(), s);
        }
    }
}
