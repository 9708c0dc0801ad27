//! The analytics tables in Cassandra: one row per (dimension, subject, granularity,
//! bucket, source topic, source partition) carrying absolute totals and the last offset
//! of that partition folded in. Never counters: rewriting a row with the same totals is
//! harmless, so a replay or a crash between writes never counts twice.

use std::sync::Arc;

use scylla::client::session::Session;
use scylla::statement::prepared::PreparedStatement;
use settings::CassandraSettings;
use viewstore::{AnalyticsTables, GENERATIONS_TABLE};

use super::contributions::{Usage, UsageKey};

/// A row's totals and the offset of the last record folded into them (-1: none yet).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Folded {
    pub usage: Usage,
    pub last_offset: i64,
}

impl Default for Folded {
    fn default() -> Self {
        Self {
            usage: Usage::default(),
            last_offset: -1,
        }
    }
}

/// A session on the analytics keyspace, created if needed with its generations table.
pub async fn connect(settings: &CassandraSettings) -> anyhow::Result<Arc<Session>> {
    let session = viewstore::connect_cassandra(settings).await?;
    let keyspace = &settings.keyspace;
    // One replica: the local single-node cluster. A real cluster sets its own.
    session
        .query_unpaged(
            format!(
                "CREATE KEYSPACE IF NOT EXISTS {keyspace} WITH replication = \
                 {{'class': 'SimpleStrategy', 'replication_factor': 1}}"
            ),
            &[],
        )
        .await?;
    session.use_keyspace(keyspace, false).await?;
    session
        .query_unpaged(
            format!(
                "CREATE TABLE IF NOT EXISTS {GENERATIONS_TABLE} (view_name text PRIMARY KEY, active int, next int)"
            ),
            &[],
        )
        .await?;
    session.await_schema_agreement().await?;
    Ok(Arc::new(session))
}

/// Prepared statements over one generation of the tables, made ready.
#[derive(Debug)]
pub struct AnalyticsStore {
    session: Arc<Session>,
    tables: AnalyticsTables,
    select: PreparedStatement,
    upsert: PreparedStatement,
    upsert_by_bucket: PreparedStatement,
    select_position: PreparedStatement,
    upsert_position: PreparedStatement,
}

impl AnalyticsStore {
    /// Creates the tables of `tables`' generation if needed and prepares the statements.
    pub async fn open(session: Arc<Session>, tables: AnalyticsTables) -> anyhow::Result<Self> {
        let [usage, usage_by_bucket, positions] = tables.all();
        let tables_ddl = [
            format!(
                "CREATE TABLE IF NOT EXISTS {usage} (\
                 dimension text, subject text, granularity text, bucket_start bigint, \
                 source text, source_partition int, \
                 tokens bigint, requests bigint, rejections bigint, last_offset bigint, \
                 PRIMARY KEY ((dimension, subject, granularity), bucket_start, source, source_partition))"
            ),
            // The same rows keyed by bucket, for "who used most in this bucket" (top consumers).
            format!(
                "CREATE TABLE IF NOT EXISTS {usage_by_bucket} (\
                 dimension text, granularity text, bucket_start bigint, subject text, \
                 source text, source_partition int, \
                 tokens bigint, requests bigint, rejections bigint, last_offset bigint, \
                 PRIMARY KEY ((dimension, granularity, bucket_start), subject, source, source_partition))"
            ),
            format!(
                "CREATE TABLE IF NOT EXISTS {positions} (\
                 projection text, partition int, next_offset bigint, \
                 PRIMARY KEY (projection, partition))"
            ),
        ];
        for ddl in tables_ddl {
            session.query_unpaged(ddl, &[]).await?;
        }
        session.await_schema_agreement().await?;
        let select = session
            .prepare(format!(
                "SELECT tokens, requests, rejections, last_offset FROM {usage} \
                 WHERE dimension = ? AND subject = ? AND granularity = ? AND bucket_start = ? \
                 AND source = ? AND source_partition = ?"
            ))
            .await?;
        let upsert = session
            .prepare(format!(
                "INSERT INTO {usage} (dimension, subject, granularity, bucket_start, source, \
                 source_partition, tokens, requests, rejections, last_offset) \
                 VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
            ))
            .await?;
        let upsert_by_bucket = session
            .prepare(format!(
                "INSERT INTO {usage_by_bucket} (dimension, granularity, bucket_start, subject, \
                 source, source_partition, tokens, requests, rejections, last_offset) \
                 VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
            ))
            .await?;
        let select_position = session
            .prepare(format!(
                "SELECT next_offset FROM {positions} WHERE projection = ? AND partition = ?"
            ))
            .await?;
        let upsert_position = session
            .prepare(format!(
                "INSERT INTO {positions} (projection, partition, next_offset) VALUES (?, ?, ?)"
            ))
            .await?;
        Ok(Self {
            session,
            tables,
            select,
            upsert,
            upsert_by_bucket,
            select_position,
            upsert_position,
        })
    }

    /// The generation this store writes.
    pub fn generation(&self) -> i32 {
        self.tables.number()
    }

    /// The row of `key` fed by `source[partition]`, zero if there is none yet.
    pub async fn folded(
        &self,
        key: &UsageKey,
        source: &str,
        partition: i32,
    ) -> anyhow::Result<Folded> {
        let row = self
            .session
            .execute_unpaged(
                &self.select,
                (
                    key.dimension,
                    &key.subject,
                    key.granularity,
                    key.bucket_start_ms,
                    source,
                    partition,
                ),
            )
            .await?
            .into_rows_result()?
            .maybe_first_row::<(i64, i64, i64, i64)>()?;
        Ok(
            row.map_or_else(Folded::default, |(tokens, requests, rejections, last)| {
                Folded {
                    usage: Usage {
                        tokens,
                        requests,
                        rejections,
                    },
                    last_offset: last,
                }
            }),
        )
    }

    /// Writes the absolute totals of `key`'s row fed by `source[partition]`, in both tables
    /// (the by-bucket copy is read from `usage`'s values, so a crash between the two writes
    /// is mended by the replayed batch).
    pub async fn write(
        &self,
        key: &UsageKey,
        source: &str,
        partition: i32,
        folded: Folded,
    ) -> anyhow::Result<()> {
        self.session
            .execute_unpaged(
                &self.upsert,
                (
                    key.dimension,
                    &key.subject,
                    key.granularity,
                    key.bucket_start_ms,
                    source,
                    partition,
                    folded.usage.tokens,
                    folded.usage.requests,
                    folded.usage.rejections,
                    folded.last_offset,
                ),
            )
            .await?;
        self.session
            .execute_unpaged(
                &self.upsert_by_bucket,
                (
                    key.dimension,
                    key.granularity,
                    key.bucket_start_ms,
                    &key.subject,
                    source,
                    partition,
                    folded.usage.tokens,
                    folded.usage.requests,
                    folded.usage.rejections,
                    folded.last_offset,
                ),
            )
            .await?;
        Ok(())
    }

    /// Where `projection` resumes on `partition` (zero before its first batch).
    pub async fn position(&self, projection: &str, partition: i32) -> anyhow::Result<i64> {
        let row = self
            .session
            .execute_unpaged(&self.select_position, (projection, partition))
            .await?
            .into_rows_result()?
            .maybe_first_row::<(i64,)>()?;
        Ok(row.map_or(0, |(next,)| next))
    }

    /// Records where `projection` resumes on `partition`. Written after the rows: a crash
    /// in between re-reads records the rows already folded in, and they skip them.
    pub async fn set_position(
        &self,
        projection: &str,
        partition: i32,
        next_offset: i64,
    ) -> anyhow::Result<()> {
        self.session
            .execute_unpaged(&self.upsert_position, (projection, partition, next_offset))
            .await?;
        Ok(())
    }
}
