//! Pure domain of Leaky Tokens: no IO, no clock, no randomness.
//!
//! Everything here is a value or a pure function. Time, the command id and the actor come
//! in through [`Ctx`], so replaying the same events always rebuilds the same state.
//!
//! - [`names`], [`ids`], [`pool_id`], [`actor`]: identifiers that cannot hold bad values.
//! - [`tokens`], [`time`]: amounts and instants with documented bounds and checked arithmetic.
//! - [`tier`], [`policy`]: configuration shapes and their resolution into concrete numbers.
//! - [`rate_limit`]: leaky bucket, token bucket and fixed window as exact integer state machines.
//! - [`aggregate`]: the `Aggregate` trait and replay helpers.
//! - [`pool`]: the `TokenPool` aggregate (commands, events, rejections, state).
//! - [`purchase`]: the `Purchase` aggregate (the purchase saga's steps and compensation).
//! - [`auth`]: roles and the facts of the auth log (users, memberships, API keys).
#![forbid(unsafe_code)]

pub mod actor;
pub mod aggregate;
pub mod auth;
pub mod ids;
pub mod names;
pub mod policy;
pub mod pool;
pub mod pool_id;
pub mod purchase;
pub mod rate_limit;
pub mod tier;
pub mod time;
pub mod tokens;

pub use actor::{Actor, ActorError};
pub use aggregate::{Aggregate, Ctx, apply_all, execute, replay};
pub use auth::{AuthEvent, Role};
pub use ids::{CommandId, GrantId, IdError, PurchaseId, ReservationId};
pub use names::{NameError, OrgId, ProviderName, ServiceName, UserId};
pub use policy::{
    EffectivePolicy, OverageRule, PeriodicQuota, PolicyError, PoolPolicy, ReservationTtl,
};
pub use pool::{
    AmountField, ConflictSubject, GrantRecord, GrantSource, Holder, MAX_RESOLVED, OpenReservation,
    PoolRateLimits, QuotaPeriod, RESOLVED_RETENTION, RejectionKind, Resolution, ResolutionKind,
    ResolvedReservation, TokenPool, TokenPoolCommand, TokenPoolEvent, TokenPoolRejection,
};
pub use pool_id::{Owner, OwnerError, PoolId, PoolIdError};
pub use purchase::{
    Cents, Compensation, FailureReason, OrderError, PaymentMethod, Purchase, PurchaseCommand,
    PurchaseEvent, PurchaseOrder, PurchaseRejection, PurchaseStatus, PurchaseStep,
};
pub use rate_limit::{
    LimitKind, LimitSnapshot, Limiter, LimiterState, RateLimit, RateLimitError, RateLimitStrategy,
    RetryAfter,
};
pub use tier::{Multiplier, Tier, TierError, TierLimits, TierTable};
pub use time::{DurationMs, TimeError, Timestamp};
pub use tokens::{TokenTotal, Tokens, TokensError};
