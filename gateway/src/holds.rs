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
//!
//! Every hold is made `via` the gateway: the pool then refuses a settle or release of it by
//! anyone else, so a tenant cannot make a call free by releasing the hold it runs under.
//! And what the provider billed is always charged: usage above the hold, or usage whose hold
//! could not be settled (lapsed, released, unknown), is charged with `ChargeUsage`, which
//! is never refused for lack of tokens and records what it overdraws.

use std::sync::Arc;
use std::time::Duration;

use command_api::dispatch::Dispatcher;
use domain::{
    Actor, CommandId, DurationMs, PoolId, PoolRateLimits, ReservationId, ServiceName, Timestamp,
    TokenPoolCommand, Tokens,
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
    /// Usage above the hold: the hold was charged in full and `overage` more with
    /// `ChargeUsage`.
    SettledWithOverage {
        /// Tokens charged beyond the hold.
        overage: u64,
    },
    /// The hold could not be settled (it lapsed, was released, is unknown): the usage was
    /// charged with `ChargeUsage` instead.
    Charged(u64),
    /// Released unused.
    Released,
    /// No reply came: the hold will expire at its TTL and the usage is not charged; logged
    /// as an error and counted, since only an unreachable pool processor gets here.
    Unresolved,
}

/// The gateway's own identity on the holds it makes (`Reserve::via`).
pub fn gateway_service() -> ServiceName {
    ServiceName::parse(crate::SERVICE).expect("the gateway's name is a valid service name")
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
            via: Some(gateway_service()),
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

    /// Charges `actual` tokens for the call `hold` covered, whatever became of the hold.
    ///
    /// Up to the hold: settle it to `actual`. Above it: settle the whole hold and charge the
    /// rest with `ChargeUsage` (under `overage = REJECT` a settle above the hold is refused;
    /// under `CAP` it would drop the excess). A settle refused for any other reason (the hold
    /// lapsed, or was resolved by someone it should not have been) charges all of `actual`
    /// with `ChargeUsage`. Only a processor that never answers leaves usage uncharged.
    pub async fn settle(&self, hold: &Hold, actual: u64) -> Resolution {
        let (Ok(tokens), Ok(held)) = (Tokens::new(actual), Tokens::new(hold.amount)) else {
            return Resolution::Unresolved;
        };
        let overage = actual.saturating_sub(hold.amount);
        let command = TokenPoolCommand::Settle {
            reservation_id: hold.reservation_id,
            actual: tokens.min(held),
            via: Some(gateway_service()),
        };
        match self.resolve(hold, "settle", command).await {
            Some(reply) if reply.outcome == ReplyOutcome::Accepted => {
                if overage == 0 {
                    return Resolution::Settled(actual);
                }
                tracing::warn!(reservation = %hold.reservation_id, actual, held = hold.amount,
                    "usage above the hold; charging the rest");
                match self.charge_usage(hold, "charge-overage", overage).await {
                    Some(_) => Resolution::SettledWithOverage { overage },
                    None => Resolution::Unresolved,
                }
            }
            Some(reply) => {
                tracing::warn!(reservation = %hold.reservation_id, actual,
                    rejection = ?reply.rejection, "settle refused; charging the usage without the hold");
                if actual == 0 {
                    return Resolution::Charged(0);
                }
                match self.charge_usage(hold, "charge", actual).await {
                    Some(_) => Resolution::Charged(actual),
                    None => Resolution::Unresolved,
                }
            }
            None => {
                tracing::error!(reservation = %hold.reservation_id, actual,
                    "no answer to the settle; the usage is not charged");
                Resolution::Unresolved
            }
        }
    }

    /// Charges `amount` of billed usage for the call `hold` covered, under a command id of
    /// its own per `step` (so a retry is deduplicated); `None` if no acceptance came.
    async fn charge_usage(&self, hold: &Hold, step: &str, amount: u64) -> Option<CommandReply> {
        let command = TokenPoolCommand::ChargeUsage {
            amount: Tokens::new(amount).ok()?,
        };
        let reply = self.resolve(hold, step, command).await;
        match reply {
            Some(reply) if reply.outcome == ReplyOutcome::Accepted => Some(reply),
            other => {
                tracing::error!(reservation = %hold.reservation_id, amount, reply = ?other,
                    "usage could not be charged");
                None
            }
        }
    }

    /// Gives the whole hold back.
    pub async fn release(&self, hold: &Hold) -> Resolution {
        let command = TokenPoolCommand::Release {
            reservation_id: hold.reservation_id,
            via: Some(gateway_service()),
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
