//! Usage analytics over HTTP, from commands through the projector into Cassandra: a series,
//! its trend, its anomalies with the method explained, problems for bad parameters, and the
//! OpenAPI document.

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{Value, json};
use testkit::stack::{Service, Stack};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn consumption_shows_up_in_usage_trend_and_anomalies() {
    let stack = Stack::start(2, Service::READING).await;
    let pool = "/api/v1/pools/user/ursula/qwen";
    stack.command(pool, json!({"tier": "ADMIN"})).await;
    stack
        .command(&format!("{pool}/grants"), json!({"amount": 10_000}))
        .await;
    for amount in [100, 200, 300] {
        stack
            .command(&format!("{pool}/consume"), json!({"amount": amount}))
            .await;
    }
    stack
        .command(&format!("{pool}/consume"), json!({"amount": 50_000}))
        .await; // refused: more than granted
    let other = "/api/v1/pools/user/victor/qwen";
    stack.command(other, json!({"tier": "ADMIN"})).await;
    stack
        .command(&format!("{other}/grants"), json!({"amount": 10_000}))
        .await;
    stack
        .command(&format!("{other}/consume"), json!({"amount": 900}))
        .await;

    // Events and rejections are projected by two consumers, each at its own pace.
    let totals = json!({"tokens": 600, "requests": 3, "rejections": 1});
    let usage = wait_for_totals(&stack, "/api/v1/usage/user/ursula?granularity=day", &totals).await;
    assert_eq!(usage["totals"], totals);
    assert_eq!(usage["granularity"], json!("day"));
    let victor = json!({"tokens": 900, "requests": 1, "rejections": 0});
    wait_for_totals(&stack, "/api/v1/usage/user/victor?granularity=day", &victor).await;
    let (_, _, by_provider) = stack
        .query("/api/v1/usage/provider/qwen?granularity=hour")
        .await;
    assert_eq!(by_provider["totals"]["tokens"], json!(1500));
    assert_eq!(by_provider["buckets"].as_array().unwrap().len(), 24);

    let (status, _, top) = stack.query("/api/v1/top/user?granularity=day").await;
    assert_eq!(status, StatusCode::OK, "{top}");
    let ranked: Vec<(&str, &Value)> = top["top"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| (t["subject"].as_str().unwrap(), &t["totals"]["tokens"]))
        .collect();
    assert_eq!(ranked, [("victor", &json!(900)), ("ursula", &json!(600))]);
    let (_, _, top) = stack.query("/api/v1/top/user?limit=1").await;
    assert_eq!(top["top"].as_array().unwrap().len(), 1);

    let (status, _, trend) = stack.query("/api/v1/usage/user/ursula/trend").await;
    assert_eq!(status, StatusCode::OK, "{trend}");
    assert_eq!(trend["current"]["tokens"], json!(600));
    assert_eq!(trend["previous"]["totals"]["tokens"], json!(0));
    assert_eq!(trend["tokens_change_percent"], Value::Null);

    let (status, _, anomalies) = stack
        .query("/api/v1/usage/user/ursula/anomalies?granularity=minute")
        .await;
    assert_eq!(status, StatusCode::OK, "{anomalies}");
    assert!(anomalies["method"].as_str().unwrap().contains("median"));
    let found = anomalies["anomalies"].as_array().unwrap();
    assert_eq!(found.len(), 1, "{anomalies}");
    assert_eq!(found[0]["tokens"], json!(600));
}

async fn wait_for_totals(stack: &Stack, path: &str, totals: &Value) -> Value {
    let start = Instant::now();
    loop {
        let (status, _, body) = stack.query(path).await;
        if status == StatusCode::OK && body["totals"] == *totals {
            return body;
        }
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "{status}: {body}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_usage_parameters_are_refused_and_the_api_is_documented() {
    let stack = Stack::start(2, &[Service::QueryApi]).await;
    for (path, parameter) in [
        ("/api/v1/usage/team/x", "dimension"),
        ("/api/v1/usage/user/Not%20Valid", "subject"),
        ("/api/v1/usage/org/acme?granularity=week", "granularity"),
        ("/api/v1/usage/org/acme?from=5000&to=1000", "from"),
        ("/api/v1/usage/org/acme?from=soon", "from"),
        ("/api/v1/usage/org/acme/anomalies?threshold=-1", "threshold"),
        ("/api/v1/usage/org/acme/trend?threshold=3", "threshold"),
        ("/api/v1/top/team", "dimension"),
        ("/api/v1/top/user?limit=0", "limit"),
        ("/api/v1/top/user?limit=1000", "limit"),
    ] {
        stack.assert_bad_parameter(path, parameter).await;
    }

    let (status, _, document) = stack.query("/api/v1/openapi.json").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(document["openapi"], json!("3.1.0"));
    for path in [
        "/api/v1/pools/{kind}/{id}/{provider}",
        "/api/v1/usage/{dimension}/{subject}/anomalies",
    ] {
        assert!(document["paths"][path]["get"].is_object(), "{path}");
    }
    // Swagger UI, pointed at the document, with its assets served from here.
    let url = stack.url(Service::QueryApi, "/docs").await;
    let page = stack.http.get(url).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let policy = page.headers()["content-security-policy"].to_str().unwrap();
    assert!(policy.contains("script-src 'self'"), "{policy}");
    let page = page.text().await.unwrap();
    assert!(page.contains("SwaggerUIBundle"), "{page}");
    assert!(page.contains("url: '/api/v1/openapi.json'"), "{page}");
    for asset in ["/docs/swagger-ui-bundle.js", "/docs/swagger-ui.css"] {
        let url = stack.url(Service::QueryApi, asset).await;
        let answer = stack.http.get(url).send().await.unwrap();
        assert_eq!(answer.status(), StatusCode::OK, "{asset}");
        assert!(answer.bytes().await.unwrap().len() > 10_000, "{asset}");
    }
}
