//! The topics whose values are Avro, and every published version of each one's schema.
//!
//! The `.avsc` files under `schemas/avro/<topic>/` are the contract; they are compiled in
//! here so a binary always carries the schemas it was tested against. A version is never
//! edited once published: a change is a new `vN+1.avsc`, appended to [`TopicKind::versions`],
//! and `tests/compat.rs` checks it can read everything the older versions wrote.

use std::fmt;

/// A kind of topic: what its values are, whatever the deployment's topic prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TopicKind {
    /// `token-pool.commands`: [`PoolCommandEnvelope`](crate::PoolCommandEnvelope).
    PoolCommands,
    /// `token-pool.events`: [`PoolEventEnvelope`](crate::PoolEventEnvelope).
    PoolEvents,
    /// `token-pool.state`: [`PoolSnapshot`](crate::PoolSnapshot).
    PoolState,
    /// `token-pool.rejections`: [`PoolRejectionRecord`](crate::PoolRejectionRecord).
    PoolRejections,
    /// `replies`: [`CommandReply`](crate::CommandReply).
    Replies,
    /// `purchase.commands`: [`PurchaseCommandEnvelope`](crate::PurchaseCommandEnvelope).
    PurchaseCommands,
    /// `purchase.events`: [`PurchaseEventEnvelope`](crate::PurchaseEventEnvelope).
    PurchaseEvents,
    /// `purchase.state`: [`PurchaseSnapshot`](crate::PurchaseSnapshot).
    PurchaseState,
    /// `auth.events`: [`AuthEvent`](domain::AuthEvent).
    AuthEvents,
}

impl TopicKind {
    /// Every topic kind with Avro values.
    pub const ALL: [TopicKind; 9] = [
        TopicKind::PoolCommands,
        TopicKind::PoolEvents,
        TopicKind::PoolState,
        TopicKind::PoolRejections,
        TopicKind::Replies,
        TopicKind::PurchaseCommands,
        TopicKind::PurchaseEvents,
        TopicKind::PurchaseState,
        TopicKind::AuthEvents,
    ];

    /// Position in [`TopicKind::ALL`].
    pub(crate) const fn index(self) -> usize {
        match self {
            Self::PoolCommands => 0,
            Self::PoolEvents => 1,
            Self::PoolState => 2,
            Self::PoolRejections => 3,
            Self::Replies => 4,
            Self::PurchaseCommands => 5,
            Self::PurchaseEvents => 6,
            Self::PurchaseState => 7,
            Self::AuthEvents => 8,
        }
    }

    /// The topic name without the deployment prefix; also the directory of its `.avsc` files.
    pub const fn suffix(self) -> &'static str {
        match self {
            Self::PoolCommands => "token-pool.commands",
            Self::PoolEvents => "token-pool.events",
            Self::PoolState => "token-pool.state",
            Self::PoolRejections => "token-pool.rejections",
            Self::Replies => "replies",
            Self::PurchaseCommands => "purchase.commands",
            Self::PurchaseEvents => "purchase.events",
            Self::PurchaseState => "purchase.state",
            Self::AuthEvents => "auth.events",
        }
    }

    /// The topic's name in a deployment whose topics start with `prefix`.
    pub fn topic(self, prefix: &str) -> String {
        format!("{prefix}{}", self.suffix())
    }

    /// Whether `topic` is this kind's topic under some prefix.
    pub fn matches(self, topic: &str) -> bool {
        topic.ends_with(self.suffix())
    }

    /// Full name of the top-level Avro record of the values.
    pub const fn record_name(self) -> &'static str {
        match self {
            Self::PoolCommands => "dev.leakytokens.PoolCommandRecord",
            Self::PoolEvents => "dev.leakytokens.PoolEventRecord",
            Self::PoolState => "dev.leakytokens.PoolSnapshotRecord",
            Self::PoolRejections => "dev.leakytokens.PoolRejectionRecord",
            Self::Replies => "dev.leakytokens.CommandReplyRecord",
            Self::PurchaseCommands => "dev.leakytokens.PurchaseCommandRecord",
            Self::PurchaseEvents => "dev.leakytokens.PurchaseEventRecord",
            Self::PurchaseState => "dev.leakytokens.PurchaseSnapshotRecord",
            Self::AuthEvents => "dev.leakytokens.AuthEventRecord",
        }
    }

    /// Every published schema version, oldest first: `versions()[n]` is `v{n+1}.avsc`.
    pub fn versions(self) -> &'static [&'static str] {
        match self {
            Self::PoolCommands => &[
                include_str!("../avro/token-pool.commands/v1.avsc"),
                include_str!("../avro/token-pool.commands/v2.avsc"),
            ],
            Self::PoolEvents => &[
                include_str!("../avro/token-pool.events/v1.avsc"),
                include_str!("../avro/token-pool.events/v2.avsc"),
            ],
            Self::PoolState => &[include_str!("../avro/token-pool.state/v1.avsc")],
            Self::PoolRejections => &[include_str!("../avro/token-pool.rejections/v1.avsc")],
            Self::Replies => &[
                include_str!("../avro/replies/v1.avsc"),
                include_str!("../avro/replies/v2.avsc"),
                include_str!("../avro/replies/v3.avsc"),
            ],
            Self::PurchaseCommands => &[include_str!("../avro/purchase.commands/v1.avsc")],
            Self::PurchaseEvents => &[include_str!("../avro/purchase.events/v1.avsc")],
            Self::PurchaseState => &[include_str!("../avro/purchase.state/v1.avsc")],
            Self::AuthEvents => &[
                include_str!("../avro/auth.events/v1.avsc"),
                include_str!("../avro/auth.events/v2.avsc"),
            ],
        }
    }

    /// The newest schema: the one this code writes with and resolves every record to.
    pub fn current(self) -> &'static str {
        let versions = self.versions();
        // Every kind has at least v1 (`tests/compat.rs` checks it), so this is never empty.
        versions.last().copied().unwrap_or_default()
    }
}

impl fmt::Display for TopicKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.suffix())
    }
}

/// The schema-registry subject of a topic's values (`TopicNameStrategy`).
pub fn value_subject(topic: &str) -> String {
    format!("{topic}-value")
}
