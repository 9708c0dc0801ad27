//! Shared by the processor and HTTP suites: the deployment the HTTP suites start, and
//! reading the pool log back (the log is what a test checks a run against).
#![allow(dead_code)] // each test binary uses a different part

pub mod deployment;

use std::collections::{HashMap, HashSet};

use domain::{CommandId, PoolId, TokenPoolEvent};
use eventlog::{Topics, read_topic};
use schemas::{PoolCodec, PoolEventEnvelope};
use settings::KafkaSettings;

/// Every event in the log of the deployment `kafka` names, decoded.
pub async fn logged_events(kafka: &KafkaSettings) -> Vec<PoolEventEnvelope> {
    let codec = PoolCodec::new(&testkit::infra().registry).unwrap();
    let topic = Topics::new(kafka).pool_events();
    let mut events = Vec::new();
    for record in read_topic(kafka, &topic, kafka.partitions).await.unwrap() {
        events.push(codec.decode_event(&record.value.unwrap()).await.unwrap());
    }
    events
}

/// Tokens consumed per pool according to the log, checking each command wrote at most one
/// consumption.
pub fn consumed_by_pool(events: &[PoolEventEnvelope]) -> HashMap<PoolId, u64> {
    let mut consumed = HashMap::new();
    let mut consuming = HashSet::new();
    for envelope in events {
        if let TokenPoolEvent::TokensConsumed { amount, .. } = &envelope.event {
            assert!(
                consuming.insert(envelope.command_id),
                "command {} consumed twice",
                envelope.command_id
            );
            *consumed.entry(envelope.pool_id.clone()).or_default() += amount.get();
        }
    }
    consumed
}

/// The commands that consumed tokens according to the log.
pub fn consuming_commands(events: &[PoolEventEnvelope]) -> HashSet<CommandId> {
    events
        .iter()
        .filter(|e| matches!(e.event, TokenPoolEvent::TokensConsumed { .. }))
        .map(|e| e.command_id)
        .collect()
}
