//! Running a service's real binary on a free port, as a test would run it in production.

use std::net::SocketAddr;
use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

/// A service binary running on a port it chose itself; killed when dropped.
#[derive(Debug)]
pub struct SpawnedService {
    /// Where its HTTP server listens.
    pub addr: SocketAddr,
    child: Child,
}

impl SpawnedService {
    /// Starts `binary` (from `env!("CARGO_BIN_EXE_<name>")`) with `env` on top of the
    /// test's environment, and waits for the log line that says where it listens.
    /// `listen_key` is the service's listen setting, e.g. `LEAKY_COMMAND_API__LISTEN`.
    pub async fn start(binary: &str, listen_key: &str, env: &[(&str, &str)]) -> Self {
        // At least `info`: the line saying where it listens is how the test finds it. A test
        // run's own LEAKY_LOG adds to that (e.g. `command_api=debug`).
        let filter =
            std::env::var("LEAKY_LOG").map_or_else(|_| "info".into(), |f| format!("info,{f}"));
        let mut child = Command::new(binary)
            .env(listen_key, "127.0.0.1:0")
            .envs(env.iter().copied())
            .env("LEAKY_LOG", filter)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {binary}: {e}"));
        let stderr = child.stderr.take().expect("stderr is piped");
        let mut lines = BufReader::new(stderr).lines();
        let addr = tokio::time::timeout(Duration::from_secs(30), async {
            while let Some(line) = lines.next_line().await.expect("stderr is readable") {
                if let Some(addr) = listening_addr(&line) {
                    return addr;
                }
            }
            panic!("{binary} exited before listening");
        })
        .await
        .unwrap_or_else(|_| panic!("{binary} did not start listening within 30 s"));
        // Keep draining its logs so the service never blocks on a full pipe; with
        // LEAKY_TEST_LOGS set, show them (a failing test's services explain themselves).
        let echo = std::env::var_os("LEAKY_TEST_LOGS").is_some();
        let name = binary.rsplit('/').next().unwrap_or(binary).to_owned();
        tokio::spawn(async move {
            while let Ok(Some(line)) = lines.next_line().await {
                if echo {
                    eprintln!("[{name}] {line}");
                }
            }
        });
        Self { addr, child }
    }

    /// `http://<addr><path>`
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// Kills the process at once, as a crash would (`kill -9`).
    pub async fn kill(mut self) {
        let _ = self.child.kill().await;
    }
}

/// The address in the `listening` log line every service writes once bound.
fn listening_addr(line: &str) -> Option<SocketAddr> {
    let log: serde_json::Value = serde_json::from_str(line).ok()?;
    let fields = log.get("fields")?;
    if fields.get("message")?.as_str()? != "listening" {
        return None;
    }
    fields.get("addr")?.as_str()?.parse().ok()
}

/// What a binary printed and how it ended, when it is expected to stop on its own.
#[derive(Debug)]
pub struct Exited {
    pub code: Option<i32>,
    pub stderr: String,
}

/// Runs `binary` with `env` until it exits (at most 30 s).
pub async fn run_to_exit(binary: &str, env: &[(&str, &str)]) -> Exited {
    let output = tokio::time::timeout(
        Duration::from_secs(30),
        Command::new(binary)
            .envs(env.iter().copied())
            .kill_on_drop(true)
            .output(),
    )
    .await
    .unwrap_or_else(|_| panic!("{binary} did not exit within 30 s"))
    .unwrap_or_else(|e| panic!("cannot run {binary}: {e}"));
    Exited {
        code: output.status.code(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}
