//! Reads of the Postgres purchases view: one purchase, and an owner's purchases, with the
//! same read-your-writes contract as the pool reads (the token of a purchase reply).

use access::Identity;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::Response;
use domain::{PoolId, PurchaseId};
use quotaview::purchases::{PROJECTION, owner_purchases, purchase};
use serde_json::json;
use sqlx::PgPool;

use crate::consistency::{Freshness, wait_for};
use crate::params::{ReadOptions, WaitBounds, request_options};
use crate::problem::Problem;
use crate::quota::{Query_, answer, with_freshness};
use crate::readable::{ReadableOwner, bad_path};

/// What the purchase handlers share.
#[derive(Debug, Clone)]
pub struct PurchaseState {
    /// A pool whose statements resolve to the purchases view's schema.
    pub db: PgPool,
    pub bounds: WaitBounds,
}

/// Every status a purchase can be in, as the `state` filter takes them.
const STATUSES: [&str; 7] = [
    "REQUESTED",
    "PAYMENT_RESERVED",
    "PAYMENT_CAPTURED",
    "TOKENS_GRANTED",
    "COMPLETED",
    "COMPENSATING",
    "FAILED",
];

/// Purchases listed when the request names no `limit`, and the most it may ask for.
const DEFAULT_LIMIT: i64 = 50;
const MAX_LIMIT: i64 = 500;

/// `GET /api/v1/purchases/{id}`: one purchase's order, status, failure and compensation.
pub async fn get_purchase(
    State(state): State<PurchaseState>,
    caller: Identity,
    path: Result<Path<String>, PathRejection>,
    query: Query_,
    headers: HeaderMap,
) -> Result<Response, Problem> {
    let Path(id) = path.map_err(bad_path)?;
    let id: PurchaseId = id
        .parse()
        .map_err(|error| Problem::invalid_parameter("id", error))?;
    let options = request_options(query, &headers, state.bounds)?;
    let freshness = settle(&state, options).await?;
    let Some(row) = purchase(&state.db, id.as_uuid()).await? else {
        return Err(with_freshness(
            Problem::not_found(format!("no purchase {id}")),
            freshness,
        ));
    };
    // Whose it is is known once it is read: the pool it buys for.
    let pool: PoolId = row.pool_id.parse().map_err(|error| {
        Problem::unavailable(format!("purchase {id} names pool {}: {error}", row.pool_id))
    })?;
    caller.may_use_pool(&pool)?;
    Ok(answer(json!({ "purchase": row }), freshness))
}

/// `GET /api/v1/owners/{kind}/{id}/purchases?state=&limit=`: an owner's purchases, newest
/// first.
pub async fn get_owner_purchases(
    State(state): State<PurchaseState>,
    ReadableOwner(owner): ReadableOwner,
    query: Query_,
    headers: HeaderMap,
) -> Result<Response, Problem> {
    let Query(pairs) =
        query.map_err(|rejection| Problem::invalid_parameter("query", rejection.body_text()))?;
    let (filter, read): (Vec<_>, Vec<_>) = pairs
        .into_iter()
        .partition(|(name, _)| name == "state" || name == "limit");
    if let Some((name, _)) = read
        .iter()
        .find(|(name, _)| name != "consistency_token" && name != "wait_ms")
    {
        return Err(Problem::invalid_parameter(
            name,
            "unknown parameter (accepted: state, limit, consistency_token, wait_ms)",
        ));
    }
    let (status, limit) = listing_filter(&filter)?;
    let options = request_options(Ok(Query(read)), &headers, state.bounds)?;
    let freshness = settle(&state, options).await?;
    let rows = owner_purchases(&state.db, owner.kind(), owner.id(), status, limit).await?;
    Ok(answer(
        json!({
            "owner": owner.to_string(),
            "state": status,
            "limit": limit,
            "purchases": rows,
        }),
        freshness,
    ))
}

/// The `state` (a status, any case) and `limit` (1 to [`MAX_LIMIT`]) of a listing.
fn listing_filter(params: &[(String, String)]) -> Result<(Option<&'static str>, i64), Problem> {
    let mut status = None;
    let mut limit = DEFAULT_LIMIT;
    for (name, value) in params {
        if name == "state" {
            let wanted = value.to_ascii_uppercase();
            status = Some(STATUSES.into_iter().find(|s| *s == wanted).ok_or_else(|| {
                Problem::invalid_parameter(
                    name,
                    format!("{value:?} is not a status (one of {})", STATUSES.join(", ")),
                )
            })?);
        } else {
            limit = value
                .parse()
                .ok()
                .filter(|n| (1..=MAX_LIMIT).contains(n))
                .ok_or_else(|| {
                    Problem::invalid_parameter(
                        name,
                        format!("must be a number from 1 to {MAX_LIMIT}, got {value:?}"),
                    )
                })?;
        }
    }
    Ok((status, limit))
}

/// Given a token, waits for the purchases view to pass it.
async fn settle(
    state: &PurchaseState,
    ReadOptions { after, wait }: ReadOptions,
) -> Result<Option<Freshness>, Problem> {
    match after {
        Some(token) => Ok(Some(wait_for(&state.db, PROJECTION, token, wait).await?)),
        None => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn a_listing_takes_a_status_in_any_case_and_a_bounded_limit() {
        assert_eq!(listing_filter(&[]).unwrap(), (None, DEFAULT_LIMIT));
        assert_eq!(
            listing_filter(&params(&[("state", "failed"), ("limit", "3")])).unwrap(),
            (Some("FAILED"), 3)
        );
    }

    #[test]
    fn unknown_statuses_and_out_of_range_limits_are_refused() {
        for bad in [
            params(&[("state", "done")]),
            params(&[("limit", "0")]),
            params(&[("limit", "501")]),
            params(&[("limit", "ten")]),
        ] {
            assert!(listing_filter(&bad).is_err(), "{bad:?}");
        }
    }
}
