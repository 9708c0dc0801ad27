//! Serving a service's router, its probes included, until it is told to stop — over
//! HTTP/1.1 with the limits a port open to clients needs, so a slow or flooding client costs
//! a bounded share of the service and nothing more:
//!
//! - **headers** must arrive within `header_timeout_ms` of the connection waiting for them,
//!   which also closes a keep-alive connection idle that long (hyper starts the timer as
//!   soon as it waits for the next request);
//! - a request **body** must arrive within `body_timeout_ms` (a response may take as long as
//!   it needs: a long stream is not a slow client);
//! - at most `max_connections` connections are open: one more is answered `503` with
//!   `Retry-After` and closed;
//! - at most `max_in_flight` requests are being answered (a stream counts until its body
//!   ends): one more is answered `503` with `Retry-After`. The probes and `/metrics` are
//!   exempt, so an orchestrator still sees a busy service as alive.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::{ConnectInfo, Request};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http_body_util::BodyExt;
use hyper_util::rt::{TokioIo, TokioTimer};
use serde::{Deserialize, Serialize};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tower::ServiceExt;

/// The limits of one HTTP port (`[http]` in `config/leaky.toml`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HttpLimits {
    /// Longest wait for a request's headers, and for the next request on a kept-alive
    /// connection.
    pub header_timeout_ms: u64,
    /// Longest time to receive a request's body.
    pub body_timeout_ms: u64,
    /// Most connections open at once.
    pub max_connections: usize,
    /// Most requests being answered at once (probes and metrics aside).
    pub max_in_flight: usize,
}

impl Default for HttpLimits {
    fn default() -> Self {
        Self {
            header_timeout_ms: 10_000,
            body_timeout_ms: 30_000,
            max_connections: 4_096,
            max_in_flight: 1_024,
        }
    }
}

/// A bound HTTP server that has not started serving yet, so callers (tests) can learn
/// the port it got before it runs.
#[derive(Debug)]
pub struct HttpService {
    listener: TcpListener,
    router: Router,
    limits: HttpLimits,
}

impl HttpService {
    /// Binds `listen` (port 0 picks a free port) with the default [`HttpLimits`]; every
    /// request of `router` joins a trace and every answer gets the security headers.
    pub async fn bind(listen: SocketAddr, router: Router) -> std::io::Result<Self> {
        let listener = TcpListener::bind(listen).await?;
        let router = router
            .layer(axum::middleware::map_response(
                crate::security::security_headers,
            ))
            .layer(axum::middleware::from_fn(crate::traced::trace_requests));
        Ok(Self {
            listener,
            router,
            limits: HttpLimits::default(),
        })
    }

    /// The same service under `limits`.
    #[must_use]
    pub fn with_limits(mut self, limits: HttpLimits) -> Self {
        self.limits = limits;
        self
    }

    /// The address actually bound.
    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Serves until `shutdown` completes, then finishes the requests in flight.
    pub async fn run_until(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let Self {
            listener,
            router,
            limits,
        } = self;
        tracing::info!(addr = %listener.local_addr()?, "listening");
        let in_flight = Arc::new(Semaphore::new(limits.max_in_flight));
        let body_timeout = Duration::from_millis(limits.body_timeout_ms);
        let router = router
            .layer(axum::middleware::from_fn(move |request, next| {
                shed_load(Arc::clone(&in_flight), request, next)
            }))
            .layer(tower_http::timeout::RequestBodyTimeoutLayer::new(
                body_timeout,
            ));
        let connections = Arc::new(Semaphore::new(limits.max_connections));
        let graceful = hyper_util::server::graceful::GracefulShutdown::new();
        let mut http = hyper::server::conn::http1::Builder::new();
        http.timer(TokioTimer::new())
            .header_read_timeout(Duration::from_millis(limits.header_timeout_ms));
        tokio::pin!(shutdown);
        loop {
            let (socket, peer) = tokio::select! {
                accepted = listener.accept() => match accepted {
                    Ok(accepted) => accepted,
                    // Out of file descriptors or a connection reset before accept: keep going.
                    Err(error) => {
                        tracing::warn!(%error, "accept failed");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                },
                () = &mut shutdown => break,
            };
            let Ok(permit) = Arc::clone(&connections).try_acquire_owned() else {
                tokio::spawn(refuse_connection(socket));
                continue;
            };
            let _ = socket.set_nodelay(true);
            let router = router.clone();
            let service = hyper::service::service_fn(move |mut request: Request<_>| {
                // With the peer's address in every request, for the guess throttles.
                request.extensions_mut().insert(ConnectInfo(peer));
                router.clone().oneshot(request.map(Body::new))
            });
            let connection = http.serve_connection(TokioIo::new(socket), service);
            let connection = graceful.watch(connection);
            tokio::spawn(async move {
                if let Err(error) = connection.await {
                    tracing::debug!(%error, %peer, "connection ended");
                }
                drop(permit);
            });
        }
        // Requests in flight finish (a stream may take a while: bounded).
        tokio::select! {
            () = graceful.shutdown() => {}
            () = tokio::time::sleep(Duration::from_secs(30)) => {
                tracing::warn!("connections still open 30 s after shutdown; closing them");
            }
        }
        Ok(())
    }
}

/// Past `max_connections`: a minimal `503` and close, without reading the request.
async fn refuse_connection(mut socket: tokio::net::TcpStream) {
    let body = r#"{"type":"https://leaky-tokens.dev/problems/busy","title":"Too many connections","status":503}"#;
    let answer = format!(
        "HTTP/1.1 503 Service Unavailable\r\nretry-after: 1\r\ncontent-type: \
         application/problem+json\r\nconnection: close\r\ncontent-length: {}\r\n\r\n{body}",
        body.len()
    );
    let _ = tokio::time::timeout(Duration::from_secs(1), socket.write_all(answer.as_bytes())).await;
    let _ = socket.shutdown().await;
}

/// Answers `503` past `max_in_flight` requests; the permit lives as long as the response
/// body, so a stream counts until it ends.
async fn shed_load(in_flight: Arc<Semaphore>, request: Request, next: Next) -> Response {
    let path = request.uri().path();
    if path.starts_with("/health/") || path == "/metrics" {
        return next.run(request).await;
    }
    let Ok(permit) = in_flight.try_acquire_owned() else {
        return busy();
    };
    let response = next.run(request).await;
    let (parts, body) = response.into_parts();
    let body = body.map_frame(move |frame| {
        let _held = &permit;
        frame
    });
    Response::from_parts(parts, Body::new(body))
}

fn busy() -> Response {
    let body = serde_json::json!({
        "type": "https://leaky-tokens.dev/problems/busy",
        "title": "Too many requests in flight",
        "status": 503,
        "detail": "the service is answering as many requests as it takes; retry shortly",
    });
    let mut response = (StatusCode::SERVICE_UNAVAILABLE, body.to_string()).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/problem+json"),
    );
    headers.insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
    response
}
