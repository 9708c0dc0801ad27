//! The Markdown report: one row per scenario and the ratios the issue sets targets for.

use std::fmt::Write;

use crate::load::Outcome;
use crate::search::Criterion;

/// One scenario's final run.
#[derive(Debug)]
pub struct Row {
    /// Scenario label for the table.
    pub name: &'static str,
    /// The final run at the highest sustained rate.
    pub outcome: Outcome,
    /// What the rate was searched with.
    pub criterion: Criterion,
    /// True if the rate is the highest the search tried, so the target may do more.
    pub at_cap: bool,
}

/// Facts about the run that make the numbers comparable.
#[derive(Debug)]
pub struct Context {
    /// When the run finished.
    pub date: String,
    /// CPUs and memory.
    pub machine: String,
    /// Git commit the binaries were built from.
    pub commit: String,
    /// How the rates were searched.
    pub method: String,
}

/// Renders the whole report.
pub fn render(context: &Context, rows: &[Row]) -> String {
    let mut out = String::new();
    let w = &mut out;
    let _ = writeln!(w, "# Command path capacity\n");
    let _ = writeln!(w, "- date: {}", context.date);
    let _ = writeln!(w, "- machine: {}", context.machine);
    let _ = writeln!(w, "- commit: {}", context.commit);
    let _ = writeln!(w, "- method: {}\n", context.method);
    let _ = writeln!(
        w,
        "| scenario | offered (req/s) | achieved (req/s) | p50 (ms) | p99 (ms) | max (ms) | errors | sustained |"
    );
    let _ = writeln!(w, "|---|---:|---:|---:|---:|---:|---:|---|");
    for row in rows {
        let (name, o) = (row.name, &row.outcome);
        let ms = |q: f64| o.latency.value_at_quantile(q) as f64 / 1000.0;
        let errors = match o.errors.iter().max_by_key(|(_, n)| **n) {
            Some((reason, _)) => format!("{} ({reason})", o.error_count()),
            None => "0".to_owned(),
        };
        let _ = writeln!(
            w,
            "| {name} | {} | {:.0} | {:.2} | {:.2} | {:.2} | {errors} | {} |",
            o.offered,
            o.achieved,
            ms(0.5),
            ms(0.99),
            o.latency.max() as f64 / 1000.0,
            verdict(row)
        );
    }
    let achieved = |prefix: &str| {
        rows.iter()
            .find(|r| r.name.starts_with(prefix))
            .map(|r| (r.outcome.achieved, r.outcome.sustained()))
    };
    let _ = writeln!(w);
    // Over HTTP (a) and without the HTTP hop (k), which is how (b) and (c) are driven.
    for ours in ["(a)", "(k)"] {
        if let (Some((a, a_ok)), Some((b, _))) = (achieved(ours), achieved("(b)")) {
            let ratio = a / b;
            let met = ratio >= 10.0 && a_ok;
            let _ = writeln!(
                w,
                "- {ours}/(b) throughput: {ratio:.2}× — target ≥ 10× the Postgres hot row at p99 < 50 ms: **{}**",
                if met { "met" } else { "not met" }
            );
        }
        if let (Some((a, _)), Some((c, _))) = (achieved(ours), achieved("(c)")) {
            let ratio = a / c;
            let _ = writeln!(
                w,
                "- {ours}/(c) throughput: {ratio:.2} — target ≥ 0.5 of raw idempotent produce: **{}**",
                if ratio >= 0.5 { "met" } else { "not met" }
            );
        }
    }
    out
}

fn verdict(row: &Row) -> &'static str {
    match (row.outcome.sustained(), row.criterion, row.at_cap) {
        (true, _, true) => "yes (highest rate tried; may do more)",
        (true, _, false) => "yes",
        (false, Criterion::ThroughputOnly, _) => {
            "no: p99 ≥ 50 ms at every rate; rate = throughput kept up with"
        }
        (false, Criterion::Full, _) => "no (final run missed the criterion)",
    }
}
