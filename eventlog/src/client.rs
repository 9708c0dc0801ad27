//! librdkafka configuration, in one place so every client of a role behaves the same.

use rdkafka::ClientConfig;
use settings::KafkaSettings;

/// What a client is for; each role gets the settings its guarantees depend on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientRole {
    /// Reads only committed records, commits offsets itself (or inside a transaction).
    Consumer { group_id: String },
    /// Produces inside transactions; the id fences any previous owner of the same id.
    TransactionalProducer { transactional_id: String },
    /// Idempotent producer outside transactions.
    Producer,
    /// Metadata and topic administration.
    Admin,
}

/// librdkafka settings for `role` against the cluster in `settings`.
///
/// Producers partition keys with murmur2 like the Java client (librdkafka's default is
/// crc32), so [`crate::partition_for`] and every client agree on where a pool lives.
pub fn client_config(settings: &KafkaSettings, role: &ClientRole) -> ClientConfig {
    let mut config = ClientConfig::new();
    config
        .set("bootstrap.servers", settings.brokers.as_str())
        // Fail fast and visibly instead of retrying forever against a wrong address.
        .set("socket.connection.setup.timeout.ms", "5000")
        // Requests here are small and latency-bound; Nagle's algorithm holding a small
        // write until the previous one is acknowledged costs a delayed-ACK wait (tens of ms)
        // exactly when load is light.
        .set("socket.nagle.disable", "true")
        .set("log_level", "4");
    match role {
        ClientRole::Consumer { group_id } => {
            config
                .set("group.id", format!("{}{group_id}", settings.topic_prefix))
                .set("isolation.level", "read_committed")
                .set("enable.auto.commit", "false")
                .set("auto.offset.reset", "earliest")
                .set("partition.assignment.strategy", "cooperative-sticky")
                // A crashed member's partitions move after this long (the broker's minimum):
                // the pause a kill -9 causes to the pools it owned.
                .set("session.timeout.ms", "6000")
                .set("heartbeat.interval.ms", "1500")
                // A read_committed fetch is not woken when a transaction commits, only by new
                // data or this timeout (500 ms by default): it bounds how late a committed
                // reply or event is seen.
                .set("fetch.wait.max.ms", "10");
        }
        ClientRole::TransactionalProducer { transactional_id } => {
            config
                .set("partitioner", "murmur2_random")
                .set(
                    "transactional.id",
                    format!("{}{transactional_id}", settings.topic_prefix),
                )
                .set("enable.idempotence", "true")
                .set("acks", "all")
                .set("linger.ms", "1")
                // An orphaned transaction (its writer died and nobody took over) is aborted
                // by the broker after this long; until then its partitions' reads stall.
                .set("transaction.timeout.ms", "15000")
                // Back-to-back transactions meet CONCURRENT_TRANSACTIONS while the broker still
                // writes the previous commit's markers; the default 100 ms backoff would add
                // that to every batch.
                .set("retry.backoff.ms", "2")
                .set("retry.backoff.max.ms", "50");
        }
        ClientRole::Producer => {
            config
                .set("partitioner", "murmur2_random")
                .set("enable.idempotence", "true")
                .set("acks", "all")
                .set("linger.ms", settings.producer_linger_ms.to_string());
        }
        ClientRole::Admin => {}
    }
    config
}
