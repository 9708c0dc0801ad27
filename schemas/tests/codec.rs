//! The codec against the real schema registry: every kind of value round-trips in the
//! Confluent wire format, records written with an older schema stay readable, the
//! registry is asked once per subject and per id, and decoding errors say whose fault.

#[path = "support/mod.rs"]
mod support;

use apache_avro::Schema;
use apache_avro::types::Value;
use apache_avro::writer::datum::GenericDatumWriter;
use domain::{TokenPool, TokenPoolCommand};
use schema_registry_converter::async_impl::schema_registry::{SrSettings, post_schema};
use schema_registry_converter::schema_registry_common::{SchemaType, SuppliedSchema};
use schemas::wire::frame;
use schemas::{
    AuthCodec, CommandReply, DecodeError, EncodeError, PoolCodec, PoolCommandEnvelope,
    PoolEventEnvelope, PoolRejectionRecord, PoolSnapshot, SchemaRegistry, TopicKind, TopicRecord,
};
use serde_json::json;
use support::examples::{auth_events, commands, events, rejections};
use support::fake_registry::FakeRegistry;
use support::{alice, command_id, pool_id, t, tokens};

fn codec() -> PoolCodec {
    PoolCodec::new(&testkit::infra().registry).unwrap()
}

/// Topic names under a prefix no other test run uses.
fn topic(kind: TopicKind) -> String {
    kind.topic(&format!("{}.", testkit::unique("codec")))
}

fn envelope(n: u128, command: TokenPoolCommand) -> PoolCommandEnvelope {
    PoolCommandEnvelope {
        command_id: command_id(n),
        pool_id: pool_id(),
        reply_to: "command-api-1".into(),
        actor: alice(),
        issued_at: t(1_000),
        deadline: t(6_000),
        command,
    }
}

fn schema_id(bytes: &[u8]) -> u32 {
    assert_eq!(bytes[0], 0, "Confluent magic byte");
    u32::from_be_bytes(bytes[1..5].try_into().unwrap())
}

/// Encodes every record to `topic`, checks they share one schema id, decodes them back.
async fn round_trip_all<R: TopicRecord + PartialEq + std::fmt::Debug>(
    codec: &PoolCodec,
    topic: &str,
    records: Vec<R>,
) -> u32 {
    let mut ids = Vec::new();
    for record in records {
        let bytes = codec.encode(topic, &record).await.unwrap();
        ids.push(schema_id(&bytes));
        assert_eq!(codec.decode::<R>(&bytes).await.unwrap(), record);
    }
    ids.dedup();
    assert_eq!(ids.len(), 1, "one schema id per topic: {ids:?}");
    ids[0]
}

#[tokio::test]
async fn every_kind_of_value_round_trips_through_the_registry() {
    let codec = codec();
    let commands: Vec<_> = (0..).zip(commands()).map(|(n, c)| envelope(n, c)).collect();
    let command = commands[0].clone();
    let id = round_trip_all(&codec, &topic(TopicKind::PoolCommands), commands).await;

    let events = events().into_iter().map(|event| PoolEventEnvelope {
        pool_id: pool_id(),
        command_id: command_id(1),
        actor: alice(),
        event,
    });
    round_trip_all(&codec, &topic(TopicKind::PoolEvents), events.collect()).await;

    let rejected = rejections()
        .into_iter()
        .map(|r| PoolRejectionRecord::new(&command, t(2), r));
    round_trip_all(
        &codec,
        &topic(TopicKind::PoolRejections),
        rejected.collect(),
    )
    .await;

    let snapshot = PoolSnapshot {
        pool_id: pool_id(),
        next_event_offset: 17,
        state: TokenPool::default(),
        recent_commands: serde_json::json!([]),
    };
    round_trip_all(&codec, &topic(TopicKind::PoolState), vec![snapshot]).await;

    let replies = rejections()
        .iter()
        .map(|r| CommandReply::rejected(&command, r, &TokenPool::default(), t(2)))
        .chain([CommandReply::expired(&command, t(7_000))])
        .collect();
    round_trip_all(&codec, &topic(TopicKind::Replies), replies).await;

    let auth_topic = topic(TopicKind::AuthEvents);
    round_trip_all(&codec, &auth_topic, auth_events()).await;
    // The typed face reads what the general codec wrote, and writes the same.
    let auth = AuthCodec::with_registry(codec.registry().clone()).unwrap();
    for event in auth_events() {
        let bytes = codec.encode(&auth_topic, &event).await.unwrap();
        assert_eq!(auth.decode_event(&bytes).await.unwrap(), event);
        assert_eq!(auth.encode_event(&auth_topic, &event).await.unwrap(), bytes);
    }

    // The id in the frame is the registry's id for the subject's current schema.
    let commands_topic = topic(TopicKind::PoolCommands);
    let bytes = codec
        .encode_command(&commands_topic, &command)
        .await
        .unwrap();
    let registered =
        post_schema(&registry(), format!("{commands_topic}-value"), current_v1()).await;
    assert_eq!(registered.unwrap().id, schema_id(&bytes));
    assert_ne!(id, 0);
}

fn registry() -> SrSettings {
    SrSettings::new(testkit::infra().registry.url.to_string())
}

fn current_v1() -> SuppliedSchema {
    let text = TopicKind::PoolCommands.current().to_owned();
    SuppliedSchema::new(None, SchemaType::Avro, text)
}

/// An older commands schema: no `ttl_ms` on `Reserve`, no quota-period or policy commands
/// yet, and the union in another order. The current one can read everything it wrote.
fn older_commands_schema() -> (String, Vec<String>) {
    let mut schema: serde_json::Value =
        serde_json::from_str(TopicKind::PoolCommands.current()).unwrap();
    let union = schema["fields"][6]["type"].as_array_mut().unwrap();
    union.retain(|b| !["ChangePolicy", "ResetQuotaPeriod"].contains(&b["name"].as_str().unwrap()));
    union.reverse();
    for branch in union.iter_mut().filter(|b| b["name"] == "Reserve") {
        branch["fields"]
            .as_array_mut()
            .unwrap()
            .retain(|f| f["name"] != "ttl_ms");
    }
    let names = union
        .iter()
        .map(|b| b["name"].as_str().unwrap().to_owned())
        .collect();
    (schema.to_string(), names)
}

#[tokio::test]
async fn records_written_with_an_older_schema_stay_readable_after_a_backward_change() {
    let codec = codec();
    let topic = topic(TopicKind::PoolCommands);
    let (older, branches) = older_commands_schema();
    let supplied = SuppliedSchema::new(None, SchemaType::Avro, older.clone());
    let older_id = post_schema(&registry(), format!("{topic}-value"), supplied)
        .await
        .unwrap()
        .id;

    // What an older producer wrote: a Reserve, in the older union's order, without ttl_ms.
    let sent = envelope(
        1,
        TokenPoolCommand::Reserve {
            reservation_id: support::id(3),
            amount: tokens(300),
            ttl_ms: None,
            via: None,
        },
    );
    let Value::Record(mut fields) = sent.to_avro().unwrap() else {
        panic!()
    };
    let (_, command) = fields
        .iter_mut()
        .find(|(name, _)| name == "command")
        .unwrap();
    let Value::Union(_, reserve) = command.clone() else {
        panic!()
    };
    let Value::Record(mut reserve_fields) = *reserve else {
        panic!()
    };
    reserve_fields.retain(|(name, _)| name != "ttl_ms");
    let index = branches.iter().position(|b| b == "Reserve").unwrap() as u32;
    *command = Value::Union(index, Box::new(Value::Record(reserve_fields)));
    let older = Schema::parse_str(&older).unwrap();
    let datum = GenericDatumWriter::builder(&older)
        .build()
        .unwrap()
        .write_value_to_vec(Value::Record(fields))
        .unwrap();
    let old_bytes = frame(older_id, &datum);

    // Today's producer registers the current schema; the registry accepts it as BACKWARD.
    let now = envelope(2, TokenPoolCommand::ExpireReservations);
    let new_bytes = codec.encode_command(&topic, &now).await.unwrap();
    assert_ne!(schema_id(&new_bytes), older_id);

    assert_eq!(codec.decode_command(&old_bytes).await.unwrap(), sent);
    assert_eq!(codec.decode_command(&new_bytes).await.unwrap(), now);
}

#[tokio::test]
async fn the_registry_is_asked_once_per_subject_and_once_per_schema_id() {
    let fake = FakeRegistry::start(TopicKind::PoolCommands.current()).await;
    let codec = PoolCodec::with_registry(SchemaRegistry::new(&fake.url).unwrap()).unwrap();
    let command = envelope(1, TokenPoolCommand::ExpireReservations);

    let mut encoded = Vec::new();
    for _ in 0..100 {
        encoded.push(
            codec
                .encode_command("a.token-pool.commands", &command)
                .await
                .unwrap(),
        );
    }
    assert_eq!(fake.registrations(), 1);
    codec
        .encode_command("b.token-pool.commands", &command)
        .await
        .unwrap();
    assert_eq!(fake.registrations(), 2, "one registration per subject");

    for bytes in &encoded {
        assert_eq!(codec.decode_command(bytes).await.unwrap(), command);
    }
    assert_eq!(fake.lookups(), 1);
}

#[tokio::test]
async fn decoding_errors_say_whether_the_record_or_the_registry_is_at_fault() {
    let codec = codec();
    let event = PoolEventEnvelope {
        pool_id: pool_id(),
        command_id: command_id(1),
        actor: alice(),
        event: events().remove(0),
    };
    let event_bytes = codec
        .encode_event(&topic(TopicKind::PoolEvents), &event)
        .await
        .unwrap();

    let poison = |error: DecodeError, reason: &str| {
        assert!(error.is_poison(), "{error}");
        assert_eq!(error.reason(), reason, "{error}");
    };
    poison(
        codec.decode_event(b"{\"json\": true}").await.unwrap_err(),
        "not_confluent_framed",
    );
    poison(
        codec
            .decode_event(&frame(2_000_000_000, &event_bytes[5..]))
            .await
            .unwrap_err(),
        "unknown_schema_id",
    );
    poison(
        codec.decode_command(&event_bytes).await.unwrap_err(),
        "does_not_match",
    );
    poison(
        codec
            .decode_event(&event_bytes[..event_bytes.len() - 3])
            .await
            .unwrap_err(),
        "does_not_match",
    );

    let unreachable = settings::RegistrySettings {
        url: "http://127.0.0.1:1".to_owned().try_into().unwrap(),
    };
    let offline = PoolCodec::new(&unreachable).unwrap();
    let error = offline.decode_event(&event_bytes).await.unwrap_err();
    assert!(!error.is_poison(), "{error}");
    assert_eq!(error.reason(), "registry_unavailable");
}

#[tokio::test]
async fn encoding_refuses_a_topic_of_another_kind_and_reports_a_refusing_registry() {
    let codec = codec();
    let command = envelope(1, TokenPoolCommand::ExpireReservations);
    let error = codec
        .encode_command(&topic(TopicKind::PoolEvents), &command)
        .await
        .unwrap_err();
    assert!(matches!(error, EncodeError::WrongTopic { .. }), "{error}");

    // The subject already holds a schema the current one cannot read: not BACKWARD.
    let topic = topic(TopicKind::PoolCommands);
    let other = json!({"type": "record", "name": "PoolCommandRecord", "namespace": "dev.leakytokens",
        "fields": [{"name": "x", "type": "string"}]});
    let supplied = SuppliedSchema::new(None, SchemaType::Avro, other.to_string());
    post_schema(&registry(), format!("{topic}-value"), supplied)
        .await
        .unwrap();
    let error = codec.encode_command(&topic, &command).await.unwrap_err();
    assert!(matches!(error, EncodeError::Registry { .. }), "{error}");
}
