//! The stub binary answers in each provider's shape, reports the usage its tokenizer counts,
//! records only usage it delivered, and fails, aborts or stalls when told to.

use std::time::{Duration, Instant};

use reqwest::{Client, StatusCode};
use serde_json::{Value, json};
use testkit::SpawnedService;

const STUB: &str = env!("CARGO_BIN_EXE_llm-stub");

async fn stub() -> SpawnedService {
    SpawnedService::start(STUB, "LEAKY_LLM_STUB__LISTEN", &[]).await
}

fn chat(stream: bool) -> Value {
    json!({
        "model": "gpt-4o-mini",
        "messages": [{"role": "system", "content": "be brief"},
                     {"role": "user", "content": "hello there stub"}],
        "max_tokens": 5,
        "stream": stream,
        "stream_options": {"include_usage": true},
    })
}

/// "be brief" = 1 + 2, "hello there stub" = 2 + 2 + 1, plus 3 per message and 3.
const PROMPT_TOKENS: u64 = 3 + 5 + 3 * 2 + 3;

async fn usage_of(stub: &SpawnedService, request_id: &str) -> Option<Value> {
    let usage: Value = Client::new()
        .get(stub.url("/admin/usage"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    usage["requests"].get(request_id).cloned()
}

/// The `data:` payloads of an SSE body.
fn events(body: &str) -> Vec<String> {
    body.lines()
        .filter_map(|l| l.strip_prefix("data: "))
        .map(str::to_owned)
        .collect()
}

#[tokio::test]
async fn openai_plain_completion_reports_and_records_its_usage() {
    let stub = stub().await;
    let response = Client::new()
        .post(stub.url("/openai/v1/chat/completions"))
        .header("x-request-id", "plain-1")
        .json(&chat(false))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["object"], "chat.completion");
    assert_eq!(body["choices"][0]["finish_reason"], "length");
    assert_eq!(
        body["choices"][0]["message"]["content"],
        "the stub says ok and"
    );
    let expected = json!({"prompt_tokens": PROMPT_TOKENS, "completion_tokens": 5,
                          "total_tokens": PROMPT_TOKENS + 5});
    assert_eq!(body["usage"], expected);
    assert_eq!(usage_of(&stub, "plain-1").await, Some(expected));
}

#[tokio::test]
async fn qwen_and_gemini_compatible_streams_end_with_a_usage_chunk() {
    let stub = stub().await;
    for (path, id) in [
        ("/qwen/compatible-mode/v1/chat/completions", "qwen-1"),
        ("/gemini/v1beta/openai/chat/completions", "gemini-compat-1"),
    ] {
        let response = Client::new()
            .post(stub.url(path))
            .header("x-request-id", id)
            .json(&chat(true))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(response.headers()["content-type"], "text/event-stream");
        let events = events(&response.text().await.unwrap());
        assert_eq!(events.last().unwrap(), "[DONE]");
        let chunks: Vec<Value> = events[..events.len() - 1]
            .iter()
            .map(|e| serde_json::from_str(e).unwrap())
            .collect();
        let text: String = chunks
            .iter()
            .filter_map(|c| c["choices"][0]["delta"]["content"].as_str())
            .collect();
        assert_eq!(text, "the stub says ok and");
        let usage = &chunks.last().unwrap()["usage"];
        assert_eq!(usage["total_tokens"], PROMPT_TOKENS + 5);
        assert_eq!(usage_of(&stub, id).await.as_ref(), Some(usage));
    }
}

#[tokio::test]
async fn gemini_native_reports_usage_metadata_plain_and_streamed() {
    let stub = stub().await;
    let request = json!({
        "contents": [{"role": "user", "parts": [{"text": "hello there stub"}]}],
        "generationConfig": {"maxOutputTokens": 3},
    });
    let plain: Value = Client::new()
        .post(stub.url("/gemini/v1beta/models/gemini-2.0-flash:generateContent"))
        .header("x-request-id", "gem-1")
        .json(&request)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        plain["candidates"][0]["content"]["parts"][0]["text"],
        "the stub says"
    );
    assert_eq!(plain["usageMetadata"]["promptTokenCount"], 5 + 3 + 3);
    assert_eq!(plain["usageMetadata"]["totalTokenCount"], 5 + 3 + 3 + 3);

    let streamed = Client::new()
        .post(stub.url("/gemini/v1beta/models/gemini-2.0-flash:streamGenerateContent?alt=sse"))
        .header("x-request-id", "gem-2")
        .json(&request)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let chunks: Vec<Value> = events(&streamed)
        .iter()
        .map(|e| serde_json::from_str(e).unwrap())
        .collect();
    assert_eq!(chunks.len(), 3);
    assert_eq!(chunks[2]["candidates"][0]["finishReason"], "MAX_TOKENS");
    assert_eq!(chunks[2]["usageMetadata"]["totalTokenCount"], 14);
    assert_eq!(usage_of(&stub, "gem-2").await.unwrap()["total_tokens"], 14);
}

#[tokio::test]
async fn injected_failures_aborts_and_stalls_record_no_usage() {
    let stub = stub().await;
    // No pooled connections: an aborted stream leaves its connection unusable.
    let http = Client::builder().pool_max_idle_per_host(0).build().unwrap();
    let url = stub.url("/openai/v1/chat/completions");

    let failed = http
        .post(&url)
        .header("x-request-id", "fail-1")
        .header("x-stub-fail-status", "503")
        .json(&chat(false))
        .send()
        .await
        .unwrap();
    assert_eq!(failed.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(failed.json::<Value>().await.unwrap()["error"]["message"].is_string());

    let aborted = http
        .post(&url)
        .header("x-request-id", "abort-1")
        .header("x-stub-abort-after-chunks", "2")
        .json(&chat(true))
        .send()
        .await
        .unwrap();
    assert_eq!(aborted.status(), StatusCode::OK);
    assert!(
        aborted.text().await.is_err(),
        "the body must end in an error"
    );

    let started = Instant::now();
    let stalled = http
        .post(&url)
        .header("x-request-id", "hang-1")
        .header("x-stub-hang", "true")
        .timeout(Duration::from_millis(300))
        .json(&chat(false))
        .send()
        .await;
    assert!(stalled.unwrap_err().is_timeout());
    assert!(started.elapsed() >= Duration::from_millis(300));

    let slow = Instant::now();
    http.post(&url)
        .header("x-request-id", "slow-1")
        .header("x-stub-latency-ms", "200")
        .json(&chat(false))
        .send()
        .await
        .unwrap();
    assert!(slow.elapsed() >= Duration::from_millis(200));

    for id in ["fail-1", "abort-1", "hang-1"] {
        assert_eq!(usage_of(&stub, id).await, None, "{id}");
    }
    assert!(usage_of(&stub, "slow-1").await.is_some());
}

#[tokio::test]
async fn admin_chaos_fails_its_share_of_requests() {
    let stub = stub().await;
    let http = Client::new();
    let set = http
        .put(stub.url("/admin/behaviour"))
        .json(&json!({"fail_percent": 100, "fail_status": 429}))
        .send()
        .await
        .unwrap();
    assert_eq!(set.status(), StatusCode::OK);
    let refused = http
        .post(stub.url("/openai/v1/chat/completions"))
        .json(&chat(false))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(refused.headers()["retry-after"], "1");

    http.put(stub.url("/admin/behaviour"))
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    let served = http
        .post(stub.url("/openai/v1/chat/completions"))
        .json(&chat(false))
        .send()
        .await
        .unwrap();
    assert_eq!(served.status(), StatusCode::OK);
}
