//! `POST /api/v1/purchases`: places a token purchase. The purchase id is derived from the
//! caller's idempotency key, so the same key and order give the same purchase (however
//! many times, however concurrently), and the same key with another order is a 409.

use access::Identity;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use domain::{Actor, PoolId, PurchaseCommand, PurchaseId, PurchaseOrder, Timestamp};
use schemas::{PurchaseCommandEnvelope, ReplyOutcome};
use serde::Deserialize;
use serde_json::json;
use uuid::Uuid;

use super::AppState;
use super::answer::{accepted_for_later, answer};
use super::body::JsonBody;
use super::request::IdempotencyKey;
use problem::Problem;

/// Namespace of purchase ids derived from idempotency keys.
const PURCHASE_NAMESPACE: Uuid = Uuid::from_u128(0x6c65_616b_795f_7075_7263_6861_7365_5f69);

/// How long the purchase processor may take to reach the request before it must not apply it.
const COMMAND_TTL_MS: i64 = 60_000;

/// The body of a purchase request.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PurchaseBody {
    /// The pool receiving the tokens, `user:<id>/<provider>` or `org:<id>/<provider>`.
    pool: String,
    /// Tokens to buy.
    tokens: u64,
    /// The price the buyer expects, in cents: optional, and refused (422) unless it is the
    /// server's price, which is what is charged either way.
    #[serde(default)]
    price_cents: Option<u64>,
    /// The payment provider's token for how the buyer pays.
    payment_method: String,
}

impl PurchaseBody {
    /// The order, or the problem with the first bad field (403 for a pool the caller may
    /// not buy for).
    fn order(self, state: &AppState, caller: &Identity) -> Result<PurchaseOrder, Problem> {
        let pool: PoolId = self
            .pool
            .parse()
            .map_err(|e| Problem::invalid_field("pool", e))?;
        caller.may_use_pool(&pool)?;
        if !state.pools.knows(pool.provider()) {
            return Err(Problem::invalid_field(
                "pool",
                format!("provider {} is not configured", pool.provider()),
            ));
        }
        if self.tokens == 0 {
            return Err(Problem::invalid_field("tokens", "must be at least 1"));
        }
        let tokens =
            domain::Tokens::new(self.tokens).map_err(|e| Problem::invalid_field("tokens", e))?;
        // The buyer's tier prices the order (an org pool's buyer is a member).
        let price = state
            .prices
            .price(pool.provider(), caller.role.tier(), tokens)
            .map_err(|e| Problem::invalid_field("pool", e))?;
        if let Some(offered) = self.price_cents.filter(|c| *c != price.get()) {
            return Err(Problem::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "price-mismatch",
                "The price is not the server's",
                format!(
                    "{tokens} tokens of {} cost {} cents, not {offered}; omit price_cents or send the server's price",
                    pool.provider(),
                    price.get()
                ),
            )
            .with("field", json!("price_cents"))
            .with("price_cents", json!(price.get())));
        }
        Ok(PurchaseOrder {
            pool,
            tokens,
            price,
            payment_method: self
                .payment_method
                .parse()
                .map_err(|e| Problem::invalid_field("payment_method", e))?,
        })
    }
}

/// The purchase an idempotency key names (a new one without a key).
fn purchase_id(key: &IdempotencyKey, actor: &Actor) -> PurchaseId {
    PurchaseId::from_uuid(match &key.0 {
        Some(key) => Uuid::new_v5(&PURCHASE_NAMESPACE, format!("{actor}\n{key}").as_bytes()),
        None => Uuid::new_v4(),
    })
}

/// `POST /api/v1/purchases`: 201 with the purchase once placed (a retry with the same key
/// and order gets the same answer again), 409 when the key was used for another order, 202
/// while the processor has not answered.
pub async fn place(
    State(state): State<AppState>,
    caller: Identity,
    key: IdempotencyKey,
    JsonBody(body): JsonBody<PurchaseBody>,
) -> Result<Response, Problem> {
    let order = body.order(&state, &caller)?;
    let actor = caller.actor();
    let dispatcher = state
        .dispatcher
        .get()
        .ok_or_else(|| Problem::unavailable("not connected to Kafka yet"))?;
    let purchase_id = purchase_id(&key, &actor);
    let now = crate::processor::now();
    let deadline = Timestamp::from_millis(now.as_millis() + COMMAND_TTL_MS)
        .map_err(|e| Problem::unavailable(e.to_string()))?;
    let envelope = PurchaseCommandEnvelope {
        command_id: key.command_id(&actor),
        purchase_id,
        reply_to: dispatcher.instance_id().to_owned(),
        actor,
        issued_at: now,
        deadline,
        command: PurchaseCommand::RequestPurchase { purchase_id, order },
    };
    let reply = match dispatcher
        .dispatch_purchase(&envelope, state.reply_wait)
        .await
    {
        Ok(Some(reply)) => reply,
        Ok(None) => return Ok(accepted_for_later(envelope.command_id)),
        Err(error) => {
            tracing::error!(%error, "cannot submit a purchase");
            return Err(Problem::unavailable(
                "the purchase could not be recorded; nothing was applied",
            ));
        }
    };
    let mut response = answer(&reply, json!({ "purchase_id": purchase_id.to_string() }));
    // No Location header: the purchase is read from the query API (`GET /api/v1/purchases/{id}`),
    // another service, with the reply's consistency token.
    if reply.outcome == ReplyOutcome::Accepted {
        *response.status_mut() = StatusCode::CREATED;
    }
    Ok(response.into_response())
}
