//! The command API over HTTP: `consume 1` on one hot pool or spread over many pools.

use std::time::Duration;

use anyhow::{Context, bail};
use domain::PoolId;
use futures::future::BoxFuture;
use futures::stream::{self, StreamExt, TryStreamExt};
use reqwest::Client;
use serde_json::{Value, json};

use crate::load::Target;

/// Tokens granted to each pool: the quota cap of tier USER, far more than any run consumes.
const GRANT: u64 = 10_000_000;

/// A policy whose rate limits never bind, so the benchmark measures the pipeline rather
/// than the limiter refusing requests.
fn unlimited_policy() -> Value {
    json!({
        "strategy": "TOKEN_BUCKET",
        "requests": {"capacity": 100_000_000u64, "rate": 100_000_000u64, "period_ms": 1000},
        "tokens": {"capacity": 1_000_000_000_000u64, "rate": 1_000_000_000_000u64, "period_ms": 1000},
        "overage": "REJECT",
        "reservation_ttl": {"default_ms": 60_000, "max_ms": 600_000},
        "periodic_quota": null
    })
}

/// `consume 1` over HTTP, request `seq` going to pool `seq % pools.len()`.
#[derive(Debug)]
pub struct ConsumeOverHttp {
    client: Client,
    pools: Vec<PoolId>,
    consume_urls: Vec<String>,
}

impl ConsumeOverHttp {
    /// Provisions `count` pools named `<prefix>-<n>` with an unlimited policy and grants each
    /// [`GRANT`] tokens.
    pub async fn provision(
        client: &Client,
        api: &str,
        prefix: &str,
        count: usize,
    ) -> anyhow::Result<Self> {
        let pools: Vec<String> = (0..count)
            .map(|n| format!("{api}/api/v1/pools/user/{prefix}-{n}/openai"))
            .collect();
        stream::iter(pools.iter())
            .map(|pool| async move {
                let body = json!({"tier": "USER", "policy": unlimited_policy()});
                accepted(client, pool, body).await?;
                accepted(client, &format!("{pool}/grants"), json!({"amount": GRANT})).await
            })
            .buffer_unordered(32)
            .try_collect::<()>()
            .await?;
        Ok(Self {
            client: client.clone(),
            pools: (0..count)
                .map(|n| format!("user:{prefix}-{n}/openai").parse())
                .collect::<Result<_, _>>()?,
            consume_urls: pools.iter().map(|p| format!("{p}/consume")).collect(),
        })
    }

    /// The provisioned pools.
    pub fn pools(&self) -> Vec<PoolId> {
        self.pools.clone()
    }
}

impl Target for ConsumeOverHttp {
    fn call(&self, seq: u64) -> BoxFuture<'static, Result<(), String>> {
        let url = &self.consume_urls[(seq % self.consume_urls.len() as u64) as usize];
        let request = self.client.post(url).json(&json!({"amount": 1})).send();
        Box::pin(async move {
            let response = request.await.map_err(|e| {
                if e.is_timeout() {
                    "timeout".to_owned()
                } else {
                    "transport error".to_owned()
                }
            })?;
            match response.status().as_u16() {
                200 => Ok(()),
                status => Err(format!("HTTP {status}")),
            }
        })
    }
}

/// POSTs `body` and insists on a 200 `accepted`; retries while the API is still connecting.
async fn accepted(client: &Client, url: &str, body: Value) -> anyhow::Result<()> {
    for _ in 0..100 {
        let response = client
            .post(url)
            .json(&body)
            .send()
            .await
            .context(url.to_owned())?;
        let status = response.status().as_u16();
        let reply: Value = response.json().await.unwrap_or(Value::Null);
        match status {
            200 if reply["outcome"] == "accepted" => return Ok(()),
            202 | 503 => tokio::time::sleep(Duration::from_millis(100)).await,
            _ => bail!("{url}: HTTP {status}: {reply}"),
        }
    }
    bail!("{url}: never accepted")
}
