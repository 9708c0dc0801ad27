//! Checks every service binary must pass: it serves its probes, names a dependency that
//! is down, and refuses to start on a bad configuration.

use serde_json::Value;

use crate::spawn::{SpawnedService, run_to_exit};

/// GETs `url` and returns the status and JSON body (or `Null` if the body is not JSON).
pub async fn get_json(url: &str) -> (u16, Value) {
    let response = reqwest::get(url)
        .await
        .unwrap_or_else(|e| panic!("GET {url}: {e}"));
    let status = response.status().as_u16();
    let body = response.json().await.unwrap_or(Value::Null);
    (status, body)
}

/// The service is live, ready against the real infrastructure with exactly
/// `dependencies` checked, and exposes Prometheus metrics.
pub async fn serves_its_probes(binary: &str, listen_key: &str, dependencies: &[&str]) {
    serves_its_probes_with(binary, listen_key, &[], dependencies).await;
}

/// [`serves_its_probes`], with `env` on top of the defaults (e.g. the auth service to
/// check credentials against); readiness may take a few seconds to come.
pub async fn serves_its_probes_with(
    binary: &str,
    listen_key: &str,
    env: &[(&str, &str)],
    dependencies: &[&str],
) {
    let service = SpawnedService::start(binary, listen_key, env).await;

    let (status, _) = get_json(&service.url("/health/live")).await;
    assert_eq!(status, 200);

    let mut ready = get_json(&service.url("/health/ready")).await;
    for _ in 0..150 {
        if ready.0 == 200 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        ready = get_json(&service.url("/health/ready")).await;
    }
    let (status, report) = ready;
    assert_eq!(
        status, 200,
        "not ready against the local infrastructure: {report}"
    );
    let checked: Vec<&str> = report["checks"]
        .as_array()
        .expect("checks is a list")
        .iter()
        .map(|c| c["name"].as_str().expect("each check has a name"))
        .collect();
    assert_eq!(checked, dependencies);

    let metrics = reqwest::get(service.url("/metrics"))
        .await
        .expect("GET /metrics");
    assert_eq!(metrics.status().as_u16(), 200);
    let content_type = metrics.headers()["content-type"]
        .to_str()
        .unwrap_or_default();
    assert!(content_type.starts_with("text/plain"), "{content_type}");
}

/// With `env` pointing one dependency at a dead address, the service still starts, is
/// live, and its readiness answers 503 naming exactly that dependency.
pub async fn names_the_dependency_that_is_down(
    binary: &str,
    listen_key: &str,
    env: &[(&str, &str)],
    dependency: &str,
) {
    names_the_dependencies_that_are_down(binary, listen_key, env, &[dependency]).await;
}

/// [`names_the_dependency_that_is_down`] when `env` takes several down at once (or one
/// that another depends on), named in the order the service checks them.
pub async fn names_the_dependencies_that_are_down(
    binary: &str,
    listen_key: &str,
    env: &[(&str, &str)],
    dependencies: &[&str],
) {
    let service = SpawnedService::start(binary, listen_key, env).await;
    let (status, _) = get_json(&service.url("/health/live")).await;
    assert_eq!(status, 200);
    let (status, report) = get_json(&service.url("/health/ready")).await;
    assert_eq!(status, 503, "{report}");
    assert_eq!(report["down"], serde_json::json!(dependencies), "{report}");
}

/// With a bad `key=value` the binary exits with status 2 and says which key is wrong.
pub async fn refuses_a_bad_setting(binary: &str, key: &str, value: &str, expected: &str) {
    let exited = run_to_exit(binary, &[(key, value)]).await;
    assert_eq!(exited.code, Some(2), "{}", exited.stderr);
    assert!(exited.stderr.contains(expected), "{}", exited.stderr);
    assert!(exited.stderr.contains(key), "{}", exited.stderr);
}
