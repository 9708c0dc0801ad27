//! Generations of the analytics tables: checking a rebuild's has caught up with the live
//! one, handing the writers over to it, moving the readers' pointer, and dropping a
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

/// Makes the live projectors write `generation` from their next batch on (readers stay on
/// the active one).
pub async fn hand_over(session: &Session, generation: AnalyticsTables) -> anyhow::Result<()> {
    session
        .query_unpaged(
            format!("UPDATE {GENERATIONS_TABLE} SET next = ? WHERE view_name = ?"),
            (generation.number(), ANALYTICS_VIEW),
        )
        .await?;
    Ok(())
}

/// Makes `generation` the one readers and writers use (one row write).
pub async fn activate(session: &Session, generation: AnalyticsTables) -> anyhow::Result<()> {
    session
        .query_unpaged(
            format!(
                "INSERT INTO {GENERATIONS_TABLE} (view_name, active, next) VALUES (?, ?, null)"
            ),
            (ANALYTICS_VIEW, generation.number()),
        )
        .await?;
    Ok(())
}

/// Every position of both sources in `tables`, to tell whether writers still move them.
pub async fn all_positions(
    session: &Session,
    tables: AnalyticsTables,
) -> anyhow::Result<Vec<(i32, i64)>> {
    let mut all = Vec::new();
    for source in [Source::Events, Source::Rejections] {
        all.extend(positions(session, tables, source.projection()).await?);
    }
    Ok(all)
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
