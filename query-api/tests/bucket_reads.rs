//! The query API over the Redis bucket view, against the real processor, command API,
//! projectors and Kafka: a pool's rate-limit buckets after its writes, read-your-writes by
//! the snapshot's event position, "stale" when the projector is down, and problems for an
//! unknown pool, a token of another partition and bad parameters.

use reqwest::StatusCode;
use serde_json::{Value, json};
use testkit::stack::{Service, Stack, consistency_token};

const PARTITIONS: u32 = 2;

fn offset(token: &str) -> i64 {
    token.split_once(':').unwrap().1.parse().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pools_buckets_read_back_with_its_token_include_the_write() {
    let stack = Stack::start(PARTITIONS, Service::READING).await;
    let pool = "/api/v1/pools/user/bob/openai";
    let started_ms = now_ms();
    stack.command(pool, json!({})).await;
    stack
        .command(&format!("{pool}/grants"), json!({"amount": 10_000}))
        .await;
    let mut last = Value::Null;
    for amount in [100, 200, 300] {
        let (status, reply) = stack
            .command(&format!("{pool}/consume"), json!({"amount": amount}))
            .await;
        assert_eq!(status, StatusCode::OK, "{reply}");
        last = reply;
    }
    let (status, view, body) = stack
        .query(&format!(
            "{pool}/buckets?consistency_token={}",
            consistency_token(&last)
        ))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(view.as_deref(), Some("fresh"), "{body}");
    assert_eq!(body["consistency"]["stale"], json!(false));
    let bucket = &body["bucket"];
    assert_eq!(bucket["pool_id"], json!("user:bob/openai"));
    assert_eq!(bucket["strategy"], json!("LEAKY_BUCKET"));
    // The snapshot folded in the consumption the token names.
    assert!(bucket["next_event_offset"].as_i64().unwrap() > offset(consistency_token(&last)));
    let updated = bucket["updated_at_ms"].as_i64().unwrap();
    assert!(updated >= started_ms && updated <= now_ms(), "{bucket}");
    assert_eq!(bucket["retry_after_ms"], json!(0), "well under both limits");

    // The USER tier's limits from config/leaky.toml, and levels that hold the consumptions
    // (less what leaked out between them: 1 request/s, 100 000 tokens/min).
    let requests = &bucket["limits"]["requests"];
    assert_eq!(requests["capacity"], json!(60));
    assert_eq!(requests["rate"], json!(60));
    assert_eq!(requests["period_ms"], json!(60_000));
    let tokens = &bucket["limits"]["tokens"];
    assert_eq!(tokens["capacity"], json!(100_000));
    for limit in [requests, tokens] {
        let level = limit["level"].as_i64().unwrap();
        let remaining = limit["remaining"].as_i64().unwrap();
        assert_eq!(
            level + remaining,
            limit["capacity"].as_i64().unwrap(),
            "{limit}"
        );
    }
    // Never more than was consumed; how much leaked out meanwhile depends on how slowly a
    // busy machine ran the three commands, so no lower bound.
    let request_level = requests["level"].as_i64().unwrap();
    assert!((0..=3).contains(&request_level), "{requests}");
    let token_level = tokens["level"].as_i64().unwrap();
    assert!((0..=600).contains(&token_level), "{tokens}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_the_projector_down_the_older_buckets_are_marked_stale() {
    let stack = Stack::start(PARTITIONS, Service::READING).await;
    let pool = "/api/v1/pools/org/acme/gemini";
    stack.command(pool, json!({})).await;
    let (_, first) = stack
        .command(&format!("{pool}/grants"), json!({"amount": 500}))
        .await;
    let (status, _, body) = stack
        .query(&format!(
            "{pool}/buckets?consistency_token={}",
            consistency_token(&first)
        ))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["consistency"]["stale"], json!(false), "{body}");
    let before = body["bucket"].clone();

    stack.kill(Service::Projectors).await;
    let (_, consumed) = stack
        .command(&format!("{pool}/consume"), json!({"amount": 50}))
        .await;
    let (status, view, body) = stack
        .query(&format!(
            "{pool}/buckets?consistency_token={}&wait_ms=300",
            consistency_token(&consumed)
        ))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(view.as_deref(), Some("stale"));
    assert_eq!(body["consistency"]["stale"], json!(true));
    assert!(body["consistency"]["waited_ms"].as_u64().unwrap() >= 300);
    assert_eq!(body["bucket"], before, "the answer from before the write");

    // A pool provisioned while the view is down: "not found", and saying it is stale.
    let (_, provisioned) = stack
        .command("/api/v1/pools/org/acme/qwen", json!({}))
        .await;
    let (status, _, body) = stack
        .query(&format!(
            "/api/v1/pools/org/acme/qwen/buckets?consistency_token={}&wait_ms=100",
            consistency_token(&provisioned)
        ))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    assert_eq!(body["consistency"]["stale"], json!(true));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_pools_foreign_tokens_and_bad_parameters_get_problems() {
    let stack = Stack::start(PARTITIONS, &[Service::QueryApi]).await;
    let (status, view, body) = stack
        .query("/api/v1/pools/user/nobody/openai/buckets")
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    assert_eq!(view, None, "no token, no freshness");
    assert!(
        body["detail"]
            .as_str()
            .unwrap()
            .contains("user:nobody/openai")
    );

    let own = eventlog::partition_for(b"user:nobody/openai", PARTITIONS);
    let foreign = format!("{}:5", (own + 1) % PARTITIONS as i32);
    let cases = [
        (
            format!("/api/v1/pools/user/nobody/openai/buckets?consistency_token={foreign}"),
            "consistency_token",
        ),
        ("/api/v1/pools/team/acme/openai/buckets".to_owned(), "kind"),
        (
            "/api/v1/pools/user/alice/OpenAI!/buckets".to_owned(),
            "provider",
        ),
        (
            "/api/v1/pools/user/alice/openai/buckets?wait_ms=forever".to_owned(),
            "wait_ms",
        ),
        (
            "/api/v1/pools/user/alice/openai/buckets?level=3".to_owned(),
            "level",
        ),
    ];
    for (path, parameter) in cases {
        stack.assert_bad_parameter(&path, parameter).await;
    }
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}
