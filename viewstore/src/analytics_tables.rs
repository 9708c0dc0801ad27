//! Where the analytics live in Cassandra: one table layout shared by the projector that
//! writes it and the query API that reads it.
//!
//! The tables are kept in generations: a rebuild fills a fresh generation while readers
//! follow the active one, named in `view_generations`, hands the writers over to the new
//! one (`next`), then moves the readers' pointer (`active`; a single row write, atomic). Generation 0 keeps the original table names, so a deployment from
//! before generations needs no migration.

use scylla::client::session::Session;

/// The table naming each view's active generation.
pub const GENERATIONS_TABLE: &str = "view_generations";

/// The analytics view's row in [`GENERATIONS_TABLE`].
pub const ANALYTICS_VIEW: &str = "analytics";

/// The table names of one generation of the analytics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AnalyticsTables {
    generation: i32,
}

impl AnalyticsTables {
    /// The tables of generation `generation`.
    pub fn new(generation: i32) -> Self {
        Self { generation }
    }

    /// The generation's number.
    pub fn number(&self) -> i32 {
        self.generation
    }

    fn name(&self, base: &str) -> String {
        match self.generation {
            0 => base.to_owned(),
            n => format!("{base}_g{n}"),
        }
    }

    /// Usage per (dimension, subject, granularity), by bucket.
    pub fn usage(&self) -> String {
        self.name("usage")
    }

    /// The same rows keyed by bucket (top consumers).
    pub fn usage_by_bucket(&self) -> String {
        self.name("usage_by_bucket")
    }

    /// The projections' positions per partition.
    pub fn positions(&self) -> String {
        self.name("projection_positions")
    }

    /// Every table of the generation.
    pub fn all(&self) -> [String; 3] {
        [self.usage(), self.usage_by_bucket(), self.positions()]
    }
}

/// The analytics generation readers use now, in `keyspace` (0 before any rebuild).
pub async fn active_analytics(session: &Session, keyspace: &str) -> Result<i32, String> {
    analytics_generations(session, keyspace)
        .await
        .map(|(active, _)| active)
}

/// The analytics generation readers use now and, while a rebuild hands over to its new
/// generation, that one: writers write it (readers stay on the active one until the new
/// one has caught up).
pub async fn analytics_generations(
    session: &Session,
    keyspace: &str,
) -> Result<(i32, Option<i32>), String> {
    let result = session
        .query_unpaged(
            format!("SELECT active, next FROM {keyspace}.{GENERATIONS_TABLE} WHERE view_name = ?"),
            (ANALYTICS_VIEW,),
        )
        .await
        .map_err(|e| e.to_string())?;
    let row = result
        .into_rows_result()
        .map_err(|e| e.to_string())?
        .maybe_first_row::<(Option<i32>, Option<i32>)>()
        .map_err(|e| e.to_string())?;
    let (active, next) = row.unwrap_or_default();
    Ok((active.unwrap_or(0), next))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generation_zero_keeps_the_original_names_and_later_ones_are_suffixed() {
        assert_eq!(
            AnalyticsTables::new(0).all(),
            ["usage", "usage_by_bucket", "projection_positions"]
        );
        assert_eq!(
            AnalyticsTables::new(2).all(),
            ["usage_g2", "usage_by_bucket_g2", "projection_positions_g2"]
        );
    }
}
