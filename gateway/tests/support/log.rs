//! The pool log, read back: what every hold became.

use std::collections::BTreeMap;
use std::time::Duration;

use domain::{PoolId, TokenPoolEvent};
use eventlog::{Topics, read_topic};
use schemas::{PoolCodec, PoolEventEnvelope};
use settings::KafkaSettings;

/// Every event in the log, decoded.
pub async fn events(kafka: &KafkaSettings) -> Vec<PoolEventEnvelope> {
    let codec = PoolCodec::new(&testkit::infra().registry).unwrap();
    let topic = Topics::new(kafka).pool_events();
    let mut events = Vec::new();
    for record in read_topic(kafka, &topic, kafka.partitions).await.unwrap() {
        events.push(codec.decode_event(&record.value.unwrap()).await.unwrap());
    }
    events
}

/// What became of one hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fate {
    /// Still held.
    Open { reserved: u64 },
    /// Settled: `consumed` charged out of `reserved`.
    Settled { reserved: u64, consumed: u64 },
    /// Released or expired unused.
    Released { reserved: u64 },
}

/// Holds by reservation id (the request id the gateway sent upstream), with their pool.
pub fn holds(events: &[PoolEventEnvelope]) -> BTreeMap<String, (PoolId, Fate)> {
    let mut holds = BTreeMap::new();
    for envelope in events {
        let pool = envelope.pool_id.clone();
        match &envelope.event {
            TokenPoolEvent::TokensReserved {
                reservation_id,
                amount,
                ..
            } => {
                let fate = Fate::Open {
                    reserved: amount.get(),
                };
                holds.insert(reservation_id.to_string(), (pool, fate));
            }
            TokenPoolEvent::ReservationSettled {
                reservation_id,
                reserved,
                consumed,
                ..
            } => {
                let fate = Fate::Settled {
                    reserved: reserved.get(),
                    consumed: consumed.get(),
                };
                holds.insert(reservation_id.to_string(), (pool, fate));
            }
            TokenPoolEvent::ReservationReleased {
                reservation_id,
                amount,
                ..
            }
            | TokenPoolEvent::ReservationExpired {
                reservation_id,
                amount,
                ..
            } => {
                let fate = Fate::Released {
                    reserved: amount.get(),
                };
                holds.insert(reservation_id.to_string(), (pool, fate));
            }
            _ => {}
        }
    }
    holds
}

/// Waits until no hold is open (every call was resolved), at most `limit`.
pub async fn resolved_holds(
    kafka: &KafkaSettings,
    limit: Duration,
) -> BTreeMap<String, (PoolId, Fate)> {
    let started = std::time::Instant::now();
    loop {
        let holds = holds(&events(kafka).await);
        let open = holds
            .values()
            .filter(|(_, fate)| matches!(fate, Fate::Open { .. }))
            .count();
        if open == 0 {
            return holds;
        }
        assert!(
            started.elapsed() < limit,
            "{open} holds still open after {limit:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// The fate of the hold `reservation_id` once it is resolved.
pub async fn fate_of(kafka: &KafkaSettings, reservation_id: &str) -> Fate {
    let started = std::time::Instant::now();
    loop {
        match holds(&events(kafka).await).get(reservation_id) {
            Some((_, Fate::Open { .. })) | None => {}
            Some((_, fate)) => return *fate,
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "hold {reservation_id} not resolved"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Tokens charged to `pool`: settled holds' consumption plus direct charges (consumes and
/// usage charged without a hold).
pub fn charged(events: &[PoolEventEnvelope], pool: &PoolId) -> u64 {
    events
        .iter()
        .filter(|e| &e.pool_id == pool)
        .map(|e| match &e.event {
            TokenPoolEvent::ReservationSettled { consumed, .. } => consumed.get(),
            TokenPoolEvent::TokensConsumed { amount, .. } => amount.get(),
            _ => 0,
        })
        .sum()
}
