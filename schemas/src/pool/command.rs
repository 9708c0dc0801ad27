//! `token-pool.commands` values: a [`TokenPoolCommand`] with who sent it, why and until when.

use apache_avro::types::Value;
use domain::{Actor, CommandId, PoolId, Timestamp, TokenPoolCommand};

use super::policy::{
    TIER, grant_source_value, policy_value, take_grant_source, take_policy, tokens,
};
use crate::datum::TopicRecord;
use crate::topic::TopicKind;
use crate::value::{
    Fields, MappingError, Union, bounded_long, nullable, record, string, timestamp, uuid,
};

/// The `command` union: one record per [`TokenPoolCommand`] variant, named like it.
pub(crate) const COMMAND: Union = Union {
    record: "PoolCommandRecord",
    field: "command",
    branches: &[
        "ProvisionPool",
        "GrantTokens",
        "RevokeGrant",
        "Reserve",
        "Settle",
        "Release",
        "ExpireReservations",
        "Consume",
        "ChangePolicy",
        "ResetQuotaPeriod",
        "ChargeUsage",
    ],
};

/// A command record: the command and everything the processor needs to handle and answer it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PoolCommandEnvelope {
    /// Identifies the command; the processor deduplicates on it.
    pub command_id: CommandId,
    /// The pool, also the record key.
    pub pool_id: PoolId,
    /// The command-api instance waiting for the reply (the reply's record key).
    pub reply_to: String,
    /// On whose behalf the command was issued.
    pub actor: Actor,
    /// When the issuer sent it.
    pub issued_at: Timestamp,
    /// After this the processor answers `EXPIRED` instead of handling it.
    pub deadline: Timestamp,
    /// What is asked of the pool.
    pub command: TokenPoolCommand,
}

impl PoolCommandEnvelope {
    /// Whether the deadline has passed at `now` (the processor then replies `EXPIRED`).
    pub fn is_past_deadline(&self, now: Timestamp) -> bool {
        now > self.deadline
    }

    /// The command's type name, as in the Avro union and `PoolRejectionRecord::command_type`.
    pub fn command_type(&self) -> &'static str {
        command_type(&self.command)
    }
}

/// The type name of a command: its variant name, which is also its Avro record name.
pub fn command_type(command: &TokenPoolCommand) -> &'static str {
    match command {
        TokenPoolCommand::ProvisionPool { .. } => "ProvisionPool",
        TokenPoolCommand::GrantTokens { .. } => "GrantTokens",
        TokenPoolCommand::RevokeGrant { .. } => "RevokeGrant",
        TokenPoolCommand::Reserve { .. } => "Reserve",
        TokenPoolCommand::Settle { .. } => "Settle",
        TokenPoolCommand::Release { .. } => "Release",
        TokenPoolCommand::ExpireReservations => "ExpireReservations",
        TokenPoolCommand::Consume { .. } => "Consume",
        TokenPoolCommand::ChangePolicy { .. } => "ChangePolicy",
        TokenPoolCommand::ResetQuotaPeriod { .. } => "ResetQuotaPeriod",
        TokenPoolCommand::ChargeUsage { .. } => "ChargeUsage",
    }
}

impl TopicRecord for PoolCommandEnvelope {
    const KIND: TopicKind = TopicKind::PoolCommands;

    fn to_avro(&self) -> Result<Value, MappingError> {
        Ok(record(vec![
            ("command_id", uuid(self.command_id)),
            ("pool_id", string(&self.pool_id)),
            ("reply_to", string(&self.reply_to)),
            ("actor", string(&self.actor)),
            ("issued_at", timestamp(self.issued_at)),
            ("deadline", timestamp(self.deadline)),
            ("command", command_value(&self.command)?),
        ]))
    }

    fn from_avro(value: Value) -> Result<Self, MappingError> {
        let mut f = Fields::of("PoolCommandRecord", value)?;
        Ok(Self {
            command_id: f.uuid("command_id")?,
            pool_id: f.parse("pool_id")?,
            reply_to: f.string("reply_to")?,
            actor: f.parse("actor")?,
            issued_at: f.timestamp("issued_at")?,
            deadline: f.timestamp("deadline")?,
            command: take_command(f.take("command")?)?,
        })
    }
}

fn command_value(command: &TokenPoolCommand) -> Result<Value, MappingError> {
    use TokenPoolCommand as C;
    let fields = match command {
        C::ProvisionPool { pool, tier, policy } => vec![
            ("pool", string(pool)),
            ("tier", TIER.value(*tier)?),
            ("policy", policy_value(policy)?),
        ],
        C::GrantTokens {
            grant_id,
            amount,
            source,
        } => vec![
            ("grant_id", uuid(*grant_id)),
            ("amount", tokens(*amount)),
            ("source", grant_source_value(*source)?),
        ],
        C::RevokeGrant { grant_id } => vec![("grant_id", uuid(*grant_id))],
        C::Reserve {
            reservation_id,
            amount,
            ttl_ms,
            via,
        } => vec![
            ("reservation_id", uuid(*reservation_id)),
            ("amount", tokens(*amount)),
            (
                "ttl_ms",
                nullable(ttl_ms.map(|d| bounded_long(d.as_millis()))),
            ),
            ("via", nullable(via.as_ref().map(string))),
        ],
        C::Settle {
            reservation_id,
            actual,
            via,
        } => vec![
            ("reservation_id", uuid(*reservation_id)),
            ("actual", tokens(*actual)),
            ("via", nullable(via.as_ref().map(string))),
        ],
        C::Release {
            reservation_id,
            via,
        } => vec![
            ("reservation_id", uuid(*reservation_id)),
            ("via", nullable(via.as_ref().map(string))),
        ],
        C::ExpireReservations => vec![],
        C::Consume { amount } | C::ChargeUsage { amount } => vec![("amount", tokens(*amount))],
        C::ChangePolicy { tier, policy } => vec![
            ("tier", TIER.value(*tier)?),
            ("policy", policy_value(policy)?),
        ],
        C::ResetQuotaPeriod { period_start } => {
            vec![("period_start", timestamp(*period_start))]
        }
    };
    COMMAND.wrap(command_type(command), record(fields))
}

fn take_command(value: Value) -> Result<TokenPoolCommand, MappingError> {
    use TokenPoolCommand as C;
    let (branch, value) = COMMAND.unwrap(value)?;
    let mut f = Fields::of(branch, value)?;
    Ok(match branch {
        "ProvisionPool" => C::ProvisionPool {
            pool: f.parse("pool")?,
            tier: TIER.take(&mut f)?,
            policy: take_policy(&mut f)?,
        },
        "GrantTokens" => C::GrantTokens {
            grant_id: f.uuid("grant_id")?,
            amount: f.tokens("amount")?,
            source: take_grant_source(&mut f)?,
        },
        "RevokeGrant" => C::RevokeGrant {
            grant_id: f.uuid("grant_id")?,
        },
        "Reserve" => C::Reserve {
            reservation_id: f.uuid("reservation_id")?,
            amount: f.tokens("amount")?,
            ttl_ms: f.optional("ttl_ms", Fields::duration)?,
            via: f.optional("via", Fields::parse)?,
        },
        "Settle" => C::Settle {
            reservation_id: f.uuid("reservation_id")?,
            actual: f.tokens("actual")?,
            via: f.optional("via", Fields::parse)?,
        },
        "Release" => C::Release {
            reservation_id: f.uuid("reservation_id")?,
            via: f.optional("via", Fields::parse)?,
        },
        "ExpireReservations" => C::ExpireReservations,
        "Consume" => C::Consume {
            amount: f.tokens("amount")?,
        },
        "ChangePolicy" => C::ChangePolicy {
            tier: TIER.take(&mut f)?,
            policy: take_policy(&mut f)?,
        },
        "ResetQuotaPeriod" => C::ResetQuotaPeriod {
            period_start: f.timestamp("period_start")?,
        },
        "ChargeUsage" => C::ChargeUsage {
            amount: f.tokens("amount")?,
        },
        other => return Err(COMMAND.unknown(other)),
    })
}
