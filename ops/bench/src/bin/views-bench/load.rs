//! Writing events: pools provisioned through the command API, then `consume 1` commands
//! produced straight to the commands topic by the command API's own [`Dispatcher`] (the
//! processor answers them as it would any), either as fast as a window allows or open loop
//! at a fixed rate.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use command_api::dispatch::Dispatcher;
use domain::{Actor, CommandId, PoolId, Timestamp, TokenPoolCommand, Tokens};
use futures::StreamExt;
use schemas::{PoolCommandEnvelope, ReplyOutcome};
use serde_json::json;
use settings::{KafkaSettings, RegistrySettings};

/// How long a command may wait for its reply before it counts as failed.
const REPLY_WAIT: Duration = Duration::from_secs(30);

/// Pools `user:views-bench-<n>/openai` with limits that never bind and tokens enough for any
/// run, provisioned over HTTP as the ADMIN holding `token`; the number of events that wrote
/// (two per pool).
pub async fn provision(api: &str, token: &str, count: usize) -> anyhow::Result<(Vec<PoolId>, u64)> {
    let http = reqwest::Client::new();
    let policy = json!({
        "strategy": "TOKEN_BUCKET",
        "requests": {"capacity": 100_000_000u64, "rate": 100_000_000u64, "period_ms": 1000},
        "tokens": {"capacity": 1_000_000_000_000u64, "rate": 1_000_000_000_000u64, "period_ms": 1000},
        "overage": "REJECT",
        "reservation_ttl": {"default_ms": 60_000, "max_ms": 600_000},
        "periodic_quota": null
    });
    let mut pools = Vec::with_capacity(count);
    for n in 0..count {
        let url = format!("{api}/api/v1/pools/user/views-bench-{n}/openai");
        for (path, body) in [
            (url.clone(), json!({"tier": "USER", "policy": policy})),
            (format!("{url}/grants"), json!({"amount": 1_000_000u64})),
        ] {
            let response = http
                .post(&path)
                .bearer_auth(token)
                .json(&body)
                .send()
                .await?;
            if !response.status().is_success() {
                bail!("{path}: {}", response.status());
            }
        }
        pools.push(format!("user:views-bench-{n}/openai").parse()?);
    }
    Ok((pools, 2 * count as u64))
}

/// Sends `consume 1` commands round robin over pools, counting the accepted ones.
#[derive(Clone)]
pub struct Consumer {
    dispatcher: Dispatcher,
    pools: Arc<Vec<PoolId>>,
    actor: Actor,
    accepted: Arc<AtomicU64>,
    failed: Arc<AtomicU64>,
}

impl Consumer {
    /// A dispatcher of its own (its own replies consumer) for already provisioned `pools`.
    pub async fn start(
        kafka: &KafkaSettings,
        registry: &RegistrySettings,
        pools: Vec<PoolId>,
    ) -> anyhow::Result<Self> {
        let instance_id = format!("views-bench-{}", uuid::Uuid::new_v4().simple());
        Ok(Self {
            dispatcher: Dispatcher::start(kafka, registry, instance_id).await?,
            pools: Arc::new(pools),
            actor: "system:bench".parse()?,
            accepted: Arc::default(),
            failed: Arc::default(),
        })
    }

    /// Commands accepted so far (each wrote one event).
    pub fn accepted(&self) -> u64 {
        self.accepted.load(Ordering::SeqCst)
    }

    /// Commands refused, unanswered or not produced so far.
    pub fn failed(&self) -> u64 {
        self.failed.load(Ordering::SeqCst)
    }

    /// `count` commands, at most `window` in flight: the log filled as fast as it takes.
    pub async fn burst(&self, count: u64, window: usize) {
        futures::stream::iter(0..count)
            .map(|seq| self.one(seq))
            .buffer_unordered(window)
            .collect::<()>()
            .await;
    }

    /// `rate` commands per second for `duration`, each sent when due whatever the others
    /// do (open loop); returns once every one has its answer.
    pub async fn steady(&self, rate: u64, duration: Duration) -> anyhow::Result<()> {
        let total = rate * duration.as_secs_f64() as u64;
        let start = Instant::now();
        let mut sent = Vec::with_capacity(total as usize);
        for seq in 0..total {
            let due = start + Duration::from_secs_f64(seq as f64 / rate as f64);
            tokio::time::sleep_until(due.into()).await;
            let this = self.clone();
            sent.push(tokio::spawn(async move { this.one(seq).await }));
        }
        for task in sent {
            task.await.context("a command task panicked")?;
        }
        Ok(())
    }

    async fn one(&self, seq: u64) {
        let now = command_api::processor::now();
        let envelope = PoolCommandEnvelope {
            command_id: CommandId::from_uuid(uuid::Uuid::new_v4()),
            pool_id: self.pools[(seq % self.pools.len() as u64) as usize].clone(),
            reply_to: self.dispatcher.instance_id().to_owned(),
            actor: self.actor.clone(),
            issued_at: now,
            deadline: Timestamp::from_millis(now.as_millis() + REPLY_WAIT.as_millis() as i64)
                .unwrap_or(now),
            command: TokenPoolCommand::Consume {
                amount: Tokens::saturating_new(1),
            },
        };
        let counter = match self.dispatcher.dispatch(&envelope, REPLY_WAIT).await {
            Ok(Some(reply)) if reply.outcome == ReplyOutcome::Accepted => &self.accepted,
            _ => &self.failed,
        };
        counter.fetch_add(1, Ordering::SeqCst);
    }
}
