//! The parts of `compose/docker-compose.yml` the specifications read.

use std::collections::BTreeMap;
use std::fmt;

use serde::Deserialize;
use serde_yaml::Value;

use super::compose_dir;

/// The compose file, parsed.
#[derive(Debug, Deserialize)]
pub struct ComposeFile {
    pub services: BTreeMap<String, Service>,
}

impl ComposeFile {
    /// Reads and parses `compose/docker-compose.yml`, panicking with the reason if it cannot.
    pub fn load() -> Self {
        let path = compose_dir().join("docker-compose.yml");
        let text = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
        let mut file: ComposeFile = serde_yaml::from_str(&text).unwrap_or_else(|e| {
            panic!(
                "{} is not a compose file these checks can read \
                 (they expect map-form `environment` and `depends_on`, short-form `ports`): {e}",
                path.display()
            )
        });
        for (name, service) in &mut file.services {
            service.name = name.clone();
        }
        file
    }

    /// The service called `name`; panics naming the services there are if it is missing.
    pub fn service(&self, name: &str) -> &Service {
        self.services.get(name).unwrap_or_else(|| {
            panic!(
                "the compose file has no service {name:?}; it has {:?}",
                self.services.keys().collect::<Vec<_>>()
            )
        })
    }
}

/// One service of the compose file.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct Service {
    #[serde(skip)]
    pub name: String,
    pub image: Option<String>,
    pub build: Option<Build>,
    pub command: Option<Value>,
    environment: BTreeMap<String, Value>,
    ports: Vec<String>,
    expose: Vec<Value>,
    pub volumes: Vec<String>,
    pub depends_on: BTreeMap<String, Dependency>,
    healthcheck: Option<Healthcheck>,
    pub restart: Option<String>,
}

/// How a service's image is built.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct Build {
    pub context: String,
    pub dockerfile: String,
    pub args: BTreeMap<String, String>,
}

/// What a service waits for before it starts.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct Dependency {
    pub condition: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Healthcheck {
    test: Value,
}

/// A `host:port` pair, as a client is configured to reach a server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    pub host: String,
    pub port: u16,
}

impl Endpoint {
    /// Parses `host:port`; panics naming `what` if it is not that.
    pub fn parse(authority: &str, what: &str) -> Self {
        let (host, port) = authority
            .rsplit_once(':')
            .unwrap_or_else(|| panic!("{what}: {authority:?} does not name a port"));
        let port = port
            .parse()
            .unwrap_or_else(|_| panic!("{what}: {authority:?} has no numeric port"));
        Self {
            host: host.to_owned(),
            port,
        }
    }
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.host, self.port)
    }
}

impl Service {
    /// Runs once and exits (`restart: "no"`), like the registry's rule job.
    pub fn is_one_shot(&self) -> bool {
        self.restart.as_deref() == Some("no")
    }

    /// The environment as the container sees it: every value a string.
    pub fn environment(&self) -> Vec<(String, String)> {
        self.environment
            .iter()
            .map(|(key, value)| (key.clone(), self.scalar(key, value)))
            .collect()
    }

    /// The value of environment variable `key`; panics if the service does not set it.
    pub fn env(&self, key: &str) -> String {
        let value = self
            .environment
            .get(key)
            .unwrap_or_else(|| panic!("service {}: environment has no {key}", self.name));
        self.scalar(key, value)
    }

    fn scalar(&self, key: &str, value: &Value) -> String {
        match value {
            Value::String(s) => s.clone(),
            Value::Number(n) => n.to_string(),
            Value::Bool(b) => b.to_string(),
            other => panic!(
                "service {}: environment variable {key} is {other:?}; compose only takes \
                 strings, numbers and booleans (quote values such as \"[cassandra:9042]\")",
                self.name
            ),
        }
    }

    /// `(host port, container port)` of every `ports:` entry (`[ip:]host:container`).
    pub fn published_ports(&self) -> Vec<(u16, u16)> {
        self.ports
            .iter()
            .map(|entry| {
                let spec = entry.split('/').next().unwrap_or(entry);
                let parts: Vec<&str> = spec.split(':').collect();
                let port = |s: &str| -> u16 {
                    s.parse().unwrap_or_else(|_| {
                        panic!(
                            "service {}: port mapping {entry:?} is not [ip:]host:container",
                            self.name
                        )
                    })
                };
                match parts.as_slice() {
                    [.., host, container] => (port(host), port(container)),
                    _ => panic!(
                        "service {}: port mapping {entry:?} does not publish on a fixed host port",
                        self.name
                    ),
                }
            })
            .collect()
    }

    /// Ports the container serves on, as the file declares them (`expose`, and the
    /// container side of `ports`).
    pub fn container_ports(&self) -> Vec<u16> {
        let exposed = self.expose.iter().map(|port| match port {
            Value::Number(n) => n.as_u64().and_then(|n| u16::try_from(n).ok()),
            Value::String(s) => s.parse().ok(),
            _ => None,
        });
        let exposed: Vec<u16> = exposed
            .map(|p| p.unwrap_or_else(|| panic!("service {}: bad `expose` entry", self.name)))
            .collect();
        let published = self.published_ports().into_iter().map(|(_, c)| c);
        exposed.into_iter().chain(published).collect()
    }

    /// The healthcheck command as a list of words, if the service has one.
    pub fn healthcheck(&self) -> Option<Vec<String>> {
        let test = &self.healthcheck.as_ref()?.test;
        let words = match test {
            Value::String(shell) => vec!["CMD-SHELL".to_owned(), shell.clone()],
            Value::Sequence(words) => words
                .iter()
                .map(|w| w.as_str().map(str::to_owned))
                .collect::<Option<_>>()
                .unwrap_or_else(|| {
                    panic!("service {}: healthcheck words must be strings", self.name)
                }),
            other => panic!("service {}: healthcheck test is {other:?}", self.name),
        };
        Some(words)
    }

    /// The words of `command`, however it is written.
    pub fn command(&self) -> Vec<String> {
        match &self.command {
            None => Vec::new(),
            Some(Value::String(s)) => s.split_whitespace().map(str::to_owned).collect(),
            Some(Value::Sequence(words)) => words
                .iter()
                .map(|w| match w {
                    Value::String(s) => s.clone(),
                    Value::Number(n) => n.to_string(),
                    other => panic!("service {}: command word {other:?}", self.name),
                })
                .collect(),
            Some(other) => panic!("service {}: command is {other:?}", self.name),
        }
    }
}
