//! Consistency tokens: where in the events topic a command's effects end.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// `partition:offset` of the last event a command wrote; a view that has passed it shows
/// the command's effects (read-your-writes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ConsistencyToken {
    /// Partition of the events topic (the pool's partition).
    pub partition: i32,
    /// Offset of the event in that partition.
    pub offset: i64,
}

/// Why a string is not a consistency token.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "a consistency token looks like '<partition>:<offset>' with both non-negative, got {input:?}"
)]
pub struct ConsistencyTokenError {
    /// The rejected input.
    pub input: String,
}

impl FromStr for ConsistencyToken {
    type Err = ConsistencyTokenError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let error = || ConsistencyTokenError {
            input: s.to_owned(),
        };
        let (partition, offset) = s.split_once(':').ok_or_else(error)?;
        let partition: i32 = partition.parse().map_err(|_| error())?;
        let offset: i64 = offset.parse().map_err(|_| error())?;
        if partition < 0 || offset < 0 {
            return Err(error());
        }
        Ok(Self { partition, offset })
    }
}

impl fmt::Display for ConsistencyToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.partition, self.offset)
    }
}

impl TryFrom<String> for ConsistencyToken {
    type Error = ConsistencyTokenError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

impl From<ConsistencyToken> for String {
    fn from(token: ConsistencyToken) -> String {
        token.to_string()
    }
}
