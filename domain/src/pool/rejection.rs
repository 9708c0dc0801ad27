//! Why a token pool refused a command. A rejection produces no events.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::ids::{GrantId, ReservationId};
use crate::pool_id::PoolId;
use crate::rate_limit::{LimitKind, RetryAfter};
use crate::time::DurationMs;
use crate::time::Timestamp;
use crate::tokens::Tokens;

/// Whether a rejection is a decision worth recording or a plain error.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum RejectionKind {
    /// A valid request refused by policy (quota, rate limit): goes to `token-pool.rejections`
    /// for analytics. It changes nothing and is never read to rebuild state.
    Decision,
    /// A request that is wrong or stale (unknown id, conflict, bad amount): only replied to.
    Error,
}

/// Which amount of a command was invalid.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum AmountField {
    /// `GrantTokens::amount`.
    GrantAmount,
    /// `Reserve::amount`.
    ReserveAmount,
    /// `Reserve::ttl_ms`.
    ReservationTtl,
    /// `Consume::amount`.
    ConsumeAmount,
}

impl fmt::Display for AmountField {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::GrantAmount => "grant amount",
            Self::ReserveAmount => "reservation amount",
            Self::ReservationTtl => "reservation TTL",
            Self::ConsumeAmount => "consumed amount",
        })
    }
}

/// How a reservation was resolved.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ResolutionKind {
    /// Settled with real usage.
    Settled,
    /// Released unused.
    Released,
    /// Lapsed at its TTL.
    Expired,
}

impl fmt::Display for ResolutionKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Settled => "settled",
            Self::Released => "released",
            Self::Expired => "expired",
        })
    }
}

/// What an idempotency key clashed on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "kind", content = "id", rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ConflictSubject {
    /// A reservation id reused with another amount or TTL.
    Reservation(ReservationId),
    /// A grant id reused with another amount or source.
    Grant(GrantId),
}

impl fmt::Display for ConflictSubject {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Reservation(id) => write!(f, "reservation {id}"),
            Self::Grant(id) => write!(f, "grant {id}"),
        }
    }
}

/// Why a token pool refused a command; `code` is the machine-readable name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
#[serde(tag = "code", rename_all = "snake_case")]
pub enum TokenPoolRejection {
    /// The pool does not exist yet.
    #[error("the pool has not been provisioned")]
    PoolNotProvisioned,
    /// The pool exists with another tier or policy (use `ChangePolicy`).
    #[error("pool {pool} is already provisioned with a different tier or policy")]
    AlreadyProvisioned {
        /// The existing pool.
        pool: PoolId,
    },
    /// An amount or TTL of zero.
    #[error("{field} must be greater than zero")]
    InvalidAmount {
        /// Which one.
        field: AmountField,
    },
    /// Not enough unreserved balance (a decision).
    #[error("requested {requested} tokens but only {available} are available")]
    QuotaExhausted {
        /// Tokens asked for.
        requested: Tokens,
        /// Tokens that could have been granted.
        available: Tokens,
    },
    /// The periodic quota would be exceeded (a decision).
    #[error(
        "requested {requested} tokens but only {remaining} remain in the quota period ending at {period_ends_at}"
    )]
    PeriodicQuotaExhausted {
        /// Tokens asked for.
        requested: Tokens,
        /// Tokens left in this period (held tokens count as used).
        remaining: Tokens,
        /// When the period rolls over by itself.
        period_ends_at: Timestamp,
    },
    /// A rate limit would be exceeded (a decision).
    #[error("{limit} rate limit exceeded: {retry_after}")]
    RateLimited {
        /// Which limit; if both refused, the one that frees up last.
        limit: LimitKind,
        /// When exactly the same request would pass both limits.
        retry_after: RetryAfter,
    },
    /// The grant would leave more unspent tokens than the tier allows.
    #[error(
        "granting {requested} tokens to a pool holding {unspent} unspent would exceed its cap of {cap}"
    )]
    QuotaCapExceeded {
        /// Tokens to grant.
        requested: Tokens,
        /// Granted-but-unspent tokens now (held tokens included).
        unspent: Tokens,
        /// The tier's cap.
        cap: Tokens,
    },
    /// No open or recently resolved reservation has this id.
    #[error("reservation {reservation_id} not found")]
    ReservationNotFound {
        /// The unknown id.
        reservation_id: ReservationId,
    },
    /// The reservation was already resolved another way (or with another amount).
    #[error("reservation {reservation_id} was already {how}")]
    AlreadyResolved {
        /// The reservation.
        reservation_id: ReservationId,
        /// How it was resolved.
        how: ResolutionKind,
    },
    /// Usage above the hold, under overage rule `Reject`; the hold stays open.
    #[error("settling {actual} tokens exceeds the {reserved} held by reservation {reservation_id}")]
    SettleExceedsReservation {
        /// The reservation.
        reservation_id: ReservationId,
        /// Tokens held.
        reserved: Tokens,
        /// Tokens reported used.
        actual: Tokens,
    },
    /// Settle or release by someone other than the hold's holder (the actor, through the
    /// service, that made it); nothing is written.
    #[error("reservation {reservation_id} {}", held_by_description(*.held_by_service))]
    NotHolder {
        /// The reservation.
        reservation_id: ReservationId,
        /// Whether one of our services (the gateway) holds it for a call in progress.
        held_by_service: bool,
    },
    /// A service's hold asked to outlive the pool's longest hold (`reservation_ttl.max_ms`).
    #[error("a hold of {requested} is needed but the pool's policy allows holds of at most {max}")]
    TtlAboveMaximum {
        /// The TTL asked for.
        requested: DurationMs,
        /// The policy's maximum.
        max: DurationMs,
    },
    /// An idempotency key reused with a different payload.
    #[error("{subject} already exists with a different payload")]
    Conflict {
        /// What clashed.
        subject: ConflictSubject,
    },
    /// A grant whose id was revoked before the grant itself arrived.
    #[error("grant {grant_id} was revoked before it was granted; it cannot be granted now")]
    GrantAlreadyRevoked {
        /// The grant.
        grant_id: GrantId,
    },
    /// A quota period cannot start in the future.
    #[error("quota period start {period_start} is after now ({now})")]
    InvalidPeriodStart {
        /// The requested start.
        period_start: Timestamp,
        /// The command's time.
        now: Timestamp,
    },
}

fn held_by_description(held_by_service: bool) -> &'static str {
    if held_by_service {
        "is in use by the gateway for a call; only the gateway settles it"
    } else {
        "belongs to another actor; only whoever made a hold may settle or release it"
    }
}

impl TokenPoolRejection {
    /// Whether this is an analytics-worthy decision or a plain error.
    pub fn kind(&self) -> RejectionKind {
        match self {
            Self::QuotaExhausted { .. }
            | Self::PeriodicQuotaExhausted { .. }
            | Self::RateLimited { .. } => RejectionKind::Decision,
            _ => RejectionKind::Error,
        }
    }

    /// Shorthand for `kind() == RejectionKind::Decision`.
    pub fn is_decision(&self) -> bool {
        self.kind() == RejectionKind::Decision
    }

    /// Stable machine-readable code (also the serde tag), e.g. for problem `type` URIs.
    pub fn code(&self) -> &'static str {
        match self {
            Self::PoolNotProvisioned => "pool_not_provisioned",
            Self::AlreadyProvisioned { .. } => "already_provisioned",
            Self::InvalidAmount { .. } => "invalid_amount",
            Self::QuotaExhausted { .. } => "quota_exhausted",
            Self::PeriodicQuotaExhausted { .. } => "periodic_quota_exhausted",
            Self::RateLimited { .. } => "rate_limited",
            Self::QuotaCapExceeded { .. } => "quota_cap_exceeded",
            Self::ReservationNotFound { .. } => "reservation_not_found",
            Self::AlreadyResolved { .. } => "already_resolved",
            Self::SettleExceedsReservation { .. } => "settle_exceeds_reservation",
            Self::NotHolder { .. } => "not_holder",
            Self::TtlAboveMaximum { .. } => "ttl_above_maximum",
            Self::Conflict { .. } => "conflict",
            Self::GrantAlreadyRevoked { .. } => "grant_already_revoked",
            Self::InvalidPeriodStart { .. } => "invalid_period_start",
        }
    }
}
