//! Finding the highest rate a target sustains: short steps doubling the rate until one
//! fails, a few bisections between the last pass and the first failure, then one long run
//! at the rate found, which is what gets reported.

use std::sync::Arc;
use std::time::Duration;

use crate::load::{self, Outcome, Shape, Target};

/// How hard and how long to search.
#[derive(Debug, Clone, Copy)]
pub struct Plan {
    /// First rate tried, requests per second.
    pub start_rate: u64,
    /// No rate above this is tried.
    pub max_rate: u64,
    /// Bisection steps after the first failure.
    pub bisections: u32,
    /// Warm-up and measured window of each search step.
    pub step: (Duration, Duration),
    /// Warm-up and measured window of the final run.
    pub last: (Duration, Duration),
    /// See [`Shape::max_in_flight`].
    pub max_in_flight: usize,
}

/// Which criterion the reported rate was searched with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Criterion {
    /// Throughput ≥ 95% of offered and p99 < 50 ms.
    Full,
    /// Throughput alone, because even the start rate missed p99 < 50 ms: the rate reported
    /// is then the throughput the target keeps up with at whatever latency it has.
    ThroughputOnly,
}

/// The final run at the highest rate found to pass (or at the start rate if none did).
pub async fn highest_sustained(
    name: &str,
    target: Arc<dyn Target>,
    plan: Plan,
) -> (Outcome, Criterion) {
    let step = |rate| Shape {
        rate,
        warmup: plan.step.0,
        duration: plan.step.1,
        max_in_flight: plan.max_in_flight,
    };
    let (mut pass, mut fail) = (None::<u64>, None::<u64>);
    let mut rate = plan.start_rate;
    let mut criterion = Criterion::Full;
    let passes = |o: &Outcome, c| match c {
        Criterion::Full => o.sustained(),
        Criterion::ThroughputOnly => o.keeps_up(),
    };
    loop {
        let outcome = run_drained(&target, step(rate)).await;
        eprintln!("  {name}: {}", summary(&outcome));
        if pass.is_none() && !outcome.sustained() && outcome.keeps_up() {
            eprintln!("  {name}: p99 ≥ 50 ms already at {rate}/s; searching on throughput alone");
            criterion = Criterion::ThroughputOnly;
        }
        if passes(&outcome, criterion) {
            pass = Some(rate);
            if rate >= plan.max_rate {
                break;
            }
            rate = (rate * 2).min(plan.max_rate);
        } else {
            fail = Some(rate);
            break;
        }
    }
    if let Some(mut high) = fail {
        let mut low = pass.unwrap_or(0);
        for _ in 0..plan.bisections {
            let mid = (low + high) / 2;
            if mid <= low || mid == 0 {
                break;
            }
            let outcome = run_drained(&target, step(mid)).await;
            eprintln!("  {name}: {}", summary(&outcome));
            if passes(&outcome, criterion) {
                low = mid;
            } else {
                high = mid;
            }
        }
        pass = (low > 0).then_some(low);
    }
    let rate = pass.unwrap_or(plan.start_rate);
    let shape = Shape {
        rate,
        warmup: plan.last.0,
        duration: plan.last.1,
        ..step(rate)
    };
    let outcome = run_drained(&target, shape).await;
    eprintln!("  {name} final: {}", summary(&outcome));
    (outcome, criterion)
}

/// One line per run for the progress log.
fn summary(o: &Outcome) -> String {
    format!(
        "offered {}/s achieved {:.0}/s p50 {:.1} ms p99 {:.1} ms errors {} → {}",
        o.offered,
        o.achieved,
        o.latency.value_at_quantile(0.5) as f64 / 1000.0,
        o.latency.value_at_quantile(0.99) as f64 / 1000.0,
        o.error_count(),
        if o.sustained() {
            "sustained"
        } else {
            "not sustained"
        }
    )
}

/// Runs `shape` once the target has worked off what earlier (possibly overloaded) runs left
/// queued: a run must measure its own load, not the backlog of the one before.
async fn run_drained(target: &Arc<dyn Target>, shape: Shape) -> Outcome {
    drain(target).await;
    load::run(target.clone(), shape).await
}

/// Waits (up to two minutes) until five requests in a row each answer within 50 ms.
async fn drain(target: &Arc<dyn Target>) {
    let deadline = std::time::Instant::now() + Duration::from_secs(120);
    let mut quick = 0;
    let mut seq = u64::MAX / 2;
    while quick < 5 && std::time::Instant::now() < deadline {
        let started = std::time::Instant::now();
        let answered = target.call(seq).await.is_ok();
        seq += 1;
        if answered && started.elapsed() < Duration::from_millis(50) {
            quick += 1;
        } else {
            quick = 0;
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
}
