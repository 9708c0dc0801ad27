//! Raw idempotent produce: the ceiling any Kafka-backed command path is bounded by.

use std::time::Duration;

use anyhow::Context;
use futures::future::BoxFuture;
use rdkafka::ClientConfig;
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::producer::{FutureProducer, FutureRecord};

use crate::load::Target;

/// Size of each record's value, about that of a command.
const RECORD_BYTES: usize = 200;

/// One ~200-byte record per request to a topic made for this run, keyed by request so the
/// records spread over all partitions.
pub struct RawProduce {
    producer: FutureProducer,
    admin: AdminClient<DefaultClientContext>,
    topic: String,
    payload: Vec<u8>,
}

impl std::fmt::Debug for RawProduce {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RawProduce")
            .field("topic", &self.topic)
            .finish()
    }
}

impl RawProduce {
    /// Creates `topic` with `partitions` partitions and an idempotent `acks=all` producer.
    pub async fn create(brokers: &str, topic: &str, partitions: i32) -> anyhow::Result<Self> {
        let mut config = ClientConfig::new();
        config.set("bootstrap.servers", brokers);
        let admin: AdminClient<DefaultClientContext> = config.create()?;
        let spec = NewTopic::new(topic, partitions, TopicReplication::Fixed(1));
        for result in admin.create_topics([&spec], &AdminOptions::new()).await? {
            result.map_err(|(t, e)| anyhow::anyhow!("creating {t}: {e}"))?;
        }
        let producer: FutureProducer = config
            .clone()
            .set("enable.idempotence", "true")
            .set("acks", "all")
            .set("linger.ms", "1")
            .create()
            .context("creating the producer")?;
        Ok(Self {
            producer,
            admin,
            topic: topic.to_owned(),
            payload: vec![b'x'; RECORD_BYTES],
        })
    }

    /// Deletes the topic.
    pub async fn delete_topic(&self) -> anyhow::Result<()> {
        self.admin
            .delete_topics(&[&self.topic], &AdminOptions::new())
            .await?;
        Ok(())
    }
}

impl Target for RawProduce {
    fn call(&self, seq: u64) -> BoxFuture<'static, Result<(), String>> {
        let (producer, topic, payload) = (
            self.producer.clone(),
            self.topic.clone(),
            self.payload.clone(),
        );
        Box::pin(async move {
            let key = seq.to_string();
            let record = FutureRecord::to(&topic).key(&key).payload(&payload);
            producer
                .send(record, Duration::from_secs(5))
                .await
                .map(|_| ())
                .map_err(|(e, _)| e.to_string())
        })
    }
}
