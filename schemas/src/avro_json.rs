//! The `leaky-avro-json` command: kcat output in, one JSON object per record out.
//!
//! ```text
//! kcat -C -b 127.0.0.1:9092 -t token-pool.events -e -f '%R%s' | leaky-avro-json
//! kcat -C -b 127.0.0.1:9092 -t token-pool.events -e -f '%p %o %K %k%R%s' \
//!   | leaky-avro-json --format '%p %o %K %k%R%s'
//! ```
//!
//! Each output line has `schema_id` and `value` (see [`crate::json`] for the JSON shape),
//! plus whatever metadata the format printed (`topic`, `partition`, `offset`,
//! `timestamp`, `headers`, `key`). A NULL payload (tombstone) is `"value": null`; a payload that
//! does not decode is `"error"` and `"reason"`, and the command goes on with the next one.

use std::io::{BufRead, Write};

use serde_json::{Map, Value as Json, json};

use crate::json::{decode_to_json, hex};
use crate::kcat::{DEFAULT_FORMAT, Format, FormatError, KcatRecord, read_record};
use crate::registry::SchemaRegistry;

/// The environment variable the services read the registry URL from.
pub const REGISTRY_ENV: &str = "LEAKY_SCHEMA_REGISTRY__URL";

/// What `--help` prints.
pub const USAGE: &str = "\
usage: kcat -C -b <brokers> -t <topic> -e -f '%R%s' | leaky-avro-json [--registry URL] [--format FORMAT]

Decodes Confluent-framed Avro values printed by kcat into one JSON object per line.
  --registry URL   Confluent API of the schema registry
                   (default: $LEAKY_SCHEMA_REGISTRY__URL, else http://127.0.0.1:8081/apis/ccompat/v7)
  --format FORMAT  the kcat -f string used (default '%R%s'); may add %t %p %o %T %h and %K %k,
                   each text token followed by a separator, e.g. '%p %o %K %k%R%s'";

/// Why the command line is wrong.
#[derive(Debug, thiserror::Error)]
pub enum UsageError {
    /// `--help` was asked for.
    #[error("{USAGE}")]
    Help,
    /// An option without its value, or an unknown argument.
    #[error("{0}\n\n{USAGE}")]
    Arguments(String),
    /// The format cannot be read back.
    #[error(transparent)]
    Format(#[from] FormatError),
}

/// Why decoding stopped before the end of the input.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// The input does not follow the format (or could not be read); kcat output cannot be
    /// resynchronised after that, so the command stops.
    #[error("input does not follow the format after {records} records: {source}")]
    Input {
        /// Records read before.
        records: u64,
        /// What went wrong.
        #[source]
        source: std::io::Error,
    },
    /// Output could not be written (e.g. a closed pipe).
    #[error("cannot write output: {0}")]
    Output(#[source] std::io::Error),
    /// The registry client or the async runtime could not be set up.
    #[error("cannot start: {0}")]
    Setup(String),
}

/// The command's options.
#[derive(Debug, Clone)]
pub struct Options {
    /// Base URL of the registry's Confluent API.
    pub registry: String,
    /// How kcat printed each record.
    pub format: Format,
}

impl Options {
    /// Options from the arguments (without the program name) and the registry variable.
    pub fn parse(
        args: impl IntoIterator<Item = String>,
        registry_env: Option<String>,
    ) -> Result<Self, UsageError> {
        let mut registry = registry_env
            .filter(|url| !url.is_empty())
            .unwrap_or_else(|| {
                settings::RegistrySettings::default()
                    .url
                    .as_str()
                    .to_owned()
            });
        let mut format = DEFAULT_FORMAT.to_owned();
        let mut args = args.into_iter();
        while let Some(arg) = args.next() {
            let mut value = |name: &str| {
                args.next()
                    .ok_or_else(|| UsageError::Arguments(format!("{name} needs a value")))
            };
            match arg.as_str() {
                "-h" | "--help" => return Err(UsageError::Help),
                "--registry" => registry = value("--registry")?,
                "--format" => format = value("--format")?,
                other => return Err(UsageError::Arguments(format!("unknown argument {other:?}"))),
            }
        }
        Ok(Self {
            registry: registry.trim_end_matches('/').to_owned(),
            format: format.parse()?,
        })
    }
}

/// How a run went.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Summary {
    /// Records read.
    pub records: u64,
    /// Records whose payload did not decode.
    pub failed: u64,
}

/// Decodes every record of `input` to a line of `output`.
pub fn run(
    options: &Options,
    input: impl BufRead,
    output: impl Write,
) -> Result<Summary, RunError> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| RunError::Setup(e.to_string()))?;
    let registry =
        SchemaRegistry::new(&options.registry).map_err(|e| RunError::Setup(e.to_string()))?;
    let (mut input, mut output) = (input, output);
    let mut summary = Summary::default();
    loop {
        let record =
            read_record(&options.format, &mut input).map_err(|source| RunError::Input {
                records: summary.records,
                source,
            })?;
        let Some(record) = record else {
            return Ok(summary);
        };
        summary.records += 1;
        let mut line = metadata(&record);
        match &record.value {
            None => {
                line.insert("value".into(), Json::Null);
            }
            Some(payload) => match runtime.block_on(decode_to_json(&registry, payload)) {
                Ok((id, value)) => {
                    line.insert("schema_id".into(), json!(id));
                    line.insert("value".into(), value);
                }
                Err(error) => {
                    summary.failed += 1;
                    line.insert("error".into(), json!(error.to_string()));
                    line.insert("reason".into(), json!(error.reason()));
                }
            },
        }
        serde_json::to_writer(&mut output, &Json::Object(line))
            .map_err(|e| RunError::Output(e.into()))?;
        output
            .write_all(b"\n")
            .and_then(|()| output.flush())
            .map_err(RunError::Output)?;
    }
}

/// The record's metadata as JSON fields; a key that is not UTF-8 is `key_hex`.
fn metadata(record: &KcatRecord) -> Map<String, Json> {
    let mut line = Map::new();
    if let Some(topic) = &record.topic {
        line.insert("topic".into(), json!(topic));
    }
    if let Some(partition) = record.partition {
        line.insert("partition".into(), json!(partition));
    }
    if let Some(offset) = record.offset {
        line.insert("offset".into(), json!(offset));
    }
    if let Some(timestamp) = record.timestamp {
        line.insert("timestamp".into(), json!(timestamp));
    }
    if let Some(headers) = &record.headers {
        let headers: Map<String, Json> = headers
            .iter()
            .map(|(name, value)| (name.clone(), json!(value)))
            .collect();
        line.insert("headers".into(), Json::Object(headers));
    }
    match &record.key {
        None => {}
        Some(None) => {
            line.insert("key".into(), Json::Null);
        }
        Some(Some(key)) => match std::str::from_utf8(key) {
            Ok(key) => {
                line.insert("key".into(), json!(key));
            }
            Err(_) => {
                line.insert("key_hex".into(), json!(hex(key)));
            }
        },
    }
    line
}
