//! The views' benchmark: (a) replay throughput — a fresh projector group, then
//! `projectors rebuild quota`, over a log pre-loaded with N events — and (b) projection lag,
//! record timestamp to view commit, p50/p99 per projection under a steady command load,
//! from the projector's own `leaky_projector_lag_seconds` histogram (the difference of two
//! readings, so the replay's old records do not count). Started by `ops/bench/views`, which
//! brings up the processor and the command API on fresh topics and a fresh database.
//!
//!   views-bench --api URL --token JWT --projectors BIN [--events 100000] [--pools 16] [--window 2000]
//!               [--rate 500] [--secs 20] [--out FILE]

mod load;
mod projector;
mod scrape;

use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use serde::{Deserialize, Serialize};
use settings::{KafkaSettings, RegistrySettings};

use load::Consumer;
use projector::Projector;

#[derive(Debug)]
struct Args {
    api: String,
    /// An ADMIN's access token: the command API provisions pools only for an ADMIN.
    token: String,
    projectors: String,
    events: u64,
    pools: usize,
    window: usize,
    rate: u64,
    secs: u64,
    out: Option<String>,
}

fn parse_args() -> anyhow::Result<Args> {
    let mut args = Args {
        api: String::new(),
        token: String::new(),
        projectors: String::new(),
        events: 100_000,
        pools: 16,
        window: 2_000,
        rate: 500,
        secs: 20,
        out: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let value = it.next().with_context(|| format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--api" => args.api = value,
            "--token" => args.token = value,
            "--projectors" => args.projectors = value,
            "--events" => args.events = value.parse()?,
            "--pools" => args.pools = value.parse()?,
            "--window" => args.window = value.parse()?,
            "--rate" => args.rate = value.parse()?,
            "--secs" => args.secs = value.parse()?,
            "--out" => args.out = Some(value),
            _ => bail!("unknown flag {flag}"),
        }
    }
    if args.api.is_empty() || args.token.is_empty() || args.projectors.is_empty() || args.pools == 0
    {
        bail!("--api, --token and --projectors are required, --pools at least 1");
    }
    Ok(args)
}

/// The settings the benchmark shares with the services (`config/leaky.toml` and `LEAKY_*`).
#[derive(Debug, Default, Serialize, Deserialize)]
struct BenchConfig {
    kafka: KafkaSettings,
    schema_registry: RegistrySettings,
}

/// How often the projector's metrics are read while waiting: the resolution of the
/// replay timings.
const POLL: Duration = Duration::from_millis(50);

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = parse_args()?;
    let config: BenchConfig = settings::load(Some(std::path::Path::new("config/leaky.toml")))?;
    let (pools, provisioned) = load::provision(&args.api, &args.token, args.pools).await?;
    let consumer = Consumer::start(&config.kafka, &config.schema_registry, pools).await?;

    eprintln!("loading {} consume commands…", args.events);
    let loading = Instant::now();
    consumer.burst(args.events, args.window).await;
    let load_secs = loading.elapsed().as_secs_f64();
    let logged = provisioned + consumer.accepted();
    eprintln!(
        "{logged} events in the log ({:.0}/s)",
        logged as f64 / load_secs
    );

    // (a) A fresh group replays the whole log (every projection runs; quota is timed).
    let group = format!("views-bench-{}", uuid::Uuid::new_v4().simple());
    let spawned = Instant::now();
    let projector = Projector::start(&args.projectors, &group).await?;
    let mut first_batch = None;
    loop {
        let applied = projector.quota_applied().await.unwrap_or(0);
        if applied > 0 && first_batch.is_none() {
            first_batch = Some((Instant::now(), applied));
        }
        if applied >= logged {
            break;
        }
        if spawned.elapsed() > Duration::from_secs(600) {
            bail!("the fresh projector applied {applied} of {logged} events in 10 minutes");
        }
        tokio::time::sleep(POLL).await;
    }
    let caught_up = spawned.elapsed().as_secs_f64();
    let (first_at, first_applied) = first_batch.context("no batch seen")?;
    let replay_secs = first_at.elapsed().as_secs_f64();
    let fresh_rate = (logged - first_applied) as f64 / replay_secs.max(f64::EPSILON);

    // The rebuild replays into a fresh copy while this projector keeps the live one.
    eprintln!("rebuilding the quota view…");
    let rebuild_secs = projector::rebuild(&args.projectors).await?.as_secs_f64();

    // (b) Lag under a steady load: only what the projector observes from here on counts.
    let before = scrape::lag_buckets(&projector.metrics().await?);
    eprintln!("{} commands/s for {} s…", args.rate, args.secs);
    consumer
        .steady(args.rate, Duration::from_secs(args.secs))
        .await?;
    let total = provisioned + consumer.accepted();
    let waiting = Instant::now();
    while projector.quota_applied().await.unwrap_or(0) < total {
        if waiting.elapsed() > Duration::from_secs(60) {
            bail!("the projector did not catch up with the steady load in 60 s");
        }
        tokio::time::sleep(POLL).await;
    }
    // The other projections commit on their own cadence: give them a moment too.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let after = scrape::lag_buckets(&projector.metrics().await?);
    projector.stop().await;

    let mut report = String::new();
    report.push_str(&format!(
        "# Views: replay throughput and projection lag\n\n\
         - date: {}\n- machine: {} CPUs; generator, services, Kafka, Postgres, Redis and Cassandra all share it\n\
         - log: {logged} events ({} pools; {} consume commands through the `Dispatcher`, {} failed), loaded at {:.0} events/s\n\n",
        chrono::Utc::now().format("%Y-%m-%d %H:%M UTC"),
        std::thread::available_parallelism().map_or(0, usize::from),
        args.pools,
        args.events,
        consumer.failed(),
        logged as f64 / load_secs,
    ));
    report.push_str("## (a) Replay throughput\n\n| run | events | time (s) | events/s |\n|---|---:|---:|---:|\n");
    report.push_str(&format!(
        "| fresh projector group, `quota` (every projection running), first batch → caught up | {} | {replay_secs:.2} | {fresh_rate:.0} |\n\
         | same, from process start (start-up and group join included) | {logged} | {caught_up:.2} | {:.0} |\n\
         | `projectors rebuild quota` (start to swap, live projector caught up) | {logged} | {rebuild_secs:.2} | {:.0} |\n\n",
        logged - first_applied,
        logged as f64 / caught_up,
        logged as f64 / rebuild_secs,
    ));
    report.push_str(&format!(
        "## (b) Projection lag at {} commands/s for {} s\n\n\
         From each record's timestamp to the commit of the view it changed, as the projector \
         observes it (`leaky_projector_lag_seconds`, buckets 5, 10, 25, 50, 100, 250 ms…; \
         quantiles interpolated inside a bucket).\n\n\
         | projection | records | p50 (ms) | p99 (ms) |\n|---|---:|---:|---:|\n",
        args.rate, args.secs
    ));
    for (projection, buckets) in &after {
        let seen = scrape::difference(buckets, before.get(projection));
        let count = seen.last().map_or(0.0, |b| b.1);
        let ms =
            |q| scrape::quantile(&seen, q).map_or("-".to_owned(), |s| format!("{:.1}", s * 1e3));
        report.push_str(&format!(
            "| {projection} | {count:.0} | {} | {} |\n",
            ms(0.5),
            ms(0.99)
        ));
    }
    println!("{report}");
    if let Some(out) = args.out {
        std::fs::write(&out, &report).with_context(|| format!("writing {out}"))?;
    }
    Ok(())
}
