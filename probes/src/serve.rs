//! Serving a service's router, its probes included, until it is told to stop.

use std::future::Future;
use std::net::SocketAddr;

use axum::Router;
use tokio::net::TcpListener;

/// A bound HTTP server that has not started serving yet, so callers (tests) can learn
/// the port it got before it runs.
#[derive(Debug)]
pub struct HttpService {
    listener: TcpListener,
    router: Router,
}

impl HttpService {
    /// Binds `listen` (port 0 picks a free port); every request of `router` joins a trace
    /// and every answer gets the security headers.
    pub async fn bind(listen: SocketAddr, router: Router) -> std::io::Result<Self> {
        let listener = TcpListener::bind(listen).await?;
        let router = router
            .layer(axum::middleware::map_response(
                crate::security::security_headers,
            ))
            .layer(axum::middleware::from_fn(crate::traced::trace_requests));
        Ok(Self { listener, router })
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
        tracing::info!(addr = %self.listener.local_addr()?, "listening");
        // With the peer's address in every request, for the guess throttles (auth::client).
        let service = self
            .router
            .into_make_service_with_connect_info::<SocketAddr>();
        axum::serve(self.listener, service)
            .with_graceful_shutdown(shutdown)
            .await
    }
}
