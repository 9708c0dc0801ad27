//! Holding tokens in a pool for the length of a call: reserve before, settle to the real
//! usage or release after, through the pool processor (the single writer).
//!
//! The gateway talks to the processor in-process through `command_api`'s `Dispatcher`
//! (produce the command, await its reply on this instance's partition of `replies`)
//! rather than through command-api over HTTP: that saves an HTTP hop and a JSON round
//! trip per command, and a gateway is a command issuer in its own right.
//!
//! Settling and releasing are retried with the same command id (the processor deduplicates
//! on it), so a lost reply never charges twice.

use std::sync::Arc;
use std::time::Duration;

use command_api::dispatch::Dispatcher;
use domain::{
    Actor, CommandId, DurationMs, PoolId, PoolRateLimits, ReservationId, Timestamp,
    TokenPoolCommand, TokenPoolRejection, Tokens,
};
use schemas::{Balance, CommandReply, PoolCommandEnvelope, ReplyOutcome, ReplyRejection};
use tokio::sync::OnceCell;
use uuid::Uuid;

/// How long the processor may take to reach a command before it must not apply it.
const COMMAND_TTL_MS: i64 = 60_000;
/// Attempts at settling or releasing before the hold is left to expire at its TTL.
const RESOLVE_ATTEMPTS: u32 = 5;

/// Reserves, settles and releases holds.
#[derive(Debug, Clone)]
pub struct Holds {
    /// Set once Kafka has been reached; until then calls are refused with 503.
    pub dispatcher: Arc<OnceCell<Dispatcher>>,
    /// How long to wait for a reply.
    pub reply_wait: Duration,
}

/// Tokens held for one call.
#[derive(Debug, Clone)]
pub struct Hold {
    /// The pool holding them.
    pub pool: PoolId,
    /// Who asked.
    pub actor: Actor,
    /// The reservation; also the request id sent upstream.
    pub reservation_id: ReservationId,
    /// Tokens held.
    pub amount: u64,
    /// The pool's rate limits after the reserve.
    pub limits: Option<PoolRateLimits>,
    /// The pool's totals after the reserve.
    pub balance: Option<Balance>,
}

/// Why no hold was taken.
#[derive(Debug, Clone)]
pub enum ReserveError {
    /// The pool refused (quota, rate limit, unknown pool, …).
    Refused {
        /// Why.
        rejection: ReplyRejection,
        /// The pool's rate limits, when it exists.
        limits: Option<Box<PoolRateLimits>>,
    },
    /// The processor could not be reached or did not answer in time.
    Unavailable(String),
}

/// How a hold ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resolution {
    /// Settled to this many tokens.
    Settled(u64),
    /// Usage above the hold; the hold was charged in full.
    SettledCapped {
        /// What the provider reported.
        reported: u64,
    },
    /// Released unused.
    Released,
    /// Neither reply came: the hold will expire at its TTL.
    Unresolved,
}

impl Holds {
    fn dispatcher(&self) -> Result<&Dispatcher, ReserveError> {
        self.dispatcher
            .get()
            .ok_or_else(|| ReserveError::Unavailable("not connected to Kafka yet".into()))
    }

    /// Holds `amount` tokens of `pool` for `ttl`.
    pub async fn reserve(
        &self,
        pool: PoolId,
        actor: Actor,
        amount: u64,
        ttl: Duration,
    ) -> Result<Hold, ReserveError> {
        let dispatcher = self.dispatcher()?;
        let reservation_id = ReservationId::from_uuid(Uuid::now_v7());
        let command = TokenPoolCommand::Reserve {
            reservation_id,
            amount: Tokens::new(amount)
                .map_err(|e| ReserveError::Unavailable(format!("hold of {amount}: {e}")))?,
            ttl_ms: DurationMs::from_millis(ttl.as_millis() as u64).ok(),
        };
        let command_id = CommandId::from_uuid(reservation_id.as_uuid());
        // A reserve is only useful while the caller waits: its deadline is the wait.
        let envelope = envelope(
            dispatcher,
            command_id,
            &pool,
            &actor,
            command,
            self.wait_ms(),
        );
        let reply = match dispatcher.dispatch(&envelope, self.reply_wait).await {
            Ok(Some(reply)) => reply,
            Ok(None) => {
                // It may still be applied; release it so it does not sit until its TTL.
                let hold = Hold {
                    pool,
                    actor,
                    reservation_id,
                    amount,
                    limits: None,
                    balance: None,
                };
                let holds = self.clone();
                tokio::spawn(async move { holds.release(&hold).await });
                return Err(ReserveError::Unavailable(
                    "the pool processor did not answer in time".into(),
                ));
            }
            Err(error) => return Err(ReserveError::Unavailable(error.to_string())),
        };
        match (reply.outcome, reply.rejection) {
            (ReplyOutcome::Accepted, _) => Ok(Hold {
                pool,
                actor,
                reservation_id,
                amount,
                limits: reply.limits,
                balance: reply.balance,
            }),
            (ReplyOutcome::Rejected, Some(rejection)) => Err(ReserveError::Refused {
                rejection,
                limits: reply.limits.map(Box::new),
            }),
            (outcome, _) => Err(ReserveError::Unavailable(format!(
                "the reserve ended {outcome:?}"
            ))),
        }
    }

    /// Charges `actual` tokens to `hold` and releases the rest; usage above the hold charges
    /// the hold in full (the estimate is an upper bound, so only a misreporting provider
    /// gets there).
    pub async fn settle(&self, hold: &Hold, actual: u64) -> Resolution {
        let Ok(tokens) = Tokens::new(actual) else {
            return Resolution::Unresolved;
        };
        let command = TokenPoolCommand::Settle {
            reservation_id: hold.reservation_id,
            actual: tokens,
        };
        match self.resolve(hold, "settle", command).await {
            Some(reply) if reply.outcome == ReplyOutcome::Accepted => Resolution::Settled(actual),
            Some(reply) if is_over_hold(&reply) => {
                tracing::error!(reservation = %hold.reservation_id, actual, held = hold.amount,
                    "usage above the hold; charging the hold");
                let capped = TokenPoolCommand::Settle {
                    reservation_id: hold.reservation_id,
                    actual: Tokens::new(hold.amount).unwrap_or(tokens),
                };
                match self.resolve(hold, "settle-capped", capped).await {
                    Some(reply) if reply.outcome == ReplyOutcome::Accepted => {
                        Resolution::SettledCapped { reported: actual }
                    }
                    _ => Resolution::Unresolved,
                }
            }
            other => {
                tracing::error!(reservation = %hold.reservation_id, reply = ?other, "cannot settle");
                Resolution::Unresolved
            }
        }
    }

    /// Gives the whole hold back.
    pub async fn release(&self, hold: &Hold) -> Resolution {
        let command = TokenPoolCommand::Release {
            reservation_id: hold.reservation_id,
        };
        match self.resolve(hold, "release", command).await {
            Some(reply) if reply.outcome == ReplyOutcome::Accepted => Resolution::Released,
            other => {
                tracing::warn!(reservation = %hold.reservation_id, reply = ?other, "cannot release");
                Resolution::Unresolved
            }
        }
    }

    /// Sends `command` until a reply comes, under a command id derived from the hold and
    /// `step`, so every retry is the same command to the processor.
    async fn resolve(
        &self,
        hold: &Hold,
        step: &str,
        command: TokenPoolCommand,
    ) -> Option<CommandReply> {
        let command_id = CommandId::from_uuid(Uuid::new_v5(
            &hold.reservation_id.as_uuid(),
            step.as_bytes(),
        ));
        for attempt in 0..RESOLVE_ATTEMPTS {
            if attempt > 0 {
                tokio::time::sleep(Duration::from_millis(200 << attempt.min(4))).await;
            }
            let Ok(dispatcher) = self.dispatcher() else {
                continue;
            };
            let envelope = envelope(
                dispatcher,
                command_id,
                &hold.pool,
                &hold.actor,
                command.clone(),
                COMMAND_TTL_MS,
            );
            match dispatcher.dispatch(&envelope, self.reply_wait).await {
                Ok(Some(reply)) if reply.outcome != ReplyOutcome::Expired => return Some(reply),
                Ok(_) => tracing::warn!(%command_id, step, attempt, "no reply yet; retrying"),
                Err(error) => tracing::warn!(%command_id, step, attempt, %error, "retrying"),
            }
        }
        None
    }

    fn wait_ms(&self) -> i64 {
        self.reply_wait.as_millis() as i64
    }
}

fn is_over_hold(reply: &CommandReply) -> bool {
    reply
        .rejection
        .as_ref()
        .and_then(ReplyRejection::pool_rejection)
        .is_some_and(|r| matches!(r, TokenPoolRejection::SettleExceedsReservation { .. }))
}

fn envelope(
    dispatcher: &Dispatcher,
    command_id: CommandId,
    pool: &PoolId,
    actor: &Actor,
    command: TokenPoolCommand,
    ttl_ms: i64,
) -> PoolCommandEnvelope {
    let now = command_api::processor::now();
    let deadline = Timestamp::from_millis(now.as_millis() + ttl_ms).unwrap_or(now);
    PoolCommandEnvelope {
        command_id,
        pool_id: pool.clone(),
        reply_to: dispatcher.instance_id().to_owned(),
        actor: actor.clone(),
        issued_at: now,
        deadline,
        command,
    }
}
