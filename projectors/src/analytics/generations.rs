//! Generations of the analytics tables: starting a fresh one for a rebuild, checking it
//! has caught up with the live one, moving the active-generation pointer, and dropping a
//! retired generation.

use scylla::client::session::Session;
use viewstore::{ANALYTICS_VIEW, AnalyticsTables, GENERATIONS_TABLE};

use super::Source;

/// The positions `tables` holds per (projection, partition).
async fn positions(
    session: &Session,
    tables: AnalyticsTables,
    projection: &str,
) -> anyhow::Result<Vec<(i32, i64)>> {
    let result = session
        .query_unpaged(
            format!(
                "SELECT partition, next_offset FROM {} WHERE projection = ?",
                tables.positions()
            ),
            (projection,),
        )
        .await?
        .into_rows_result()?;
    let mut rows = Vec::new();
    for row in result.rows::<(i32, i64)>()? {
        rows.push(row?);
    }
    Ok(rows)
}

/// Whether `fresh` has applied, for both sources and every partition, at least what
/// `live` has.
pub async fn caught_up(
    session: &Session,
    live: AnalyticsTables,
    fresh: AnalyticsTables,
) -> anyhow::Result<bool> {
    for source in [Source::Events, Source::Rejections] {
        let copied = positions(session, fresh, source.projection()).await?;
        for (partition, next) in positions(session, live, source.projection()).await? {
            let reached = copied
                .iter()
                .find(|(p, _)| *p == partition)
                .map_or(0, |(_, n)| *n);
            if reached < next {
                return Ok(false);
            }
        }
    }
    Ok(true)
}

/// Makes `generation` the one readers and the live projectors use (one row write).
pub async fn activate(session: &Session, generation: AnalyticsTables) -> anyhow::Result<()> {
    session
        .query_unpaged(
            format!("INSERT INTO {GENERATIONS_TABLE} (view_name, active) VALUES (?, ?)"),
            (ANALYTICS_VIEW, generation.number()),
        )
        .await?;
    Ok(())
}

/// Drops every table of `generation`.
pub async fn drop_generation(session: &Session, generation: AnalyticsTables) -> anyhow::Result<()> {
    for table in generation.all() {
        session
            .query_unpaged(format!("DROP TABLE IF EXISTS {table}"), &[])
            .await?;
    }
    session.await_schema_agreement().await?;
    Ok(())
}

/// A session on the keyspace in `settings`, made ready.
pub use super::store::connect;

/// Creates the tables of `generation` if they do not exist.
pub async fn ensure(
    session: &std::sync::Arc<Session>,
    generation: AnalyticsTables,
) -> anyhow::Result<()> {
    super::store::AnalyticsStore::open(session.clone(), generation).await?;
    Ok(())
}
