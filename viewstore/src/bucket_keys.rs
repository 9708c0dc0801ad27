//! Where the bucket view lives in Redis: one layout shared by the projector that writes it
//! and the readers (query API, gateway), so they cannot drift apart.

/// The projection's name (positions, metrics, consumer group).
pub const BUCKETS_PROJECTION: &str = "buckets";

/// Where a deployment's bucket keys live in Redis.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BucketKeys {
    prefix: String,
}

impl BucketKeys {
    /// Keys under `prefix` (the deployment's topic prefix and the configured key prefix).
    pub fn new(prefix: impl Into<String>) -> Self {
        Self {
            prefix: prefix.into(),
        }
    }

    /// The hash of one pool's buckets.
    pub fn bucket(&self, pool_id: &str) -> String {
        format!("{}bucket:{pool_id}", self.prefix)
    }

    /// The hash of the projection's position per partition.
    pub fn positions(&self) -> String {
        format!("{}positions:{BUCKETS_PROJECTION}", self.prefix)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_the_prefix_then_what_they_hold() {
        let keys = BucketKeys::new("t1.leaky:");
        assert_eq!(
            keys.bucket("user:alice/openai"),
            "t1.leaky:bucket:user:alice/openai"
        );
        assert_eq!(keys.positions(), "t1.leaky:positions:buckets");
    }
}
