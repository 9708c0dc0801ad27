//! `replies` values: how a command ended, for the command-api instance waiting on it.

mod consistency;
mod parts;
mod purchase;

use apache_avro::types::Value;
use domain::{
    CommandId, LimitSnapshot, PoolId, PoolRateLimits, Timestamp, TokenPool, TokenPoolEvent,
    TokenPoolRejection, TokenTotal,
};

pub use consistency::{ConsistencyToken, ConsistencyTokenError};
pub use parts::{Balance, ReplyOutcome, ReplyRejection};
pub use purchase::PurchaseReplyPart;

#[cfg(test)]
pub(crate) use purchase::PURCHASE_STATUS;

use crate::datum::TopicRecord;
use crate::pool::PoolCommandEnvelope;
use crate::topic::TopicKind;
use crate::value::{Fields, MappingError, Symbols, long, nullable, record, string, uuid};

/// The `outcome` enum.
pub(crate) const OUTCOME: Symbols<ReplyOutcome> = Symbols {
    record: "CommandReplyRecord",
    field: "outcome",
    table: &[
        ("ACCEPTED", ReplyOutcome::Accepted),
        ("REJECTED", ReplyOutcome::Rejected),
        ("EXPIRED", ReplyOutcome::Expired),
    ],
};

/// The answer to one command, keyed by the `reply_to` of the command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandReply {
    /// The command this answers.
    pub command_id: CommandId,
    /// The pool the command was for.
    pub pool_id: PoolId,
    /// How it ended.
    pub outcome: ReplyOutcome,
    /// Where its last event is; `None` when it wrote none.
    pub consistency_token: Option<ConsistencyToken>,
    /// Type names of the events it wrote, in order.
    pub events: Vec<String>,
    /// Why it was refused or expired; `None` when accepted.
    pub rejection: Option<ReplyRejection>,
    /// The pool's totals after it; `None` if the pool does not exist.
    pub balance: Option<Balance>,
    /// The pool's rate limits after it; `None` if the pool does not exist.
    pub limits: Option<PoolRateLimits>,
    /// For a command to a purchase: the purchase after it (`pool_id` is then its pool).
    pub purchase: Option<PurchaseReplyPart>,
}

impl CommandReply {
    /// The reply to `command`, accepted with `events` (the last at `token`), `pool` as after them.
    pub fn accepted(
        command: &PoolCommandEnvelope,
        events: &[TokenPoolEvent],
        token: Option<ConsistencyToken>,
        pool: &TokenPool,
        now: Timestamp,
    ) -> Self {
        Self {
            outcome: ReplyOutcome::Accepted,
            consistency_token: token,
            events: events.iter().map(|e| e.name().to_owned()).collect(),
            ..Self::about(command, pool, now)
        }
    }

    /// The reply to `command`, refused by `pool` with `rejection`.
    pub fn rejected(
        command: &PoolCommandEnvelope,
        rejection: &TokenPoolRejection,
        pool: &TokenPool,
        now: Timestamp,
    ) -> Self {
        Self {
            outcome: ReplyOutcome::Rejected,
            rejection: Some(ReplyRejection::from_rejection(rejection)),
            ..Self::about(command, pool, now)
        }
    }

    /// The reply to `command`, not handled because its deadline had passed at `now`.
    pub fn expired(command: &PoolCommandEnvelope, now: Timestamp) -> Self {
        Self {
            outcome: ReplyOutcome::Expired,
            rejection: Some(ReplyRejection::deadline_exceeded(command.deadline, now)),
            ..Self::about(command, &TokenPool::default(), now)
        }
    }

    fn about(command: &PoolCommandEnvelope, pool: &TokenPool, now: Timestamp) -> Self {
        Self {
            command_id: command.command_id,
            pool_id: command.pool_id.clone(),
            outcome: ReplyOutcome::Accepted,
            consistency_token: None,
            events: Vec::new(),
            rejection: None,
            balance: pool.is_provisioned().then(|| Balance::of(pool)),
            limits: pool.rate_limits_at(now),
            purchase: None,
        }
    }
}

impl TopicRecord for CommandReply {
    const KIND: TopicKind = TopicKind::Replies;

    fn to_avro(&self) -> Result<Value, MappingError> {
        let rejection = self.rejection.as_ref().map(|r| {
            record(vec![
                ("code", string(&r.code)),
                ("message", string(&r.message)),
                ("detail_json", string(&r.detail)),
            ])
        });
        let balance = self.balance.map(balance_value).transpose()?;
        let limits = match self.limits {
            None => None,
            Some(l) => Some(record(vec![
                ("requests", limit_value(&l.requests)?),
                ("tokens", limit_value(&l.tokens)?),
            ])),
        };
        Ok(record(vec![
            ("command_id", uuid(self.command_id)),
            ("pool_id", string(&self.pool_id)),
            ("outcome", OUTCOME.value(self.outcome)?),
            (
                "consistency_token",
                nullable(self.consistency_token.map(string)),
            ),
            (
                "events",
                Value::Array(self.events.iter().map(string).collect()),
            ),
            ("rejection", nullable(rejection)),
            ("balance", nullable(balance)),
            ("limits", nullable(limits)),
            (
                "purchase",
                nullable(
                    self.purchase
                        .as_ref()
                        .map(purchase::purchase_value)
                        .transpose()?,
                ),
            ),
        ]))
    }

    fn from_avro(value: Value) -> Result<Self, MappingError> {
        let mut f = Fields::of("CommandReplyRecord", value)?;
        Ok(Self {
            command_id: f.uuid("command_id")?,
            pool_id: f.parse("pool_id")?,
            outcome: OUTCOME.take(&mut f)?,
            consistency_token: f.optional("consistency_token", Fields::parse)?,
            events: f.strings("events")?,
            rejection: f.optional("rejection", take_rejection)?,
            balance: f.optional("balance", take_balance)?,
            limits: f.optional("limits", take_limits)?,
            purchase: f.optional("purchase", purchase::take_purchase)?,
        })
    }
}

fn take_rejection(f: &mut Fields, field: &'static str) -> Result<ReplyRejection, MappingError> {
    let mut r = f.record(field, "ReplyRejection")?;
    let code = r.string("code")?;
    let message = r.string("message")?;
    let json = r.string("detail_json")?;
    let detail = serde_json::from_str(&json).map_err(|e| r.invalid("detail_json", e))?;
    Ok(ReplyRejection {
        code,
        message,
        detail,
    })
}

fn balance_value(b: Balance) -> Result<Value, MappingError> {
    const RECORD: &str = "Balance";
    Ok(record(vec![
        ("granted", long(RECORD, "granted", b.granted.get())?),
        ("consumed", long(RECORD, "consumed", b.consumed.get())?),
        ("reserved", long(RECORD, "reserved", b.reserved.get())?),
        ("available", long(RECORD, "available", b.available.get())?),
    ]))
}

fn take_balance(f: &mut Fields, field: &'static str) -> Result<Balance, MappingError> {
    let mut b = f.record(field, "Balance")?;
    Ok(Balance {
        granted: TokenTotal::new(b.unsigned("granted")?),
        consumed: TokenTotal::new(b.unsigned("consumed")?),
        reserved: TokenTotal::new(b.unsigned("reserved")?),
        available: b.tokens("available")?,
    })
}

fn limit_value(l: &LimitSnapshot) -> Result<Value, MappingError> {
    const RECORD: &str = "LimitState";
    Ok(record(vec![
        ("limit", long(RECORD, "limit", l.limit)?),
        ("remaining", long(RECORD, "remaining", l.remaining)?),
        (
            "reset_after_ms",
            long(RECORD, "reset_after_ms", l.reset_after.as_millis())?,
        ),
    ]))
}

fn take_limits(f: &mut Fields, field: &'static str) -> Result<PoolRateLimits, MappingError> {
    let mut l = f.record(field, "Limits")?;
    Ok(PoolRateLimits {
        requests: take_limit(&mut l, "requests")?,
        tokens: take_limit(&mut l, "tokens")?,
    })
}

fn take_limit(f: &mut Fields, field: &'static str) -> Result<LimitSnapshot, MappingError> {
    let mut l = f.record(field, "LimitState")?;
    Ok(LimitSnapshot {
        limit: l.unsigned("limit")?,
        remaining: l.unsigned("remaining")?,
        reset_after: l.duration("reset_after_ms")?,
    })
}
