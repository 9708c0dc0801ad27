//! Avro forms of the values commands and events share: tier, policy, grant source.

use apache_avro::types::Value;
use domain::{
    EffectivePolicy, GrantSource, OverageRule, PeriodicQuota, RateLimit, RateLimitStrategy,
    ReservationTtl, Tier, Tokens,
};

use crate::value::{Fields, MappingError, Symbols, Union, bounded_long, nullable, record, uuid};

/// The `tier` enum of `ProvisionPool`, `ChangePolicy`, `PoolProvisioned`, `PolicyChanged`.
pub(crate) const TIER: Symbols<Tier> = Symbols {
    record: "Tier",
    field: "tier",
    table: &[
        ("USER", Tier::User),
        ("PRO", Tier::Pro),
        ("ENTERPRISE", Tier::Enterprise),
        ("ADMIN", Tier::Admin),
    ],
};

/// The `strategy` enum of `EffectivePolicy`.
pub(crate) const STRATEGY: Symbols<RateLimitStrategy> = Symbols {
    record: "EffectivePolicy",
    field: "strategy",
    table: &[
        ("LEAKY_BUCKET", RateLimitStrategy::LeakyBucket),
        ("TOKEN_BUCKET", RateLimitStrategy::TokenBucket),
        ("FIXED_WINDOW", RateLimitStrategy::FixedWindow),
    ],
};

/// The `overage` enum of `EffectivePolicy`.
pub(crate) const OVERAGE: Symbols<OverageRule> = Symbols {
    record: "EffectivePolicy",
    field: "overage",
    table: &[("REJECT", OverageRule::Reject), ("CAP", OverageRule::Cap)],
};

/// The `source` union of `GrantTokens` and `TokensGranted`.
pub(crate) const GRANT_SOURCE: Union = Union {
    record: "GrantSource",
    field: "source",
    branches: &["PurchaseGrantSource", "AdminGrantSource"],
};

/// A token amount as a `long`.
pub(crate) fn tokens(t: Tokens) -> Value {
    bounded_long(t.get())
}

/// The `EffectivePolicy` record value.
pub(crate) fn policy_value(policy: &EffectivePolicy) -> Result<Value, MappingError> {
    let ttl = policy.reservation_ttl;
    let quota = policy.periodic_quota.map(|q| {
        record(vec![
            ("limit", tokens(q.limit())),
            ("period_ms", bounded_long(q.period().as_millis())),
        ])
    });
    Ok(record(vec![
        ("strategy", STRATEGY.value(policy.strategy)?),
        ("requests", rate_limit_value(policy.requests)),
        ("tokens", rate_limit_value(policy.tokens)),
        ("overage", OVERAGE.value(policy.overage)?),
        (
            "reservation_ttl",
            record(vec![
                ("default_ms", bounded_long(ttl.default_ttl().as_millis())),
                ("max_ms", bounded_long(ttl.max_ttl().as_millis())),
            ]),
        ),
        ("periodic_quota", nullable(quota)),
        ("quota_cap", tokens(policy.quota_cap)),
    ]))
}

/// The `policy` field of `fields`.
pub(crate) fn take_policy(fields: &mut Fields) -> Result<EffectivePolicy, MappingError> {
    let mut p = fields.record("policy", "EffectivePolicy")?;
    let strategy = STRATEGY.take(&mut p)?;
    let requests = take_rate_limit(&mut p, "requests")?;
    let tokens = take_rate_limit(&mut p, "tokens")?;
    let overage = OVERAGE.take(&mut p)?;
    let mut ttl = p.record("reservation_ttl", "ReservationTtl")?;
    let (default, max) = (ttl.duration("default_ms")?, ttl.duration("max_ms")?);
    let reservation_ttl =
        ReservationTtl::new(default, max).map_err(|e| p.invalid("reservation_ttl", e))?;
    let periodic_quota = match p.nullable("periodic_quota")? {
        None => None,
        Some(value) => {
            let mut q = Fields::of("PeriodicQuota", value)?;
            let (limit, period) = (q.tokens("limit")?, q.duration("period_ms")?);
            let quota = PeriodicQuota::new(limit, period);
            Some(quota.map_err(|e| p.invalid("periodic_quota", e))?)
        }
    };
    Ok(EffectivePolicy {
        strategy,
        requests,
        tokens,
        overage,
        reservation_ttl,
        periodic_quota,
        quota_cap: p.tokens("quota_cap")?,
    })
}

fn rate_limit_value(limit: RateLimit) -> Value {
    record(vec![
        ("capacity", bounded_long(limit.capacity())),
        ("rate", bounded_long(limit.rate())),
        ("period_ms", bounded_long(limit.period().as_millis())),
    ])
}

fn take_rate_limit(fields: &mut Fields, field: &'static str) -> Result<RateLimit, MappingError> {
    let mut l = fields.record(field, "RateLimit")?;
    let capacity = l.unsigned("capacity")?;
    let rate = l.unsigned("rate")?;
    let period = l.duration("period_ms")?;
    RateLimit::new(capacity, rate, period).map_err(|e| fields.invalid(field, e))
}

/// The `source` field value.
pub(crate) fn grant_source_value(source: GrantSource) -> Result<Value, MappingError> {
    match source {
        GrantSource::Purchase { purchase_id } => GRANT_SOURCE.wrap(
            "PurchaseGrantSource",
            record(vec![("purchase_id", uuid(purchase_id))]),
        ),
        GrantSource::Admin => GRANT_SOURCE.wrap("AdminGrantSource", record(vec![])),
    }
}

/// The `source` field of `fields`.
pub(crate) fn take_grant_source(fields: &mut Fields) -> Result<GrantSource, MappingError> {
    let (branch, value) = GRANT_SOURCE.unwrap(fields.take("source")?)?;
    let mut source = Fields::of(branch, value)?;
    match branch {
        "PurchaseGrantSource" => Ok(GrantSource::Purchase {
            purchase_id: source.uuid("purchase_id")?,
        }),
        "AdminGrantSource" => Ok(GrantSource::Admin),
        other => Err(GRANT_SOURCE.unknown(other)),
    }
}
