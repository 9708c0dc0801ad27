//! The saga's IO: follows the purchases' events, performs each purchase's awaited step
//! against the payment provider or the pool processor, and records the outcome in
//! `purchase.commands`.
//!
//! It keeps nothing durable of its own. On start it rebuilds every purchase from
//! `purchase.state` and the events after it (as the processor does on a takeover) to learn
//! what every unfinished purchase awaits, and repeats that step; the ids are derived from
//! the purchase, so a step done before a crash is recognised, not done twice. One action per purchase is in flight at a
//! time; after it, the purchase waits for its next state (or a retry delay) before the
//! next decision.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use command_api::dispatch::Dispatcher;
use domain::{
    Actor, GrantSource, Purchase, PurchaseCommand, PurchaseId, PurchaseStep, Timestamp,
    TokenPoolCommand,
};
use eventlog::{ClientRole, Topics, client_config};
use rdkafka::producer::{FutureProducer, FutureRecord};
use schemas::{PoolCommandEnvelope, PurchaseCodec, PurchaseCommandEnvelope, ReplyOutcome};
use settings::{KafkaSettings, RegistrySettings};
use telemetry::{TraceContext, in_trace};
use tokio::sync::mpsc;
use tracing::Instrument;

use super::decide::{Action, PoolAnswer, StepTimeouts, next_action, payment_outcome, pool_outcome};
use super::follow;
use super::ids;
use super::metrics::SagaMetrics;
use super::payment::PaymentClient;

/// How the saga paces itself.
#[derive(Debug, Clone, Copy)]
pub struct Pacing {
    /// Pending-step limits.
    pub timeouts: StepTimeouts,
    /// How long a purchase waits after an action before the same step is tried again,
    /// unless its state moves first.
    pub retry: Duration,
    /// How long the saga waits for the pool's reply to a grant or revoke.
    pub pool_reply_wait: Duration,
}

/// Everything an action needs, shared by the action tasks.
struct Effects {
    payments: PaymentClient,
    dispatcher: Dispatcher,
    codec: PurchaseCodec,
    producer: FutureProducer,
    topics: Topics,
    actor: Actor,
    pool_reply_wait: Duration,
    metrics: SagaMetrics,
}

/// A purchase the saga is driving.
struct Tracked {
    purchase: Purchase,
    /// The trace of its newest event: the request that placed it, carried through each step.
    trace: TraceContext,
    in_flight: bool,
    not_before: Instant,
}

/// Runs the purchase saga until the process ends.
pub async fn run(
    kafka: KafkaSettings,
    registry: RegistrySettings,
    payments: PaymentClient,
    pacing: Pacing,
    metrics: SagaMetrics,
) -> anyhow::Result<()> {
    // The topics belong to the processors (their writers), which create them.
    let topics = Topics::new(&kafka);
    let codec = PurchaseCodec::new(&registry)?;
    let instance_id = format!("sagas-{}", uuid::Uuid::new_v4().simple());
    let effects = Arc::new(Effects {
        payments,
        dispatcher: Dispatcher::start(&kafka, &registry, instance_id).await?,
        codec: codec.clone(),
        producer: client_config(&kafka, &ClientRole::Producer).create()?,
        topics: topics.clone(),
        actor: "system:sagas".parse()?,
        pool_reply_wait: pacing.pool_reply_wait,
        metrics,
    });

    let (states, mut state_rx) = mpsc::channel(1024);
    tokio::spawn(follow::follow_purchases(
        kafka.clone(),
        topics,
        codec,
        states,
    ));
    let (done, mut done_rx) = mpsc::channel::<PurchaseId>(1024);

    let mut book: HashMap<PurchaseId, Tracked> = HashMap::new();
    let mut tick = tokio::time::interval(Duration::from_millis(100));
    loop {
        tokio::select! {
            Some((id, purchase, trace)) = state_rx.recv() => track(&mut book, id, purchase, trace),
            Some(id) = done_rx.recv() => {
                if let Some(tracked) = book.get_mut(&id) {
                    tracked.in_flight = false;
                    tracked.not_before = tracked.not_before.max(Instant::now() + pacing.retry);
                }
            }
            _ = tick.tick() => {}
        }
        effects
            .metrics
            .in_progress
            .set(i64::try_from(book.len()).unwrap_or(i64::MAX));
        let now = wall_clock();
        let instant = Instant::now();
        for (id, tracked) in &mut book {
            if tracked.in_flight || tracked.not_before > instant {
                continue;
            }
            let Some(action) = next_action(&tracked.purchase, now, &pacing.timeouts) else {
                continue;
            };
            tracked.in_flight = true;
            // The same step is not retried before the retry delay, whatever happens.
            tracked.not_before = instant + pacing.retry;
            let step = tracked.purchase.awaiting();
            let (effects, done, id) = (Arc::clone(&effects), done.clone(), *id);
            let trace = tracked.trace;
            tokio::spawn(in_trace(trace, async move {
                if let Some(step) = step {
                    let span = tracing::info_span!("step", trace_id = %trace.trace_id());
                    perform(&effects, id, step, action).instrument(span).await;
                }
                let _ = done.send(id).await;
            }));
        }
    }
}

/// Takes in a purchase's newest state: finished ones are dropped, others (re)decided now.
fn track(
    book: &mut HashMap<PurchaseId, Tracked>,
    id: PurchaseId,
    purchase: Purchase,
    trace: Option<TraceContext>,
) {
    if purchase.status().is_none_or(|s| s.is_terminal()) {
        book.remove(&id);
        return;
    }
    let tracked = book.entry(id).or_insert_with(|| Tracked {
        purchase: purchase.clone(),
        trace: trace.unwrap_or_else(TraceContext::new_root),
        in_flight: false,
        not_before: Instant::now(),
    });
    if let Some(trace) = trace {
        tracked.trace = trace;
    }
    // A new state means the last outcome was recorded: decide again at once.
    if tracked.purchase != purchase {
        tracked.not_before = Instant::now();
    }
    tracked.purchase = purchase;
}

/// Performs one action and records its outcome, if it has a definite one.
async fn perform(effects: &Effects, id: PurchaseId, step: PurchaseStep, action: Action) {
    let outcome = match action {
        Action::Record(command) => Some(command),
        Action::ReservePayment {
            payment_id,
            reference,
            amount_cents,
            payment_method,
        } => {
            let answer = effects
                .payments
                .reserve(
                    &payment_id,
                    &reference.to_string(),
                    amount_cents,
                    &payment_method,
                )
                .await;
            payment_outcome(step, answer)
        }
        Action::CapturePayment { payment_id } => {
            payment_outcome(step, effects.payments.capture(&payment_id).await)
        }
        Action::ReleasePayment { payment_id } => {
            payment_outcome(step, effects.payments.release(&payment_id).await)
        }
        Action::GrantTokens {
            pool,
            grant_id,
            amount,
        } => {
            let command = TokenPoolCommand::GrantTokens {
                grant_id,
                amount,
                source: GrantSource::Purchase { purchase_id: id },
            };
            let answer = ask_pool(effects, id, step, pool, command).await;
            pool_outcome(step, grant_id, answer)
        }
        Action::RevokeGrant { pool, grant_id } => {
            let command = TokenPoolCommand::RevokeGrant { grant_id };
            let answer = ask_pool(effects, id, step, pool, command).await;
            pool_outcome(step, grant_id, answer)
        }
    };
    let Some(command) = outcome else {
        tracing::info!(purchase_id = %id, %step, "no definite outcome yet; will retry");
        effects
            .metrics
            .steps
            .with_label_values(&[step.code(), "retry"])
            .inc();
        return;
    };
    effects
        .metrics
        .steps
        .with_label_values(&[step.code(), "recorded"])
        .inc();
    if let Err(error) = record(effects, id, command).await {
        tracing::warn!(purchase_id = %id, %step, %error, "cannot record the outcome; will retry");
    }
}

/// Sends a pool command with the step's derived id and waits for the pool's answer.
async fn ask_pool(
    effects: &Effects,
    id: PurchaseId,
    step: PurchaseStep,
    pool: domain::PoolId,
    command: TokenPoolCommand,
) -> PoolAnswer {
    let now = wall_clock();
    let envelope = PoolCommandEnvelope {
        command_id: ids::pool_command_id(id, step),
        pool_id: pool,
        reply_to: effects.dispatcher.instance_id().to_owned(),
        actor: effects.actor.clone(),
        issued_at: now,
        deadline: later(now, effects.pool_reply_wait * 2),
        command,
    };
    match effects
        .dispatcher
        .dispatch(&envelope, effects.pool_reply_wait)
        .await
    {
        Ok(Some(reply)) => match (reply.outcome, reply.rejection) {
            (ReplyOutcome::Accepted, _) => PoolAnswer::Accepted,
            (ReplyOutcome::Rejected, Some(rejection))
                if rejection.code != "idempotency_conflict" =>
            {
                PoolAnswer::Rejected {
                    code: rejection.code,
                    message: rejection.message,
                }
            }
            _ => PoolAnswer::Unknown,
        },
        Ok(None) => PoolAnswer::Unknown,
        Err(error) => {
            tracing::warn!(purchase_id = %id, %step, %error, "cannot send the pool command");
            PoolAnswer::Unknown
        }
    }
}

/// Produces `command` for purchase `id` to `purchase.commands`.
async fn record(effects: &Effects, id: PurchaseId, command: PurchaseCommand) -> anyhow::Result<()> {
    let now = wall_clock();
    let envelope = PurchaseCommandEnvelope {
        command_id: ids::outcome_command_id(id, &command),
        purchase_id: id,
        reply_to: effects.dispatcher.instance_id().to_owned(),
        actor: effects.actor.clone(),
        issued_at: now,
        deadline: later(now, Duration::from_secs(60)),
        command,
    };
    let topic = effects.topics.purchase_commands();
    let value = effects.codec.encode_command(&topic, &envelope).await?;
    let key = id.to_string();
    effects
        .producer
        .send(
            FutureRecord::to(&topic)
                .key(&key)
                .payload(&value)
                .headers(eventlog::trace_headers(&telemetry::next_hop())),
            Duration::from_secs(5),
        )
        .await
        .map_err(|(error, _)| error)?;
    tracing::info!(purchase_id = %id, command = envelope.command.name(), "outcome recorded");
    Ok(())
}

/// Now, by this machine's clock, as the domain counts time.
fn wall_clock() -> Timestamp {
    Timestamp::from_system_time(std::time::SystemTime::now())
}

fn later(now: Timestamp, after: Duration) -> Timestamp {
    Timestamp::from_millis(now.as_millis() + i64::try_from(after.as_millis()).unwrap_or(0))
        .unwrap_or(Timestamp::MAX)
}
