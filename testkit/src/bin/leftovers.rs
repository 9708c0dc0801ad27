//! Removes what test and benchmark runs left in the local infrastructure: their Kafka
//! topics, registry subjects, Postgres databases, Cassandra keyspaces and Redis keys.
//!
//!   leftovers prune [--older-than-mins N] [--dry-run]   what runs made more than N
//!                                                        (default 60) minutes ago
//!   leftovers remove <name>                              one run's things, now
//!   leftovers name <prefix>                              a fresh run name
//!
//! `ops/test` prunes before testing, the benchmarks remove their own run when done: a
//! broker left with thousands of partitions takes minutes to start.

use std::collections::BTreeSet;
use std::time::Duration;

use anyhow::{Context, bail};
use chrono::Utc;
use rdkafka::ClientConfig;
use rdkafka::admin::{AdminClient, AdminOptions};
use rdkafka::client::DefaultClientContext;
use testkit::names::{self, MadeByRun, made_by_run, namespace_of};

/// Topics deleted per admin request (a request per topic would take minutes).
const DELETE_BATCH: usize = 250;

#[derive(Debug)]
enum Select {
    OlderThan(chrono::Duration),
    Exactly(String),
}

impl Select {
    fn wants(&self, name: &str) -> bool {
        match self {
            Self::Exactly(run) => name == run || name == run.replace('-', "_"),
            Self::OlderThan(age) => match made_by_run(name) {
                Some(MadeByRun::Earlier) => true,
                Some(MadeByRun::At(at)) => Utc::now() - at > *age,
                None => false,
            },
        }
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let (select, dry_run) = match args.as_slice() {
        ["name", prefix] => {
            println!("{}", names::unique(prefix));
            return Ok(());
        }
        ["remove", run] => (Select::Exactly((*run).to_owned()), false),
        ["prune", flags @ ..] => parse_prune(flags)?,
        _ => bail!(
            "usage: leftovers prune [--older-than-mins N] [--dry-run] | remove <name> | name <prefix>"
        ),
    };
    let infra = testkit::infra();
    let verb = if dry_run { "would remove" } else { "removed" };
    // Each store on its own: one being down must not keep the others full.
    let mut failed = false;
    for (store, outcome) in [
        ("kafka topics", kafka_topics(&infra, &select, dry_run).await),
        (
            "registry subjects",
            subjects(&infra, &select, dry_run).await,
        ),
        (
            "postgres databases",
            databases(&infra, &select, dry_run).await,
        ),
        (
            "cassandra keyspaces",
            keyspaces(&infra, &select, dry_run).await,
        ),
        ("redis keys", redis_keys(&infra, &select, dry_run).await),
    ] {
        match outcome {
            Ok(count) => println!("leftovers: {verb} {count} {store}"),
            Err(error) => {
                failed = true;
                eprintln!("leftovers: {store}: {error:#}");
            }
        }
    }
    if failed {
        bail!("some stores could not be cleaned");
    }
    Ok(())
}

fn parse_prune(flags: &[&str]) -> anyhow::Result<(Select, bool)> {
    let mut minutes = 60;
    let mut dry_run = false;
    let mut flags = flags.iter();
    while let Some(flag) = flags.next() {
        match *flag {
            "--dry-run" => dry_run = true,
            "--older-than-mins" => {
                let value = flags.next().context("--older-than-mins needs a number")?;
                minutes = value
                    .parse()
                    .with_context(|| format!("--older-than-mins {value}: not a number"))?;
            }
            other => bail!("unknown flag {other}"),
        }
    }
    Ok((
        Select::OlderThan(chrono::Duration::minutes(minutes)),
        dry_run,
    ))
}

async fn kafka_topics(
    infra: &testkit::Infra,
    select: &Select,
    dry_run: bool,
) -> anyhow::Result<usize> {
    let admin: AdminClient<DefaultClientContext> = ClientConfig::new()
        .set("bootstrap.servers", infra.kafka.brokers.as_str())
        .create()?;
    let metadata = admin
        .inner()
        .fetch_metadata(None, Duration::from_secs(30))
        .context("listing topics")?;
    let topics: Vec<String> = metadata
        .topics()
        .iter()
        .map(|topic| topic.name().to_owned())
        .filter(|name| select.wants(namespace_of(name)))
        .collect();
    if !dry_run {
        let options = AdminOptions::new().operation_timeout(Some(Duration::from_secs(60)));
        for batch in topics.chunks(DELETE_BATCH) {
            let names: Vec<&str> = batch.iter().map(String::as_str).collect();
            for result in admin.delete_topics(&names, &options).await? {
                if let Err((topic, code)) = result {
                    eprintln!("leftovers: deleting topic {topic}: {code}");
                }
            }
        }
    }
    Ok(topics.len())
}

async fn subjects(infra: &testkit::Infra, select: &Select, dry_run: bool) -> anyhow::Result<usize> {
    let http = reqwest::Client::new();
    let base = infra.registry.url.as_str();
    let mut removed = 0;
    // The registry lists at most ~1,000 subjects: list again until nothing is left to remove.
    loop {
        let all: Vec<String> = http
            .get(format!("{base}/subjects"))
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?;
        let doomed: Vec<&String> = all
            .iter()
            .filter(|subject| select.wants(namespace_of(subject_topic(subject))))
            .collect();
        if dry_run || doomed.is_empty() {
            return Ok(removed + doomed.len());
        }
        for subject in &doomed {
            // Confluent semantics: a soft delete first, then the permanent one.
            for query in ["", "?permanent=true"] {
                http.delete(format!("{base}/subjects/{subject}{query}"))
                    .send()
                    .await?
                    .error_for_status()
                    .with_context(|| format!("deleting subject {subject}"))?;
            }
        }
        removed += doomed.len();
    }
}

/// The topic (or plain name) a `<topic>-value` / `<topic>-key` subject is about.
fn subject_topic(subject: &str) -> &str {
    subject
        .strip_suffix("-value")
        .or_else(|| subject.strip_suffix("-key"))
        .unwrap_or(subject)
}

async fn databases(
    infra: &testkit::Infra,
    select: &Select,
    dry_run: bool,
) -> anyhow::Result<usize> {
    use sqlx::ConnectOptions;
    // The server's maintenance database: the configured one may be a run's own (a benchmark
    // points LEAKY_POSTGRES__URL at it), and an open database cannot be dropped.
    let options: sqlx::postgres::PgConnectOptions = infra.postgres.url.parse()?;
    let mut admin = options.database("postgres").connect().await?;
    let all: Vec<String> = sqlx::query_scalar("SELECT datname FROM pg_database")
        .fetch_all(&mut admin)
        .await?;
    let doomed: Vec<&String> = all.iter().filter(|name| select.wants(name)).collect();
    if !dry_run {
        for name in &doomed {
            // WITH (FORCE): a killed test's services may still hold connections.
            sqlx::query(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
                .execute(&mut admin)
                .await
                .with_context(|| format!("dropping database {name}"))?;
        }
    }
    Ok(doomed.len())
}

async fn keyspaces(
    infra: &testkit::Infra,
    select: &Select,
    dry_run: bool,
) -> anyhow::Result<usize> {
    let session = scylla::client::session_builder::SessionBuilder::new()
        .known_nodes(&infra.cassandra.nodes)
        .build()
        .await?;
    let rows = session
        .query_unpaged("SELECT keyspace_name FROM system_schema.keyspaces", &[])
        .await?
        .into_rows_result()?;
    let mut doomed = BTreeSet::new();
    for row in rows.rows::<(String,)>()? {
        let (name,) = row?;
        if select.wants(&name) {
            doomed.insert(name);
        }
    }
    if !dry_run {
        for name in &doomed {
            session
                .query_unpaged(format!("DROP KEYSPACE IF EXISTS \"{name}\""), &[])
                .await
                .with_context(|| format!("dropping keyspace {name}"))?;
        }
    }
    Ok(doomed.len())
}

async fn redis_keys(
    infra: &testkit::Infra,
    select: &Select,
    dry_run: bool,
) -> anyhow::Result<usize> {
    use redis::AsyncCommands;
    let client = redis::Client::open(infra.redis.url.as_str())?;
    let mut connection = client.get_multiplexed_async_connection().await?;
    let mut doomed = Vec::new();
    {
        let mut keys = connection.scan::<String>().await?;
        while let Some(key) = futures::StreamExt::next(&mut keys).await {
            if select.wants(namespace_of(&key)) {
                doomed.push(key);
            }
        }
    }
    if !dry_run {
        for batch in doomed.chunks(DELETE_BATCH) {
            let _: usize = connection.del(batch).await?;
        }
    }
    Ok(doomed.len())
}
