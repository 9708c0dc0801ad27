//! `token-pool.events` values: a [`TokenPoolEvent`] with the command that caused it.

use apache_avro::types::Value;
use domain::{Actor, CommandId, Holder, PoolId, TokenPoolEvent};

use super::command::PoolCommandEnvelope;
use super::policy::{
    TIER, grant_source_value, policy_value, take_grant_source, take_policy, tokens,
};
use crate::datum::TopicRecord;
use crate::topic::TopicKind;
use crate::value::{Fields, MappingError, Union, nullable, record, string, timestamp, uuid};

/// The `event` union: one record per [`TokenPoolEvent`] variant, named like it.
pub(crate) const EVENT: Union = Union {
    record: "PoolEventRecord",
    field: "event",
    branches: &[
        "PoolProvisioned",
        "TokensGranted",
        "GrantRevoked",
        "TokensReserved",
        "ReservationSettled",
        "ReservationReleased",
        "ReservationExpired",
        "TokensConsumed",
        "PolicyChanged",
        "QuotaPeriodReset",
    ],
};

/// An event record: the fact, and the command and actor it came from (for audit).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PoolEventEnvelope {
    /// The pool, also the record key.
    pub pool_id: PoolId,
    /// The command that caused the event.
    pub command_id: CommandId,
    /// On whose behalf that command was issued.
    pub actor: Actor,
    /// What happened.
    pub event: TokenPoolEvent,
}

impl PoolEventEnvelope {
    /// The record of `event`, caused by `command`.
    pub fn caused_by(command: &PoolCommandEnvelope, event: TokenPoolEvent) -> Self {
        Self {
            pool_id: command.pool_id.clone(),
            command_id: command.command_id,
            actor: command.actor.clone(),
            event,
        }
    }
}

impl TopicRecord for PoolEventEnvelope {
    const KIND: TopicKind = TopicKind::PoolEvents;

    fn to_avro(&self) -> Result<Value, MappingError> {
        Ok(record(vec![
            ("pool_id", string(&self.pool_id)),
            ("command_id", uuid(self.command_id)),
            ("actor", string(&self.actor)),
            ("event", event_value(&self.event)?),
        ]))
    }

    fn from_avro(value: Value) -> Result<Self, MappingError> {
        let mut f = Fields::of("PoolEventRecord", value)?;
        Ok(Self {
            pool_id: f.parse("pool_id")?,
            command_id: f.uuid("command_id")?,
            actor: f.parse("actor")?,
            event: take_event(f.take("event")?)?,
        })
    }
}

fn event_value(event: &TokenPoolEvent) -> Result<Value, MappingError> {
    use TokenPoolEvent as E;
    let fields = match event {
        E::PoolProvisioned {
            pool,
            tier,
            policy,
            at,
        } => vec![
            ("pool", string(pool)),
            ("tier", TIER.value(*tier)?),
            ("policy", policy_value(policy)?),
            ("at", timestamp(*at)),
        ],
        E::TokensGranted {
            grant_id,
            amount,
            source,
            overdraft_repaid,
            at,
        } => vec![
            ("grant_id", uuid(*grant_id)),
            ("amount", tokens(*amount)),
            ("source", grant_source_value(*source)?),
            ("overdraft_repaid", tokens(*overdraft_repaid)),
            ("at", timestamp(*at)),
        ],
        E::GrantRevoked {
            grant_id,
            amount,
            recovered,
            overdraft_added,
            at,
        } => vec![
            ("grant_id", uuid(*grant_id)),
            ("amount", tokens(*amount)),
            ("recovered", tokens(*recovered)),
            ("overdraft_added", tokens(*overdraft_added)),
            ("at", timestamp(*at)),
        ],
        E::TokensReserved {
            reservation_id,
            amount,
            expires_at,
            holder,
            at,
        } => vec![
            ("reservation_id", uuid(*reservation_id)),
            ("amount", tokens(*amount)),
            ("expires_at", timestamp(*expires_at)),
            (
                "held_by",
                nullable(holder.as_ref().map(|h| string(&h.actor))),
            ),
            (
                "held_via",
                nullable(holder.as_ref().and_then(|h| h.via.as_ref()).map(string)),
            ),
            ("at", timestamp(*at)),
        ],
        E::ReservationSettled {
            reservation_id,
            reserved,
            consumed,
            released,
            uncharged_overage,
            at,
        } => vec![
            ("reservation_id", uuid(*reservation_id)),
            ("reserved", tokens(*reserved)),
            ("consumed", tokens(*consumed)),
            ("released", tokens(*released)),
            ("uncharged_overage", tokens(*uncharged_overage)),
            ("at", timestamp(*at)),
        ],
        E::ReservationReleased {
            reservation_id,
            amount,
            at,
        } => vec![
            ("reservation_id", uuid(*reservation_id)),
            ("amount", tokens(*amount)),
            ("at", timestamp(*at)),
        ],
        E::ReservationExpired {
            reservation_id,
            amount,
            expires_at,
            at,
        } => vec![
            ("reservation_id", uuid(*reservation_id)),
            ("amount", tokens(*amount)),
            ("expires_at", timestamp(*expires_at)),
            ("at", timestamp(*at)),
        ],
        E::TokensConsumed {
            amount,
            overdrawn,
            at,
        } => vec![
            ("amount", tokens(*amount)),
            ("overdrawn", tokens(*overdrawn)),
            ("at", timestamp(*at)),
        ],
        E::PolicyChanged { tier, policy, at } => vec![
            ("tier", TIER.value(*tier)?),
            ("policy", policy_value(policy)?),
            ("at", timestamp(*at)),
        ],
        E::QuotaPeriodReset { period_start, at } => vec![
            ("period_start", timestamp(*period_start)),
            ("at", timestamp(*at)),
        ],
    };
    // `name()` is the variant's name, which is the branch's record name.
    EVENT.wrap(event.name(), record(fields))
}

fn take_event(value: Value) -> Result<TokenPoolEvent, MappingError> {
    use TokenPoolEvent as E;
    let (branch, value) = EVENT.unwrap(value)?;
    let mut f = Fields::of(branch, value)?;
    Ok(match branch {
        "PoolProvisioned" => E::PoolProvisioned {
            pool: f.parse("pool")?,
            tier: TIER.take(&mut f)?,
            policy: take_policy(&mut f)?,
            at: f.timestamp("at")?,
        },
        "TokensGranted" => E::TokensGranted {
            grant_id: f.uuid("grant_id")?,
            amount: f.tokens("amount")?,
            source: take_grant_source(&mut f)?,
            overdraft_repaid: f.tokens("overdraft_repaid")?,
            at: f.timestamp("at")?,
        },
        "GrantRevoked" => E::GrantRevoked {
            grant_id: f.uuid("grant_id")?,
            amount: f.tokens("amount")?,
            recovered: f.tokens("recovered")?,
            overdraft_added: f.tokens("overdraft_added")?,
            at: f.timestamp("at")?,
        },
        "TokensReserved" => E::TokensReserved {
            reservation_id: f.uuid("reservation_id")?,
            amount: f.tokens("amount")?,
            expires_at: f.timestamp("expires_at")?,
            holder: take_holder(&mut f)?,
            at: f.timestamp("at")?,
        },
        "ReservationSettled" => E::ReservationSettled {
            reservation_id: f.uuid("reservation_id")?,
            reserved: f.tokens("reserved")?,
            consumed: f.tokens("consumed")?,
            released: f.tokens("released")?,
            uncharged_overage: f.tokens("uncharged_overage")?,
            at: f.timestamp("at")?,
        },
        "ReservationReleased" => E::ReservationReleased {
            reservation_id: f.uuid("reservation_id")?,
            amount: f.tokens("amount")?,
            at: f.timestamp("at")?,
        },
        "ReservationExpired" => E::ReservationExpired {
            reservation_id: f.uuid("reservation_id")?,
            amount: f.tokens("amount")?,
            expires_at: f.timestamp("expires_at")?,
            at: f.timestamp("at")?,
        },
        "TokensConsumed" => E::TokensConsumed {
            amount: f.tokens("amount")?,
            overdrawn: f.tokens("overdrawn")?,
            at: f.timestamp("at")?,
        },
        "PolicyChanged" => E::PolicyChanged {
            tier: TIER.take(&mut f)?,
            policy: take_policy(&mut f)?,
            at: f.timestamp("at")?,
        },
        "QuotaPeriodReset" => E::QuotaPeriodReset {
            period_start: f.timestamp("period_start")?,
            at: f.timestamp("at")?,
        },
        other => return Err(EVENT.unknown(other)),
    })
}

/// `held_by` and `held_via`: a holder when `held_by` is set (v1 records have neither).
fn take_holder(f: &mut Fields) -> Result<Option<Holder>, MappingError> {
    let actor: Option<Actor> = f.optional("held_by", Fields::parse)?;
    let via = f.optional("held_via", Fields::parse)?;
    Ok(actor.map(|actor| Holder::new(actor, via)))
}
