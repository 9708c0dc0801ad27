//! Writing bucket hashes and the partition's position in one Lua script, so Redis never
//! holds a bucket without the position that accounts for it (or the reverse).

use redis::Script;
use redis::aio::ConnectionManager;
use viewstore::{BucketKeys, GenerationKeys};

/// One pool's hash to write, from the snapshot record at `offset`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BucketWrite {
    /// The pool.
    pub pool_id: String,
    /// The state-topic offset of the snapshot it comes from.
    pub offset: i64,
    /// The hash's fields, replacing the previous ones.
    pub fields: Vec<(String, String)>,
}

/// KEYS[1]: the active-generation pointer; KEYS[2]: the generation's positions hash;
/// KEYS[3..]: its bucket hashes. ARGV[1]: the generation written, ARGV[2]: partition,
/// ARGV[3]: next offset, then per bucket: its snapshot offset, its field count, its fields
/// and values. Returns -1, writing nothing, if a newer generation is active (this one was
/// retired by a rebuild). A bucket from before the stored position was already written (or
/// superseded): skipped, so a batch read twice never puts an older snapshot over a newer one.
const WRITE_BATCH: &str = r"
local active = tonumber(redis.call('GET', KEYS[1]) or '0')
if active > tonumber(ARGV[1]) then
  return -1
end
local stored = tonumber(redis.call('HGET', KEYS[2], ARGV[2]) or '0')
local i = 4
for k = 3, #KEYS do
  local offset = tonumber(ARGV[i])
  local count = tonumber(ARGV[i + 1])
  i = i + 2
  if offset >= stored then
    redis.call('DEL', KEYS[k])
    redis.call('HSET', KEYS[k], unpack(ARGV, i, i + 2 * count - 1))
  end
  i = i + 2 * count
end
local next = tonumber(ARGV[3])
if next > stored then
  redis.call('HSET', KEYS[2], ARGV[2], next)
end
return stored
";

/// A batch was not written: its generation is no longer the newest.
#[derive(Debug, thiserror::Error)]
#[error("bucket generation {0} was retired by a rebuild; write the batch again")]
pub struct Retired(pub u64);

/// Writes `buckets` (one per pool, the latest of the batch) and the position into
/// `generation`, atomically, unless a newer generation is active.
pub async fn write_batch(
    redis: &mut ConnectionManager,
    keys: &BucketKeys,
    generation: &GenerationKeys,
    partition: i32,
    next_offset: i64,
    buckets: &[BucketWrite],
) -> anyhow::Result<()> {
    let script = Script::new(WRITE_BATCH);
    let mut invocation = script.key(keys.active_generation());
    invocation.key(generation.positions());
    invocation
        .arg(generation.number())
        .arg(partition)
        .arg(next_offset);
    for bucket in buckets {
        invocation.key(generation.bucket(&bucket.pool_id));
        invocation.arg(bucket.offset).arg(bucket.fields.len());
        for (field, value) in &bucket.fields {
            invocation.arg(field).arg(value);
        }
    }
    let stored: i64 = invocation.invoke_async(redis).await?;
    anyhow::ensure!(stored >= 0, Retired(generation.number()));
    Ok(())
}

/// The stored position of `partition` (zero before its first batch).
pub async fn position(
    redis: &mut ConnectionManager,
    positions_key: &str,
    partition: i32,
) -> redis::RedisResult<i64> {
    let stored: Option<i64> = redis::cmd("HGET")
        .arg(positions_key)
        .arg(partition)
        .query_async(redis)
        .await?;
    Ok(stored.unwrap_or(0))
}
