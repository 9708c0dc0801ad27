//! The query-api binary serves its probes, says which dependency is down, and refuses to
//! start on a bad configuration.

const BINARY: &str = env!("CARGO_BIN_EXE_query-api");
const LISTEN: &str = "LEAKY_QUERY_API__LISTEN";

#[tokio::test]
async fn serves_its_probes_against_the_real_infrastructure() {
    testkit::probes::serves_its_probes(BINARY, LISTEN, &["postgres", "redis", "cassandra"]).await;
}

#[tokio::test]
async fn readiness_names_the_dependency_that_is_down() {
    let dead = [("LEAKY_REDIS__URL", "redis://127.0.0.1:1")];
    testkit::probes::names_the_dependency_that_is_down(BINARY, LISTEN, &dead, "redis").await;
}

#[tokio::test]
async fn refuses_to_start_on_a_bad_setting() {
    testkit::probes::refuses_a_bad_setting(
        BINARY,
        "LEAKY_POSTGRES__URL",
        "mysql://x",
        "not a postgres:// URL",
    )
    .await;
}
