//! The purchases view's batches against a real Postgres: every row equals the domain's
//! replay of its purchase's events, in every branch; a batch delivered again, or one
//! overlapping what is applied, changes nothing; a retired copy refuses a batch whole.

use domain::{
    Aggregate, Cents, FailureReason, GrantId, Purchase, PurchaseEvent, PurchaseId, PurchaseOrder,
    Timestamp, Tokens,
};
use quotaview::WriteError;
use quotaview::purchases::{LoggedPurchaseEvent, PurchaseRow, all_purchases, apply_purchase_batch};
use quotaview::rebuild::PURCHASES;
use uuid::Uuid;

fn id(n: u128) -> PurchaseId {
    PurchaseId::from_uuid(Uuid::from_u128(n))
}

fn at(ms: i64) -> Timestamp {
    Timestamp::from_millis(1_800_000_000_000 + ms).unwrap()
}

fn requested(n: u128, pool: &str) -> PurchaseEvent {
    PurchaseEvent::PurchaseRequested {
        purchase_id: id(n),
        order: PurchaseOrder {
            pool: pool.parse().unwrap(),
            tokens: Tokens::new(1_000 * n as u64).unwrap(),
            price: Cents::new(100 + n as u64).unwrap(),
            payment_method: "pm_card_visa".parse().unwrap(),
        },
        at: at(n as i64),
    }
}

fn failed(reason: FailureReason, ms: i64) -> PurchaseEvent {
    PurchaseEvent::StepFailed {
        compensation: reason.compensation(),
        reason,
        at: at(ms),
    }
}

fn declined() -> FailureReason {
    FailureReason::PaymentDeclined {
        message: "card_declined".into(),
    }
}

fn capture_failed() -> FailureReason {
    FailureReason::CaptureFailed {
        message: "expired".into(),
    }
}

/// Four purchases, interleaved as a partition would hold them: one completed, one whose
/// capture failed (grant revoked, payment released), one declined, one still compensating.
fn the_log() -> Vec<LoggedPurchaseEvent> {
    let grant = GrantId::from_uuid(Uuid::from_u128(99));
    let refused = FailureReason::GrantRefused {
        code: "quota_cap_exceeded".into(),
        message: "over the cap".into(),
    };
    let events = [
        (1, requested(1, "user:alice/openai")),
        (2, requested(2, "user:alice/openai")),
        (1, PurchaseEvent::PaymentReserved { at: at(10) }),
        (3, requested(3, "org:acme/gemini")),
        (2, PurchaseEvent::PaymentReserved { at: at(11) }),
        (
            1,
            PurchaseEvent::TokensGranted {
                grant_id: grant,
                at: at(12),
            },
        ),
        (3, failed(declined(), 13)),
        (
            2,
            PurchaseEvent::TokensGranted {
                grant_id: grant,
                at: at(14),
            },
        ),
        (1, PurchaseEvent::PaymentCaptured { at: at(15) }),
        (4, requested(4, "org:acme/gemini")),
        (2, failed(capture_failed(), 16)),
        (1, PurchaseEvent::PurchaseCompleted { at: at(17) }),
        (
            3,
            PurchaseEvent::PurchaseFailed {
                reason: declined(),
                at: at(18),
            },
        ),
        (4, PurchaseEvent::PaymentReserved { at: at(19) }),
        (2, PurchaseEvent::GrantRevoked { at: at(20) }),
        (4, failed(refused, 21)),
        (2, PurchaseEvent::PaymentReleased { at: at(22) }),
        (
            2,
            PurchaseEvent::PurchaseFailed {
                reason: capture_failed(),
                at: at(23),
            },
        ),
    ];
    events
        .into_iter()
        .enumerate()
        .map(|(offset, (n, event))| LoggedPurchaseEvent {
            offset: offset as i64,
            purchase_id: id(n),
            event,
        })
        .collect()
}

async fn fresh_view() -> sqlx::PgPool {
    let url = testkit::stack::fresh_database().await;
    let db = PURCHASES.live_pool(&url, 2).unwrap();
    PURCHASES.prepare_live(&db).await.unwrap();
    db
}

fn assert_row_is_the_replay(row: &PurchaseRow, log: &[LoggedPurchaseEvent]) {
    let mine: Vec<&LoggedPurchaseEvent> = log
        .iter()
        .filter(|e| e.purchase_id.as_uuid() == row.purchase_id)
        .collect();
    let mut purchase = Purchase::default();
    for logged in &mine {
        purchase.apply(&logged.event);
    }
    let last = mine.last().unwrap();
    let order = purchase.order().unwrap();
    let p = &purchase;
    assert_eq!(row.pool_id, order.pool.to_string());
    assert_eq!(row.tokens as u64, order.tokens.get());
    assert_eq!(row.price_cents as u64, order.price.get());
    assert_eq!(row.status, p.status().unwrap().code());
    assert_eq!(row.failure_code.as_deref(), p.failure().map(|f| f.code()));
    assert_eq!(row.failure_detail, p.failure().map(ToString::to_string));
    assert_eq!(row.grant_id, p.grant_id().map(|g| g.as_uuid()));
    assert_eq!(row.payment_captured, p.payment_captured());
    assert_eq!(row.grant_revoked, p.grant_revoked());
    assert_eq!(row.payment_released, p.payment_released());
    assert_eq!(row.awaiting.as_deref(), p.awaiting().map(|s| s.code()));
    assert_eq!(row.updated_at_ms, p.since().unwrap().as_millis());
    assert_eq!(row.requested_at_ms, mine[0].event.at().as_millis());
    assert_eq!(
        (row.last_event.as_str(), row.last_offset),
        (last.event.name(), last.offset)
    );
}

#[tokio::test]
async fn every_row_is_its_purchases_replay_and_a_batch_applied_again_changes_nothing() {
    let db = fresh_view().await;
    let log = the_log();
    let end = log.len() as i64;
    // Half, then the whole log (overlapping the half), then the whole log again.
    apply_purchase_batch(&db, 0, &log[..9], 9).await.unwrap();
    let applied = apply_purchase_batch(&db, 0, &log, end).await.unwrap();
    assert_eq!((applied.applied, applied.next_offset), (log.len() - 9, end));
    let rows = all_purchases(&db).await.unwrap();
    let again = apply_purchase_batch(&db, 0, &log, end).await.unwrap();
    assert_eq!(again.applied, 0);
    assert_eq!(all_purchases(&db).await.unwrap(), rows);

    assert_eq!(rows.len(), 4);
    for row in &rows {
        assert_row_is_the_replay(row, &log);
    }
    let by_status: Vec<(&str, Option<&str>)> = rows
        .iter()
        .map(|r| (r.status.as_str(), r.awaiting.as_deref()))
        .collect();
    assert_eq!(
        by_status,
        [
            ("COMPLETED", None),
            ("FAILED", None),
            ("FAILED", None),
            ("COMPENSATING", Some("release_payment")),
        ]
    );
    assert_eq!(quotaview::position(&db, "purchases", 0).await.unwrap(), end);
}

#[tokio::test]
async fn a_retired_copy_refuses_a_batch_and_keeps_nothing_of_it() {
    let db = fresh_view().await;
    let log = the_log();
    apply_purchase_batch(&db, 0, &log[..4], 4).await.unwrap();
    let before = all_purchases(&db).await.unwrap();
    sqlx::query("UPDATE view_meta SET retired = true")
        .execute(&db)
        .await
        .unwrap();
    let refused = apply_purchase_batch(&db, 0, &log, log.len() as i64).await;
    assert!(matches!(refused, Err(WriteError::Retired)), "{refused:?}");
    assert_eq!(all_purchases(&db).await.unwrap(), before);
    assert_eq!(quotaview::position(&db, "purchases", 0).await.unwrap(), 4);
}
