//! Kafka is real and transactions work on the local single-node cluster: a committed
//! transaction is visible to read_committed consumers, an aborted one never is.

use std::time::{Duration, Instant};

use eventlog::{ClientRole, KafkaCheck, Transactions, client_config};
use probes::DependencyCheck;
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::producer::{FutureRecord, Producer};
use rdkafka::{ClientConfig, Message};
use settings::KafkaSettings;

async fn create_topic(settings: &KafkaSettings, topic: &str) {
    let admin: AdminClient<DefaultClientContext> = client_config(settings, &ClientRole::Admin)
        .create()
        .unwrap();
    let results = admin
        .create_topics(
            &[NewTopic::new(topic, 1, TopicReplication::Fixed(1))],
            &AdminOptions::new().operation_timeout(Some(Duration::from_secs(10))),
        )
        .await
        .unwrap();
    results.into_iter().for_each(|r| {
        r.unwrap();
    });
}

/// Every value a consumer with `isolation` sees on `topic`, up to and including `last`.
fn read_until(settings: &KafkaSettings, topic: &str, isolation: &str, last: &str) -> Vec<String> {
    let group = testkit::unique("smoke-reader");
    let mut config: ClientConfig =
        client_config(settings, &ClientRole::Consumer { group_id: group });
    config.set("isolation.level", isolation);
    let consumer: BaseConsumer = config.create().unwrap();
    consumer.subscribe(&[topic]).unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut values = Vec::new();
    while values.last().map(String::as_str) != Some(last) {
        assert!(
            Instant::now() < deadline,
            "{last:?} never arrived; saw {values:?}"
        );
        if let Some(message) = consumer.poll(Duration::from_millis(200)) {
            let payload = message.unwrap().payload().unwrap().to_vec();
            values.push(String::from_utf8(payload).unwrap());
        }
    }
    values
}

fn send(transactions: &Transactions, topic: &str, value: &str) {
    // Queued now; the commit (or abort) waits for delivery.
    let _delivery = transactions
        .producer()
        .send_result(FutureRecord::to(topic).key("pool").payload(value))
        .map_err(|(e, _)| e)
        .unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn an_aborted_transaction_is_invisible_to_read_committed_consumers() {
    let settings = testkit::infra().kafka;
    let topic = testkit::unique("smoke-txn");
    create_topic(&settings, &topic).await;

    let transactional_id = testkit::unique("smoke-writer");
    let role = ClientRole::TransactionalProducer { transactional_id };
    let transactions = Transactions::open(client_config(&settings, &role))
        .await
        .unwrap();

    transactions.begin().unwrap();
    send(&transactions, &topic, "committed");
    transactions.commit().await.unwrap();

    transactions.begin().unwrap();
    send(&transactions, &topic, "aborted");
    transactions
        .producer()
        .flush(Duration::from_secs(10))
        .unwrap();
    transactions.abort().await.unwrap();

    transactions.begin().unwrap();
    send(&transactions, &topic, "end");
    transactions.commit().await.unwrap();

    let committed = read_until(&settings, &topic, "read_committed", "end");
    assert_eq!(committed, ["committed", "end"]);
    // The aborted record did reach the log: only the isolation level hides it.
    let uncommitted = read_until(&settings, &topic, "read_uncommitted", "end");
    assert_eq!(uncommitted, ["committed", "aborted", "end"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_second_writer_with_the_same_transactional_id_fences_the_first() {
    let settings = testkit::infra().kafka;
    let topic = testkit::unique("smoke-fence");
    create_topic(&settings, &topic).await;
    let role = ClientRole::TransactionalProducer {
        transactional_id: testkit::unique("smoke-fenced"),
    };

    let first = Transactions::open(client_config(&settings, &role))
        .await
        .unwrap();
    let second = Transactions::open(client_config(&settings, &role))
        .await
        .unwrap();

    first.begin().unwrap();
    send(&first, &topic, "from the fenced writer");
    let outcome = first.commit().await;
    assert!(
        matches!(outcome, Err(eventlog::TransactionError::Fatal(_))),
        "a fenced writer must be told it is finished, got {outcome:?}"
    );

    second.begin().unwrap();
    send(&second, &topic, "from the new owner");
    second.commit().await.unwrap();
    let committed = read_until(&settings, &topic, "read_committed", "from the new owner");
    assert_eq!(committed, ["from the new owner"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_read_waits_for_a_transaction_open_when_it_starts_and_misses_nothing_after_it() {
    let settings = testkit::infra().kafka;
    let topic = testkit::unique("smoke-open");
    create_topic(&settings, &topic).await;
    let writer = |name: &str| ClientRole::TransactionalProducer {
        transactional_id: testkit::unique(name),
    };
    let slow = Transactions::open(client_config(&settings, &writer("smoke-slow")))
        .await
        .unwrap();
    let quick = Transactions::open(client_config(&settings, &writer("smoke-quick")))
        .await
        .unwrap();
    // The shape of a takeover: a transaction left open, then another writer's committed ones.
    slow.begin().unwrap();
    send(&slow, &topic, "open at the read's start");
    slow.producer().flush(Duration::from_secs(10)).unwrap();
    quick.begin().unwrap();
    send(&quick, &topic, "committed after it");
    quick.commit().await.unwrap();

    let read = tokio::spawn({
        let (settings, topic) = (settings.clone(), topic.clone());
        async move {
            eventlog::read_committed(&settings, &topic, 0, 0)
                .await
                .unwrap()
        }
    });
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(
        !read.is_finished(),
        "a read must not end at an undecided transaction"
    );
    slow.commit().await.unwrap();

    let (records, _) = read.await.unwrap();
    let values: Vec<String> = records
        .iter()
        .map(|r| String::from_utf8(r.value.clone().unwrap()).unwrap())
        .collect();
    assert_eq!(values, ["open at the read's start", "committed after it"]);
}

#[tokio::test]
async fn the_readiness_check_names_an_unreachable_cluster() {
    let reachable = KafkaCheck::new(testkit::infra().kafka);
    assert_eq!(reachable.check().await, Ok(()));

    let unreachable = KafkaSettings {
        brokers: "127.0.0.1:1".parse().unwrap(),
        ..KafkaSettings::default()
    };
    let error = KafkaCheck::new(unreachable).check().await.unwrap_err();
    assert!(error.contains("127.0.0.1:1"), "{error}");
}
