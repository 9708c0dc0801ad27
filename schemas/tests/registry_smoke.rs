//! The schema registry is real and usable from our code: a schema registered under a
//! topic's subject frames records in the Confluent wire format, and they decode back
//! through the registry; the registry refuses a change that is not BACKWARD compatible.

use apache_avro::types::Value;
use probes::DependencyCheck;
use schema_registry_converter::async_impl::avro::{AvroDecoder, AvroEncoder};
use schema_registry_converter::async_impl::schema_registry::{SrSettings, post_schema};
use schema_registry_converter::schema_registry_common::{
    SchemaType, SubjectNameStrategy, SuppliedSchema,
};
use schemas::RegistryCheck;
use serde::{Deserialize, Serialize};

const GRANT_V1: &str = r#"{
  "type": "record", "name": "SmokeGrant", "namespace": "dev.leakytokens.smoke",
  "fields": [
    {"name": "pool_id", "type": "string"},
    {"name": "tokens", "type": "long"}
  ]
}"#;

/// Adds a field without a default: readers of v2 cannot read v1 data, so not BACKWARD.
const GRANT_V2_BREAKING: &str = r#"{
  "type": "record", "name": "SmokeGrant", "namespace": "dev.leakytokens.smoke",
  "fields": [
    {"name": "pool_id", "type": "string"},
    {"name": "tokens", "type": "long"},
    {"name": "granted_by", "type": "string"}
  ]
}"#;

/// Adds a field with a default: BACKWARD compatible.
const GRANT_V2_COMPATIBLE: &str = r#"{
  "type": "record", "name": "SmokeGrant", "namespace": "dev.leakytokens.smoke",
  "fields": [
    {"name": "pool_id", "type": "string"},
    {"name": "tokens", "type": "long"},
    {"name": "granted_by", "type": "string", "default": "admin"}
  ]
}"#;

#[derive(Debug, PartialEq, Serialize, Deserialize)]
struct SmokeGrant {
    pool_id: String,
    tokens: i64,
}

fn registry() -> SrSettings {
    SrSettings::new(testkit::infra().registry.url.to_string())
}

fn value_schema(topic: &str, schema: &str) -> SubjectNameStrategy {
    let supplied = SuppliedSchema::new(None, SchemaType::Avro, schema.to_owned());
    SubjectNameStrategy::TopicNameStrategyWithSchema(topic.to_owned(), false, supplied)
}

#[tokio::test]
async fn a_record_round_trips_in_confluent_wire_format_through_the_registry() {
    let topic = testkit::unique("smoke-grants");
    let encoder = AvroEncoder::new(registry());
    let grant = SmokeGrant {
        pool_id: "user:alice/openai".into(),
        tokens: 1_000,
    };

    let bytes = encoder
        .encode_struct(&grant, &value_schema(&topic, GRANT_V1))
        .await
        .unwrap();

    assert_eq!(bytes[0], 0, "Confluent magic byte");
    let schema_id = u32::from_be_bytes(bytes[1..5].try_into().unwrap());
    let decoded = AvroDecoder::new(registry())
        .decode(Some(&bytes))
        .await
        .unwrap();
    assert_eq!(
        decoded.value,
        Value::Record(vec![
            ("pool_id".into(), Value::String("user:alice/openai".into())),
            ("tokens".into(), Value::Long(1_000)),
        ])
    );
    assert_eq!(
        apache_avro::from_value::<SmokeGrant>(&decoded.value).unwrap(),
        grant
    );

    // The id in the frame is the id the registry gave the subject's schema.
    let registered = post_schema(
        &registry(),
        format!("{topic}-value"),
        SuppliedSchema::new(None, SchemaType::Avro, GRANT_V1.to_owned()),
    )
    .await
    .unwrap();
    assert_eq!(registered.id, schema_id);
}

#[tokio::test]
async fn the_registry_refuses_a_change_that_is_not_backward_compatible() {
    let subject = format!("{}-value", testkit::unique("smoke-compat"));
    let supplied = |schema: &str| SuppliedSchema::new(None, SchemaType::Avro, schema.to_owned());

    post_schema(&registry(), subject.clone(), supplied(GRANT_V1))
        .await
        .unwrap();
    let refused = post_schema(&registry(), subject.clone(), supplied(GRANT_V2_BREAKING)).await;
    assert!(refused.is_err(), "a breaking change was accepted");

    let v2 = post_schema(&registry(), subject.clone(), supplied(GRANT_V2_COMPATIBLE))
        .await
        .unwrap();
    assert!(v2.schema.contains("granted_by"));
}

#[tokio::test]
async fn the_readiness_check_names_an_unreachable_registry() {
    let reachable = RegistryCheck::new(testkit::infra().registry);
    assert_eq!(reachable.check().await, Ok(()));

    let unreachable = settings::RegistrySettings {
        url: "http://127.0.0.1:1/apis/ccompat/v7"
            .to_owned()
            .try_into()
            .unwrap(),
    };
    let error = RegistryCheck::new(unreachable).check().await.unwrap_err();
    assert!(error.contains("127.0.0.1:1"), "{error}");
}
