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

/// One raw HTTP/1.1 GET against a served `HttpService`; the response head, lower-cased.
async fn head_of_served(router: Router, path: &str) -> String {
    head_of_served_with(router, path, "").await
}

/// Like [`head_of_served`], with `headers` (`name: value\r\n` lines) added to the request.
async fn head_of_served_with(router: Router, path: &str, headers: &str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let service = HttpService::bind("127.0.0.1:0".parse().unwrap(), router)
        .await
        .unwrap();
    let addr = service.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let served = tokio::spawn(service.run_until(async move {
        let _ = stopped.await;
    }));
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let request =
        format!("GET {path} HTTP/1.1\r\nhost: test\r\nconnection: close\r\n{headers}\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).await.unwrap();
    let _ = stop.send(());
    served.await.unwrap().unwrap();
    let head = answer.split("\r\n\r\n").next().unwrap_or_default();
    head.to_ascii_lowercase()
}

#[tokio::test]
async fn every_served_answer_carries_the_security_headers_even_a_404() {
    let router = router(Readiness::new(), Registry::new());
    for path in ["/health/live", "/no-such-route"] {
        let head = head_of_served(router.clone(), path).await;
        for (name, value) in SECURITY_HEADERS {
            let line = format!("{}: {}", name.as_str(), value.to_ascii_lowercase());
            assert!(head.contains(&line), "{path} lacks {line}:\n{head}");
        }
    }
}

#[tokio::test]
async fn a_page_keeps_the_content_security_policy_its_handler_set() {
    let page = Router::new().route(
        "/page",
        axum::routing::get(|| async {
            (
                [(header::CONTENT_SECURITY_POLICY, "script-src 'self'")],
                "<p>",
            )
        }),
    );
    let head = head_of_served(page, "/page").await;
    assert!(
        head.contains("content-security-policy: script-src 'self'"),
        "{head}"
    );
    assert!(head.contains("x-frame-options: deny"), "{head}");
}

/// A route answering with the trace its handler ran in, in `x-handled-in`.
fn trace_echo() -> Router {
    Router::new().route(
        "/echo",
        axum::routing::get(|| async {
            let seen = telemetry::current_trace().map(|t| t.to_string());
            ([("x-handled-in", seen.unwrap_or_default())], "")
        }),
    )
}

/// The value of `name` in a lower-cased response head.
fn header_in<'h>(head: &'h str, name: &str) -> Option<&'h str> {
    head.lines()
        .find_map(|line| line.strip_prefix(&format!("{name}: ")))
}

#[tokio::test]
async fn a_request_continues_its_callers_trace_and_names_its_own_span() {
    let caller = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    let head =
        head_of_served_with(trace_echo(), "/echo", &format!("traceparent: {caller}\r\n")).await;
    let answered = header_in(&head, "traceparent").expect("a traceparent answer");
    let answered = telemetry::TraceContext::parse(answered).unwrap();
    assert_eq!(
        answered.trace_id(),
        "4bf92f3577b34da6a3ce929d0e0e4736",
        "{head}"
    );
    assert_ne!(answered.span_id(), "00f067aa0ba902b7", "{head}");
    assert_eq!(
        header_in(&head, "x-handled-in"),
        Some(answered.to_string().as_str())
    );
}

#[tokio::test]
async fn a_request_without_a_readable_trace_starts_one() {
    for sent in ["", "traceparent: 00-not-a-trace-01\r\n"] {
        let head = head_of_served_with(trace_echo(), "/echo", sent).await;
        let answered = header_in(&head, "traceparent").expect("a traceparent answer");
        let answered = telemetry::TraceContext::parse(answered).expect("a valid traceparent");
        assert_eq!(
            header_in(&head, "x-handled-in"),
            Some(answered.to_string().as_str())
        );
    }
}
