//! Reads of the Postgres quota view: a pool, its open holds, an owner's quota.

use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use sqlx::PgPool;

use crate::consistency::{Freshness, wait_for};
use crate::params::{ReadOptions, WaitBounds, request_options};
use crate::problem::Problem;
use crate::readable::{ReadableOwner, ReadablePool};

/// What the quota handlers share.
#[derive(Debug, Clone)]
pub struct QuotaState {
    pub db: PgPool,
    pub bounds: WaitBounds,
}

/// The header that says whether the answer includes the caller's write.
const VIEW_HEADER: &str = "leaky-view";

/// The query string as name/value pairs, or why it could not be read.
pub(crate) type Query_ = Result<Query<Vec<(String, String)>>, QueryRejection>;

/// `GET /api/v1/pools/{kind}/{id}/{provider}`: one pool's balance, tier and policy.
pub async fn get_pool(
    State(state): State<QuotaState>,
    ReadablePool(pool): ReadablePool,
    query: Query_,
    headers: HeaderMap,
) -> Result<Response, Problem> {
    let pool = pool.to_string();
    let freshness = settle(&state, query, &headers).await?;
    let row = quotaview::pool(&state.db, &pool).await?;
    let Some(row) = row else {
        return Err(unknown_pool(&pool, freshness));
    };
    Ok(answer(json!({ "pool": row }), freshness))
}

/// `GET /api/v1/pools/{kind}/{id}/{provider}/reservations`: the pool's open holds.
pub async fn get_reservations(
    State(state): State<QuotaState>,
    ReadablePool(pool): ReadablePool,
    query: Query_,
    headers: HeaderMap,
) -> Result<Response, Problem> {
    let pool = pool.to_string();
    let freshness = settle(&state, query, &headers).await?;
    if quotaview::pool(&state.db, &pool).await?.is_none() {
        return Err(unknown_pool(&pool, freshness));
    }
    let holds = quotaview::open_reservations(&state.db, &pool).await?;
    Ok(answer(
        json!({ "pool_id": pool, "reservations": holds }),
        freshness,
    ))
}

/// `GET /api/v1/quota/{kind}/{id}`: an owner's totals across providers, and each pool.
pub async fn get_owner_quota(
    State(state): State<QuotaState>,
    ReadableOwner(owner): ReadableOwner,
    query: Query_,
    headers: HeaderMap,
) -> Result<Response, Problem> {
    let freshness = settle(&state, query, &headers).await?;
    let totals = quotaview::owner_totals(&state.db, owner.kind(), owner.id()).await?;
    let Some(totals) = totals else {
        return Err(with_freshness(
            Problem::not_found(format!("{owner} has no pool")),
            freshness,
        ));
    };
    let pools = quotaview::owner_pools(&state.db, owner.kind(), owner.id()).await?;
    Ok(answer(
        json!({
            "owner": owner.to_string(),
            "totals": {
                "pools": totals.pools,
                "granted": totals.granted,
                "consumed": totals.consumed,
                "reserved": totals.reserved,
                "overdraft": totals.overdraft,
                "remaining": totals.remaining,
            },
            "pools": pools,
        }),
        freshness,
    ))
}

/// `GET /api/v1/quota/{kind}/{id}/{provider}`: an owner's quota for one provider.
pub async fn get_owner_provider_quota(
    state: State<QuotaState>,
    pool: ReadablePool,
    query: Query_,
    headers: HeaderMap,
) -> Result<Response, Problem> {
    get_pool(state, pool, query, headers).await
}

/// Parses the read options and, given a token, waits for the view to pass it.
async fn settle(
    state: &QuotaState,
    query: Query_,
    headers: &HeaderMap,
) -> Result<Option<Freshness>, Problem> {
    let ReadOptions { after, wait } = request_options(query, headers, state.bounds)?;
    match after {
        Some(token) => Ok(Some(
            wait_for(&state.db, quotaview::PROJECTION, token, wait).await?,
        )),
        None => Ok(None),
    }
}

/// The answer, with its freshness in the body and in the `Leaky-View` header.
pub(crate) fn answer(mut body: Value, freshness: Option<Freshness>) -> Response {
    body["consistency"] = json!(freshness);
    let mut response = Json(body).into_response();
    if let Some(freshness) = freshness {
        response
            .headers_mut()
            .insert(VIEW_HEADER, view_header(&freshness));
    }
    response
}

fn view_header(freshness: &Freshness) -> HeaderValue {
    HeaderValue::from_static(if freshness.stale { "stale" } else { "fresh" })
}

pub(crate) fn unknown_pool(pool: &str, freshness: Option<Freshness>) -> Problem {
    with_freshness(
        Problem::not_found(format!("pool {pool} is not provisioned")),
        freshness,
    )
}

/// A stale "not found" says so: the pool may exist in a write the view has not reached.
pub(crate) fn with_freshness(problem: Problem, freshness: Option<Freshness>) -> Problem {
    match freshness {
        Some(freshness) => problem.with("consistency", json!(freshness)),
        None => problem,
    }
}
