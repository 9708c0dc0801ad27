//! Generations of the bucket view: starting a fresh one for a rebuild, swapping it in
//! atomically once it has caught up, and dropping a retired one.
//!
//! The swap is one Lua script, so it is atomic with every writer's batch (also a script):
//! a batch of the old generation lands either before the swap, and the comparison of
//! positions accounts for it, or after, and is refused as retired (see `store`).

use redis::Script;
use redis::aio::ConnectionManager;
use viewstore::{BucketKeys, GenerationKeys};

/// KEYS[1]: the active-generation pointer; KEYS[2]: the live generation's positions;
/// KEYS[3]: the new generation's positions. ARGV[1]: the live generation, ARGV[2]: the new.
/// Returns -1 if the live generation is not the active one any more, 0 if the new one has
/// not applied everything the live one has (nothing changes), 1 once swapped.
const SWAP: &str = r"
local active = tonumber(redis.call('GET', KEYS[1]) or '0')
if active ~= tonumber(ARGV[1]) then
  return -1
end
local live = redis.call('HGETALL', KEYS[2])
for i = 1, #live, 2 do
  local copied = tonumber(redis.call('HGET', KEYS[3], live[i]) or '0')
  if copied < tonumber(live[i + 1]) then
    return 0
  end
end
redis.call('SET', KEYS[1], ARGV[2])
return 1
";

/// What a swap attempt did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GenerationSwap {
    /// The new generation is active.
    Swapped,
    /// The new generation has not caught up yet; nothing changed.
    Behind,
}

/// The active generation and a fresh one after it, emptied of anything an earlier
/// unfinished rebuild left there.
pub async fn fresh_generation(
    redis: &mut ConnectionManager,
    keys: &BucketKeys,
) -> anyhow::Result<(GenerationKeys, GenerationKeys)> {
    let active = keys.read_active(redis).await?;
    let fresh = keys.generation(active + 1);
    drop_generation(redis, &fresh).await?;
    Ok((keys.generation(active), fresh))
}

/// Makes `fresh` the active generation if it has caught up with `live`.
pub async fn try_swap(
    redis: &mut ConnectionManager,
    keys: &BucketKeys,
    live: &GenerationKeys,
    fresh: &GenerationKeys,
) -> anyhow::Result<GenerationSwap> {
    let swapped: i64 = Script::new(SWAP)
        .key(keys.active_generation())
        .key(live.positions())
        .key(fresh.positions())
        .arg(live.number())
        .arg(fresh.number())
        .invoke_async(redis)
        .await?;
    match swapped {
        1 => Ok(GenerationSwap::Swapped),
        0 => Ok(GenerationSwap::Behind),
        _ => anyhow::bail!(
            "generation {} is no longer the active one: another rebuild swapped first",
            live.number()
        ),
    }
}

/// Deletes every key of `generation`.
pub async fn drop_generation(
    redis: &mut ConnectionManager,
    generation: &GenerationKeys,
) -> anyhow::Result<usize> {
    let mut dropped = 0;
    let mut cursor: u64 = 0;
    loop {
        let (next, keys): (u64, Vec<String>) = redis::cmd("SCAN")
            .arg(cursor)
            .arg("MATCH")
            .arg(generation.bucket_pattern())
            .arg("COUNT")
            .arg(500)
            .query_async(redis)
            .await?;
        if !keys.is_empty() {
            dropped += keys.len();
            redis::cmd("UNLINK")
                .arg(&keys)
                .query_async::<()>(redis)
                .await?;
        }
        if next == 0 {
            break;
        }
        cursor = next;
    }
    redis::cmd("UNLINK")
        .arg(generation.positions())
        .query_async::<()>(redis)
        .await?;
    Ok(dropped)
}
