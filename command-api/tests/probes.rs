//! The command-api binary serves its probes (ready only once it can check credentials),
//! says which dependency is down, and refuses to start on a bad configuration.

use settings::KafkaSettings;
use testkit::auth::AuthService;

const BINARY: &str = env!("CARGO_BIN_EXE_command-api");
const LISTEN: &str = "LEAKY_COMMAND_API__LISTEN";

#[tokio::test]
async fn serves_its_probes_against_the_real_infrastructure() {
    let kafka = KafkaSettings {
        topic_prefix: format!("{}.", testkit::unique("command-probes")),
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
        &["kafka", "schema-registry", "auth"],
    )
    .await;
}

#[tokio::test]
async fn without_kafka_it_can_neither_take_commands_nor_read_the_auth_log() {
    let dead = [("LEAKY_KAFKA__BROKERS", "127.0.0.1:1")];
    testkit::probes::names_the_dependencies_that_are_down(
        BINARY,
        LISTEN,
        &dead,
        &["kafka", "auth"],
    )
    .await;
}

#[tokio::test]
async fn readiness_waits_for_the_auth_service() {
    let dead = [("LEAKY_ACCESS__JWKS_URL", "http://127.0.0.1:1/jwks.json")];
    testkit::probes::names_the_dependency_that_is_down(BINARY, LISTEN, &dead, "auth").await;
}

#[tokio::test]
async fn refuses_to_start_on_a_bad_setting() {
    testkit::probes::refuses_a_bad_setting(
        BINARY,
        "LEAKY_KAFKA__BROKERS",
        "kafka",
        "not host:port",
    )
    .await;
}
