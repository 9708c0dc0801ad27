//! The query API over the quota view, against the real processor, command API, projectors
//! and Kafka: reads by example, read-your-writes with the command's consistency token, a
//! clear "stale" when the view has not caught up, and problems for bad parameters.

use reqwest::StatusCode;
use serde_json::json;
use testkit::stack::{Service, Stack, consistency_token};

const PARTITIONS: u32 = 2;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_command_read_back_with_its_token_shows_its_effect() {
    let stack = Stack::start(PARTITIONS, Service::READING).await;
    let pool = "/api/v1/pools/user/alice/openai";
    stack.command(pool, json!({"tier": "PRO"})).await;
    let (_, granted) = stack
        .command(&format!("{pool}/grants"), json!({"amount": 1000}))
        .await;
    let (status, view, body) = stack
        .query(&format!(
            "{pool}?consistency_token={}",
            consistency_token(&granted)
        ))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(view.as_deref(), Some("fresh"));
    assert_eq!(body["consistency"]["stale"], json!(false));
    assert_eq!(body["pool"]["granted"], json!(1000));
    assert_eq!(body["pool"]["tier"], json!("PRO"));
    assert_eq!(body["pool"]["owner_kind"], json!("user"));

    // Back to back, no pause: each read must already include its own write.
    let mut consumed = 0;
    for amount in 1..=20 {
        let (status, reply) = stack
            .command(&format!("{pool}/consume"), json!({"amount": amount}))
            .await;
        assert_eq!(status, StatusCode::OK, "{reply}");
        consumed += amount;
        let (_, view, body) = stack
            .query(&format!(
                "{pool}?consistency_token={}",
                consistency_token(&reply)
            ))
            .await;
        assert_eq!(view.as_deref(), Some("fresh"), "{body}");
        assert_eq!(body["pool"]["consumed"], json!(consumed));
        assert_eq!(body["pool"]["remaining"], json!(1000 - consumed));
    }

    let (_, held) = stack
        .command(&format!("{pool}/reservations"), json!({"amount": 300}))
        .await;
    let id = held["reservation_id"].as_str().unwrap();
    let (status, _, body) = stack
        .query(&format!(
            "{pool}/reservations?consistency_token={}",
            consistency_token(&held)
        ))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let holds = body["reservations"].as_array().unwrap();
    assert_eq!(holds.len(), 1);
    assert_eq!(holds[0]["reservation_id"], json!(id));
    assert_eq!(holds[0]["amount"], json!(300));

    let (_, settled) = stack
        .command(
            &format!("{pool}/reservations/{id}/settle"),
            json!({"actual": 100}),
        )
        .await;
    let (_, _, body) = stack
        .query(&format!(
            "{pool}/reservations?consistency_token={}",
            consistency_token(&settled)
        ))
        .await;
    assert_eq!(body["reservations"], json!([]));
    let (_, _, body) = stack
        .query(&format!(
            "{pool}?consistency_token={}",
            consistency_token(&settled)
        ))
        .await;
    assert_eq!(body["pool"]["consumed"], json!(consumed + 100));
    assert_eq!(body["pool"]["reserved"], json!(0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_the_view_has_not_reached_gets_an_answer_marked_stale() {
    let stack = Stack::start(PARTITIONS, Service::READING).await;
    let pool = "/api/v1/pools/org/acme/gemini";
    stack.command(pool, json!({})).await;
    let (_, first) = stack
        .command(&format!("{pool}/grants"), json!({"amount": 500}))
        .await;
    stack
        .query(&format!(
            "{pool}?consistency_token={}",
            consistency_token(&first)
        ))
        .await;

    stack.kill(Service::Projectors).await;
    let (_, second) = stack
        .command(&format!("{pool}/grants"), json!({"amount": 250}))
        .await;
    let (status, view, body) = stack
        .query(&format!(
            "{pool}?consistency_token={}&wait_ms=300",
            consistency_token(&second)
        ))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(view.as_deref(), Some("stale"));
    assert_eq!(body["consistency"]["stale"], json!(true));
    assert_eq!(
        body["consistency"]["requested"],
        json!(consistency_token(&second))
    );
    assert!(body["consistency"]["waited_ms"].as_u64().unwrap() >= 300);
    assert_eq!(body["pool"]["granted"], json!(500), "the older answer");

    // A pool provisioned after the view stopped: "not found", and stale, not a plain 404.
    let (_, provisioned) = stack
        .command("/api/v1/pools/org/acme/qwen", json!({}))
        .await;
    let (status, _, body) = stack
        .query(&format!(
            "/api/v1/pools/org/acme/qwen?consistency_token={}&wait_ms=100",
            consistency_token(&provisioned)
        ))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body["consistency"]["stale"], json!(true));

    // The new projector gets the partitions once the group drops the killed member
    // (its session timeout, 6 s), so this read may wait up to the longest wait allowed.
    stack.launch(Service::Projectors, &[]).await;
    let (_, view, body) = stack
        .query(&format!(
            "{pool}?consistency_token={}&wait_ms=10000",
            consistency_token(&second)
        ))
        .await;
    assert_eq!(view.as_deref(), Some("fresh"));
    assert_eq!(body["pool"]["granted"], json!(750));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_owner_quota_sums_its_pools_across_providers() {
    let stack = Stack::start(PARTITIONS, Service::READING).await;
    for (provider, amount) in [("openai", 1000), ("gemini", 400)] {
        let pool = format!("/api/v1/pools/org/globex/{provider}");
        stack.command(&pool, json!({})).await;
        stack
            .command(&format!("{pool}/grants"), json!({"amount": amount}))
            .await;
        let (_, reply) = stack
            .command(&format!("{pool}/consume"), json!({"amount": 100}))
            .await;
        // The by-provider quota is the pool itself, read with the pool's own token.
        let (status, _, body) = stack
            .query(&format!(
                "/api/v1/quota/org/globex/{provider}?consistency_token={}",
                consistency_token(&reply)
            ))
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body["pool"]["remaining"], json!(amount - 100));
    }

    let (status, _, body) = stack.query("/api/v1/quota/org/globex").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["owner"], json!("org:globex"));
    assert_eq!(
        body["totals"],
        json!({"pools": 2, "granted": 1400, "consumed": 200, "reserved": 0,
               "overdraft": 0, "remaining": 1200})
    );
    let providers: Vec<&str> = body["pools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["provider"].as_str().unwrap())
        .collect();
    assert_eq!(providers, ["gemini", "openai"]);

    let (status, _, body) = stack.query("/api/v1/quota/user/nobody").await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_parameters_are_refused_with_a_problem_naming_them() {
    let stack = Stack::start(PARTITIONS, &[Service::QueryApi]).await;
    let cases = [
        ("/api/v1/pools/team/acme/openai", "kind"),
        ("/api/v1/pools/user/Not%20Valid/openai", "id"),
        ("/api/v1/pools/user/alice/OpenAI!", "provider"),
        (
            "/api/v1/pools/user/alice/openai?consistency_token=7",
            "consistency_token",
        ),
        (
            "/api/v1/pools/user/alice/openai?consistency_token=-1:3",
            "consistency_token",
        ),
        ("/api/v1/pools/user/alice/openai?wait_ms=forever", "wait_ms"),
        ("/api/v1/pools/user/alice/openai?wait_ms=3600000", "wait_ms"),
        ("/api/v1/pools/user/alice/openai?color=blue", "color"),
        ("/api/v1/quota/robot/r2", "kind"),
    ];
    for (path, parameter) in cases {
        stack.assert_bad_parameter(path, parameter).await;
    }

    let (status, _, problem) = stack.query("/api/v1/nothing/here").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(problem["type"].is_string());

    let url = stack
        .url(Service::QueryApi, "/api/v1/pools/user/alice/openai")
        .await;
    let response = stack.http.post(&url).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(
        response.headers()["content-type"],
        "application/problem+json"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_writers_each_read_their_own_write() {
    let stack = Stack::start(PARTITIONS, Service::READING).await;
    let writer = |i: usize| {
        let stack = &stack;
        async move {
            let pool = format!("/api/v1/pools/user/writer{i}/openai");
            stack.command(&pool, json!({"tier": "ADMIN"})).await;
            stack
                .command(&format!("{pool}/grants"), json!({"amount": 100_000}))
                .await;
            let mut consumed = 0;
            for amount in 1..=15 {
                let (status, reply) = stack
                    .command(&format!("{pool}/consume"), json!({"amount": amount}))
                    .await;
                assert_eq!(status, StatusCode::OK, "{reply}");
                consumed += amount;
                let (_, view, body) = stack
                    .query(&format!(
                        "{pool}?consistency_token={}",
                        consistency_token(&reply)
                    ))
                    .await;
                assert_eq!(view.as_deref(), Some("fresh"), "{pool}: {body}");
                assert_eq!(body["pool"]["consumed"], json!(consumed), "{pool}");
            }
        }
    };
    futures::future::join_all((0..8).map(writer)).await;
}
