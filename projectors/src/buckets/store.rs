//! Writing bucket hashes and the partition's position in one Lua script, so Redis never
//! holds a bucket without the position that accounts for it (or the reverse).

use redis::Script;
use redis::aio::ConnectionManager;

/// One pool's hash to write, from the snapshot record at `offset`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BucketWrite {
    /// The Redis key of the pool's hash.
    pub key: String,
    /// The state-topic offset of the snapshot it comes from.
    pub offset: i64,
    /// The hash's fields, replacing the previous ones.
    pub fields: Vec<(String, String)>,
}

/// KEYS[1]: the positions hash; KEYS[2..]: bucket hashes. ARGV[1]: partition, ARGV[2]: next
/// offset, then per bucket: its snapshot offset, its field count, its fields and values.
/// A bucket from before the stored position was already written (or superseded): skipped,
/// so a batch read twice never puts an older snapshot over a newer one.
const WRITE_BATCH: &str = r"
local stored = tonumber(redis.call('HGET', KEYS[1], ARGV[1]) or '0')
local i = 3
for k = 2, #KEYS do
  local offset = tonumber(ARGV[i])
  local count = tonumber(ARGV[i + 1])
  i = i + 2
  if offset >= stored then
    redis.call('DEL', KEYS[k])
    redis.call('HSET', KEYS[k], unpack(ARGV, i, i + 2 * count - 1))
  end
  i = i + 2 * count
end
local next = tonumber(ARGV[2])
if next > stored then
  redis.call('HSET', KEYS[1], ARGV[1], next)
end
return stored
";

/// Writes `buckets` (one per pool, the latest of the batch) and the position, atomically.
pub async fn write_batch(
    redis: &mut ConnectionManager,
    positions_key: &str,
    partition: i32,
    next_offset: i64,
    buckets: &[BucketWrite],
) -> redis::RedisResult<()> {
    let script = Script::new(WRITE_BATCH);
    let mut invocation = script.key(positions_key);
    invocation.arg(partition).arg(next_offset);
    for bucket in buckets {
        invocation.key(&bucket.key);
        invocation.arg(bucket.offset).arg(bucket.fields.len());
        for (field, value) in &bucket.fields {
            invocation.arg(field).arg(value);
        }
    }
    let _stored: i64 = invocation.invoke_async(redis).await?;
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
