//! Which partitions the consumer group has just given this instance, so the loop can move
//! each one to the position its view stored before applying anything.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex, MutexGuard};

use rdkafka::ClientContext;
use rdkafka::consumer::{BaseConsumer, ConsumerContext, Rebalance};

/// Partitions assigned since the loop last positioned them.
#[derive(Debug, Clone, Default)]
pub struct FreshPartitions {
    fresh: Arc<Mutex<BTreeSet<i32>>>,
}

impl FreshPartitions {
    /// True (once) if `partition` was assigned since the last call for it.
    pub fn take(&self, partition: i32) -> bool {
        self.lock().remove(&partition)
    }

    /// Marks `partitions` to be positioned again before their next records are applied.
    pub fn insert_all(&self, partitions: impl IntoIterator<Item = i32>) {
        self.lock().extend(partitions);
    }

    fn lock(&self) -> MutexGuard<'_, BTreeSet<i32>> {
        // A panic while holding this lock leaves a set that is still valid.
        self.fresh
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// Consumer context that records assignments in [`FreshPartitions`].
#[derive(Debug, Clone)]
pub struct AssignmentContext {
    pub fresh: FreshPartitions,
    pub topic: String,
}

impl ClientContext for AssignmentContext {}

impl ConsumerContext for AssignmentContext {
    fn pre_rebalance(&self, _consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        if let Rebalance::Revoke(partitions) = rebalance {
            let mut fresh = self.fresh.lock();
            for tp in partitions.elements_for_topic(&self.topic) {
                fresh.remove(&tp.partition());
                tracing::info!(topic = %self.topic, partition = tp.partition(), "partition revoked");
            }
        }
    }

    fn post_rebalance(&self, _consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        match rebalance {
            Rebalance::Assign(partitions) => {
                let mut fresh = self.fresh.lock();
                for tp in partitions.elements_for_topic(&self.topic) {
                    fresh.insert(tp.partition());
                    tracing::info!(topic = %self.topic, partition = tp.partition(), "partition assigned");
                }
            }
            Rebalance::Error(error) => tracing::warn!(%error, "rebalance failed"),
            Rebalance::Revoke(_) => {}
        }
    }
}
