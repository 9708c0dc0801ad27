//! Usage analytics from Cassandra: a series per provider, user or org, its trend against
//! the range before, and its anomalies.

mod range;
mod stats;

use std::collections::BTreeMap;
use std::sync::Arc;

use access::{Identity, Refusal};
use axum::Json;
use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use domain::Owner;
use scylla::client::session::Session;
use serde_json::json;
use settings::CassandraSettings;
use tokio::sync::OnceCell;
use viewstore::AnalyticsTables;

use self::range::{Extra, UsageQuery, usage_query};
use self::stats::{ANOMALY_METHOD, BucketUsage, anomalies, change_percent, totals};
use crate::problem::Problem;

/// What the usage handlers share: a session opened on first use, so the service starts
/// (and says it is unready) while Cassandra is down.
#[derive(Clone)]
pub struct UsageState {
    settings: CassandraSettings,
    session: Arc<OnceCell<Session>>,
}

impl std::fmt::Debug for UsageState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UsageState")
            .field("keyspace", &self.settings.keyspace)
            .finish_non_exhaustive()
    }
}

impl UsageState {
    /// Usage reads from the cluster in `settings`.
    pub fn new(settings: CassandraSettings) -> Self {
        Self {
            settings,
            session: Arc::default(),
        }
    }

    async fn session(&self) -> Result<&Session, Problem> {
        self.session
            .get_or_try_init(|| viewstore::connect_cassandra(&self.settings))
            .await
            .map_err(|error| {
                tracing::warn!(%error, "connecting to cassandra failed");
                Problem::unavailable("the analytics store did not answer; retry shortly")
            })
    }

    /// The generation of the tables readers use now.
    async fn tables(&self) -> Result<AnalyticsTables, Problem> {
        let session = self.session().await?;
        viewstore::active_analytics(session, &self.settings.keyspace)
            .await
            .map(AnalyticsTables::new)
            .map_err(unavailable)
    }

    /// Every bucket of the query's range (empty ones as zeros), in order.
    ///
    /// A rebuild may swap generations and drop the old one while a read runs: a read that
    /// fails is tried once more if the active generation changed meanwhile.
    async fn series(&self, query: &UsageQuery) -> Result<Vec<BucketUsage>, Problem> {
        let tables = self.tables().await?;
        match self.series_in(tables, query).await {
            Err(problem) => match self.tables().await? {
                now if now != tables => self.series_in(now, query).await,
                _ => Err(problem),
            },
            read => read,
        }
    }

    async fn series_in(
        &self,
        tables: AnalyticsTables,
        query: &UsageQuery,
    ) -> Result<Vec<BucketUsage>, Problem> {
        let session = self.session().await?;
        let cql = format!(
            "SELECT bucket_start, tokens, requests, rejections FROM {}.{} \
             WHERE dimension = ? AND subject = ? AND granularity = ? \
             AND bucket_start >= ? AND bucket_start < ?",
            self.settings.keyspace,
            tables.usage()
        );
        let result = session
            .query_unpaged(
                cql,
                (
                    query.dimension,
                    &query.subject,
                    query.granularity,
                    query.from_ms,
                    query.to_ms,
                ),
            )
            .await
            .map_err(unavailable)?;
        let rows = result.into_rows_result().map_err(unavailable)?;
        // One row per source partition: a bucket is their sum.
        let mut buckets: BTreeMap<i64, BucketUsage> = BTreeMap::new();
        for row in rows.rows::<(i64, i64, i64, i64)>().map_err(unavailable)? {
            let (start_ms, tokens, requests, rejections) = row.map_err(unavailable)?;
            let bucket = buckets.entry(start_ms).or_insert(BucketUsage {
                start_ms,
                ..BucketUsage::default()
            });
            bucket.tokens += tokens;
            bucket.requests += requests;
            bucket.rejections += rejections;
        }
        Ok((query.from_ms..query.to_ms)
            .step_by(query.bucket_ms as usize)
            .map(|start_ms| {
                buckets.get(&start_ms).copied().unwrap_or(BucketUsage {
                    start_ms,
                    ..BucketUsage::default()
                })
            })
            .collect())
    }
}

impl UsageState {
    /// Totals per subject over the query's range, from `tables`.
    async fn top_in(
        &self,
        tables: AnalyticsTables,
        query: &UsageQuery,
    ) -> Result<BTreeMap<String, stats::Totals>, Problem> {
        let session = self.session().await?;
        let cql = format!(
            "SELECT subject, tokens, requests, rejections FROM {}.{} \
             WHERE dimension = ? AND granularity = ? AND bucket_start = ?",
            self.settings.keyspace,
            tables.usage_by_bucket()
        );
        let statement = session.prepare(cql).await.map_err(unavailable)?;
        let mut by_subject: BTreeMap<String, stats::Totals> = BTreeMap::new();
        for start in (query.from_ms..query.to_ms).step_by(query.bucket_ms as usize) {
            let rows = session
                .execute_unpaged(&statement, (query.dimension, query.granularity, start))
                .await
                .map_err(unavailable)?
                .into_rows_result()
                .map_err(unavailable)?;
            for row in rows
                .rows::<(String, i64, i64, i64)>()
                .map_err(unavailable)?
            {
                let (subject, tokens, requests, rejections) = row.map_err(unavailable)?;
                let total = by_subject.entry(subject).or_default();
                total.tokens += tokens;
                total.requests += requests;
                total.rejections += rejections;
            }
        }
        Ok(by_subject)
    }
}

fn unavailable(error: impl std::fmt::Display) -> Problem {
    // Also the answer before the projector has created the tables.
    tracing::warn!(%error, "reading usage failed");
    Problem::unavailable("the analytics store did not answer; retry shortly")
}

type UsagePath = Result<Path<(String, String)>, PathRejection>;
type TopPath = Result<Path<String>, PathRejection>;
type UsageParams = Result<Query<Vec<(String, String)>>, QueryRejection>;

fn parse(path: UsagePath, params: UsageParams, extra: Extra) -> Result<UsageQuery, Problem> {
    let Path((dimension, subject)) =
        path.map_err(|r| Problem::invalid_parameter("path", r.body_text()))?;
    let Query(params) = params.map_err(|r| Problem::invalid_parameter("query", r.body_text()))?;
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64);
    usage_query(&dimension, &subject, &params, extra, now_ms)
}

/// Whose usage the caller may read: its own and its orgs'; a provider's spans every tenant,
/// so only an ADMIN reads it.
fn may_read(caller: &Identity, query: &UsageQuery) -> Result<(), Refusal> {
    let owner = match query.dimension {
        "user" => format!("user:{}", query.subject).parse::<Owner>(),
        "org" => format!("org:{}", query.subject).parse::<Owner>(),
        _ => return caller.may_read_across_tenants("read a provider's usage across tenants"),
    };
    match owner {
        Ok(owner) => caller.may_use_pools_of(&owner),
        // `parse` has checked the subject already; refuse rather than guess.
        Err(_) => caller.may_read_across_tenants("read this usage"),
    }
}

fn describe(query: &UsageQuery) -> serde_json::Value {
    json!({
        "dimension": query.dimension,
        "subject": query.subject,
        "granularity": query.granularity,
        "from_ms": query.from_ms,
        "to_ms": query.to_ms,
    })
}

/// `GET /api/v1/usage/{dimension}/{subject}`: tokens, requests and rejections per bucket.
pub async fn get_usage(
    State(state): State<UsageState>,
    caller: Identity,
    path: UsagePath,
    params: UsageParams,
) -> Result<Response, Problem> {
    let query = parse(path, params, Extra::None)?;
    may_read(&caller, &query)?;
    let series = state.series(&query).await?;
    let mut body = describe(&query);
    body["totals"] = json!(totals(&series));
    body["buckets"] = json!(series);
    Ok(Json(body).into_response())
}

/// `GET /api/v1/usage/{dimension}/{subject}/trend`: the range against the one before it.
pub async fn get_trend(
    State(state): State<UsageState>,
    caller: Identity,
    path: UsagePath,
    params: UsageParams,
) -> Result<Response, Problem> {
    let query = parse(path, params, Extra::None)?;
    may_read(&caller, &query)?;
    let span = query.to_ms - query.from_ms;
    let before = UsageQuery {
        from_ms: query.from_ms - span,
        to_ms: query.from_ms,
        ..query.clone()
    };
    let current = totals(&state.series(&query).await?);
    let previous = totals(&state.series(&before).await?);
    let mut body = describe(&query);
    body["current"] = json!(current);
    body["previous"] =
        json!({"from_ms": before.from_ms, "to_ms": before.to_ms, "totals": previous});
    body["tokens_change_percent"] = json!(change_percent(&previous, &current));
    Ok(Json(body).into_response())
}

/// `GET /api/v1/usage/{dimension}/{subject}/anomalies`: buckets far above the subject's own
/// baseline, with the method.
pub async fn get_anomalies(
    State(state): State<UsageState>,
    caller: Identity,
    path: UsagePath,
    params: UsageParams,
) -> Result<Response, Problem> {
    // Anomaly detection is an operator's view, whoever the subject.
    caller.may_read_across_tenants("read usage anomalies")?;
    let query = parse(path, params, Extra::Threshold)?;
    let series = state.series(&query).await?;
    let points: Vec<(i64, i64)> = series.iter().map(|b| (b.start_ms, b.tokens)).collect();
    let (baseline, spread, found) = anomalies(&points, query.threshold);
    let mut body = describe(&query);
    body["method"] = json!(ANOMALY_METHOD);
    body["threshold"] = json!(query.threshold);
    body["baseline_tokens"] = json!(baseline);
    body["spread_tokens"] = json!(spread);
    body["anomalies"] = json!(found);
    Ok(Json(body).into_response())
}

/// `GET /api/v1/top/{dimension}`: the subjects that used most tokens over the range.
pub async fn get_top(
    State(state): State<UsageState>,
    caller: Identity,
    path: TopPath,
    params: UsageParams,
) -> Result<Response, Problem> {
    caller.may_read_across_tenants("read the top consumers")?;
    let Path(dimension) = path.map_err(|r| Problem::invalid_parameter("path", r.body_text()))?;
    let query = parse(Ok(Path((dimension, String::new()))), params, Extra::Limit)?;
    let tables = state.tables().await?;
    let by_subject = match state.top_in(tables, &query).await {
        Err(problem) => match state.tables().await? {
            now if now != tables => state.top_in(now, &query).await?,
            _ => return Err(problem),
        },
        Ok(read) => read,
    };
    let mut ranked: Vec<(String, stats::Totals)> = by_subject.into_iter().collect();
    // Most tokens first; ties by name, so the answer is stable.
    ranked.sort_by(|(a, x), (b, y)| y.tokens.cmp(&x.tokens).then_with(|| a.cmp(b)));
    ranked.truncate(query.limit);
    let top: Vec<_> = ranked
        .into_iter()
        .map(|(subject, totals)| json!({"subject": subject, "totals": totals}))
        .collect();
    let mut body = describe(&query);
    if let Some(fields) = body.as_object_mut() {
        fields.remove("subject");
    }
    body["top"] = json!(top);
    Ok(Json(body).into_response())
}
