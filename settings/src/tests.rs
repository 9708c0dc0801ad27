// figment::Jail fixes the closures' error type to figment::Error, which is large.
#![allow(clippy::result_large_err)]

use std::net::SocketAddr;

use figment::Jail;
use serde::{Deserialize, Serialize};

use super::*;

/// The shape of a real service's configuration: its own section plus shared ones.
#[derive(Debug, Default, Serialize, Deserialize)]
struct ExampleService {
    example: Example,
    kafka: KafkaSettings,
    cassandra: CassandraSettings,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Example {
    #[serde(flatten)]
    http: HttpSettings,
}

impl Default for Example {
    fn default() -> Self {
        Self {
            http: HttpSettings::loopback(8080),
        }
    }
}

fn load_in(jail: &Jail, file: Option<&str>) -> Result<ExampleService, SettingsError> {
    let path = file.map(|_| jail.directory().join("leaky.toml"));
    load(path.as_deref())
}

#[test]
fn defaults_point_at_local_infrastructure() {
    Jail::expect_with(|jail| {
        let config = load_in(jail, None).map_err(|e| e.to_string())?;
        assert_eq!(config.kafka.brokers.as_str(), "127.0.0.1:9092");
        assert_eq!(
            config.example.http.listen,
            "127.0.0.1:8080".parse::<SocketAddr>().unwrap()
        );
        Ok(())
    });
}

#[test]
fn file_overrides_defaults_and_environment_overrides_file() {
    Jail::expect_with(|jail| {
        jail.create_file(
            "leaky.toml",
            "[kafka]\nbrokers = \"k1:9092, k2:9092\"\n[example]\nlisten = \"127.0.0.1:9000\"\n",
        )?;
        jail.set_env("LEAKY_EXAMPLE__LISTEN", "127.0.0.1:0");
        let config = load_in(jail, Some("leaky.toml")).map_err(|e| e.to_string())?;
        assert_eq!(config.kafka.brokers.as_str(), "k1:9092,k2:9092");
        assert_eq!(config.example.http.listen.port(), 0);
        Ok(())
    });
}

#[test]
fn a_bad_value_names_the_key_and_its_source() {
    Jail::expect_with(|jail| {
        jail.set_env("LEAKY_KAFKA__BROKERS", "localhost");
        let error = load_in(jail, None).unwrap_err().to_string();
        assert!(error.contains("kafka.brokers"), "{error}");
        assert!(error.contains("LEAKY_KAFKA__BROKERS"), "{error}");
        assert!(error.contains("not host:port"), "{error}");
        Ok(())
    });
}

#[test]
fn a_misspelt_key_is_refused() {
    Jail::expect_with(|jail| {
        jail.create_file("leaky.toml", "[example]\nlisen = \"127.0.0.1:1\"\n")?;
        let error = load_in(jail, Some("leaky.toml")).unwrap_err().to_string();
        assert!(error.contains("lisen"), "{error}");
        Ok(())
    });
}

#[test]
fn a_missing_file_is_reported_by_path() {
    Jail::expect_with(|jail| {
        let error = load_in(jail, Some("nope")).unwrap_err().to_string();
        assert!(error.contains("leaky.toml"), "{error}");
        assert!(error.contains("does not exist"), "{error}");
        Ok(())
    });
}

#[test]
fn a_bad_keyspace_is_refused() {
    Jail::expect_with(|jail| {
        jail.set_env("LEAKY_CASSANDRA__KEYSPACE", "Drop Table");
        let error = load_in(jail, None).unwrap_err().to_string();
        assert!(error.contains("cassandra.keyspace"), "{error}");
        Ok(())
    });
}

#[test]
fn broker_lists_are_normalised_and_checked() {
    assert_eq!(
        "a:1 , b:2".parse::<BrokerList>().unwrap().as_str(),
        "a:1,b:2"
    );
    assert!("a:1,".parse::<BrokerList>().is_err());
    assert!("a:0".parse::<BrokerList>().is_err());
    assert!("a:x".parse::<BrokerList>().is_err());
}
