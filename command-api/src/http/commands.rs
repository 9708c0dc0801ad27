//! One handler per command: parse the body into domain values (refusing bad ones before
//! anything is written), build the command, submit it.

use access::Identity;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use domain::{
    Actor, CommandId, DurationMs, GrantId, GrantSource, PoolPolicy, PurchaseId, ReservationId,
    Tier, Timestamp, TokenPoolCommand, Tokens,
};
use schemas::PoolCommandEnvelope;
use serde::Deserialize;
use serde_json::{Value, json};
use uuid::Uuid;

use super::AppState;
use super::answer::{accepted_for_later, answer};
use super::body::JsonBody;
use super::request::{IdempotencyKey, ManagedPool, PoolPath, SpendablePool};
use problem::Problem;

/// Who, which pool, and the command id, common to every command request.
pub struct Submission {
    pool: PoolPath,
    actor: Actor,
    command_id: CommandId,
}

impl Submission {
    fn new(pool: PoolPath, caller: &Identity, key: &IdempotencyKey) -> Self {
        let actor = caller.actor();
        let command_id = key.command_id(&actor);
        Self {
            pool,
            actor,
            command_id,
        }
    }
}

/// How long the processor may take to reach a command before it must not apply it.
const COMMAND_TTL_MS: i64 = 60_000;

async fn submit(
    state: &AppState,
    submission: Submission,
    command: TokenPoolCommand,
    extra: Value,
) -> Result<Response, Problem> {
    let dispatcher = state
        .dispatcher
        .get()
        .ok_or_else(|| Problem::unavailable("not connected to Kafka yet"))?;
    let now = crate::processor::now();
    let deadline = Timestamp::from_millis(now.as_millis() + COMMAND_TTL_MS)
        .map_err(|e| Problem::unavailable(e.to_string()))?;
    let envelope = PoolCommandEnvelope {
        command_id: submission.command_id,
        pool_id: submission.pool.0,
        reply_to: dispatcher.instance_id().to_owned(),
        actor: submission.actor,
        issued_at: now,
        deadline,
        command,
    };
    match dispatcher.dispatch(&envelope, state.reply_wait).await {
        Ok(Some(reply)) => Ok(answer(&reply, extra)),
        Ok(None) => Ok(accepted_for_later(envelope.command_id)),
        Err(error) => {
            tracing::error!(%error, "cannot submit a command");
            Err(Problem::unavailable(
                "the command could not be recorded; nothing was applied",
            ))
        }
    }
}

/// An amount of at least one token.
fn positive_tokens(field: &str, amount: u64) -> Result<Tokens, Problem> {
    if amount == 0 {
        return Err(Problem::invalid_field(field, "must be at least 1"));
    }
    Tokens::new(amount).map_err(|e| Problem::invalid_field(field, e))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProvisionBody {
    #[serde(default)]
    tier: Option<Tier>,
    #[serde(default)]
    policy: Option<PoolPolicy>,
}

/// `POST /pools/{kind}/{id}/{provider}`: creates the pool with its tier's policy.
pub async fn provision(
    State(state): State<AppState>,
    ManagedPool { pool, caller }: ManagedPool,
    key: IdempotencyKey,
    JsonBody(body): JsonBody<ProvisionBody>,
) -> Result<Response, Problem> {
    let tier = body.tier.unwrap_or(Tier::User);
    let policy = body.policy.as_ref().unwrap_or(&state.pools.default_policy);
    let policy = policy
        .resolve(tier, &state.pools.tiers)
        .map_err(|e| Problem::invalid_field("policy", e))?;
    let submission = Submission::new(pool, &caller, &key);
    let command = TokenPoolCommand::ProvisionPool {
        pool: submission.pool.0.clone(),
        tier,
        policy,
    };
    submit(&state, submission, command, json!({})).await
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GrantBody {
    amount: u64,
    #[serde(default)]
    grant_id: Option<Uuid>,
    #[serde(default)]
    purchase_id: Option<Uuid>,
}

/// `POST …/grants`: adds tokens (an admin grant, or a purchase's).
pub async fn grant(
    State(state): State<AppState>,
    ManagedPool { pool, caller }: ManagedPool,
    key: IdempotencyKey,
    JsonBody(body): JsonBody<GrantBody>,
) -> Result<Response, Problem> {
    let amount = positive_tokens("amount", body.amount)?;
    let submission = Submission::new(pool, &caller, &key);
    // Without an explicit id the grant is named by its command, so a retry is the same grant.
    let grant_id = GrantId::from_uuid(body.grant_id.unwrap_or(submission.command_id.as_uuid()));
    let source = match body.purchase_id {
        Some(id) => GrantSource::Purchase {
            purchase_id: PurchaseId::from_uuid(id),
        },
        None => GrantSource::Admin,
    };
    let command = TokenPoolCommand::GrantTokens {
        grant_id,
        amount,
        source,
    };
    submit(
        &state,
        submission,
        command,
        json!({ "grant_id": grant_id.to_string() }),
    )
    .await
}

/// `POST …/grants/{grant_id}/revoke`: takes a grant back (purchase compensation).
pub async fn revoke(
    State(state): State<AppState>,
    ManagedPool { pool, caller }: ManagedPool,
    key: IdempotencyKey,
    Path(params): Path<Vec<(String, String)>>,
) -> Result<Response, Problem> {
    let grant_id: GrantId = id_param(&params, "grant_id")?;
    let submission = Submission::new(pool, &caller, &key);
    submit(
        &state,
        submission,
        TokenPoolCommand::RevokeGrant { grant_id },
        json!({}),
    )
    .await
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReserveBody {
    amount: u64,
    #[serde(default)]
    reservation_id: Option<Uuid>,
    #[serde(default)]
    ttl_ms: Option<u64>,
}

/// `POST …/reservations`: holds tokens before an LLM call.
pub async fn reserve(
    State(state): State<AppState>,
    SpendablePool { pool, caller }: SpendablePool,
    key: IdempotencyKey,
    JsonBody(body): JsonBody<ReserveBody>,
) -> Result<Response, Problem> {
    let amount = positive_tokens("amount", body.amount)?;
    let ttl_ms = match body.ttl_ms {
        Some(0) => return Err(Problem::invalid_field("ttl_ms", "must be at least 1")),
        Some(ms) => {
            Some(DurationMs::from_millis(ms).map_err(|e| Problem::invalid_field("ttl_ms", e))?)
        }
        None => None,
    };
    let submission = Submission::new(pool, &caller, &key);
    let reservation_id = ReservationId::from_uuid(
        body.reservation_id
            .unwrap_or(submission.command_id.as_uuid()),
    );
    // Through the command API the caller holds for itself: `via` is only ever set by our
    // own services, which write to the commands topic directly.
    let command = TokenPoolCommand::Reserve {
        reservation_id,
        amount,
        ttl_ms,
        via: None,
    };
    submit(
        &state,
        submission,
        command,
        json!({ "reservation_id": reservation_id.to_string() }),
    )
    .await
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SettleBody {
    actual: u64,
}

/// `POST …/reservations/{reservation_id}/settle`: charges the real usage, frees the rest.
pub async fn settle(
    State(state): State<AppState>,
    SpendablePool { pool, caller }: SpendablePool,
    key: IdempotencyKey,
    Path(params): Path<Vec<(String, String)>>,
    JsonBody(body): JsonBody<SettleBody>,
) -> Result<Response, Problem> {
    let reservation_id: ReservationId = id_param(&params, "reservation_id")?;
    let actual = Tokens::new(body.actual).map_err(|e| Problem::invalid_field("actual", e))?;
    let submission = Submission::new(pool, &caller, &key);
    submit(
        &state,
        submission,
        TokenPoolCommand::Settle {
            reservation_id,
            actual,
            via: None,
        },
        json!({}),
    )
    .await
}

/// `POST …/reservations/{reservation_id}/release`: frees the whole hold.
pub async fn release(
    State(state): State<AppState>,
    SpendablePool { pool, caller }: SpendablePool,
    key: IdempotencyKey,
    Path(params): Path<Vec<(String, String)>>,
) -> Result<Response, Problem> {
    let reservation_id: ReservationId = id_param(&params, "reservation_id")?;
    let submission = Submission::new(pool, &caller, &key);
    submit(
        &state,
        submission,
        TokenPoolCommand::Release {
            reservation_id,
            via: None,
        },
        json!({}),
    )
    .await
}

/// `POST …/reservations/expire`: frees every hold past its deadline now.
pub async fn expire(
    State(state): State<AppState>,
    SpendablePool { pool, caller }: SpendablePool,
    key: IdempotencyKey,
) -> Result<Response, Problem> {
    let submission = Submission::new(pool, &caller, &key);
    submit(
        &state,
        submission,
        TokenPoolCommand::ExpireReservations,
        json!({}),
    )
    .await
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConsumeBody {
    amount: u64,
}

/// `POST …/consume`: reserve and settle in one step.
pub async fn consume(
    State(state): State<AppState>,
    SpendablePool { pool, caller }: SpendablePool,
    key: IdempotencyKey,
    JsonBody(body): JsonBody<ConsumeBody>,
) -> Result<Response, Problem> {
    let amount = positive_tokens("amount", body.amount)?;
    let submission = Submission::new(pool, &caller, &key);
    submit(
        &state,
        submission,
        TokenPoolCommand::Consume { amount },
        json!({}),
    )
    .await
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicyBody {
    tier: Tier,
    #[serde(default)]
    policy: Option<PoolPolicy>,
}

/// `POST …/policy`: moves the pool to another tier or policy.
pub async fn change_policy(
    State(state): State<AppState>,
    ManagedPool { pool, caller }: ManagedPool,
    key: IdempotencyKey,
    JsonBody(body): JsonBody<PolicyBody>,
) -> Result<Response, Problem> {
    let policy = body.policy.as_ref().unwrap_or(&state.pools.default_policy);
    let policy = policy
        .resolve(body.tier, &state.pools.tiers)
        .map_err(|e| Problem::invalid_field("policy", e))?;
    let submission = Submission::new(pool, &caller, &key);
    submit(
        &state,
        submission,
        TokenPoolCommand::ChangePolicy {
            tier: body.tier,
            policy,
        },
        json!({}),
    )
    .await
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResetBody {
    period_start_ms: i64,
}

/// `POST …/quota-period/reset`: starts a new periodic-quota period.
pub async fn reset_period(
    State(state): State<AppState>,
    ManagedPool { pool, caller }: ManagedPool,
    key: IdempotencyKey,
    JsonBody(body): JsonBody<ResetBody>,
) -> Result<Response, Problem> {
    let period_start = Timestamp::from_millis(body.period_start_ms)
        .map_err(|e| Problem::invalid_field("period_start_ms", e))?;
    let submission = Submission::new(pool, &caller, &key);
    submit(
        &state,
        submission,
        TokenPoolCommand::ResetQuotaPeriod { period_start },
        json!({}),
    )
    .await
}

/// `GET /commands/{command_id}`: the reply of a command answered 202 earlier.
pub async fn command_status(
    State(state): State<AppState>,
    caller: Identity,
    Path(command_id): Path<String>,
) -> Result<Response, Problem> {
    let command_id: CommandId = command_id
        .parse()
        .map_err(|e| Problem::invalid_field("command_id", e))?;
    let reply = state.dispatcher.get().and_then(|d| d.reply_of(&command_id));
    match reply {
        // A reply tells the pool's balance: only who may use the pool may see it.
        Some(reply) => {
            caller.may_use_pool(&reply.pool_id)?;
            Ok(answer(&reply, json!({})))
        }
        None => Err(Problem::new(
            StatusCode::NOT_FOUND,
            "unknown-command",
            "No reply for this command here",
            "the command is still in flight, or its reply is older than this instance remembers",
        )),
    }
}

fn id_param<T: std::str::FromStr<Err: std::fmt::Display>>(
    params: &[(String, String)],
    name: &str,
) -> Result<T, Problem> {
    let value = params
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
        .unwrap_or_default();
    value.parse().map_err(|e| Problem::invalid_field(name, e))
}
