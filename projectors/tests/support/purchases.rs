//! Purchases on the real stack: placing them, waiting for the saga to finish them, the log
//! replayed through the domain, and the purchases view compared with that replay.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use domain::{Aggregate, Purchase, PurchaseId, PurchaseStatus};
use eventlog::{Topics, read_topic};
use quotaview::purchases::PurchaseRow;
use schemas::PurchaseCodec;
use serde_json::{Value, json};
use settings::KafkaSettings;
use sqlx::PgPool;
use testkit::stack::{Service, Stack};

/// Saga step timeouts in these tests (the stub hangs longer on a timeout card).
pub const STEP_TIMEOUT_MS: &str = "3000";

/// Starts the saga with short step timeouts and retries.
pub async fn start_saga(stack: &Stack) {
    stack
        .launch(
            Service::Saga,
            &[
                ("LEAKY_PURCHASE_SAGA__PAYMENT_CALL_TIMEOUT_MS", "1000"),
                ("LEAKY_PURCHASE_SAGA__RESERVE_TIMEOUT_MS", STEP_TIMEOUT_MS),
                ("LEAKY_PURCHASE_SAGA__GRANT_TIMEOUT_MS", STEP_TIMEOUT_MS),
                ("LEAKY_PURCHASE_SAGA__CAPTURE_TIMEOUT_MS", STEP_TIMEOUT_MS),
                ("LEAKY_PURCHASE_SAGA__RETRY_MS", "300"),
                ("LEAKY_PURCHASE_SAGA__POOL_REPLY_WAIT_MS", "2000"),
            ],
        )
        .await;
}

/// Sets the payment stub's fault plan.
pub async fn faults(stack: &Stack, plan: Value) {
    let url = stack.url(Service::PaymentStub, "/v1/admin/faults").await;
    let response = stack.http.put(url).json(&plan).send().await.unwrap();
    assert_eq!(response.status(), 200);
}

/// A purchase body for `user:<user>/openai`.
pub fn order(user: &str, tokens: u64, payment_method: &str) -> Value {
    json!({
        "pool": format!("user:{user}/openai"),
        "tokens": tokens,
        "payment_method": payment_method,
    })
}

/// POSTs a purchase under idempotency key `key`; the status and body.
pub async fn purchase(stack: &Stack, key: &str, body: &Value) -> (u16, Value) {
    let url = stack.url(Service::CommandApi, "/api/v1/purchases").await;
    let response = stack
        .http
        .post(url)
        .bearer_auth(&stack.admin)
        .header("idempotency-key", key)
        .json(body)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

/// A purchase as the log rebuilds it, with what the view also records about its events.
#[derive(Debug, Clone, Default)]
pub struct Replayed {
    pub purchase: Purchase,
    pub requested_at_ms: i64,
    pub last_event: String,
    pub last_partition: i32,
    pub last_offset: i64,
}

/// Every purchase replayed from `purchase.events`, and each partition's last offset.
pub async fn replayed(
    kafka: &KafkaSettings,
) -> (BTreeMap<PurchaseId, Replayed>, BTreeMap<i32, i64>) {
    let codec = PurchaseCodec::new(&testkit::infra().registry).unwrap();
    let topic = Topics::new(kafka).purchase_events();
    let mut purchases: BTreeMap<PurchaseId, Replayed> = BTreeMap::new();
    let mut ends = BTreeMap::new();
    for record in read_topic(kafka, &topic, kafka.partitions).await.unwrap() {
        let envelope = codec.decode_event(&record.value.unwrap()).await.unwrap();
        let replayed = purchases.entry(envelope.purchase_id).or_default();
        if let domain::PurchaseEvent::PurchaseRequested { at, .. } = &envelope.event {
            replayed.requested_at_ms = at.as_millis();
        }
        replayed.purchase.apply(&envelope.event);
        replayed.last_event = envelope.event.name().to_owned();
        replayed.last_partition = record.partition;
        replayed.last_offset = record.offset;
        ends.insert(record.partition, record.offset);
    }
    (purchases, ends)
}

/// Waits until `expected` purchases are in the log and every one is completed or failed.
pub async fn all_done(stack: &Stack, expected: usize, within: Duration) {
    let deadline = Instant::now() + within;
    loop {
        let (purchases, _) = replayed(&stack.kafka).await;
        let done = purchases
            .values()
            .filter(|r| r.purchase.status().is_some_and(PurchaseStatus::is_terminal))
            .count();
        if purchases.len() == expected && done == expected {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{done} of {} purchases done ({expected} expected)",
            purchases.len()
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// Waits until the purchases view in `db` has applied every purchase event now in the log.
pub async fn wait_caught_up(db: &PgPool, kafka: &KafkaSettings, within: Duration) {
    let (_, ends) = replayed(kafka).await;
    let start = Instant::now();
    for (partition, last) in ends {
        loop {
            let next = quotaview::position(db, quotaview::purchases::PROJECTION, partition)
                .await
                .unwrap();
            if next > last {
                break;
            }
            assert!(
                start.elapsed() < within,
                "the purchases view is at {partition}:{next}, the log ends at {partition}:{last}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

/// The purchases view in `db` holds exactly the purchases the log rebuilds, each with the
/// same order, status, failure, effects, compensation progress, times and last event.
pub async fn assert_purchases_equal_replay(db: &PgPool, kafka: &KafkaSettings) -> Vec<PurchaseRow> {
    let (replayed, _) = replayed(kafka).await;
    let rows = quotaview::purchases::all_purchases(db).await.unwrap();
    assert_eq!(
        rows.len(),
        replayed.len(),
        "purchases in the view vs the log"
    );
    for row in &rows {
        let id = PurchaseId::from_uuid(row.purchase_id);
        let r = &replayed[&id];
        let p = &r.purchase;
        let order = p.order().unwrap();
        let why = format!("purchase {id}: {row:?}");
        assert_eq!(row.pool_id, order.pool.to_string(), "{why}");
        assert_eq!(row.provider, order.pool.provider().to_string(), "{why}");
        assert_eq!(
            format!("{}:{}", row.owner_kind, row.owner_id),
            order.pool.owner().to_string(),
            "{why}"
        );
        assert_eq!(row.tokens as u64, order.tokens.get(), "{why}");
        assert_eq!(row.price_cents as u64, order.price.get(), "{why}");
        assert_eq!(
            row.payment_method,
            order.payment_method.to_string(),
            "{why}"
        );
        assert_eq!(row.status, p.status().unwrap().code(), "{why}");
        assert_eq!(
            row.failure_code.as_deref(),
            p.failure().map(|f| f.code()),
            "{why}"
        );
        assert_eq!(
            row.failure_detail,
            p.failure().map(ToString::to_string),
            "{why}"
        );
        assert_eq!(row.grant_id, p.grant_id().map(|g| g.as_uuid()), "{why}");
        assert_eq!(row.payment_captured, p.payment_captured(), "{why}");
        assert_eq!(row.grant_revoked, p.grant_revoked(), "{why}");
        assert_eq!(row.payment_released, p.payment_released(), "{why}");
        assert_eq!(
            row.awaiting.as_deref(),
            p.awaiting().map(|s| s.code()),
            "{why}"
        );
        assert_eq!(row.requested_at_ms, r.requested_at_ms, "{why}");
        assert_eq!(row.updated_at_ms, p.since().unwrap().as_millis(), "{why}");
        assert_eq!(row.last_event, r.last_event, "{why}");
        assert_eq!(
            (row.last_partition, row.last_offset),
            (r.last_partition, r.last_offset),
            "{why}"
        );
    }
    rows
}

/// A pool on the purchases view's schema of the database at `url` (until the projector
/// has created it, positions read as zero).
pub fn connect_purchases(url: &str) -> PgPool {
    quotaview::rebuild::PURCHASES.live_pool(url, 2).unwrap()
}
