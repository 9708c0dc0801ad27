//! Rebuilding a Postgres view into a fresh copy (schema [`ViewSchema::rebuild`]) while the
//! live copy (schema [`ViewSchema::live`]) keeps serving, and swapping the two once the
//! copy has caught up.
//!
//! The swap is one transaction: it marks the live copy retired (which waits for, then
//! blocks, the live writers' batches: they hold `view_meta` under a share lock), checks
//! that the copy has applied at least everything the live copy has, and renames the
//! schemas. Readers and writers resolve table names per statement, so the next statement
//! anyone runs sees the new copy; a batch that waited for the swap finds its copy retired
//! and is written again, into the new one, skipping what it already holds.

use sqlx::migrate::Migrator;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{Connection, PgPool};

/// Where the copies of one Postgres view live, and how one is created.
#[derive(Debug, Clone, Copy)]
pub struct ViewSchema {
    /// The projection whose positions say when a copy has caught up.
    pub projection: &'static str,
    /// The schema of the live copy, the one readers see.
    pub live: &'static str,
    /// The schema a rebuild writes into.
    pub rebuild: &'static str,
    /// A retired copy is kept as schema `<retired_prefix><suffix>`.
    pub retired_prefix: &'static str,
    /// Creates or upgrades the view's tables in the first schema of the search path.
    pub migrator: &'static Migrator,
}

static QUOTA_MIGRATOR: Migrator = sqlx::migrate!("./migrations");
static PURCHASES_MIGRATOR: Migrator = sqlx::migrate!("./purchase_migrations");

/// The quota view: pools, open holds, owner totals (the database's `public` schema).
pub const QUOTA: ViewSchema = ViewSchema {
    projection: crate::PROJECTION,
    live: "public",
    rebuild: "quota_rebuild",
    retired_prefix: "quota_retired_",
    migrator: &QUOTA_MIGRATOR,
};

/// The purchases view: one row per purchase (schema `purchases`).
pub const PURCHASES: ViewSchema = ViewSchema {
    projection: crate::purchases::PROJECTION,
    live: "purchases",
    rebuild: "purchases_rebuild",
    retired_prefix: "purchases_retired_",
    migrator: &PURCHASES_MIGRATOR,
};

impl ViewSchema {
    /// Creates the live schema if needed and migrates it through `db`, whose statements
    /// must resolve to it (see [`ViewSchema::connect_lazy`]).
    pub async fn prepare_live(&self, db: &PgPool) -> Result<(), sqlx::Error> {
        sqlx::query(&format!("CREATE SCHEMA IF NOT EXISTS {}", self.live))
            .persistent(false)
            .execute(db)
            .await?;
        self.migrator
            .run(db)
            .await
            .map_err(|e| sqlx::Error::Migrate(Box::new(e)))
    }

    /// A pool (connecting on first use) whose statements resolve table names in `schema`.
    pub fn connect_lazy(
        url: &str,
        schema: &str,
        max_connections: u32,
    ) -> Result<PgPool, sqlx::Error> {
        let options = url
            .parse::<PgConnectOptions>()?
            .options([("search_path", schema)]);
        Ok(PgPoolOptions::new()
            .max_connections(max_connections)
            .acquire_timeout(std::time::Duration::from_secs(5))
            .connect_lazy_with(options))
    }

    /// A pool (connecting on first use) on the live copy.
    pub fn live_pool(&self, url: &str, max_connections: u32) -> Result<PgPool, sqlx::Error> {
        Self::connect_lazy(url, self.live, max_connections)
    }

    /// A fresh, migrated copy in the rebuild schema of the database at `url` (any earlier
    /// unfinished copy is dropped), and a pool whose statements resolve to it.
    pub async fn fresh_copy(&self, url: &str) -> Result<PgPool, sqlx::Error> {
        let mut admin = sqlx::PgConnection::connect(url).await?;
        sqlx::query(&format!("DROP SCHEMA IF EXISTS {} CASCADE", self.rebuild))
            .execute(&mut admin)
            .await?;
        sqlx::query(&format!("CREATE SCHEMA {}", self.rebuild))
            .execute(&mut admin)
            .await?;
        let copy = Self::connect_lazy(url, self.rebuild, 2)?;
        self.migrator
            .run(&copy)
            .await
            .map_err(|e| sqlx::Error::Migrate(Box::new(e)))?;
        Ok(copy)
    }

    /// Swaps the copy in if it has caught up with the live view (see the module doc).
    /// `live` is any pool on the database.
    pub async fn try_swap(&self, live: &PgPool, retired_suffix: &str) -> Result<Swap, sqlx::Error> {
        let Self {
            live: live_schema,
            rebuild,
            ..
        } = self;
        let mut tx = live.begin().await?;
        sqlx::query(&format!(
            "UPDATE {live_schema}.view_meta SET retired = true WHERE id = 1"
        ))
        .persistent(false)
        .execute(&mut *tx)
        .await?;
        let behind: bool = sqlx::query_scalar(&format!(
            "SELECT EXISTS (SELECT 1 FROM {live_schema}.projection_positions l \
               LEFT JOIN {rebuild}.projection_positions c \
                 ON c.projection = l.projection AND c.partition = l.partition \
               WHERE l.projection = $1 AND COALESCE(c.next_offset, 0) < l.next_offset)"
        ))
        .bind(self.projection)
        .persistent(false)
        .fetch_one(&mut *tx)
        .await?;
        if behind {
            tx.rollback().await?;
            return Ok(Swap::Behind);
        }
        let retired_schema = format!("{}{retired_suffix}", self.retired_prefix);
        sqlx::query(&format!(
            "ALTER SCHEMA {live_schema} RENAME TO {retired_schema}"
        ))
        .execute(&mut *tx)
        .await?;
        sqlx::query(&format!("ALTER SCHEMA {rebuild} RENAME TO {live_schema}"))
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(Swap::Swapped { retired_schema })
    }
}

/// What a swap attempt did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Swap {
    /// The copy is live; the old one is kept as this schema.
    Swapped { retired_schema: String },
    /// The copy has not yet applied everything the live one has; nothing changed.
    Behind,
}
