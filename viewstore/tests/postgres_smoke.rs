//! Postgres is real and usable through sqlx: a fresh database per test, a transaction
//! that commits rows together with a position, and one that rolls back leaving nothing.

use settings::PostgresSettings;
use sqlx::{Connection, Executor, PgConnection, Row};
use viewstore::{PostgresCheck, connect_postgres};

/// A new empty database for this test, so tests can run in parallel.
async fn fresh_database() -> PostgresSettings {
    let admin = testkit::infra().postgres;
    let name = testkit::unique_identifier("smoke");
    let mut connection = PgConnection::connect(&admin.url).await.unwrap();
    connection
        .execute(format!("CREATE DATABASE {name}").as_str())
        .await
        .unwrap();
    let base = admin.url.rsplit_once('/').unwrap().0;
    PostgresSettings {
        url: format!("{base}/{name}"),
        ..admin
    }
}

#[tokio::test]
async fn rows_and_their_position_commit_together_or_not_at_all() {
    let pool = connect_postgres(&fresh_database().await).await.unwrap();
    sqlx::raw_sql(
        "CREATE TABLE quota (pool_id text PRIMARY KEY, granted bigint NOT NULL);
         CREATE TABLE position (partition int PRIMARY KEY, next_offset bigint NOT NULL);",
    )
    .execute(&pool)
    .await
    .unwrap();

    let mut tx = pool.begin().await.unwrap();
    sqlx::query("INSERT INTO quota VALUES ($1, $2)")
        .bind("user:alice/openai")
        .bind(1_000_i64)
        .execute(&mut *tx)
        .await
        .unwrap();
    sqlx::query("INSERT INTO position VALUES (0, 1)")
        .execute(&mut *tx)
        .await
        .unwrap();
    tx.commit().await.unwrap();

    let mut tx = pool.begin().await.unwrap();
    sqlx::query("UPDATE quota SET granted = granted + 500")
        .execute(&mut *tx)
        .await
        .unwrap();
    sqlx::query("UPDATE position SET next_offset = 2")
        .execute(&mut *tx)
        .await
        .unwrap();
    tx.rollback().await.unwrap();

    let row = sqlx::query(
        "SELECT granted, next_offset FROM quota, position WHERE pool_id = 'user:alice/openai'",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(row.get::<i64, _>("granted"), 1_000);
    assert_eq!(row.get::<i64, _>("next_offset"), 1);
}

#[tokio::test]
async fn the_readiness_check_names_an_unreachable_database() {
    let reachable = PostgresCheck::lazy(&testkit::infra().postgres).unwrap();
    assert_eq!(probes::DependencyCheck::check(&reachable).await, Ok(()));

    let unreachable = PostgresSettings {
        url: "postgres://leaky:leaky@127.0.0.1:1/leaky".into(),
        ..PostgresSettings::default()
    };
    let check = PostgresCheck::lazy(&unreachable).unwrap();
    assert!(probes::DependencyCheck::check(&check).await.is_err());
    let error = connect_postgres(&unreachable)
        .await
        .unwrap_err()
        .to_string();
    assert!(
        error.contains("127.0.0.1:1") && !error.contains("leaky:leaky"),
        "{error}"
    );
}
