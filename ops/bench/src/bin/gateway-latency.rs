//! Added latency of the gateway over calling the provider directly: open-loop load on the
//! gateway at a fixed rate and, at the same time, a lighter open-loop sample straight to the
//! stub provider; latency is measured from each request's due time (coordinated omission is
//! not hidden). Started by `ops/bench/gateway`, which brings the services up.
//!
//!   gateway-latency --gateway URL --stub URL --key KEY [--rate 1000] [--baseline-rate 200]
//!                   [--warmup-secs 5] [--secs 20] [--out FILE]

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use hdrhistogram::Histogram;
use serde_json::json;

#[derive(Debug)]
struct Args {
    gateway: String,
    stub: String,
    key: String,
    rate: u64,
    baseline_rate: u64,
    warmup: Duration,
    measured: Duration,
    out: Option<String>,
}

fn parse_args() -> anyhow::Result<Args> {
    let mut args = Args {
        gateway: String::new(),
        stub: String::new(),
        key: String::new(),
        rate: 1_000,
        baseline_rate: 200,
        warmup: Duration::from_secs(5),
        measured: Duration::from_secs(20),
        out: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let value = it.next().with_context(|| format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--gateway" => args.gateway = value,
            "--stub" => args.stub = value,
            "--key" => args.key = value,
            "--rate" => args.rate = value.parse()?,
            "--baseline-rate" => args.baseline_rate = value.parse()?,
            "--warmup-secs" => args.warmup = Duration::from_secs_f64(value.parse()?),
            "--secs" => args.measured = Duration::from_secs_f64(value.parse()?),
            "--out" => args.out = Some(value),
            _ => bail!("unknown flag {flag}"),
        }
    }
    if args.gateway.is_empty() || args.stub.is_empty() || args.key.is_empty() {
        bail!("--gateway, --stub and --key are required");
    }
    Ok(args)
}

/// What one stream of requests saw during the measured window.
#[derive(Debug)]
struct Series {
    latency_us: Histogram<u64>,
    failed: u64,
}

impl Series {
    fn new() -> Self {
        Self {
            latency_us: Histogram::new_with_bounds(1, 60_000_000, 3).expect("valid bounds"),
            failed: 0,
        }
    }
}

/// Sends requests to `url` on a fixed schedule of `rate` per second for `warmup + measured`,
/// recording the measured ones.
async fn open_loop(
    client: reqwest::Client,
    url: String,
    key: Option<String>,
    rate: u64,
    warmup: Duration,
    measured: Duration,
) -> Series {
    let series = Arc::new(Mutex::new(Series::new()));
    let interval = Duration::from_secs_f64(1.0 / rate as f64);
    let start = Instant::now();
    let total = (rate as f64 * (warmup + measured).as_secs_f64()) as u64;
    let body = json!({
        "model": "gpt-4o-mini",
        "messages": [{"role": "user", "content": "benchmark prompt of a few words"}],
        "max_tokens": 16,
    });
    let mut handles = Vec::with_capacity(total as usize);
    for n in 0..total {
        let due = start + interval * n as u32;
        tokio::time::sleep_until(due.into()).await;
        let (client, url, key, body, series) = (
            client.clone(),
            url.clone(),
            key.clone(),
            body.clone(),
            Arc::clone(&series),
        );
        let counted = due.duration_since(start) >= warmup;
        handles.push(tokio::spawn(async move {
            let mut request = client.post(&url).json(&body);
            if let Some(key) = key {
                request = request.bearer_auth(key);
            }
            let ok = match request.send().await {
                Ok(response) => response.status().is_success() && response.bytes().await.is_ok(),
                Err(_) => false,
            };
            if counted {
                let mut series = series.lock().unwrap_or_else(|p| p.into_inner());
                if ok {
                    let micros = due.elapsed().as_micros() as u64;
                    let _ = series.latency_us.record(micros.max(1));
                } else {
                    series.failed += 1;
                }
            }
        }));
    }
    for handle in handles {
        let _ = handle.await;
    }
    Arc::try_unwrap(series)
        .map(|m| m.into_inner().unwrap_or_else(|p| p.into_inner()))
        .unwrap_or_else(|_| Series::new())
}

fn ms(histogram: &Histogram<u64>, quantile: f64) -> f64 {
    histogram.value_at_quantile(quantile) as f64 / 1_000.0
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = parse_args()?;
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .pool_max_idle_per_host(4096)
        .build()?;
    let gateway_url = format!("{}/v1/chat/completions", args.gateway);
    let stub_url = format!("{}/openai/v1/chat/completions", args.stub);
    let metrics_client = client.clone();
    let (through, direct) = tokio::join!(
        open_loop(
            client.clone(),
            gateway_url,
            Some(args.key.clone()),
            args.rate,
            args.warmup,
            args.measured
        ),
        open_loop(
            client,
            stub_url,
            None,
            args.baseline_rate,
            args.warmup,
            args.measured
        ),
    );
    let mut report = format!(
        "# Gateway added latency\n\n{} req/s through the gateway, {} req/s straight to the stub \
         at the same time; {:?} measured after {:?} warm-up; open loop, latency from the due time.\n\n\
         | path | ok | failed | p50 (ms) | p90 (ms) | p99 (ms) | max (ms) |\n|---|---:|---:|---:|---:|---:|---:|\n",
        args.rate, args.baseline_rate, args.measured, args.warmup
    );
    for (name, series) in [
        ("stub directly", &direct),
        ("through the gateway", &through),
    ] {
        let h = &series.latency_us;
        report.push_str(&format!(
            "| {name} | {} | {} | {:.2} | {:.2} | {:.2} | {:.2} |\n",
            h.len(),
            series.failed,
            ms(h, 0.5),
            ms(h, 0.9),
            ms(h, 0.99),
            h.max() as f64 / 1_000.0
        ));
    }
    let added = |q: f64| ms(&through.latency_us, q) - ms(&direct.latency_us, q);
    report.push_str(&format!(
        "\nAdded by the gateway (difference of quantiles): p50 {:.2} ms (target < 5), \
         p99 {:.2} ms (target < 15).\n",
        added(0.5),
        added(0.99)
    ));
    report.push_str(&ready_holds(&metrics_client, &args.gateway).await);
    println!("{report}");
    if let Some(out) = &args.out {
        std::fs::write(out, &report).with_context(|| format!("writing {out}"))?;
    }
    Ok(())
}

/// What became of the gateway's ready holds over the run (warm-up included), from its
/// metrics: a call that found none waited for its own reserve.
async fn ready_holds(client: &reqwest::Client, gateway: &str) -> String {
    let Ok(metrics) = async {
        client
            .get(format!("{gateway}/metrics"))
            .send()
            .await?
            .text()
            .await
    }
    .await
    else {
        return "\nReady holds: the gateway's metrics could not be read.\n".to_owned();
    };
    let count = |event: &str| {
        let series = format!("leaky_gateway_ready_holds_total{{event=\"{event}\",");
        metrics
            .lines()
            .filter(|line| line.starts_with(&series))
            .filter_map(|line| line.rsplit(' ').next()?.parse::<u64>().ok())
            .sum::<u64>()
    };
    format!(
        "\nReady holds over the run (warm-up included): {} calls took one, {} reserved their own \
         (none was ready); {} reserved ahead, {} refused, {} given back unused.\n",
        count("taken"),
        count("missed"),
        count("reserved"),
        count("refused"),
        count("returned"),
    )
}
