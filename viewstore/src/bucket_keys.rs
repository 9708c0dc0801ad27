//! Where the bucket view lives in Redis: one layout shared by the projector that writes it
//! and the readers (query API, gateway), so they cannot drift apart.
//!
//! The view is kept in generations: a rebuild writes a fresh generation while readers
//! follow the active one, named by a pointer key, then moves the pointer. Generation 0
//! keeps the original unversioned keys, so a deployment from before generations needs no
//! migration.

use redis::aio::ConnectionLike;

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

    /// The key holding the number of the generation readers use (absent: 0).
    pub fn active_generation(&self) -> String {
        format!("{}{BUCKETS_PROJECTION}:active-generation", self.prefix)
    }

    /// The keys of generation `generation`.
    pub fn generation(&self, generation: u64) -> GenerationKeys {
        let prefix = match generation {
            0 => self.prefix.clone(),
            n => format!("{}g{n}:", self.prefix),
        };
        GenerationKeys { generation, prefix }
    }

    /// The generation readers use now.
    pub async fn read_active(&self, redis: &mut impl ConnectionLike) -> redis::RedisResult<u64> {
        let active: Option<u64> = redis::cmd("GET")
            .arg(self.active_generation())
            .query_async(redis)
            .await?;
        Ok(active.unwrap_or(0))
    }
}

/// The keys of one generation of the bucket view.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GenerationKeys {
    generation: u64,
    prefix: String,
}

impl GenerationKeys {
    /// The generation's number.
    pub fn number(&self) -> u64 {
        self.generation
    }

    /// The hash of one pool's buckets.
    pub fn bucket(&self, pool_id: &str) -> String {
        format!("{}bucket:{pool_id}", self.prefix)
    }

    /// The glob matching every bucket hash of the generation (and no other key).
    pub fn bucket_pattern(&self) -> String {
        format!("{}bucket:*", self.prefix)
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
    fn generation_zero_keeps_the_original_keys() {
        let keys = BucketKeys::new("t1.leaky:").generation(0);
        assert_eq!(
            keys.bucket("user:alice/openai"),
            "t1.leaky:bucket:user:alice/openai"
        );
        assert_eq!(keys.positions(), "t1.leaky:positions:buckets");
    }

    #[test]
    fn later_generations_have_keys_of_their_own() {
        let keys = BucketKeys::new("t1.leaky:");
        let third = keys.generation(3);
        assert_eq!(
            third.bucket("org:acme/qwen"),
            "t1.leaky:g3:bucket:org:acme/qwen"
        );
        assert_eq!(third.positions(), "t1.leaky:g3:positions:buckets");
        assert_eq!(third.bucket_pattern(), "t1.leaky:g3:bucket:*");
        // Generation 0's glob matches none of a later generation's keys.
        assert!(!third.bucket("p").starts_with("t1.leaky:bucket:"));
        assert_eq!(
            keys.active_generation(),
            "t1.leaky:buckets:active-generation"
        );
    }
}
