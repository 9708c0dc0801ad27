//! Names of what test and benchmark runs create (topic prefixes, databases, keyspaces,
//! Redis key prefixes), and how to tell them from the system's own afterwards.
//!
//! A run's name says when it was made — `<prefix>-<UTC yyyymmddHHMMSS>-<8 hex>` — so the
//! janitor (`leftovers prune`) can remove what earlier runs left without touching a run
//! still going. Left alone, a shared broker collects thousands of partitions and takes
//! minutes to start.

use chrono::{DateTime, NaiveDateTime, Utc};

const STAMP: &str = "%Y%m%d%H%M%S";

/// A name no other run will use: `<prefix>-<UTC time>-<random>`, lowercase so it is also a
/// valid Kafka topic, Postgres database and (with `_`) Cassandra keyspace name.
pub fn unique(prefix: &str) -> String {
    unique_at(prefix, Utc::now())
}

fn unique_at(prefix: &str, at: DateTime<Utc>) -> String {
    let random = uuid::Uuid::new_v4().simple().to_string();
    format!("{prefix}-{}-{}", at.format(STAMP), &random[..8])
}

/// Like [`unique`], with `_` separators, for identifiers that cannot contain `-`.
pub fn unique_identifier(prefix: &str) -> String {
    unique(prefix).replace('-', "_")
}

/// When a run made `name`, if a run made it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MadeByRun {
    At(DateTime<Utc>),
    /// Named before names carried their time (a 12-hex suffix, or a benchmark's
    /// `bench<unix seconds>`): from an earlier version, so older than any run going now.
    Earlier,
}

/// Whether `name` (a whole database or keyspace name, or the namespace part of a topic,
/// subject or Redis key, see [`namespace_of`]) was made by a test or benchmark run.
pub fn made_by_run(name: &str) -> Option<MadeByRun> {
    let parts: Vec<&str> = name.split(['-', '_']).collect();
    let [prefix @ .., stamp, random] = parts.as_slice() else {
        return earlier_naming(name);
    };
    let stamped = !prefix.is_empty()
        && prefix.iter().all(|word| is_word(word))
        && random.len() == 8
        && random
            .bytes()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase());
    match NaiveDateTime::parse_from_str(stamp, STAMP) {
        Ok(at) if stamped && stamp.len() == 14 => Some(MadeByRun::At(at.and_utc())),
        _ => earlier_naming(name),
    }
}

/// `proc-0a1b2c3d4e5f`, `view_0a1b2c3d4e5f`, `bench1795448799123`, `benchviews1795…`,
/// `prof1795448799`, `bench20261123171800`.
fn earlier_naming(name: &str) -> Option<MadeByRun> {
    if let Some((prefix, random)) = name.rsplit_once(['-', '_']) {
        let hex12 = random.len() == 12
            && random
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
        if hex12 && prefix.split(['-', '_']).all(is_word) {
            return Some(MadeByRun::Earlier);
        }
    }
    ["benchviews", "benchgw", "bench", "prof"]
        .iter()
        .find_map(|p| name.strip_prefix(p))
        .filter(|digits| digits.len() >= 10 && digits.bytes().all(|b| b.is_ascii_digit()))
        .map(|_| MadeByRun::Earlier)
}

fn is_word(word: &str) -> bool {
    !word.is_empty() && word.bytes().all(|b| b.is_ascii_lowercase())
}

/// The run namespace of a topic, registry subject or Redis key: what comes before the
/// first `.` (runs prefix everything with `<name>.`; the system's own names have no prefix,
/// so their first part — `token-pool`, `leaky:bucket:…` — is never a run's name).
pub fn namespace_of(name: &str) -> &str {
    name.split_once('.')
        .map_or(name, |(namespace, _)| namespace)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(y: i32, mo: u32, d: u32, h: u32, mi: u32, s: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, mo, d, h, mi, s).unwrap()
    }

    #[test]
    fn a_unique_name_says_when_it_was_made() {
        let made = at(2026, 11, 23, 17, 18, 19);
        let name = unique_at("stack", made);
        assert!(name.starts_with("stack-20261123171819-"), "{name}");
        assert_eq!(made_by_run(&name), Some(MadeByRun::At(made)));
        let identifier = name.replace('-', "_");
        assert_eq!(made_by_run(&identifier), Some(MadeByRun::At(made)));
    }

    #[test]
    fn prefixes_may_have_several_words() {
        let made = at(2026, 1, 2, 3, 4, 5);
        let name = unique_at("purchase-codec", made);
        assert_eq!(made_by_run(&name), Some(MadeByRun::At(made)));
    }

    #[test]
    fn two_unique_names_differ() {
        assert_ne!(unique("x"), unique("x"));
    }

    #[test]
    fn names_of_earlier_runs_are_recognised_as_earlier() {
        for name in [
            "proc-0a1b2c3d4e5f",
            "smoke-grants-00f9eca7d8f2",
            "view_c3674e1da0b1",
            "bench17954532018506",
            "benchviews179545100931816",
            "benchgw179544845523259",
            "prof1795448799",
            "bench20261123171800",
        ] {
            assert_eq!(made_by_run(name), Some(MadeByRun::Earlier), "{name}");
        }
    }

    #[test]
    fn the_systems_own_names_are_never_a_runs() {
        for name in [
            "leaky",
            "postgres",
            "apicurio",
            "template1",
            "token-pool",
            "purchase",
            "replies",
            "leaky:bucket:user:ann:openai",
            "__consumer_offsets",
            "bench",
            "benchmarks-2026",
            "stack-20261399999999-0a1b2c3d",
            "stack-20261123171819-0A1B2C3D",
            "Stack-0a1b2c3d4e5f",
        ] {
            assert_eq!(made_by_run(namespace_of(name)), None, "{name}");
        }
    }

    #[test]
    fn a_namespace_is_what_comes_before_the_first_dot() {
        assert_eq!(
            namespace_of("stack-20261123171819-0a1b2c3d.token-pool.events"),
            "stack-20261123171819-0a1b2c3d"
        );
        assert_eq!(namespace_of("token-pool"), "token-pool");
    }
}
