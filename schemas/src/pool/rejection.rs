//! `token-pool.rejections` values: a decision that refused a command, for analytics.

use apache_avro::types::Value;
use domain::{Actor, CommandId, PoolId, Timestamp, TokenPoolRejection};

use super::command::PoolCommandEnvelope;
use crate::datum::TopicRecord;
use crate::topic::TopicKind;
use crate::value::{Fields, MappingError, record, string, timestamp, uuid};

/// A refused command: which, by whom, when and why.
///
/// `code`, `message` and `detail_json` of the Avro record all come from `rejection`, so
/// analytics can group by code without parsing JSON while nothing is lost for replay.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PoolRejectionRecord {
    /// The pool, also the record key.
    pub pool_id: PoolId,
    /// The refused command.
    pub command_id: CommandId,
    /// On whose behalf it was issued.
    pub actor: Actor,
    /// When it was refused.
    pub at: Timestamp,
    /// The command's type name (see [`command_type`](crate::command_type)).
    pub command_type: String,
    /// Why.
    pub rejection: TokenPoolRejection,
}

impl PoolRejectionRecord {
    /// The record of `command` refused at `at` with `rejection`.
    pub fn new(
        command: &PoolCommandEnvelope,
        at: Timestamp,
        rejection: TokenPoolRejection,
    ) -> Self {
        Self {
            pool_id: command.pool_id.clone(),
            command_id: command.command_id,
            actor: command.actor.clone(),
            at,
            command_type: command.command_type().to_owned(),
            rejection,
        }
    }
}

/// A record whose `code` column disagrees with its `detail_json`.
#[derive(Debug, thiserror::Error)]
#[error("code {code:?} does not match the detail's code {detail:?}")]
pub struct CodeMismatch {
    /// The `code` column.
    pub code: String,
    /// The code of the rejection in `detail_json`.
    pub detail: &'static str,
}

impl TopicRecord for PoolRejectionRecord {
    const KIND: TopicKind = TopicKind::PoolRejections;

    fn to_avro(&self) -> Result<Value, MappingError> {
        let detail = serde_json::to_string(&self.rejection).map_err(|e| MappingError::Invalid {
            record: "PoolRejectionRecord",
            field: "detail_json",
            source: Box::new(e),
        })?;
        Ok(record(vec![
            ("pool_id", string(&self.pool_id)),
            ("command_id", uuid(self.command_id)),
            ("actor", string(&self.actor)),
            ("at", timestamp(self.at)),
            ("command_type", string(&self.command_type)),
            ("code", string(self.rejection.code())),
            ("message", string(&self.rejection)),
            ("detail_json", Value::String(detail)),
        ]))
    }

    fn from_avro(value: Value) -> Result<Self, MappingError> {
        let mut f = Fields::of("PoolRejectionRecord", value)?;
        let pool_id = f.parse("pool_id")?;
        let command_id = f.uuid("command_id")?;
        let actor = f.parse("actor")?;
        let at = f.timestamp("at")?;
        let command_type = f.string("command_type")?;
        let code = f.string("code")?;
        let json = f.string("detail_json")?;
        let rejection: TokenPoolRejection =
            serde_json::from_str(&json).map_err(|e| f.invalid("detail_json", e))?;
        // The message is for people and may be reworded between versions; the code may not.
        if code != rejection.code() {
            let detail = rejection.code();
            return Err(f.invalid("code", CodeMismatch { code, detail }));
        }
        Ok(Self {
            pool_id,
            command_id,
            actor,
            at,
            command_type,
            rejection,
        })
    }
}
