//! Grants a pool has seen, kept for idempotency and revocation.
//!
//! Grants come from purchases and operators, a handful per pool per month, so they are
//! kept for the pool's lifetime rather than pruned: a revocation may come long after.

use serde::{Deserialize, Serialize};

use super::command::GrantSource;
use crate::tokens::Tokens;

/// One grant as the pool remembers it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct GrantRecord {
    /// Tokens granted (zero for a revoke that arrived before its grant).
    pub amount: Tokens,
    /// Who paid; `None` when the id was revoked before it was ever granted.
    pub source: Option<GrantSource>,
    /// Whether the grant has been revoked.
    pub revoked: bool,
}
