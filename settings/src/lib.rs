//! Service configuration: one TOML file plus `LEAKY_*` environment overrides.
//!
//! Every service describes what it needs as a `Deserialize` struct built from the shared
//! sections in [`sections`]. Values are parsed into types that cannot hold bad values, so
//! a bad setting stops the service at start with a message naming the key and where the
//! value came from (file or environment variable).
#![forbid(unsafe_code)]

pub mod sections;

use std::path::{Path, PathBuf};

use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use serde::Serialize;
use serde::de::DeserializeOwned;

pub use sections::{
    BrokerList, CassandraSettings, HttpSettings, HttpUrl, KafkaSettings, PostgresSettings,
    RedisSettings, RegistrySettings,
};

/// Prefix of environment variables that override the file; `__` separates nested keys,
/// so `LEAKY_COMMAND_API__LISTEN=127.0.0.1:0` sets `command_api.listen`.
pub const ENV_PREFIX: &str = "LEAKY_";

/// Environment variable naming the configuration file when no path is given.
pub const CONFIG_FILE_ENV: &str = "LEAKY_CONFIG";

/// Why the configuration could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    #[error("configuration file {0} does not exist")]
    MissingFile(PathBuf),
    #[error("invalid configuration: {0}")]
    Invalid(String),
}

/// Loads `T` from its defaults, then the file (`path`, else `$LEAKY_CONFIG`, else none),
/// then `LEAKY_*` environment variables, later sources winning.
pub fn load<T>(path: Option<&Path>) -> Result<T, SettingsError>
where
    T: DeserializeOwned + Serialize + Default,
{
    let file = path
        .map(Path::to_path_buf)
        .or_else(|| std::env::var_os(CONFIG_FILE_ENV).map(PathBuf::from));
    load_from(file.as_deref(), Env::prefixed(ENV_PREFIX))
}

fn load_from<T>(file: Option<&Path>, env: Env) -> Result<T, SettingsError>
where
    T: DeserializeOwned + Serialize + Default,
{
    let mut figment = Figment::from(Serialized::defaults(T::default()));
    if let Some(file) = file {
        if !file.exists() {
            return Err(SettingsError::MissingFile(file.to_path_buf()));
        }
        figment = figment.merge(Toml::file_exact(file));
    }
    // LEAKY_CONFIG and LEAKY_LOG are about how to load, not settings themselves.
    let env = env.ignore(&["CONFIG", "LOG"]).split("__");
    figment
        .merge(env)
        .extract()
        .map_err(|error| SettingsError::Invalid(describe(error)))
}

/// One line per problem, each naming the key and where its value came from, in the
/// words an operator would use to fix it (the file path, or the variable to set).
fn describe(error: figment::Error) -> String {
    error
        .into_iter()
        .map(|e| {
            let key = e.path.join(".").to_lowercase();
            let source = match &e.metadata {
                Some(m) if m.name.contains("environment variable") => format!(
                    "environment variable {ENV_PREFIX}{}",
                    e.path.join("__").to_uppercase()
                ),
                Some(m) => match &m.source {
                    Some(source) => source.to_string(),
                    None => m.name.to_string(),
                },
                None => "defaults".to_owned(),
            };
            if key.is_empty() {
                format!("{} (from {source})", e.kind)
            } else {
                format!("{key} (from {source}): {}", e.kind)
            }
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// Loads the configuration of `service` from `--config <path>` (or `$LEAKY_CONFIG`) and
/// the environment; on a bad configuration prints why and exits with status 2.
///
/// For `main` functions only: a service that cannot read its configuration must not start.
pub fn load_or_exit<T>(service: &str) -> T
where
    T: DeserializeOwned + Serialize + Default,
{
    let args: Vec<String> = std::env::args().collect();
    let path = args
        .iter()
        .position(|a| a == "--config")
        .map(|i| args.get(i + 1).map(PathBuf::from));
    let loaded = match path {
        Some(None) => Err(SettingsError::Invalid("--config needs a file path".into())),
        Some(Some(path)) => load(Some(&path)),
        None => load(None),
    };
    loaded.unwrap_or_else(|error| {
        eprintln!("{service}: {error}");
        std::process::exit(2)
    })
}

#[cfg(test)]
mod tests;
