//! Knowing every unfinished purchase without a store of one's own: rebuilt from the log on
//! start, then kept up to date from `purchase.events`.

use std::collections::HashMap;
use std::time::Duration;

use domain::{Aggregate, Purchase, PurchaseId, PurchaseStatus};
use eventlog::{ClientRole, Topics, client_config};
use rdkafka::consumer::{Consumer, StreamConsumer};
use rdkafka::{Message, Offset, TopicPartitionList};
use schemas::PurchaseCodec;
use settings::KafkaSettings;
use telemetry::TraceContext;
use tokio::sync::mpsc;

/// Rebuilds every purchase as the processor does on a takeover (the newest snapshot of each
/// from `purchase.state`, then the events after the newest snapshot of the partition), then
/// follows `purchase.events`, folding each event in and passing the purchase on with the
/// trace of its newest event (none for a purchase rebuilt from its snapshot).
pub(super) async fn follow_purchases(
    kafka: KafkaSettings,
    topics: Topics,
    codec: PurchaseCodec,
    states: mpsc::Sender<(PurchaseId, Purchase, Option<TraceContext>)>,
) -> anyhow::Result<()> {
    let events_topic = topics.purchase_events();
    let mut purchases: HashMap<PurchaseId, Purchase> = HashMap::new();
    let mut assignment = TopicPartitionList::new();
    for partition in 0..kafka.partitions as i32 {
        let (snapshots, _) =
            eventlog::read_committed(&kafka, &topics.purchase_state(), partition, 0).await?;
        let mut events_from = 0;
        for record in snapshots {
            let snapshot = codec
                .decode_snapshot(record.value.as_deref().unwrap_or_default())
                .await?;
            events_from = events_from.max(snapshot.next_event_offset);
            purchases.insert(snapshot.purchase_id, snapshot.state);
        }
        assignment.add_partition_offset(&events_topic, partition, Offset::Offset(events_from))?;
    }
    purchases.retain(|_, p| !p.status().is_none_or(|s| s.is_terminal()));
    for (id, purchase) in &purchases {
        states.send((*id, purchase.clone(), None)).await?;
    }
    let consumer: StreamConsumer = client_config(
        &kafka,
        &ClientRole::Consumer {
            group_id: "purchase-saga".into(),
        },
    )
    .create()?;
    consumer.assign(&assignment)?;
    loop {
        let message = match consumer.recv().await {
            Ok(message) => message,
            Err(error) => {
                tracing::warn!(%error, "purchase.events consumer");
                tokio::time::sleep(Duration::from_millis(200)).await;
                continue;
            }
        };
        let Some(payload) = message.payload() else {
            continue;
        };
        let record = match codec.decode_event(payload).await {
            Ok(record) => record,
            Err(error) => {
                tracing::error!(%error, offset = message.offset(), "undecodable purchase event");
                continue;
            }
        };
        let purchase = purchases.entry(record.purchase_id).or_default();
        purchase.apply(&record.event);
        let purchase = purchase.clone();
        if purchase.status().is_some_and(PurchaseStatus::is_terminal) {
            purchases.remove(&record.purchase_id);
        }
        let trace = eventlog::trace_of(&message);
        states.send((record.purchase_id, purchase, trace)).await?;
    }
}
