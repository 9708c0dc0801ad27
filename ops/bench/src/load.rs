//! The open-loop load generator: requests go out on a fixed schedule whatever the system
//! answers, and each latency is measured from the time the request was *due*, so a stall
//! shows up in the numbers instead of silently slowing the generator (no coordinated
//! omission).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::future::BoxFuture;
use hdrhistogram::Histogram;
use tokio::sync::Semaphore;
use tokio::time::{Instant, MissedTickBehavior};

/// One kind of request the generator can issue; `seq` numbers the requests of a run.
pub trait Target: Send + Sync + 'static {
    /// Issues request `seq`; `Err` names what went wrong (e.g. "HTTP 429").
    fn call(&self, seq: u64) -> BoxFuture<'static, Result<(), String>>;
}

/// How one fixed-rate run is shaped.
#[derive(Debug, Clone, Copy)]
pub struct Shape {
    /// Requests per second offered.
    pub rate: u64,
    /// Requests due before this are issued but not measured.
    pub warmup: Duration,
    /// Length of the measured window after the warm-up.
    pub duration: Duration,
    /// Requests in flight beyond this are dropped (and counted as errors) rather than
    /// queued, so an overloaded target cannot exhaust the generator's memory.
    pub max_in_flight: usize,
}

/// What one fixed-rate run measured over its window.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// Requests per second offered.
    pub offered: u64,
    /// Successful responses completed inside the measured window, per second.
    pub achieved: f64,
    /// Latency from due time to response, microseconds, of the requests due in the window.
    pub latency: Histogram<u64>,
    /// Requests due in the window that failed, were dropped or never finished, by reason.
    pub errors: BTreeMap<String, u64>,
}

impl Outcome {
    /// All failed requests.
    pub fn error_count(&self) -> u64 {
        self.errors.values().sum()
    }

    /// The pass criterion: throughput within 5% of offered and p99 under 50 ms.
    pub fn sustained(&self) -> bool {
        self.keeps_up() && !self.latency.is_empty() && self.latency.value_at_quantile(0.99) < 50_000
    }

    /// The throughput half of the criterion alone: within 5% of offered.
    pub fn keeps_up(&self) -> bool {
        self.achieved >= 0.95 * self.offered as f64
    }
}

/// Counters shared by the in-flight requests of one run.
#[derive(Debug)]
struct Tally {
    latency: Histogram<u64>,
    ok_in_window: u64,
    errors: BTreeMap<String, u64>,
}

/// Runs `target` at `shape.rate` for warm-up plus duration, then waits a little for
/// stragglers; requests still unanswered after that count as errors.
pub async fn run(target: Arc<dyn Target>, shape: Shape) -> Outcome {
    let interval = Duration::from_secs_f64(1.0 / shape.rate as f64);
    let total = shape.warmup + shape.duration;
    let due_total = (total.as_secs_f64() * shape.rate as f64) as u64;
    let tally = Arc::new(Mutex::new(Tally {
        // 1 µs to 1 min, 3 significant digits.
        latency: Histogram::new_with_bounds(1, 60_000_000, 3).expect("valid bounds"),
        ok_in_window: 0,
        errors: BTreeMap::new(),
    }));
    let permits = Arc::new(Semaphore::new(shape.max_in_flight));
    let start = Instant::now();
    let window = (start + shape.warmup, start + total);
    // Tokio timers tick at most every millisecond, so each tick issues every request due
    // by then, each stamped with its own due time.
    let mut ticker = tokio::time::interval(Duration::from_millis(1));
    ticker.set_missed_tick_behavior(MissedTickBehavior::Skip);
    let mut seq = 0;
    while seq < due_total {
        ticker.tick().await;
        let now = Instant::now();
        while seq < due_total {
            let due = start + interval.mul_f64(seq as f64);
            if due > now {
                break;
            }
            let measured = due >= window.0;
            match permits.clone().try_acquire_owned() {
                Ok(permit) => {
                    let (target, tally) = (target.clone(), tally.clone());
                    tokio::spawn(async move {
                        let result = target.call(seq).await;
                        let done = Instant::now();
                        drop(permit);
                        record(&tally, measured, due, done, window, result);
                    });
                }
                Err(_) if measured => count(&tally, "dropped (too many in flight)"),
                Err(_) => {}
            }
            seq += 1;
        }
    }
    // Stragglers get a grace period; whatever is still out after it is lost.
    let grace = Duration::from_secs(5);
    let all = u32::try_from(shape.max_in_flight).expect("in-flight bound fits u32");
    let drained = tokio::time::timeout(grace, permits.acquire_many(all)).await;
    let mut tally = tally.lock().expect("tally lock");
    if drained.is_err() {
        let lost = shape.max_in_flight - permits.available_permits();
        *tally
            .errors
            .entry("unanswered after run".into())
            .or_default() += lost as u64;
    }
    Outcome {
        offered: shape.rate,
        achieved: tally.ok_in_window as f64 / shape.duration.as_secs_f64(),
        latency: tally.latency.clone(),
        errors: tally.errors.clone(),
    }
}

fn record(
    tally: &Mutex<Tally>,
    measured: bool,
    due: Instant,
    done: Instant,
    window: (Instant, Instant),
    result: Result<(), String>,
) {
    let mut tally = tally.lock().expect("tally lock");
    if result.is_ok() && done >= window.0 && done < window.1 {
        tally.ok_in_window += 1;
    }
    if !measured {
        return;
    }
    let micros = u64::try_from((done - due).as_micros()).unwrap_or(u64::MAX);
    tally.latency.saturating_record(micros.max(1));
    if let Err(reason) = result {
        *tally.errors.entry(reason).or_default() += 1;
    }
}

fn count(tally: &Mutex<Tally>, reason: &str) {
    let mut tally = tally.lock().expect("tally lock");
    *tally.errors.entry(reason.into()).or_default() += 1;
}
