//! A projector process of the benchmark: started on port 0 with the deployment's settings,
//! its `/metrics` read while it works.

use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

/// A running `projectors` and the address of its probes.
pub struct Projector {
    child: Child,
    metrics_url: String,
    http: reqwest::Client,
}

impl Projector {
    /// Starts `binary` in consumer group `group` (fresh: it replays from offset zero).
    pub async fn start(binary: &str, group: &str) -> anyhow::Result<Self> {
        let mut child = Command::new(binary)
            .env("LEAKY_PROJECTORS__LISTEN", "127.0.0.1:0")
            .env("LEAKY_PROJECTORS__GROUP", group)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("starting {binary}"))?;
        let mut lines = BufReader::new(child.stderr.take().context("stderr")?).lines();
        let deadline = Instant::now() + Duration::from_secs(30);
        let addr = loop {
            let line = tokio::time::timeout_at(deadline.into(), lines.next_line())
                .await
                .context("the projector did not start listening in 30 s")??
                .context("the projector exited before listening")?;
            let Ok(log) = serde_json::from_str::<serde_json::Value>(&line) else {
                continue;
            };
            if log["fields"]["message"] == "listening"
                && let Some(addr) = log["fields"]["addr"].as_str()
            {
                break addr.to_owned();
            }
        };
        // Keep reading its log, or it would block once the pipe is full.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        Ok(Self {
            child,
            metrics_url: format!("http://{addr}/metrics"),
            http: reqwest::Client::new(),
        })
    }

    /// The current `/metrics` page.
    pub async fn metrics(&self) -> anyhow::Result<String> {
        Ok(self
            .http
            .get(&self.metrics_url)
            .send()
            .await?
            .text()
            .await?)
    }

    /// The events the `quota` projection has applied so far.
    pub async fn quota_applied(&self) -> anyhow::Result<u64> {
        let page = self.metrics().await?;
        let applied =
            crate::scrape::counter(&page, "leaky_projector_events_applied_total", "quota");
        Ok(applied.unwrap_or(0.0) as u64)
    }

    /// Stops the process.
    pub async fn stop(mut self) {
        let _ = self.child.kill().await;
    }
}

/// Runs `projectors rebuild quota` to its end; how long it took.
pub async fn rebuild(binary: &str) -> anyhow::Result<Duration> {
    let start = Instant::now();
    let status = Command::new(binary)
        .args(["rebuild", "quota"])
        .env("LEAKY_PROJECTORS__LISTEN", "127.0.0.1:0")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .status()
        .await?;
    if !status.success() {
        bail!("projectors rebuild quota failed: {status}");
    }
    Ok(start.elapsed())
}
