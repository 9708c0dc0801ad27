use axum::body::Body;
use axum::http::{Request, StatusCode};
use futures::FutureExt;
use futures::future::BoxFuture;
use http_body_util::BodyExt;
use tower::ServiceExt;

use super::*;

struct Fixed {
    name: &'static str,
    outcome: Result<(), &'static str>,
}

impl DependencyCheck for Fixed {
    fn name(&self) -> &str {
        self.name
    }
    fn check(&self) -> BoxFuture<'_, Result<(), String>> {
        let outcome = self.outcome.map_err(str::to_owned);
        async move { outcome }.boxed()
    }
}

struct Hangs;

impl DependencyCheck for Hangs {
    fn name(&self) -> &str {
        "hangs"
    }
    fn check(&self) -> BoxFuture<'_, Result<(), String>> {
        std::future::pending().boxed()
    }
}

async fn get(router: Router, path: &str) -> (StatusCode, String) {
    let request = Request::get(path).body(Body::empty()).unwrap();
    let response = router.oneshot(request).await.unwrap();
    let status = response.status();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    (status, String::from_utf8(body.to_vec()).unwrap())
}

fn up(name: &'static str) -> Fixed {
    Fixed {
        name,
        outcome: Ok(()),
    }
}

#[tokio::test]
async fn live_answers_without_checking_dependencies() {
    let readiness = Readiness::new().with(Hangs);
    let (status, _) = get(router(readiness, Registry::new()), "/health/live").await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn ready_when_every_dependency_answers() {
    let readiness = Readiness::new().with(up("kafka")).with(up("postgres"));
    let (status, body) = get(router(readiness, Registry::new()), "/health/ready").await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.contains(r#""status":"ready""#), "{body}");
}

#[tokio::test]
async fn unready_names_the_dependency_that_is_down_and_why() {
    let down = Fixed {
        name: "cassandra",
        outcome: Err("connection refused"),
    };
    let readiness = Readiness::new().with(up("kafka")).with(down);
    let (status, body) = get(router(readiness, Registry::new()), "/health/ready").await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    let report: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(report["down"], serde_json::json!(["cassandra"]));
    assert_eq!(report["checks"][1]["error"], "connection refused");
}

#[tokio::test]
async fn a_dependency_that_hangs_is_down_after_the_timeout() {
    let readiness = Readiness::new()
        .with(Hangs)
        .with_timeout(std::time::Duration::from_millis(50));
    let report = readiness.check().await;
    assert_eq!(report.down, ["hangs"]);
    assert!(
        report.checks[0]
            .error
            .as_deref()
            .unwrap()
            .contains("no answer")
    );
}

#[tokio::test]
async fn metrics_are_rendered_in_prometheus_text_format() {
    let registry = Registry::new();
    let counter = prometheus::IntCounter::new("requests_total", "requests").unwrap();
    registry.register(Box::new(counter.clone())).unwrap();
    counter.inc();
    let (status, body) = get(router(Readiness::new(), registry), "/metrics").await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.contains("requests_total 1"), "{body}");
}
