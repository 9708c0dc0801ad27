//! The classic design: one row per pool, decremented under `SELECT … FOR UPDATE`.

use futures::future::BoxFuture;
use sqlx::PgPool;
use sqlx::postgres::PgPoolOptions;

use crate::load::Target;

/// `consume 1` as a Postgres transaction on one hot row of a table made for this run.
#[derive(Debug)]
pub struct HotRow {
    pool: PgPool,
    table: String,
}

impl HotRow {
    /// Connects with `connections` connections and creates `table` holding one well-funded
    /// pool.
    pub async fn create(url: &str, table: &str, connections: u32) -> anyhow::Result<Self> {
        let pool = PgPoolOptions::new()
            .max_connections(connections)
            .min_connections(connections)
            .acquire_timeout(std::time::Duration::from_secs(10))
            .connect(url)
            .await?;
        sqlx::query(&format!(
            "CREATE TABLE {table} (pool_id TEXT PRIMARY KEY, remaining BIGINT NOT NULL)"
        ))
        .execute(&pool)
        .await?;
        sqlx::query(&format!(
            "INSERT INTO {table} VALUES ('hot', 1000000000000000)"
        ))
        .execute(&pool)
        .await?;
        Ok(Self {
            pool,
            table: table.to_owned(),
        })
    }

    /// Drops the table.
    pub async fn drop_table(&self) -> anyhow::Result<()> {
        sqlx::query(&format!("DROP TABLE {}", self.table))
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}

impl Target for HotRow {
    fn call(&self, _seq: u64) -> BoxFuture<'static, Result<(), String>> {
        let (pool, table) = (self.pool.clone(), self.table.clone());
        Box::pin(async move { consume(&pool, &table, 1).await.map_err(|e| e.to_string()) })
    }
}

/// Checks and decrements the balance the way a single-database quota service would.
async fn consume(pool: &PgPool, table: &str, amount: i64) -> anyhow::Result<()> {
    let mut tx = pool.begin().await?;
    let remaining: i64 = sqlx::query_scalar(&format!(
        "SELECT remaining FROM {table} WHERE pool_id = $1 FOR UPDATE"
    ))
    .bind("hot")
    .fetch_one(&mut *tx)
    .await?;
    anyhow::ensure!(remaining >= amount, "insufficient quota");
    sqlx::query(&format!(
        "UPDATE {table} SET remaining = remaining - $2 WHERE pool_id = $1"
    ))
    .bind("hot")
    .bind(amount)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(())
}
