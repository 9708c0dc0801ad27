//! Cassandra is real and usable through the scylla driver: create a keyspace, write a
//! row, read it back; writing the same absolute value twice leaves one value (idempotent).

use settings::CassandraSettings;
use viewstore::{CassandraCheck, connect_cassandra};

#[tokio::test]
async fn a_keyspace_table_write_and_read() {
    let session = connect_cassandra(&testkit::infra().cassandra)
        .await
        .unwrap();
    let keyspace = testkit::unique_identifier("smoke");
    session
        .query_unpaged(
            format!(
                "CREATE KEYSPACE {keyspace} WITH replication = \
                 {{'class': 'SimpleStrategy', 'replication_factor': 1}}"
            ),
            &[],
        )
        .await
        .unwrap();
    session
        .query_unpaged(
            format!(
                "CREATE TABLE {keyspace}.usage_by_minute \
                 (provider text, minute bigint, tokens bigint, PRIMARY KEY (provider, minute))"
            ),
            &[],
        )
        .await
        .unwrap();

    let insert = format!(
        "INSERT INTO {keyspace}.usage_by_minute (provider, minute, tokens) VALUES (?, ?, ?)"
    );
    for _ in 0..2 {
        session
            .query_unpaged(insert.as_str(), ("openai", 29_000_000_i64, 1_234_i64))
            .await
            .unwrap();
    }

    let rows = session
        .query_unpaged(
            format!("SELECT minute, tokens FROM {keyspace}.usage_by_minute WHERE provider = ?"),
            ("openai",),
        )
        .await
        .unwrap()
        .into_rows_result()
        .unwrap();
    let rows: Vec<(i64, i64)> = rows
        .rows::<(i64, i64)>()
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(rows, [(29_000_000, 1_234)]);

    session
        .query_unpaged(format!("DROP KEYSPACE {keyspace}"), &[])
        .await
        .unwrap();
}

#[tokio::test]
async fn the_readiness_check_names_an_unreachable_cluster() {
    let reachable = CassandraCheck::new(testkit::infra().cassandra);
    assert_eq!(probes::DependencyCheck::check(&reachable).await, Ok(()));

    let unreachable = CassandraSettings {
        nodes: vec!["127.0.0.1:1".into()],
        ..CassandraSettings::default()
    };
    let error = probes::DependencyCheck::check(&CassandraCheck::new(unreachable))
        .await
        .unwrap_err();
    assert!(error.contains("127.0.0.1:1"), "{error}");
}
