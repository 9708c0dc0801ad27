//! What the specifications in `compose_file.rs` read: the compose file, the Dockerfile,
//! and the services' real configuration as `settings` loads it.

pub mod compose;
pub mod dockerfile;
pub mod services;

use std::path::PathBuf;
use std::process::Command;

use figment::Jail;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

pub use compose::{ComposeFile, Endpoint};

/// `compose/`, where the compose file and the Dockerfile live.
pub fn compose_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The repository root: the workspace, and the Docker build context.
pub fn repo_root() -> PathBuf {
    compose_dir()
        .parent()
        .expect("compose/ is inside the repository")
        .to_path_buf()
}

/// Loads `T` as its service does in a container: defaults, no configuration file, then
/// exactly the variables in `env`, set as process environment variables. The result is
/// the loaded configuration serialised back, so any section can be read by name.
pub fn load_from_env<T>(env: &[(String, String)]) -> Result<Value, String>
where
    T: DeserializeOwned + Serialize + Default,
{
    in_jail(|jail| {
        // Nothing from the machine running the tests (a LEAKY_CONFIG, say) may leak in.
        jail.clear_env();
        for (key, value) in env {
            jail.set_env(key, value);
        }
        settings::load::<T>(None)
    })
    .map(|config| serde_json::to_value(config).expect("a loaded configuration serialises"))
    .map_err(|error| error.to_string())
}

/// Loads `T` from `config/leaky.toml` alone, as a service runs on a developer's machine.
pub fn load_from_repo_file<T>() -> Value
where
    T: DeserializeOwned + Serialize + Default,
{
    let file = repo_root().join("config/leaky.toml");
    in_jail(|jail| {
        jail.clear_env();
        settings::load::<T>(Some(&file))
    })
    .map(|config| serde_json::to_value(config).expect("a loaded configuration serialises"))
    .unwrap_or_else(|error| panic!("{} does not load: {error}", file.display()))
}

/// Runs `f` in a figment jail. Its lock serialises every test that touches the process
/// environment (they clear it), and the environment is restored afterwards.
#[expect(
    clippy::result_large_err,
    reason = "the closure's return type is figment's, which the jail dictates"
)]
fn in_jail<R>(f: impl FnOnce(&mut Jail) -> R) -> R {
    let mut result = None;
    Jail::expect_with(|jail| {
        result = Some(f(jail));
        Ok(())
    });
    result.expect("the jail ran its closure")
}

/// Where section `section` of a loaded configuration has its service connect.
pub fn endpoints(config: &Value, section: &str) -> Vec<Endpoint> {
    let what = |key: &str| format!("{section}.{key}");
    let string = |key: &str| {
        config[section][key]
            .as_str()
            .unwrap_or_else(|| panic!("{} is not a string in {config}", what(key)))
            .to_owned()
    };
    match section {
        "kafka" => string("brokers")
            .split(',')
            .map(|broker| Endpoint::parse(broker.trim(), &what("brokers")))
            .collect(),
        "cassandra" => config[section]["nodes"]
            .as_array()
            .unwrap_or_else(|| panic!("{} is not a list in {config}", what("nodes")))
            .iter()
            .map(|node| Endpoint::parse(node.as_str().unwrap_or_default(), &what("nodes")))
            .collect(),
        "schema_registry" | "postgres" | "redis" => {
            vec![Url::parse(&string("url"), &what("url")).endpoint]
        }
        other => panic!("support::endpoints does not know how section {other} names its server"),
    }
}

/// The parts of a URL such as `postgres://user:password@host:port/database`.
#[derive(Debug)]
pub struct Url {
    pub user: Option<String>,
    pub password: Option<String>,
    pub endpoint: Endpoint,
    /// From the first `/` after the authority, or empty.
    pub path: String,
}

impl Url {
    /// Parses `url` (a leading `jdbc:` is skipped); panics naming `what` if it cannot.
    pub fn parse(url: &str, what: &str) -> Self {
        let (_scheme, rest) = url
            .trim_start_matches("jdbc:")
            .split_once("://")
            .unwrap_or_else(|| panic!("{what}: {url:?} is not a URL"));
        let (authority, path) = rest.find('/').map_or((rest, ""), |i| rest.split_at(i));
        let (credentials, host_port) = match authority.rsplit_once('@') {
            Some((credentials, host_port)) => (Some(credentials), host_port),
            None => (None, authority),
        };
        let (user, password) = match credentials.map(|c| c.split_once(':')) {
            Some(Some((user, password))) => (Some(user.to_owned()), Some(password.to_owned())),
            Some(None) => (credentials.map(str::to_owned), None),
            None => (None, None),
        };
        Self {
            user,
            password,
            endpoint: Endpoint::parse(host_port, what),
            path: path.to_owned(),
        }
    }
}

/// The names of the binaries a `cargo build` of the whole workspace produces.
pub fn workspace_binaries() -> Vec<String> {
    let cargo = option_env!("CARGO").unwrap_or("cargo");
    let manifest = repo_root().join("Cargo.toml");
    // In a jail so that it never starts while another test has cleared the environment.
    let output = in_jail(|_| {
        Command::new(cargo)
            .args([
                "metadata",
                "--no-deps",
                "--format-version",
                "1",
                "--manifest-path",
            ])
            .arg(&manifest)
            .output()
    })
    .unwrap_or_else(|e| panic!("cannot run {cargo} metadata: {e}"));
    assert!(
        output.status.success(),
        "cargo metadata failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let metadata: Value =
        serde_json::from_slice(&output.stdout).expect("cargo metadata prints JSON");
    let targets = metadata["packages"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|package| package["targets"].as_array().into_iter().flatten());
    targets
        .filter(|target| {
            target["kind"]
                .as_array()
                .is_some_and(|kinds| kinds.iter().any(|kind| kind == "bin"))
        })
        .filter_map(|target| target["name"].as_str().map(str::to_owned))
        .collect()
}

/// Fails with every problem found, one per line.
#[track_caller]
pub fn check(problems: Vec<String>) {
    assert!(problems.is_empty(), "\n{}\n", problems.join("\n"));
}
