//! End to end with a real Prometheus (Debian's package, which `ops/prometheus` installs):
//! scraping the real pool processor and projector with the rules of `ops/prometheus.d`, the
//! quota-view alert stays quiet while the projector follows a load, and goes pending once
//! the projector is stopped and the log grows past it.

use std::net::TcpListener;
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};
use testkit::stack::{Service, Stack};
use tokio::process::{Child, Command};
use tokio::time::{Instant, sleep};

const ALERT: &str = "LeakyQuotaViewBehind";

/// A Prometheus of the test's own on a free port, scraping `targets` (service, `host:port`)
/// every second and evaluating the project's rules every second.
struct Prometheus {
    url: String,
    _child: Child,
    _dir: TempDir,
}

/// A directory removed when dropped.
struct TempDir(std::path::PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

impl Prometheus {
    async fn start(targets: &[(&str, String)]) -> Self {
        let rules = Path::new(env!("CARGO_MANIFEST_DIR")).join("../ops/prometheus.d/rules.yml");
        let dir = TempDir(std::env::temp_dir().join(testkit::unique("prometheus")));
        std::fs::create_dir_all(&dir.0).unwrap();
        let mut config = format!(
            "global: {{scrape_interval: 1s, evaluation_interval: 1s}}\n\
             rule_files: ['{}']\n\
             scrape_configs:\n  - job_name: leaky\n    honor_labels: true\n    static_configs:\n",
            rules.display()
        );
        for (service, address) in targets {
            config.push_str(&format!(
                "      - {{targets: ['{address}'], labels: {{service: {service}}}}}\n"
            ));
        }
        std::fs::write(dir.0.join("prometheus.yml"), config).unwrap();
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new("prometheus")
            .arg(format!(
                "--config.file={}",
                dir.0.join("prometheus.yml").display()
            ))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.0.join("data").display()
            ))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("prometheus is installed (ops/prometheus check installs it)");
        let url = format!("http://127.0.0.1:{port}");
        for _ in 0..120 {
            if reqwest::get(format!("{url}/-/ready"))
                .await
                .is_ok_and(|r| r.status().is_success())
            {
                return Self {
                    url,
                    _child: child,
                    _dir: dir,
                };
            }
            sleep(Duration::from_millis(250)).await;
        }
        panic!("prometheus did not become ready");
    }

    /// The state of `alert` (`pending`, `firing`), if it is active.
    async fn alert_state(&self, alert: &str) -> Option<String> {
        let alerts: Value = reqwest::get(format!("{}/api/v1/alerts", self.url))
            .await
            .ok()?
            .json()
            .await
            .ok()?;
        alerts["data"]["alerts"]
            .as_array()?
            .iter()
            .find(|a| a["labels"]["alertname"] == alert)
            .and_then(|a| a["state"].as_str().map(str::to_owned))
    }

    /// Whether Prometheus has scraped a value of `metric` yet.
    async fn has(&self, metric: &str) -> bool {
        let url = format!("{}/api/v1/query?query={metric}", self.url);
        let Ok(answer) = reqwest::get(url).await else {
            return false;
        };
        let answer: Value = answer.json().await.unwrap_or_default();
        answer["data"]["result"]
            .as_array()
            .is_some_and(|r| !r.is_empty())
    }
}

/// `host:port` of a running service of the stack.
async fn address(stack: &Stack, service: Service) -> String {
    stack
        .url(service, "")
        .await
        .trim_start_matches("http://")
        .to_owned()
}

/// Consumes one token, `n` times, from a pool whose limits a load never reaches.
async fn load(stack: &Stack, pool: &str, n: usize) {
    for _ in 0..n {
        let (status, body) = stack
            .command(&format!("{pool}/consume"), json!({"amount": 1}))
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_stopped_projector_sets_off_the_quota_view_alert() {
    let stack = Stack::start(2, Service::PROJECTING).await;
    let pool = "/api/v1/pools/user/alerts/openai";
    for (path, body) in [
        (
            pool.to_owned(),
            json!({"policy": testkit::unlimited_policy()}),
        ),
        (format!("{pool}/grants"), json!({"amount": 1_000_000})),
    ] {
        let (status, answer) = stack.command(&path, body).await;
        assert_eq!(status, StatusCode::OK, "{answer}");
    }
    let prometheus = Prometheus::start(&[
        ("pool-processor", address(&stack, Service::Processor).await),
        ("projectors", address(&stack, Service::Projectors).await),
    ])
    .await;

    // While the projector follows, the view is never far behind: no alert.
    let started = Instant::now();
    while !(prometheus.has("leaky_projector_position").await
        && prometheus.has("leaky_processor_events_end").await)
    {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "nothing scraped"
        );
        load(&stack, pool, 10).await;
    }
    for _ in 0..10 {
        load(&stack, pool, 20).await;
        sleep(Duration::from_millis(300)).await;
        assert_eq!(
            prometheus.alert_state(ALERT).await,
            None,
            "the view follows"
        );
    }

    // The projector stops; the log grows past the position it last reported.
    stack.kill(Service::Projectors).await;
    let started = Instant::now();
    let state = loop {
        load(&stack, pool, 20).await;
        if let Some(state) = prometheus.alert_state(ALERT).await {
            break state;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "{ALERT} never went pending"
        );
    };
    assert!(matches!(state.as_str(), "pending" | "firing"), "{state}");
}
