//! The query-api binary serves its probes (ready only once it can check credentials),
//! says which dependency is down, and refuses to start on a bad configuration.

use settings::KafkaSettings;
use testkit::auth::AuthService;

const BINARY: &str = env!("CARGO_BIN_EXE_query-api");
const LISTEN: &str = "LEAKY_QUERY_API__LISTEN";

#[tokio::test]
async fn serves_its_probes_against_the_real_infrastructure() {
    let kafka = KafkaSettings {
        topic_prefix: format!("{}.", testkit::unique("query-probes")),
        ..testkit::infra().kafka
    };
    let auth = AuthService::start(&kafka).await;
    let mut env = auth.access_env();
    env.push((
        "LEAKY_KAFKA__TOPIC_PREFIX".into(),
        kafka.topic_prefix.clone(),
    ));
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    testkit::probes::serves_its_probes_with(
        BINARY,
        LISTEN,
        &env,
        &["auth", "postgres", "redis", "cassandra"],
    )
    .await;
}

#[tokio::test]
async fn readiness_names_the_dependencies_that_are_down() {
    let dead = [
        ("LEAKY_REDIS__URL", "redis://127.0.0.1:1"),
        ("LEAKY_ACCESS__JWKS_URL", "http://127.0.0.1:1/jwks.json"),
    ];
    testkit::probes::names_the_dependencies_that_are_down(
        BINARY,
        LISTEN,
        &dead,
        &["auth", "redis"],
    )
    .await;
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
