//! The command API over HTTP against the real processor and Kafka: commands by example,
//! idempotency keys, and every kind of bad input refused with a problem and nothing written.

use std::collections::HashSet;
use std::sync::atomic::{AtomicUsize, Ordering};

use eventlog::{Topics, read_topic};
use reqwest::{Client, Response, StatusCode};
use serde_json::{Value, json};

mod support;

use support::deployment::{Deployment, PARTITIONS, Processor};

/// A processor, the auth service and an API on fresh topics; requests go as the ADMIN
/// (who may do everything: these tests are about commands, `access.rs` about who may).
struct Stack {
    deployment: Deployment,
    http: Client,
}

impl Stack {
    async fn start() -> Self {
        // A short reply wait, so requests caught by a processor restart take the
        // 202-and-poll path.
        let settings = [("LEAKY_COMMAND_API__REPLY_WAIT_MS", "2000")];
        let deployment = Deployment::start("http", Processor::Running, &settings).await;
        let admin = deployment.auth.admin().await;
        let stack = Self {
            deployment,
            // No connection reuse: the server closes a connection whose oversized body it
            // refused, and a pooled client would send the next request into it.
            http: testkit::auth::client_as(&admin),
        };
        stack.wait_until_accepting_commands().await;
        stack
    }

    /// Kills the processor (SIGKILL) and starts a new one.
    async fn restart_processor(&self) {
        self.deployment.restart_processor().await;
    }

    async fn wait_until_accepting_commands(&self) {
        for _ in 0..100 {
            let response = self
                .post(
                    "/api/v1/pools/user/probe/openai/consume",
                    json!({"amount": 1}),
                )
                .await;
            if response.status() != StatusCode::SERVICE_UNAVAILABLE {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        panic!("the API never connected to Kafka");
    }

    async fn post(&self, path: &str, body: Value) -> Response {
        self.http
            .post(self.deployment.api.url(path))
            .json(&body)
            .send()
            .await
            .unwrap()
    }

    async fn post_with_key(&self, path: &str, key: &str, body: Value) -> Response {
        let request = self
            .http
            .post(self.deployment.api.url(path))
            .header("Idempotency-Key", key)
            .json(&body);
        request.send().await.unwrap()
    }

    async fn post_raw(
        &self,
        path: &str,
        content_type: &str,
        body: impl Into<reqwest::Body>,
    ) -> Response {
        let request = self
            .http
            .post(self.deployment.api.url(path))
            .header("content-type", content_type)
            .body(body);
        request.send().await.unwrap()
    }

    /// How many commands reached the log.
    async fn commands_written(&self) -> usize {
        read_topic(
            &self.deployment.kafka,
            &Topics::new(&self.deployment.kafka).pool_commands(),
            PARTITIONS,
        )
        .await
        .unwrap()
        .len()
    }

    /// How many events reached the log.
    async fn events_written(&self) -> usize {
        read_topic(
            &self.deployment.kafka,
            &Topics::new(&self.deployment.kafka).pool_events(),
            PARTITIONS,
        )
        .await
        .unwrap()
        .len()
    }
}

const ALICE: &str = "/api/v1/pools/user/alice/openai";

async fn json_of(response: Response) -> (StatusCode, String, Value) {
    let status = response.status();
    let content_type = response
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    (status, content_type, response.json().await.unwrap())
}

async fn ok(response: Response) -> Value {
    let (status, _, body) = json_of(response).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["outcome"], "accepted", "{body}");
    body
}

#[tokio::test(flavor = "multi_thread")]
async fn a_reservation_is_settled_to_the_real_usage_and_the_rest_released() {
    let stack = Stack::start().await;
    ok(stack.post(ALICE, json!({"tier": "USER"})).await).await;
    ok(stack
        .post(&format!("{ALICE}/grants"), json!({"amount": 1000}))
        .await)
    .await;

    let reserved = ok(stack
        .post(&format!("{ALICE}/reservations"), json!({"amount": 300}))
        .await)
    .await;
    assert_eq!(reserved["balance"]["reserved"], 300);
    assert_eq!(reserved["balance"]["available"], 700);
    let reservation = reserved["reservation_id"].as_str().unwrap();
    assert!(
        reserved["consistency_token"]
            .as_str()
            .unwrap()
            .contains(':')
    );

    let settled = ok(stack
        .post(
            &format!("{ALICE}/reservations/{reservation}/settle"),
            json!({"actual": 120}),
        )
        .await)
    .await;
    assert_eq!(settled["events"], json!(["ReservationSettled"]));
    assert_eq!(
        settled["balance"],
        json!({"granted": 1000, "consumed": 120, "reserved": 0, "available": 880})
    );

    let again = stack
        .post(
            &format!("{ALICE}/reservations/{reservation}/settle"),
            json!({"actual": 200}),
        )
        .await;
    let (status, content_type, problem) = json_of(again).await;
    assert_eq!(status, StatusCode::CONFLICT, "{problem}");
    assert_eq!(content_type, "application/problem+json");
    assert_eq!(problem["code"], "already_resolved");
}

#[tokio::test(flavor = "multi_thread")]
async fn spending_more_than_is_left_is_a_429_that_says_why() {
    let stack = Stack::start().await;
    ok(stack.post(ALICE, json!({})).await).await;
    ok(stack
        .post(&format!("{ALICE}/grants"), json!({"amount": 100}))
        .await)
    .await;

    let (status, content_type, problem) = json_of(
        stack
            .post(&format!("{ALICE}/consume"), json!({"amount": 101}))
            .await,
    )
    .await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{problem}");
    assert_eq!(content_type, "application/problem+json");
    assert_eq!(
        problem["type"],
        "https://leaky-tokens.dev/problems/quota-exhausted"
    );
    assert_eq!(problem["code"], "quota_exhausted");
    assert_eq!(problem["reason"]["available"], 100);
    assert!(
        problem["detail"].as_str().unwrap().contains("101"),
        "{problem}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_idempotency_key_makes_a_retry_the_same_command() {
    let stack = Stack::start().await;
    ok(stack.post(ALICE, json!({})).await).await;
    ok(stack
        .post(&format!("{ALICE}/grants"), json!({"amount": 100}))
        .await)
    .await;

    let path = format!("{ALICE}/consume");
    let first = ok(stack
        .post_with_key(&path, "order-17", json!({"amount": 40}))
        .await)
    .await;
    let retry = ok(stack
        .post_with_key(&path, "order-17", json!({"amount": 40}))
        .await)
    .await;
    assert_eq!(retry["command_id"], first["command_id"]);
    assert_eq!(retry["consistency_token"], first["consistency_token"]);
    assert_eq!(
        retry["balance"]["consumed"], 40,
        "the retry must not spend again"
    );

    let (status, _, problem) = json_of(
        stack
            .post_with_key(&path, "order-17", json!({"amount": 41}))
            .await,
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT, "{problem}");
    assert_eq!(problem["code"], "idempotency_conflict");
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_input_is_refused_with_a_problem_and_nothing_is_written() {
    let stack = Stack::start().await;
    let commands_before = stack.commands_written().await;
    let consume = format!("{ALICE}/consume");
    let big = format!(
        "{{\"amount\": 1, \"padding\": \"{}\"}}",
        "x".repeat(64 * 1024)
    );

    let cases: Vec<(&str, Response, StatusCode, &str)> = vec![
        (
            "malformed JSON",
            stack
                .post_raw(&consume, "application/json", "{\"amount\": ")
                .await,
            StatusCode::BAD_REQUEST,
            "malformed-request",
        ),
        (
            "not JSON",
            stack.post_raw(&consume, "text/plain", "amount=1").await,
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported-media-type",
        ),
        (
            "negative amount",
            stack.post(&consume, json!({"amount": -5})).await,
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid-body",
        ),
        (
            "zero amount",
            stack.post(&consume, json!({"amount": 0})).await,
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid-field",
        ),
        (
            "huge amount",
            stack
                .post(&consume, json!({"amount": 10_000_000_000_000_u64}))
                .await,
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid-field",
        ),
        (
            "fractional amount",
            stack.post(&consume, json!({"amount": 1.5})).await,
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid-body",
        ),
        (
            "missing amount",
            stack.post(&consume, json!({})).await,
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid-body",
        ),
        (
            "unknown field",
            stack
                .post(&consume, json!({"amount": 1, "amonut": 2}))
                .await,
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid-body",
        ),
        (
            "oversized body",
            stack.post_raw(&consume, "application/json", big).await,
            StatusCode::PAYLOAD_TOO_LARGE,
            "body-too-large",
        ),
        (
            "unknown provider",
            stack
                .post(
                    "/api/v1/pools/user/alice/mistral/consume",
                    json!({"amount": 1}),
                )
                .await,
            StatusCode::NOT_FOUND,
            "unknown-provider",
        ),
        (
            "bad owner kind",
            stack
                .post(
                    "/api/v1/pools/team/alice/openai/consume",
                    json!({"amount": 1}),
                )
                .await,
            StatusCode::NOT_FOUND,
            "unknown-pool",
        ),
        (
            "bad reservation id",
            stack
                .post(
                    &format!("{ALICE}/reservations/nope/settle"),
                    json!({"actual": 1}),
                )
                .await,
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid-field",
        ),
        (
            "bad tier",
            stack.post(ALICE, json!({"tier": "GOD"})).await,
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid-body",
        ),
        (
            "bad idempotency key",
            stack
                .http
                .post(stack.deployment.api.url(&consume))
                .header("Idempotency-Key", "")
                .json(&json!({"amount": 1}))
                .send()
                .await
                .unwrap(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid-field",
        ),
        (
            "unknown route",
            stack.post("/api/v1/nothing", json!({})).await,
            StatusCode::NOT_FOUND,
            "not-found",
        ),
    ];
    for (case, response, expected_status, expected_type) in cases {
        let (status, content_type, problem) = json_of(response).await;
        assert_eq!(status, expected_status, "{case}: {problem}");
        assert_eq!(content_type, "application/problem+json", "{case}");
        assert_eq!(
            problem["type"],
            format!("https://leaky-tokens.dev/problems/{expected_type}"),
            "{case}: {problem}"
        );
        assert!(!problem["title"].as_str().unwrap().is_empty(), "{case}");
        assert!(!problem["detail"].as_str().unwrap().is_empty(), "{case}");
    }
    assert_eq!(
        stack.commands_written().await,
        commands_before,
        "a refused request reached the log"
    );

    // A well-formed command for a pool that does not exist reaches the processor, which
    // refuses it: 404, and no event.
    let (status, _, problem) = json_of(
        stack
            .post(
                "/api/v1/pools/user/nobody/openai/consume",
                json!({"amount": 1}),
            )
            .await,
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{problem}");
    assert_eq!(problem["code"], "pool_not_provisioned");
    assert_eq!(stack.events_written().await, 0);
}

/// The final answer to a command: its response, or for a 202 the polled outcome.
async fn settled_answer(stack: &Stack, response: Response) -> (StatusCode, Value) {
    let (status, _, body) = json_of(response).await;
    if status != StatusCode::ACCEPTED {
        return (status, body);
    }
    let url = stack
        .deployment
        .api
        .url(body["status_url"].as_str().unwrap());
    for _ in 0..600 {
        let polled = stack.http.get(&url).send().await.unwrap();
        if polled.status() != StatusCode::NOT_FOUND {
            let (status, _, body) = json_of(polled).await;
            return (status, body);
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("command {} never got an answer", body["command_id"]);
}

/// Client `i` of the load: consumes 10 tokens with its own idempotency key, half of the
/// clients on the hot pool `pools[0]`, the others spread over the rest.
async fn client(
    stack: &Stack,
    pools: &[String],
    answered: &AtomicUsize,
    i: usize,
) -> (StatusCode, Value) {
    let pool = if i.is_multiple_of(2) {
        &pools[0]
    } else {
        &pools[i % pools.len()]
    };
    let response = stack
        .post_with_key(
            &format!("{pool}/consume"),
            &format!("client-{i}"),
            json!({"amount": 10}),
        )
        .await;
    let answer = settled_answer(stack, response).await;
    answered.fetch_add(1, Ordering::Relaxed);
    answer
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn hundreds_of_http_clients_never_overspend_even_across_a_processor_crash() {
    let stack = Stack::start().await;
    let pools: Vec<String> = (0..20)
        .map(|i| format!("/api/v1/pools/user/client-{i}/openai"))
        .collect();
    for pool in &pools {
        ok(stack.post(pool, json!({})).await).await;
        ok(stack
            .post(&format!("{pool}/grants"), json!({"amount": 500}))
            .await)
        .await;
    }

    // 400 clients at once against 500 tokens per pool: the hot pool and others run dry and
    // many requests must be refused. A quarter of the way in, the processor is killed.
    let answered = AtomicUsize::new(0);
    let load = futures::future::join_all((0..400).map(|i| client(&stack, &pools, &answered, i)));
    let crash = async {
        while answered.load(Ordering::Relaxed) < 100 {
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
        stack.restart_processor().await;
    };
    let (answers, ()) = tokio::join!(load, crash);

    let mut accepted = HashSet::new();
    for (status, body) in answers {
        match status {
            StatusCode::OK => {
                assert!(accepted.insert(body["command_id"].as_str().unwrap().to_owned()))
            }
            StatusCode::TOO_MANY_REQUESTS => assert_eq!(body["code"], "quota_exhausted", "{body}"),
            other => panic!("unexpected {other}: {body}"),
        }
    }
    let events = support::logged_events(&stack.deployment.kafka).await;
    let consumed = support::consumed_by_pool(&events);
    let logged: HashSet<String> = support::consuming_commands(&events)
        .iter()
        .map(ToString::to_string)
        .collect();
    for (pool, spent) in &consumed {
        assert!(*spent <= 500, "{pool} spent {spent} of its 500");
    }
    assert_eq!(
        consumed[&"user:client-0/openai".parse().unwrap()],
        500,
        "the hot pool is spent exactly"
    );
    assert_eq!(
        logged, accepted,
        "the accepted commands are exactly those in the log, once each"
    );
}

/// The trace contexts the records of `topic` carry.
async fn traces_in(stack: &Stack, topic: &str) -> Vec<telemetry::TraceContext> {
    read_topic(&stack.deployment.kafka, topic, PARTITIONS)
        .await
        .unwrap()
        .into_iter()
        .filter_map(|record| record.trace)
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_requests_trace_reaches_every_record_it_causes() {
    let stack = Stack::start().await;
    let caller = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    let response = stack
        .http
        .post(stack.deployment.api.url(ALICE))
        .header("traceparent", caller)
        .json(&json!({"tier": "USER"}))
        .send()
        .await
        .unwrap();
    let answered = response.headers()["traceparent"]
        .to_str()
        .unwrap()
        .to_owned();
    ok(response).await;
    let answered = telemetry::TraceContext::parse(&answered).unwrap();
    assert_eq!(answered.trace_id(), "4bf92f3577b34da6a3ce929d0e0e4736");

    // Without a trace of its own, a request starts one; a refusal's record carries it too.
    let refused = stack
        .post(&format!("{ALICE}/consume"), json!({"amount": 1}))
        .await;
    let started = refused.headers()["traceparent"]
        .to_str()
        .unwrap()
        .to_owned();
    let started = telemetry::TraceContext::parse(&started).unwrap();
    assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);

    let topics = Topics::new(&stack.deployment.kafka);
    let mut spans = HashSet::from([answered.span_id()]);
    for (topic, trace) in [
        (topics.pool_commands(), &answered),
        (topics.pool_events(), &answered),
        (topics.replies(), &answered),
        (topics.pool_commands(), &started),
        (topics.pool_rejections(), &started),
        (topics.replies(), &started),
    ] {
        let carried: Vec<_> = traces_in(&stack, &topic)
            .await
            .into_iter()
            .filter(|t| t.trace_id() == trace.trace_id())
            .collect();
        assert!(!carried.is_empty(), "no record of {topic} carries {trace}");
        for hop in carried {
            assert!(
                spans.insert(hop.span_id()),
                "{topic}: each hop is a span of its own"
            );
        }
    }
}
