//! What a processor tells an operator on `/metrics`: the partitions it writes (all of them,
//! when it runs alone), what it decided and why it refused, and where each partition's
//! events end.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::json;

mod support;

use support::deployment::{Deployment, PARTITIONS, Processor};

/// The value of the series `name` (with exactly these labels) in a `/metrics` text.
fn value(metrics: &str, series: &str) -> Option<f64> {
    metrics
        .lines()
        .find_map(|line| line.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
}

#[tokio::test(flavor = "multi_thread")]
async fn a_processor_reports_its_partitions_decisions_and_refusals() {
    let deployment = Deployment::start("metrics", Processor::Running, &[]).await;
    let admin = testkit::auth::client_as(&deployment.auth.admin().await);
    let pool = deployment.api.url("/api/v1/pools/user/alice/openai");
    for (path, body, expected) in [
        (pool.clone(), json!({}), StatusCode::OK),
        (
            format!("{pool}/grants"),
            json!({"amount": 100}),
            StatusCode::OK,
        ),
        (
            format!("{pool}/consume"),
            json!({"amount": 10}),
            StatusCode::OK,
        ),
        (
            format!("{pool}/reservations"),
            json!({"amount": 5}),
            StatusCode::OK,
        ),
        (
            format!("{pool}/consume"),
            json!({"amount": 1000}),
            StatusCode::TOO_MANY_REQUESTS,
        ),
    ] {
        let mut status = StatusCode::SERVICE_UNAVAILABLE;
        for _ in 0..100 {
            status = admin.post(&path).json(&body).send().await.unwrap().status();
            if status != StatusCode::SERVICE_UNAVAILABLE && status != StatusCode::ACCEPTED {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert_eq!(status, expected, "{path}");
    }

    // Holds are counted with each snapshot flush (every 250 ms): wait for the last one.
    let holds_open = |metrics: &str| -> f64 {
        (0..PARTITIONS)
            .filter_map(|p| {
                let series = format!(
                    r#"leaky_processor_holds_open{{partition="{p}",service="pool-processor"}}"#
                );
                value(metrics, &series)
            })
            .sum()
    };
    let mut metrics = deployment.processor_metrics().await;
    for _ in 0..50 {
        if holds_open(&metrics) == 1.0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        metrics = deployment.processor_metrics().await;
    }
    assert_eq!(holds_open(&metrics), 1.0, "one hold open: {metrics}");
    let service = r#"service="pool-processor""#;
    let owned = value(
        &metrics,
        &format!("leaky_processor_partitions_owned{{{service}}}"),
    );
    assert_eq!(owned, Some(f64::from(PARTITIONS)), "{metrics}");
    let of = |labels: &str| value(&metrics, &format!("leaky_processor_{labels},{service}}}"));
    assert!(
        of(r#"commands_total{decision="accepted""#) >= Some(4.0),
        "{metrics}"
    );
    assert_eq!(
        of(r#"rejections_total{code="quota_exhausted""#),
        Some(1.0),
        "{metrics}"
    );
    let topic = eventlog::Topics::new(&deployment.kafka).pool_events();
    for partition in 0..PARTITIONS as i32 {
        let (events, _) = eventlog::read_committed(&deployment.kafka, &topic, partition, 0)
            .await
            .unwrap();
        // Just after its last event (a transaction's commit marker takes an offset too).
        if let Some(last) = events.last() {
            let said = of(&format!(r#"events_end{{partition="{partition}""#));
            let end = last.offset as f64 + 1.0;
            assert_eq!(
                said,
                Some(end),
                "where partition {partition} ends: {metrics}"
            );
        }
    }
}
