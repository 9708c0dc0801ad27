//! Redis is real and usable through the redis crate: a MULTI block writes a bucket and
//! its position atomically, and a script reads them back consistently.

use redis::AsyncCommands;
use settings::RedisSettings;
use viewstore::{RedisCheck, connect_redis};

#[tokio::test]
async fn a_bucket_and_its_position_are_written_atomically() {
    let mut redis = connect_redis(&testkit::infra().redis).await.unwrap();
    let prefix = testkit::unique("smoke");
    let bucket = format!("{prefix}:bucket:user:alice/openai");
    let position = format!("{prefix}:position:0");

    let () = redis::pipe()
        .atomic()
        .hset_multiple(&bucket, &[("level", "40"), ("capacity", "100")])
        .ignore()
        .set(&position, 17)
        .ignore()
        .query_async(&mut redis)
        .await
        .unwrap();

    let level: u64 = redis.hget(&bucket, "level").await.unwrap();
    let next_offset: u64 = redis.get(&position).await.unwrap();
    assert_eq!((level, next_offset), (40, 17));

    let script = redis::Script::new(
        "return {redis.call('HGET', KEYS[1], 'capacity'), redis.call('GET', KEYS[2])}",
    );
    let (capacity, offset): (u64, u64) = script
        .key(&bucket)
        .key(&position)
        .invoke_async(&mut redis)
        .await
        .unwrap();
    assert_eq!((capacity, offset), (100, 17));

    let _: () = redis.del(&[&bucket, &position]).await.unwrap();
}

#[tokio::test]
async fn the_readiness_check_names_an_unreachable_server() {
    let reachable = RedisCheck::new(&testkit::infra().redis).unwrap();
    assert_eq!(probes::DependencyCheck::check(&reachable).await, Ok(()));

    let unreachable = RedisSettings {
        url: "redis://127.0.0.1:1".into(),
    };
    let check = RedisCheck::new(&unreachable).unwrap();
    assert!(probes::DependencyCheck::check(&check).await.is_err());
}
