//! Which command partitions this instance owns, as the consumer group decides.
//!
//! The callbacks run inside the router's poll while partition tasks may be committing. A
//! task checks ownership before each batch; a commit already under way when its partition
//! is revoked either lands before the next owner takes over (which then reads it) or is
//! refused: the next owner's transactional producer fences it, and the group generation in
//! its offsets is stale.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex, MutexGuard};

use rdkafka::ClientContext;
use rdkafka::consumer::{BaseConsumer, ConsumerContext, Rebalance};

/// Partitions of the commands topic assigned to this instance.
#[derive(Debug, Clone, Default)]
pub struct Ownership {
    owned: Arc<Mutex<BTreeSet<i32>>>,
}

impl Ownership {
    /// True while the group gives `partition` to this instance.
    pub fn owns(&self, partition: i32) -> bool {
        self.lock().contains(&partition)
    }

    /// The partitions owned now.
    pub fn owned(&self) -> BTreeSet<i32> {
        self.lock().clone()
    }

    fn lock(&self) -> MutexGuard<'_, BTreeSet<i32>> {
        // A panic while holding this lock leaves a set that is still valid.
        self.owned
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// Consumer context that keeps [`Ownership`] in step with the group's rebalances.
#[derive(Debug, Clone)]
pub struct OwnershipContext {
    pub ownership: Ownership,
    pub commands_topic: String,
}

impl ClientContext for OwnershipContext {}

impl ConsumerContext for OwnershipContext {
    fn pre_rebalance(&self, _consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        if let Rebalance::Revoke(partitions) = rebalance {
            let mut owned = self.ownership.lock();
            for tp in partitions.elements_for_topic(&self.commands_topic) {
                owned.remove(&tp.partition());
                tracing::info!(partition = tp.partition(), "partition revoked");
            }
        }
    }

    fn post_rebalance(&self, _consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        match rebalance {
            Rebalance::Assign(partitions) => {
                let mut owned = self.ownership.lock();
                for tp in partitions.elements_for_topic(&self.commands_topic) {
                    owned.insert(tp.partition());
                    tracing::info!(partition = tp.partition(), "partition assigned");
                }
            }
            Rebalance::Error(error) => tracing::warn!(%error, "rebalance failed"),
            Rebalance::Revoke(_) => {}
        }
    }
}
