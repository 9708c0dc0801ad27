//! Request parameters parsed into values that cannot be wrong: every bad one becomes a
//! 400 problem naming it, before anything is read.

use std::time::Duration;

use axum::extract::Query;
use axum::extract::rejection::QueryRejection;
use axum::http::HeaderMap;
use domain::{Owner, PoolId};
use schemas::ConsistencyToken;

use crate::problem::Problem;

/// How a read relates to the writes its caller made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReadOptions {
    /// The view must have passed this event before answering (read-your-writes).
    pub after: Option<ConsistencyToken>,
    /// How long to wait for that.
    pub wait: Duration,
}

/// Bounds of the wait, from the configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WaitBounds {
    /// Used when the request names none.
    pub default: Duration,
    /// The longest a request may ask for.
    pub max: Duration,
}

/// The read options of a request: its query string and `Consistency-Token` header.
pub fn request_options(
    query: Result<Query<Vec<(String, String)>>, QueryRejection>,
    headers: &HeaderMap,
    bounds: WaitBounds,
) -> Result<ReadOptions, Problem> {
    let Query(query) =
        query.map_err(|rejection| Problem::invalid_parameter("query", rejection.body_text()))?;
    let header =
        match headers.get("consistency-token") {
            Some(value) => Some(value.to_str().map_err(|_| {
                Problem::invalid_parameter("Consistency-Token", "not visible ASCII")
            })?),
            None => None,
        };
    read_options(&query, header, bounds)
}

/// The query parameters every view read accepts: `consistency_token` (or the
/// `Consistency-Token` header) and `wait_ms`; anything else is refused.
pub fn read_options(
    query: &[(String, String)],
    header_token: Option<&str>,
    bounds: WaitBounds,
) -> Result<ReadOptions, Problem> {
    let mut after = None;
    let mut wait = bounds.default;
    if let Some(token) = header_token {
        after = Some(parse_token("Consistency-Token", token)?);
    }
    for (name, value) in query {
        match name.as_str() {
            "consistency_token" => after = Some(parse_token(name, value)?),
            "wait_ms" => {
                let ms: u64 = value.parse().map_err(|_| {
                    Problem::invalid_parameter(
                        name,
                        format!("not a number of milliseconds: {value:?}"),
                    )
                })?;
                if ms > bounds.max.as_millis() as u64 {
                    return Err(Problem::invalid_parameter(
                        name,
                        format!("at most {} ms, got {ms}", bounds.max.as_millis()),
                    ));
                }
                wait = Duration::from_millis(ms);
            }
            other => {
                return Err(Problem::invalid_parameter(
                    other,
                    "unknown parameter (accepted: consistency_token, wait_ms)",
                ));
            }
        }
    }
    Ok(ReadOptions { after, wait })
}

fn parse_token(name: &str, value: &str) -> Result<ConsistencyToken, Problem> {
    value
        .parse()
        .map_err(|error| Problem::invalid_parameter(name, error))
}

/// The pool named by the path `/{kind}/{id}/{provider}` (`kind` is `user` or `org`).
pub fn pool_id(kind: &str, id: &str, provider: &str) -> Result<PoolId, Problem> {
    let owner = owner(kind, id)?;
    let provider = provider
        .parse()
        .map_err(|error| Problem::invalid_parameter("provider", error))?;
    Ok(PoolId::new(owner, provider))
}

/// The owner named by a path's `kind` (`user` or `org`) and `id`.
pub fn owner(kind: &str, id: &str) -> Result<Owner, Problem> {
    if kind != "user" && kind != "org" {
        return Err(Problem::invalid_parameter(
            "kind",
            format!("must be 'user' or 'org', got {kind:?}"),
        ));
    }
    format!("{kind}:{id}")
        .parse()
        .map_err(|error| Problem::invalid_parameter("id", error))
}

#[cfg(test)]
mod tests {
    use super::*;

    const BOUNDS: WaitBounds = WaitBounds {
        default: Duration::from_secs(2),
        max: Duration::from_secs(10),
    };

    fn query(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn a_token_and_a_wait_are_taken_from_the_query() {
        let options = read_options(
            &query(&[("consistency_token", "3:17"), ("wait_ms", "500")]),
            None,
            BOUNDS,
        )
        .unwrap();
        assert_eq!(options.after, Some("3:17".parse().unwrap()));
        assert_eq!(options.wait, Duration::from_millis(500));
    }

    #[test]
    fn the_header_token_is_used_and_the_default_wait_applies() {
        let options = read_options(&[], Some("0:4"), BOUNDS).unwrap();
        assert_eq!(options.after, Some("0:4".parse().unwrap()));
        assert_eq!(options.wait, BOUNDS.default);
    }

    #[test]
    fn bad_tokens_waits_and_unknown_parameters_are_refused() {
        for bad in [
            query(&[("consistency_token", "3")]),
            query(&[("consistency_token", "-1:4")]),
            query(&[("wait_ms", "soon")]),
            query(&[("wait_ms", "10001")]),
            query(&[("consistency", "1:1")]),
        ] {
            assert!(read_options(&bad, None, BOUNDS).is_err(), "{bad:?}");
        }
        assert!(read_options(&[], Some("x:y"), BOUNDS).is_err());
    }

    #[test]
    fn pools_are_named_by_kind_id_and_provider() {
        assert_eq!(
            pool_id("org", "acme", "openai").unwrap().to_string(),
            "org:acme/openai"
        );
        assert!(pool_id("team", "acme", "openai").is_err());
        assert!(pool_id("user", "", "openai").is_err());
        assert!(pool_id("user", "alice", "Open AI").is_err());
    }
}
