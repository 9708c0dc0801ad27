//! The command path without the HTTP hop: the command API's own [`Dispatcher`] in-process.
//! What it measures is Kafka → single writer → Kafka and back, the part that compares with
//! raw produce; the HTTP scenarios add the API's request handling on top.

use std::time::Duration;

use command_api::dispatch::Dispatcher;
use domain::{Actor, CommandId, PoolId, Timestamp, TokenPoolCommand, Tokens};
use futures::future::BoxFuture;
use schemas::{PoolCommandEnvelope, ReplyOutcome};
use settings::{KafkaSettings, RegistrySettings};

use crate::load::Target;

/// How long a command may wait for its reply before the request counts as failed.
const REPLY_WAIT: Duration = Duration::from_secs(10);

/// `consume 1` sent straight to the commands topic, request `seq` to pool `seq % pools.len()`.
#[derive(Debug)]
pub struct ConsumeThroughDispatcher {
    dispatcher: Dispatcher,
    pools: Vec<PoolId>,
    actor: Actor,
}

impl ConsumeThroughDispatcher {
    /// Starts a dispatcher (its own replies consumer) for already provisioned `pools`.
    pub async fn start(
        kafka: &KafkaSettings,
        registry: &RegistrySettings,
        pools: Vec<PoolId>,
    ) -> anyhow::Result<Self> {
        let instance_id = format!("bench-dispatcher-{}", uuid::Uuid::new_v4().simple());
        Ok(Self {
            dispatcher: Dispatcher::start(kafka, registry, instance_id).await?,
            pools,
            actor: "system:bench".parse()?,
        })
    }
}

impl Target for ConsumeThroughDispatcher {
    fn call(&self, seq: u64) -> BoxFuture<'static, Result<(), String>> {
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
                amount: Tokens::new(1).unwrap_or_else(|_| unreachable!("1 is a valid amount")),
            },
        };
        let dispatcher = self.dispatcher.clone();
        Box::pin(async move {
            match dispatcher.dispatch(&envelope, REPLY_WAIT).await {
                Ok(Some(reply)) if reply.outcome == ReplyOutcome::Accepted => Ok(()),
                Ok(Some(reply)) => Err(format!("{:?}", reply.outcome)),
                Ok(None) => Err("no reply".to_owned()),
                Err(_) => Err("produce error".to_owned()),
            }
        })
    }
}
