//! Reads of the Redis bucket view: a pool's rate-limit buckets as its newest snapshot left
//! them, with read-your-writes by the snapshot's event position.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use redis::aio::ConnectionManager;
use schemas::ConsistencyToken;
use serde_json::{Map, Value, json};
use tokio::sync::OnceCell;
use viewstore::BucketKeys;

use crate::consistency::Freshness;
use crate::params::{ReadOptions, WaitBounds, request_options};
use crate::problem::Problem;
use crate::quota::{Query_, answer, unknown_pool};
use crate::readable::ReadablePool;

/// What the bucket handler shares.
#[derive(Clone)]
pub struct BucketState {
    client: redis::Client,
    /// Connected on first use, so the service starts (unready) while Redis is down.
    connection: Arc<OnceCell<ConnectionManager>>,
    keys: BucketKeys,
    partitions: u32,
    bounds: WaitBounds,
}

impl std::fmt::Debug for BucketState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BucketState")
            .field("keys", &self.keys)
            .field("partitions", &self.partitions)
            .finish_non_exhaustive()
    }
}

impl BucketState {
    /// Reads from the Redis at `client` under `keys`; pools spread over `partitions`.
    pub fn new(
        client: redis::Client,
        keys: BucketKeys,
        partitions: u32,
        bounds: WaitBounds,
    ) -> Self {
        Self {
            client,
            connection: Arc::new(OnceCell::new()),
            keys,
            partitions,
            bounds,
        }
    }

    async fn redis(&self) -> Result<ConnectionManager, Problem> {
        let connection = self
            .connection
            .get_or_try_init(|| ConnectionManager::new(self.client.clone()))
            .await
            .map_err(unavailable)?;
        Ok(connection.clone())
    }
}

/// How often the hash is looked at while waiting for a write (one small HGETALL).
const POLL: Duration = Duration::from_millis(10);

/// `GET /api/v1/pools/{kind}/{id}/{provider}/buckets`: the pool's rate-limit buckets.
pub async fn get_buckets(
    State(state): State<BucketState>,
    ReadablePool(pool): ReadablePool,
    query: Query_,
    headers: HeaderMap,
) -> Result<Response, Problem> {
    let pool = pool.to_string();
    let ReadOptions { after, wait } = request_options(query, &headers, state.bounds)?;
    if let Some(token) = after {
        check_partition(&pool, token, state.partitions)?;
    }
    let mut redis = state.redis().await?;
    let start = Instant::now();
    let (hash, freshness) = loop {
        let hash = read_bucket(&mut redis, &state.keys, &pool).await?;
        let Some(token) = after else {
            break (hash, None);
        };
        let next = folded(&hash).unwrap_or(0);
        let reached = next > token.offset;
        if reached || start.elapsed() >= wait {
            let freshness = Freshness {
                requested: token,
                stale: !reached,
                view_next_offset: next,
                waited_ms: start.elapsed().as_millis() as u64,
            };
            break (hash, Some(freshness));
        }
        tokio::time::sleep(POLL.min(wait.saturating_sub(start.elapsed()))).await;
    };
    if hash.is_empty() {
        return Err(unknown_pool(&pool, freshness));
    }
    let bucket = bucket_json(&pool, &hash).map_err(|detail| {
        tracing::warn!(%pool, %detail, "a bucket hash that does not read");
        Problem::unavailable("the bucket view holds a malformed entry")
    })?;
    Ok(answer(json!({ "bucket": bucket }), freshness))
}

/// The pool's hash in the active generation of the view (empty if it has none).
///
/// A rebuild may swap another generation in and drop the old one between resolving the
/// pointer and reading the hash: an empty answer is checked against the pointer again, so
/// a read never sees a generation half built nor one half dropped.
async fn read_bucket(
    redis: &mut ConnectionManager,
    keys: &BucketKeys,
    pool: &str,
) -> Result<HashMap<String, String>, Problem> {
    let mut generation = keys.read_active(redis).await.map_err(unavailable)?;
    loop {
        let hash: HashMap<String, String> = redis::cmd("HGETALL")
            .arg(keys.generation(generation).bucket(pool))
            .query_async(redis)
            .await
            .map_err(unavailable)?;
        if !hash.is_empty() {
            return Ok(hash);
        }
        let active = keys.read_active(redis).await.map_err(unavailable)?;
        if active == generation {
            return Ok(hash);
        }
        generation = active;
    }
}

/// A pool's writes are all on its own partition: a token from another one cannot be from a
/// write to this pool, and the pool's snapshot position says nothing about it.
fn check_partition(pool: &str, token: ConsistencyToken, partitions: u32) -> Result<(), Problem> {
    let own = eventlog::partition_for(pool.as_bytes(), partitions);
    if token.partition == own {
        return Ok(());
    }
    Err(Problem::invalid_parameter(
        "consistency_token",
        format!(
            "{token} is not from a write to {pool} (its writes are on partition {own}); \
             a bucket read takes the token of a write to the same pool"
        ),
    ))
}

/// The partition's next event offset the pool's snapshot had folded in.
fn folded(hash: &HashMap<String, String>) -> Option<i64> {
    hash.get("next_event_offset")?.parse().ok()
}

/// The pool-wide fields, then per limit (`requests`, `tokens`) its own.
const POOL_FIELDS: [&str; 3] = ["updated_at_ms", "next_event_offset", "retry_after_ms"];
const LIMIT_FIELDS: [&str; 6] = [
    "capacity",
    "rate",
    "period_ms",
    "level",
    "remaining",
    "reset_after_ms",
];

/// The hash the projector wrote, as typed JSON; `Err` names a missing or non-numeric field.
fn bucket_json(pool: &str, hash: &HashMap<String, String>) -> Result<Value, String> {
    let number = |name: &str| -> Result<Value, String> {
        let raw = hash.get(name).ok_or_else(|| format!("no field {name}"))?;
        raw.parse::<i64>()
            .map(Value::from)
            .map_err(|_| format!("field {name} is not a number: {raw:?}"))
    };
    let mut bucket = Map::new();
    bucket.insert("pool_id".into(), json!(pool));
    let strategy = hash.get("strategy").ok_or("no field strategy")?;
    bucket.insert("strategy".into(), json!(strategy));
    for name in POOL_FIELDS {
        bucket.insert(name.into(), number(name)?);
    }
    let mut limits = Map::new();
    for kind in ["requests", "tokens"] {
        let mut limit = Map::new();
        for name in LIMIT_FIELDS {
            limit.insert(name.into(), number(&format!("{kind}_{name}"))?);
        }
        limits.insert(kind.into(), Value::Object(limit));
    }
    bucket.insert("limits".into(), Value::Object(limits));
    Ok(Value::Object(bucket))
}

fn unavailable(error: redis::RedisError) -> Problem {
    // Logged in full, answered without internals.
    tracing::warn!(%error, "reading the bucket view failed");
    Problem::unavailable("the bucket store did not answer; retry shortly")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hash(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    fn full() -> HashMap<String, String> {
        let mut fields = hash(&[
            ("strategy", "LEAKY_BUCKET"),
            ("updated_at_ms", "1000"),
            ("next_event_offset", "7"),
            ("retry_after_ms", "0"),
        ]);
        for kind in ["requests", "tokens"] {
            for (i, name) in LIMIT_FIELDS.iter().enumerate() {
                fields.insert(format!("{kind}_{name}"), i.to_string());
            }
        }
        fields
    }

    #[test]
    fn the_hash_reads_as_the_pool_fields_and_one_object_per_limit() {
        let bucket = bucket_json("user:alice/openai", &full()).unwrap();
        assert_eq!(bucket["pool_id"], json!("user:alice/openai"));
        assert_eq!(bucket["strategy"], json!("LEAKY_BUCKET"));
        assert_eq!(bucket["next_event_offset"], json!(7));
        assert_eq!(
            bucket["limits"]["tokens"],
            json!({"capacity": 0, "rate": 1, "period_ms": 2, "level": 3,
                   "remaining": 4, "reset_after_ms": 5})
        );
    }

    #[test]
    fn a_missing_or_garbled_field_is_named() {
        let mut missing = full();
        missing.remove("tokens_level");
        assert_eq!(
            bucket_json("p", &missing).unwrap_err(),
            "no field tokens_level"
        );
        let mut garbled = full();
        garbled.insert("retry_after_ms".into(), "soon".into());
        assert!(
            bucket_json("p", &garbled)
                .unwrap_err()
                .contains("retry_after_ms")
        );
    }

    #[test]
    fn a_token_from_another_partition_is_refused() {
        let pool = "user:alice/openai";
        let own = eventlog::partition_for(pool.as_bytes(), 4);
        let token = |partition| ConsistencyToken {
            partition,
            offset: 3,
        };
        assert!(check_partition(pool, token(own), 4).is_ok());
        assert!(check_partition(pool, token((own + 1) % 4), 4).is_err());
    }
}
