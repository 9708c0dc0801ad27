//! Open-loop capacity benchmark of the command path: the command API (hot pool and many
//! pools) against the Postgres hot-row design it replaces and raw idempotent Kafka produce.
//! Started by `ops/bench/run`, which brings up the services and passes `--api` and, as the
//! command API needs a credential, an ADMIN's access token (`--token`).

mod load;
mod report;
mod search;
mod targets;

use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context as _, bail};

use crate::report::{Context, Row};
use crate::search::Plan;
use crate::targets::dispatch::ConsumeThroughDispatcher;
use crate::targets::{http::ConsumeOverHttp, kafka::RawProduce, postgres::HotRow};

/// Command-line settings.
#[derive(Debug)]
struct Args {
    api: String,
    /// Access token sent to the command API (an ADMIN's: the benchmark provisions pools).
    token: String,
    database_url: String,
    brokers: String,
    scenarios: Vec<String>,
    out: Option<String>,
    plan: Plan,
}

fn parse_args() -> anyhow::Result<Args> {
    let secs = |s: &str| -> anyhow::Result<Duration> { Ok(Duration::from_secs_f64(s.parse()?)) };
    let mut args = Args {
        api: "http://127.0.0.1:8080".into(),
        token: String::new(),
        database_url: "postgres://leaky:leaky@127.0.0.1:5432/leaky".into(),
        brokers: "127.0.0.1:9092".into(),
        scenarios: ["a", "a2", "k", "k2", "b", "c"].map(String::from).to_vec(),
        out: None,
        plan: Plan {
            start_rate: 250,
            max_rate: 64_000,
            bisections: 3,
            step: (Duration::from_secs(2), Duration::from_secs(5)),
            last: (Duration::from_secs(3), Duration::from_secs(20)),
            max_in_flight: 20_000,
        },
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        if flag == "--quick" {
            args.plan.bisections = 1;
            args.plan.step = (Duration::from_secs(1), Duration::from_secs(3));
            args.plan.last = (Duration::from_secs(2), Duration::from_secs(5));
            continue;
        }
        let value = it.next().with_context(|| format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--api" => args.api = value,
            "--token" => args.token = value,
            "--database-url" => args.database_url = value,
            "--brokers" => args.brokers = value,
            "--scenarios" => args.scenarios = value.split(',').map(String::from).collect(),
            "--out" => args.out = Some(value),
            "--start-rate" => args.plan.start_rate = value.parse()?,
            "--max-rate" => args.plan.max_rate = value.parse()?,
            "--bisections" => args.plan.bisections = value.parse()?,
            "--step-secs" => args.plan.step.1 = secs(&value)?,
            "--warmup-secs" => args.plan.last.0 = secs(&value)?,
            "--duration-secs" => args.plan.last.1 = secs(&value)?,
            _ => bail!("unknown flag {flag}"),
        }
    }
    Ok(args)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = parse_args()?;
    let run_id = format!("bench{}", chrono::Utc::now().format("%Y%m%d%H%M%S"));
    let mut headers = reqwest::header::HeaderMap::new();
    if !args.token.is_empty() {
        headers.insert(
            reqwest::header::AUTHORIZATION,
            format!("Bearer {}", args.token)
                .parse()
                .context("--token must be visible ASCII")?,
        );
    }
    let client = reqwest::Client::builder()
        .default_headers(headers)
        .timeout(Duration::from_secs(10))
        .pool_max_idle_per_host(4096)
        .build()?;
    let mut rows = Vec::new();
    for scenario in &args.scenarios {
        rows.push(run_scenario(scenario, &args, &client, &run_id).await?);
    }
    let report = report::render(&context(&args.plan), &rows);
    println!("{report}");
    if let Some(out) = &args.out {
        std::fs::write(out, &report).with_context(|| format!("writing {out}"))?;
    }
    Ok(())
}

/// Sets up one scenario, finds its highest sustained rate and removes what it created.
async fn run_scenario(
    scenario: &str,
    args: &Args,
    client: &reqwest::Client,
    run_id: &str,
) -> anyhow::Result<Row> {
    let find = |name: &'static str, target: Arc<dyn load::Target>| async move {
        eprintln!("{name}");
        let (outcome, criterion) = search::highest_sustained(name, target, args.plan).await;
        let at_cap = outcome.offered >= args.plan.max_rate;
        Row {
            name,
            outcome,
            criterion,
            at_cap,
        }
    };
    Ok(match scenario {
        "a" => {
            let pool = format!("{run_id}-hot");
            let target = ConsumeOverHttp::provision(client, &args.api, &pool, 1).await?;
            find("(a) command API, one hot pool", Arc::new(target)).await
        }
        "a2" => {
            eprintln!("provisioning 1,000 pools…");
            let pools = format!("{run_id}-many");
            let target = ConsumeOverHttp::provision(client, &args.api, &pools, 1000).await?;
            find("(a') command API, 1,000 pools", Arc::new(target)).await
        }
        "k" | "k2" => {
            let (name, suffix, count) = if scenario == "k" {
                ("(k) command path without HTTP, one hot pool", "khot", 1)
            } else {
                ("(k') command path without HTTP, 1,000 pools", "kmany", 1000)
            };
            let prefix = format!("{run_id}-{suffix}");
            let http = ConsumeOverHttp::provision(client, &args.api, &prefix, count).await?;
            let config: command_api::Config = settings::load(None)?;
            let target = ConsumeThroughDispatcher::start(
                &config.kafka,
                &config.schema_registry,
                http.pools(),
            )
            .await?;
            find(name, Arc::new(target)).await
        }
        "b" => {
            let table = format!("{run_id}_quota");
            let target = Arc::new(HotRow::create(&args.database_url, &table, 16).await?);
            let row = find("(b) Postgres hot row (in-process)", target.clone()).await;
            target.drop_table().await?;
            row
        }
        "c" => {
            let topic = format!("{run_id}.raw-produce");
            let target = Arc::new(RawProduce::create(&args.brokers, &topic, 6).await?);
            let row = find("(c) raw idempotent produce", target.clone()).await;
            target.delete_topic().await?;
            row
        }
        other => bail!("unknown scenario {other} (a, a2, k, k2, b, c)"),
    })
}

fn context(plan: &Plan) -> Context {
    let cpus = std::thread::available_parallelism().map_or(0, |n| n.get());
    let memory = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| {
            m.lines()
                .next()
                .map(|l| l.split_whitespace().nth(1).unwrap_or("?").to_owned())
        })
        .and_then(|kb| kb.parse::<u64>().ok())
        .map_or("?".to_owned(), |kb| {
            format!("{:.1} GiB", kb as f64 / 1_048_576.0)
        });
    let commit = std::process::Command::new("git")
        .args(["describe", "--always", "--dirty"])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_default();
    Context {
        date: chrono::Utc::now().format("%Y-%m-%d %H:%M UTC").to_string(),
        machine: format!(
            "{cpus} CPUs (nproc), {memory} RAM; generator, services, Kafka and Postgres all share it"
        ),
        commit,
        method: format!(
            "open loop (requests sent on schedule whatever the answers, latency from the due time); \
             rate doubled from {} req/s in {:?} steps until one fails (achieved < 95% of offered or p99 ≥ 50 ms), \
             {} bisections, then a {:?} run after {:?} warm-up at the highest passing rate, reported below. \
             (b) runs in-process over 16 connections with no HTTP hop, which favours the baseline; \
             (c) keys records by request over 6 partitions",
            plan.start_rate, plan.step.1, plan.bisections, plan.last.1, plan.last.0
        ),
    }
}
