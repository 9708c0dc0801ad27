//! The kcat recipe end to end: Avro records produced to a fresh topic, read by the real
//! `kcat`, piped into the built `leaky-avro-json`, come out as JSON of their values.

#[path = "support/mod.rs"]
mod support;

use std::process::{Command, Stdio};
use std::time::Duration;

use rdkafka::ClientConfig;
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::producer::{FutureProducer, FutureRecord};
use schemas::{AuthCodec, PoolCodec, PoolEventEnvelope, TopicKind};
use serde_json::{Value, json};
use support::examples::{auth_events, events};
use support::{alice, command_id, pool_id};

fn brokers() -> String {
    testkit::infra().kafka.brokers.to_string()
}

async fn fresh_topic(kind: TopicKind) -> String {
    let topic = kind.topic(&format!("{}.", testkit::unique("kcat")));
    let admin: AdminClient<DefaultClientContext> = ClientConfig::new()
        .set("bootstrap.servers", brokers())
        .create()
        .unwrap();
    let new = NewTopic::new(&topic, 1, TopicReplication::Fixed(1));
    let results = admin
        .create_topics([&new], &AdminOptions::new())
        .await
        .unwrap();
    results.into_iter().for_each(|r| {
        r.unwrap();
    });
    topic
}

/// Produces `(key, payload)` records in order; `None` is a NULL key or payload.
async fn produce(topic: &str, records: Vec<(Option<String>, Option<Vec<u8>>)>) {
    let producer: FutureProducer = ClientConfig::new()
        .set("bootstrap.servers", brokers())
        .set("enable.idempotence", "true")
        .create()
        .unwrap();
    for (key, payload) in records {
        let mut record = FutureRecord::<str, [u8]>::to(topic);
        if let Some(key) = &key {
            record = record.key(key.as_str());
        }
        if let Some(payload) = &payload {
            record = record.payload(payload.as_slice());
        }
        producer
            .send(record, Duration::from_secs(10))
            .await
            .unwrap();
    }
}

/// `kcat -f <format> | leaky-avro-json --format <format>`: its JSON lines and exit code.
fn kcat_to_json(topic: &str, format: Option<&str>) -> (Vec<Value>, Option<i32>) {
    let kcat_format = format.unwrap_or("%R%s");
    let mut kcat = Command::new("kcat")
        .args([
            "-C",
            "-b",
            &brokers(),
            "-t",
            topic,
            "-o",
            "beginning",
            "-e",
            "-q",
        ])
        .args(["-f", kcat_format])
        .stdout(Stdio::piped())
        .spawn()
        .expect("kcat is installed (ops/infra up)");
    let mut decoder = Command::new(env!("CARGO_BIN_EXE_leaky-avro-json"));
    decoder.args(["--registry", testkit::infra().registry.url.as_str()]);
    if let Some(format) = format {
        decoder.args(["--format", format]);
    }
    let output = decoder
        .stdin(Stdio::from(kcat.stdout.take().unwrap()))
        .output()
        .unwrap();
    assert!(kcat.wait().unwrap().success());
    let stdout = String::from_utf8(output.stdout).unwrap();
    let lines = stdout
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}")))
        .collect();
    (lines, output.status.code())
}

#[tokio::test]
async fn kcat_output_decodes_to_one_json_object_per_record() {
    let topic = fresh_topic(TopicKind::PoolEvents).await;
    let codec = PoolCodec::new(&testkit::infra().registry).unwrap();
    let envelope = |event| PoolEventEnvelope {
        pool_id: pool_id(),
        command_id: command_id(5),
        actor: alice(),
        event,
    };
    let examples = events();
    let provisioned = codec
        .encode_event(&topic, &envelope(examples[0].clone()))
        .await
        .unwrap();
    let reserved = codec
        .encode_event(&topic, &envelope(examples[4].clone()))
        .await
        .unwrap();
    let schema_id = u32::from_be_bytes(provisioned[1..5].try_into().unwrap());
    let key = Some(pool_id().to_string());
    produce(
        &topic,
        vec![
            (key.clone(), Some(provisioned)),
            (key.clone(), Some(reserved)),
            (Some("junk".into()), Some(b"not avro".to_vec())),
            (None, None),
        ],
    )
    .await;

    let (lines, status) = kcat_to_json(&topic, Some("%t %p %o %T %K %k%R%s"));
    assert_eq!(lines.len(), 4, "{lines:#?}");
    assert_eq!(status, Some(1), "one record did not decode");

    let first = &lines[0];
    assert_eq!(
        (
            &first["topic"],
            &first["partition"],
            &first["offset"],
            &first["key"]
        ),
        (
            &json!(topic),
            &json!(0),
            &json!(0),
            &json!("user:alice/openai")
        )
    );
    assert!(first["timestamp"].as_i64().unwrap() > 1_600_000_000_000);
    assert_eq!(first["schema_id"], json!(schema_id));
    let provisioned = &first["value"]["event"]["PoolProvisioned"];
    assert_eq!(provisioned["pool"], json!("org:acme.corp/gemini"));
    assert_eq!(provisioned["policy"]["overage"], json!("CAP"));
    assert_eq!(
        provisioned["policy"]["periodic_quota"]["limit"],
        json!(1_000_000_000_000u64)
    );
    assert_eq!(first["value"]["actor"], json!("user:alice"));

    assert_eq!(
        lines[1]["value"]["event"],
        json!({"TokensReserved": {
            "reservation_id": "00000000-0000-0000-0000-000000000003",
            "amount": 300, "expires_at": 60_003, "at": 3,
            "held_by": "user:alice", "held_via": "gateway",
        }})
    );
    assert_eq!(lines[2]["key"], json!("junk"));
    assert_eq!(lines[2]["reason"], json!("not_confluent_framed"));
    assert!(lines[2].get("value").is_none());
    assert_eq!(
        (&lines[3]["key"], &lines[3]["value"]),
        (&Value::Null, &Value::Null)
    );

    // The default format is just the payloads.
    let (plain, _) = kcat_to_json(&topic, None);
    assert_eq!(plain.len(), 4);
    assert_eq!(plain[1]["value"], lines[1]["value"]);
    assert!(plain[0].get("offset").is_none() && plain[0].get("key").is_none());
}

#[tokio::test]
async fn auth_events_decode_to_json_like_every_other_topic() {
    let topic = fresh_topic(TopicKind::AuthEvents).await;
    let codec = AuthCodec::new(&testkit::infra().registry).unwrap();
    let mut records = Vec::new();
    for event in auth_events() {
        let bytes = codec.encode_event(&topic, &event).await.unwrap();
        records.push((Some(event.user().to_string()), Some(bytes)));
    }
    produce(&topic, records).await;

    let (lines, status) = kcat_to_json(&topic, Some("%o %K %k%R%s"));
    assert_eq!(status, Some(0), "{lines:#?}");
    assert_eq!(lines.len(), auth_events().len());
    assert_eq!(lines[0]["key"], json!("alice.b-1"));
    assert_eq!(lines[0]["value"]["user"], json!("alice.b-1"));
    assert_eq!(
        lines[0]["value"]["event"]["UserRegistered"]["role"],
        json!("USER")
    );
    let revoked = lines
        .iter()
        .find(|line| line["value"]["event"].get("ApiKeyRevoked").is_some())
        .unwrap();
    assert_eq!(
        revoked["value"]["event"],
        json!({"ApiKeyRevoked": {"key_id": "k_0f3a", "at": 1_700_000_000_001u64}})
    );
    let granted = &lines.last().unwrap()["value"]["event"];
    assert_eq!(
        granted,
        &json!({"RoleChanged": {"role": "ADMIN", "by": "system:auth-bootstrap", "at": 1_700_000_000_004u64}})
    );
}
