//! What a flood of unknown API keys costs a paying caller: the caller's latency alone, then
//! during a flood of random `lt_…` keys from many concurrent clients, and the ratio. Every
//! unknown key used to make the service ask the broker where the auth log ends (a blocking
//! call on an async worker); now misses share one background question per 100 ms and are
//! answered from memory. Started by `ops/bench/unknown-keys`, which brings the services up
//! (with the failed-credential throttle lifted, so that every flooded key reaches the lookup).
//!
//!   unknown-keys --api URL --key KEY --pool PATH [--rate 100] [--flooders 64]
//!                [--warmup-secs 3] [--secs 15] [--out FILE]

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use hdrhistogram::Histogram;
use serde_json::json;

#[derive(Debug)]
struct Args {
    api: String,
    key: String,
    pool: String,
    rate: u64,
    flooders: usize,
    warmup: Duration,
    measured: Duration,
    out: Option<String>,
}

fn parse_args() -> anyhow::Result<Args> {
    let mut args = Args {
        api: String::new(),
        key: String::new(),
        pool: String::new(),
        rate: 100,
        flooders: 64,
        warmup: Duration::from_secs(3),
        measured: Duration::from_secs(15),
        out: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let value = it.next().with_context(|| format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--api" => args.api = value,
            "--key" => args.key = value,
            "--pool" => args.pool = value,
            "--rate" => args.rate = value.parse()?,
            "--flooders" => args.flooders = value.parse()?,
            "--warmup-secs" => args.warmup = Duration::from_secs_f64(value.parse()?),
            "--secs" => args.measured = Duration::from_secs_f64(value.parse()?),
            "--out" => args.out = Some(value),
            _ => bail!("unknown flag {flag}"),
        }
    }
    if args.api.is_empty() || args.key.is_empty() || args.pool.is_empty() {
        bail!("--api, --key and --pool are required");
    }
    Ok(args)
}

/// The paying caller's latencies over the measured window, and its failures.
#[derive(Debug)]
struct Series {
    latency_us: Histogram<u64>,
    failed: u64,
}

/// The paying caller: `consume 1` on a fixed schedule of `rate` per second (open loop,
/// latency from each request's due time, so coordinated omission is not hidden).
async fn paying_caller(client: reqwest::Client, args: &Args) -> Series {
    let series = Arc::new(Mutex::new(Series {
        latency_us: Histogram::new_with_bounds(1, 60_000_000, 3).expect("valid bounds"),
        failed: 0,
    }));
    let url = format!("{}{}/consume", args.api, args.pool);
    let interval = Duration::from_secs_f64(1.0 / args.rate as f64);
    let start = Instant::now();
    let total = (args.rate as f64 * (args.warmup + args.measured).as_secs_f64()) as u64;
    let mut handles = Vec::new();
    for n in 0..total {
        let due = start + interval * n as u32;
        tokio::time::sleep_until(due.into()).await;
        let (client, url, key, series) = (
            client.clone(),
            url.clone(),
            args.key.clone(),
            Arc::clone(&series),
        );
        let counted = due.duration_since(start) >= args.warmup;
        handles.push(tokio::spawn(async move {
            let sent = client
                .post(&url)
                .bearer_auth(key)
                .json(&json!({"amount": 1}))
                .send()
                .await;
            let ok = match sent {
                Ok(response) => response.status().is_success() && response.bytes().await.is_ok(),
                Err(_) => false,
            };
            if counted {
                let mut series = series.lock().unwrap_or_else(|p| p.into_inner());
                if ok {
                    let _ = series
                        .latency_us
                        .record((due.elapsed().as_micros() as u64).max(1));
                } else {
                    series.failed += 1;
                }
            }
        }));
    }
    for handle in handles {
        let _ = handle.await;
    }
    let series = series.lock().unwrap_or_else(|p| p.into_inner());
    Series {
        latency_us: series.latency_us.clone(),
        failed: series.failed,
    }
}

/// What the flood got back.
#[derive(Debug, Default)]
struct Flood {
    unauthorized: AtomicU64,
    throttled: AtomicU64,
    other: AtomicU64,
}

/// `flooders` clients sending random keys back to back until `stop`.
fn flood(
    client: &reqwest::Client,
    args: &Args,
    stop: &Arc<AtomicBool>,
    seen: &Arc<Flood>,
) -> Vec<tokio::task::JoinHandle<()>> {
    let url = format!("{}{}/consume", args.api, args.pool);
    (0..args.flooders)
        .map(|_| {
            let (client, url, stop, seen) =
                (client.clone(), url.clone(), stop.clone(), seen.clone());
            tokio::spawn(async move {
                while !stop.load(Ordering::Relaxed) {
                    let key = format!("lt_{}", uuid::Uuid::new_v4().simple());
                    let status = client
                        .post(&url)
                        .bearer_auth(key)
                        .json(&json!({"amount": 1}))
                        .send()
                        .await
                        .map(|r| r.status().as_u16());
                    let counter = match status {
                        Ok(401) => &seen.unauthorized,
                        Ok(429) => &seen.throttled,
                        _ => &seen.other,
                    };
                    counter.fetch_add(1, Ordering::Relaxed);
                }
            })
        })
        .collect()
}

fn ms(histogram: &Histogram<u64>, quantile: f64) -> f64 {
    histogram.value_at_quantile(quantile) as f64 / 1_000.0
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = parse_args()?;
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .pool_max_idle_per_host(1024)
        .build()?;
    let alone = paying_caller(client.clone(), &args).await;

    let stop = Arc::new(AtomicBool::new(false));
    let seen = Arc::new(Flood::default());
    let flooders = flood(&client, &args, &stop, &seen);
    let started = Instant::now();
    let flooded = paying_caller(client.clone(), &args).await;
    let flood_secs = started.elapsed().as_secs_f64();
    stop.store(true, Ordering::Relaxed);
    for flooder in flooders {
        let _ = flooder.await;
    }
    let unknown = seen.unauthorized.load(Ordering::Relaxed);
    let throttled = seen.throttled.load(Ordering::Relaxed);
    let other = seen.other.load(Ordering::Relaxed);

    let mut report = format!(
        "# A paying caller during a flood of unknown API keys\n\n\
         `consume 1` with a valid key at {} req/s (open loop, latency from the due time), \
         {:?} measured after {:?} warm-up: alone, then while {} clients send random `lt_…` keys \
         back to back to the same command API (its failed-credential throttle lifted, so every \
         key reaches the lookup).\n\n\
         | paying caller | ok | failed | p50 (ms) | p90 (ms) | p99 (ms) | max (ms) |\n|---|---:|---:|---:|---:|---:|---:|\n",
        args.rate, args.measured, args.warmup, args.flooders
    );
    for (name, series) in [("alone", &alone), ("during the flood", &flooded)] {
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
    let ratio = |q: f64| ms(&flooded.latency_us, q) / ms(&alone.latency_us, q).max(0.001);
    report.push_str(&format!(
        "\nFlood: {} unknown keys answered 401, {} answered 429, {} otherwise, in {:.1} s \
         ({:.0} per second).\n\nRatio during the flood / alone: p50 {:.2}×, p99 {:.2}× \
         (target: p99 within 2×).\n",
        unknown,
        throttled,
        other,
        flood_secs,
        (unknown + throttled + other) as f64 / flood_secs,
        ratio(0.5),
        ratio(0.99)
    ));
    println!("{report}");
    if let Some(out) = &args.out {
        std::fs::write(out, &report).with_context(|| format!("writing {out}"))?;
    }
    Ok(())
}
