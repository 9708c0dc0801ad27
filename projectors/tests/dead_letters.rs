//! A record no projection can decode goes to the dead-letter topic with where it came from
//! and why, the metrics count it, and the views go on with the records after it.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use eventlog::{ClientRole, Topics, client_config, partition_for};
use rdkafka::consumer::{Consumer, StreamConsumer};
use rdkafka::message::Headers;
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::{Message, Offset, TopicPartitionList};
use reqwest::StatusCode;
use schemas::ConsistencyToken;
use serde_json::json;
use testkit::stack::{Service, Stack};

mod support;

const PARTITIONS: u32 = 2;
const POOL: &str = "user:dora/openai";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_undecodable_event_is_dead_lettered_and_the_views_go_on() {
    let stack = Stack::start(PARTITIONS, Service::PROJECTING).await;
    let path = "/api/v1/pools/user/dora/openai";
    stack.command(path, json!({})).await;
    stack
        .command(&format!("{path}/grants"), json!({"amount": 100}))
        .await;

    // Garbage in the pool's partition of the events topic, between two real events, sent as
    // part of a trace.
    let trace = telemetry::TraceContext::new_root();
    let topic = Topics::new(&stack.kafka).pool_events();
    let partition = partition_for(POOL.as_bytes(), PARTITIONS);
    let producer: FutureProducer = client_config(&stack.kafka, &ClientRole::Producer)
        .create()
        .unwrap();
    let garbage_offset = producer
        .send(
            FutureRecord::to(&topic)
                .partition(partition)
                .key(POOL)
                .payload("not avro at all")
                .headers(eventlog::trace_headers(&trace)),
            Duration::from_secs(10),
        )
        .await
        .unwrap()
        .offset;
    let (status, reply) = stack
        .command(&format!("{path}/grants"), json!({"amount": 50}))
        .await;
    assert_eq!(status, StatusCode::OK, "{reply}");
    let after: ConsistencyToken = reply["consistency_token"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(after.offset > garbage_offset);

    // The quota view applied the grant after the garbage.
    let db = support::connect(&stack.postgres_url).await;
    let start = Instant::now();
    while quotaview::position(&db, quotaview::PROJECTION, partition)
        .await
        .unwrap()
        <= after.offset
    {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "the view stopped"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let row = quotaview::pool(&db, POOL).await.unwrap().unwrap();
    assert_eq!(row.granted, 150);

    // Both projections of the events topic set it aside, saying where it was and why.
    let letters = dead_letters(&stack, 2).await;
    for projection in ["quota", "usage-events"] {
        let letter = &letters[projection];
        assert_eq!(letter["dlq.reason"], "not_confluent_framed");
        assert_eq!(letter["dlq.topic"], topic);
        assert_eq!(letter["dlq.partition"], partition.to_string());
        assert_eq!(letter["dlq.offset"], garbage_offset.to_string());
        assert_eq!(letter["value"], "not avro at all");
        assert_eq!(letter["key"], POOL);
        assert_eq!(
            letter["traceparent"],
            trace.to_string(),
            "the copy stays in its trace"
        );
    }

    let metrics = stack
        .http
        .get(stack.url(Service::Projectors, "/metrics").await)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.lines().any(|line| line
            .starts_with("leaky_projector_undecodable_total{projection=\"quota\"")
            && line.ends_with(" 1")),
        "{metrics}"
    );
}

/// The first `count` dead letters, by projection: their headers, key and value.
async fn dead_letters(stack: &Stack, count: usize) -> BTreeMap<String, BTreeMap<String, String>> {
    let topic = projectors::dead_letter_topic(&stack.kafka).name;
    let consumer: StreamConsumer = client_config(
        &stack.kafka,
        &ClientRole::Consumer {
            group_id: testkit::unique("dlq-reader"),
        },
    )
    .create()
    .unwrap();
    let mut assignment = TopicPartitionList::new();
    assignment
        .add_partition_offset(&topic, 0, Offset::Beginning)
        .unwrap();
    consumer.assign(&assignment).unwrap();
    let mut letters = BTreeMap::new();
    while letters.len() < count {
        let message = tokio::time::timeout(Duration::from_secs(30), consumer.recv())
            .await
            .expect("a dead letter within 30 s")
            .unwrap();
        let mut fields = BTreeMap::new();
        for header in message.headers().unwrap().iter() {
            let value = String::from_utf8_lossy(header.value.unwrap_or_default()).into_owned();
            fields.insert(header.key.to_owned(), value);
        }
        let text =
            |bytes: Option<&[u8]>| String::from_utf8_lossy(bytes.unwrap_or_default()).into_owned();
        fields.insert("key".to_owned(), text(message.key()));
        fields.insert("value".to_owned(), text(message.payload()));
        letters.insert(fields["dlq.projection"].clone(), fields);
    }
    letters
}
