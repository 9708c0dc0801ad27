//! Acceptance of the purchase saga on the real binaries: every branch ends with the
//! provider's charges and the pool's grants in agreement; killing the saga (or the purchase
//! processor) with SIGKILL at random points of a stream of purchases with injected failures
//! changes nothing in the end; concurrent duplicates of one request make exactly one
//! purchase.

mod support;

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use domain::PurchaseStatus;
use serde_json::Value;
use support::{Stack, order};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_branch_ends_with_charges_and_grants_in_agreement() {
    let stack = Stack::start(3_000).await;
    stack.faults(serde_json::json!({"hang_ms": 5_000})).await;
    stack.provision("alice").await;
    let cases = [
        (
            "ok",
            order("alice", 1_000, "pm_card_visa"),
            PurchaseStatus::Completed,
            None,
        ),
        (
            "declined",
            order("alice", 1_000, "pm_card_declined"),
            PurchaseStatus::Failed,
            Some("payment_declined"),
        ),
        (
            "timeout",
            order("alice", 1_000, "pm_card_timeout"),
            PurchaseStatus::Failed,
            Some("payment_timed_out"),
        ),
        (
            "capture",
            order("alice", 1_000, "pm_card_capture_fails"),
            PurchaseStatus::Failed,
            Some("capture_failed"),
        ),
        (
            "capture-timeout",
            order("alice", 1_000, "pm_card_capture_timeout"),
            PurchaseStatus::Failed,
            Some("capture_timed_out"),
        ),
        // Over the USER tier's quota cap (config/leaky.toml): the pool refuses the grant.
        (
            "cap",
            order("alice", 20_000_000, "pm_card_visa"),
            PurchaseStatus::Failed,
            Some("grant_refused"),
        ),
    ];
    let mut expected = std::collections::BTreeMap::new();
    for (key, body, status, failure) in &cases {
        let (code, reply) = stack.purchase(key, body).await;
        assert_eq!(code, 201, "{reply}");
        assert_eq!(reply["purchase"]["status"], "REQUESTED", "{reply}");
        let id: domain::PurchaseId = reply["purchase_id"].as_str().unwrap().parse().unwrap();
        expected.insert(id, (*status, *failure));
    }
    let started = Instant::now();
    let purchases = stack.all_done(cases.len(), Duration::from_secs(60)).await;
    eprintln!("{} purchases done in {:?}", cases.len(), started.elapsed());
    for (id, purchase) in &purchases {
        let got = (
            purchase.status().unwrap(),
            purchase.failure().map(|f| f.code()),
        );
        assert_eq!(got, expected[id], "purchase {id}");
    }
    stack.assert_ledgers_agree(&purchases).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn killing_the_saga_at_random_points_leaves_nobody_charged_or_granted_twice() {
    let mut stack = Stack::start(4_000).await;
    stack
        .faults(serde_json::json!({
            "hang_ms": 2_000,
            "latency_ms": 20,
            "decline_percent": 15,
            "reserve_timeout_percent": 10,
            "capture_failure_percent": 10,
            "capture_timeout_percent": 5,
        }))
        .await;
    for user in ["bob", "carol", "dave"] {
        stack.provision(user).await;
    }
    const PURCHASES: usize = 30;
    let api = stack.api.url("/api/v1/purchases");
    let client = stack.http();
    let submitting = tokio::spawn(async move {
        for n in 0..PURCHASES {
            let user = ["bob", "carol", "dave"][n % 3];
            // Every seventh is over the USER tier's quota cap: the pool refuses the grant.
            let tokens = if n % 7 == 3 {
                20_000_000
            } else {
                500 + n as u64
            };
            let body = order(user, tokens, "pm_card_visa");
            let response = client
                .post(&api)
                .header("idempotency-key", format!("stream-{n}"))
                .json(&body)
                .send()
                .await
                .unwrap();
            assert!([200, 201, 202].contains(&response.status().as_u16()));
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    });
    // Kill the saga every 0.7 to 2 s, five times, while purchases stream in.
    let mut seed = 0x2545_f491_u64;
    for _ in 0..5 {
        seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
        let pause = 700 + (seed >> 33) % 1_300;
        tokio::time::sleep(Duration::from_millis(pause)).await;
        stack.kill_saga().await;
        tokio::time::sleep(Duration::from_millis(200)).await;
        stack.start_saga().await;
    }
    submitting.await.unwrap();
    let started = Instant::now();
    let purchases = stack.all_done(PURCHASES, Duration::from_secs(90)).await;
    eprintln!(
        "all {PURCHASES} done {:?} after the last submission",
        started.elapsed()
    );
    let outcomes: BTreeSet<_> = purchases
        .values()
        .map(|p| {
            format!(
                "{:?} {:?}",
                p.status().unwrap(),
                p.failure().map(|f| f.code())
            )
        })
        .collect();
    eprintln!("outcomes: {outcomes:?}");
    for expected in ["Completed None", "Failed Some(\"grant_refused\")"] {
        assert!(outcomes.contains(expected), "{expected} among {outcomes:?}");
    }
    assert!(
        outcomes.len() >= 4,
        "injected failures took effect: {outcomes:?}"
    );
    stack.assert_ledgers_agree(&purchases).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_duplicates_with_one_key_make_exactly_one_purchase() {
    let stack = Stack::start(5_000).await;
    stack.provision("erin").await;
    let body = order("erin", 2_000, "pm_card_visa");
    let requests = (0..16).map(|_| {
        let (api, body) = (stack.api.url("/api/v1/purchases"), body.clone());
        let client = stack.http();
        tokio::spawn(async move {
            let response = client
                .post(api)
                .header("idempotency-key", "the-one")
                .json(&body)
                .send()
                .await
                .unwrap();
            let status = response.status().as_u16();
            (status, response.json::<Value>().await.unwrap())
        })
    });
    let answers = futures::future::join_all(requests).await;
    let mut ids = BTreeSet::new();
    for answer in answers {
        let (status, reply) = answer.unwrap();
        assert_eq!(status, 201, "every duplicate gets the same answer: {reply}");
        ids.insert(reply["purchase_id"].as_str().unwrap().to_owned());
    }
    assert_eq!(ids.len(), 1, "one purchase id: {ids:?}");
    assert_eq!(stack.placed().await, 1, "placed once in the log");

    let mut other = body.clone();
    other["tokens"] = Value::from(2_001);
    let (status, problem) = stack.purchase("the-one", &other).await;
    assert_eq!(status, 409, "{problem}");

    let purchases = stack.all_done(1, Duration::from_secs(30)).await;
    assert_eq!(purchases.len(), 1);
    stack.assert_ledgers_agree(&purchases).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn killing_the_purchase_processor_mid_stream_loses_and_repeats_nothing() {
    let mut stack = Stack::start(6_000).await;
    stack
        .faults(serde_json::json!({"decline_percent": 20, "capture_failure_percent": 20}))
        .await;
    stack.provision("frank").await;
    const PURCHASES: usize = 20;
    let api = stack.api.url("/api/v1/purchases");
    let client = stack.http();
    let submitting = tokio::spawn(async move {
        for n in 0..PURCHASES {
            let body = order("frank", 100 + n as u64, "pm_card_visa");
            // A request caught by the restart is retried with its key, as a client would.
            loop {
                let response = client
                    .post(&api)
                    .header("idempotency-key", format!("restart-{n}"))
                    .json(&body)
                    .send()
                    .await
                    .unwrap();
                if [201, 202].contains(&response.status().as_u16()) {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    });
    for pause in [600, 900] {
        tokio::time::sleep(Duration::from_millis(pause)).await;
        stack.kill_purchase_processor().await;
        stack.start_purchase_processor().await;
    }
    submitting.await.unwrap();
    let purchases = stack.all_done(PURCHASES, Duration::from_secs(90)).await;
    assert_eq!(stack.placed().await, PURCHASES, "each purchase placed once");
    stack.assert_ledgers_agree(&purchases).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_purchase_carries_its_requests_trace_through_every_step() {
    let stack = Stack::start(3_000).await;
    stack.provision("grace").await;
    let caller = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
    let response = stack
        .http()
        .post(stack.api.url("/api/v1/purchases"))
        .header("idempotency-key", "traced")
        .header("traceparent", caller)
        .json(&order("grace", 1_000, "pm_card_visa"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    let purchases = stack.all_done(1, Duration::from_secs(30)).await;
    let purchase = purchases.values().next().unwrap();
    assert_eq!(purchase.status(), Some(PurchaseStatus::Completed));

    // Every purchase command and event belongs to that trace, and so do the saga's grant
    // command to the pool and the pool's grant (the pool's provisioning is another request's).
    let trace_id = "0af7651916cd43dd8448eb211c80319c";
    let topics = eventlog::Topics::new(&stack.kafka);
    let read = |topic: String| {
        let kafka = stack.kafka.clone();
        async move {
            let records = eventlog::read_topic(&kafka, &topic, support::PARTITIONS)
                .await
                .unwrap();
            let traced = records
                .iter()
                .filter(|r| r.trace.is_some_and(|t| t.trace_id() == trace_id))
                .count();
            (topic, records.len(), traced)
        }
    };
    for topic in [topics.purchase_commands(), topics.purchase_events()] {
        let (topic, records, traced) = read(topic).await;
        assert!(records > 0, "{topic} is empty");
        assert_eq!(traced, records, "{topic}: every record carries the trace");
    }
    let (_, _, grant_commands) = read(topics.pool_commands()).await;
    assert!(
        grant_commands >= 1,
        "the saga's grant command carries the trace"
    );
    let (_, _, pool_events) = read(topics.pool_events()).await;
    assert_eq!(pool_events, 1, "the grant is the purchase's one pool event");
}

/// Issue 21, case 2: the client does not set the price. A million tokens for one cent is
/// refused before anything is written; the same order without a price is charged the
/// server's price (ADMIN tier, 1,000 cents a million in `config/leaky.toml`), recorded on the
/// purchase, and the pool is granted exactly the tokens paid for.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_price_is_the_servers_and_a_client_price_that_differs_is_refused() {
    let stack = Stack::start(3_000).await;
    stack.provision("alice").await;
    let mut cheap = order("alice", 1_000_000, "pm_card_visa");
    cheap["price_cents"] = serde_json::json!(1);
    let (code, reply) = stack.purchase("cheap", &cheap).await;
    assert_eq!(code, 422, "{reply}");
    assert_eq!(
        reply["type"],
        "https://leaky-tokens.dev/problems/price-mismatch"
    );
    assert_eq!(reply["price_cents"], 1_000, "{reply}");
    assert_eq!(stack.placed().await, 0, "a refused order writes nothing");

    let (code, reply) = stack
        .purchase("priced", &order("alice", 1_000_000, "pm_card_visa"))
        .await;
    assert_eq!(code, 201, "{reply}");
    let purchases = stack.all_done(1, Duration::from_secs(60)).await;
    let purchase = purchases.values().next().unwrap();
    assert_eq!(purchase.status(), Some(PurchaseStatus::Completed));
    assert_eq!(purchase.order().unwrap().price.get(), 1_000);
    stack.assert_ledgers_agree(&purchases).await;
    let charged: u64 = stack.charges().await.values().map(|(c, _)| c).sum();
    assert_eq!(charged, 1_000, "the provider charged the server's price");
}
