//! The limits of a served port, spoken to over raw sockets as a slow or flooding client
//! would: what such a client gets, and that a long answer to a good client is not cut short.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use axum::routing::{get, post};
use probes::{HttpLimits, HttpService};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::oneshot;

fn app() -> Router {
    Router::new()
        .route("/health/live", get(|| async { "alive" }))
        .route("/echo", post(|body: String| async move { body }))
        .route(
            "/slow",
            get(|| async {
                tokio::time::sleep(Duration::from_millis(1_500)).await;
                "done"
            }),
        )
        .route(
            "/stream",
            get(|| async {
                // Ten chunks over 2 s: longer than every timeout below.
                let chunks = futures::stream::unfold(0, |n| async move {
                    (n < 10).then_some(())?;
                    tokio::time::sleep(Duration::from_millis(200)).await;
                    Some((Ok::<_, std::io::Error>(format!("chunk {n}\n")), n + 1))
                });
                Body::from_stream(chunks)
            }),
        )
}

fn quick(limits: HttpLimits) -> HttpLimits {
    HttpLimits {
        header_timeout_ms: 500,
        body_timeout_ms: 500,
        ..limits
    }
}

async fn serve(limits: HttpLimits) -> (SocketAddr, oneshot::Sender<()>) {
    let service = HttpService::bind("127.0.0.1:0".parse().unwrap(), app())
        .await
        .unwrap()
        .with_limits(limits);
    let addr = service.local_addr().unwrap();
    let (stop, stopped) = oneshot::channel::<()>();
    tokio::spawn(service.run_until(async move {
        let _ = stopped.await;
    }));
    (addr, stop)
}

/// Waits until the server closes `stream` (a read of 0 bytes or a reset), at most `limit`.
async fn closed_within(stream: &mut TcpStream, limit: Duration) -> bool {
    let mut buf = [0u8; 1024];
    let deadline = Instant::now() + limit;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, stream.read(&mut buf)).await {
            Err(_) => return false,
            Ok(Ok(0) | Err(_)) => return true,
            Ok(Ok(_)) => {}
        }
    }
}

async fn request(addr: SocketAddr, raw: &str) -> String {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream.write_all(raw.as_bytes()).await.unwrap();
    let mut answer = String::new();
    let _ = tokio::time::timeout(Duration::from_secs(10), stream.read_to_string(&mut answer)).await;
    answer
}

#[tokio::test(flavor = "multi_thread")]
async fn a_client_trickling_its_headers_is_dropped_at_the_header_timeout() {
    let (addr, _stop) = serve(quick(HttpLimits::default())).await;
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let started = Instant::now();
    let trickle = async {
        for byte in b"GET /health/live HTTP/1.1\r\nhost: x\r\nx-slow: yes" {
            if stream.write_all(&[*byte]).await.is_err() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    };
    tokio::time::timeout(Duration::from_secs(3), trickle)
        .await
        .ok();
    assert!(
        closed_within(&mut stream, Duration::from_secs(3)).await,
        "a trickling client still holds its connection after {:?}",
        started.elapsed()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_idle_kept_alive_connection_is_closed_at_the_header_timeout() {
    let (addr, _stop) = serve(quick(HttpLimits::default())).await;
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream
        .write_all(b"GET /health/live HTTP/1.1\r\nhost: x\r\n\r\n")
        .await
        .unwrap();
    let mut buf = [0u8; 1024];
    let n = stream.read(&mut buf).await.unwrap();
    assert!(String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 200"));
    assert!(closed_within(&mut stream, Duration::from_secs(3)).await);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_body_slower_than_the_body_timeout_is_refused_and_a_long_answer_is_not_cut() {
    let (addr, _stop) = serve(quick(HttpLimits::default())).await;
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream
        .write_all(b"POST /echo HTTP/1.1\r\nhost: x\r\ncontent-length: 100\r\n\r\nonly ten b")
        .await
        .unwrap();
    let mut answer = String::new();
    let read =
        tokio::time::timeout(Duration::from_secs(5), stream.read_to_string(&mut answer)).await;
    assert!(read.is_ok(), "a stalled body holds the connection");
    let status: u16 = answer.get(9..12).and_then(|s| s.parse().ok()).unwrap_or(0);
    assert!(
        (400..500).contains(&status) || answer.is_empty(),
        "a stalled body gets a 4xx or a closed connection: {answer:?}"
    );

    let streamed = request(
        addr,
        "GET /stream HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n",
    )
    .await;
    assert!(
        streamed.contains("chunk 9"),
        "the stream was cut: {streamed:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn past_the_connection_cap_a_client_is_told_to_retry() {
    let limits = HttpLimits {
        max_connections: 2,
        ..HttpLimits::default()
    };
    let (addr, _stop) = serve(limits).await;
    let _held = [
        TcpStream::connect(addr).await.unwrap(),
        TcpStream::connect(addr).await.unwrap(),
    ];
    tokio::time::sleep(Duration::from_millis(100)).await;
    let answer = request(
        addr,
        "GET /health/live HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n",
    )
    .await;
    assert!(answer.starts_with("HTTP/1.1 503"), "{answer:?}");
    assert!(
        answer.to_ascii_lowercase().contains("retry-after: 1"),
        "{answer:?}"
    );

    drop(_held);
    tokio::time::sleep(Duration::from_millis(100)).await;
    let answer = request(
        addr,
        "GET /health/live HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n",
    )
    .await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn past_the_in_flight_cap_requests_are_told_to_retry_and_probes_still_answer() {
    let limits = HttpLimits {
        max_in_flight: 1,
        ..HttpLimits::default()
    };
    let (addr, _stop) = serve(limits).await;
    let slow = tokio::spawn(request(
        addr,
        "GET /slow HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n",
    ));
    tokio::time::sleep(Duration::from_millis(300)).await;
    let refused = request(
        addr,
        "GET /slow HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n",
    )
    .await;
    assert!(refused.starts_with("HTTP/1.1 503"), "{refused:?}");
    let lower = refused.to_ascii_lowercase();
    assert!(lower.contains("retry-after: 1") && lower.contains("application/problem+json"));
    let probe = request(
        addr,
        "GET /health/live HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n",
    )
    .await;
    assert!(probe.starts_with("HTTP/1.1 200"), "{probe:?}");
    assert!(slow.await.unwrap().contains("done"));
}
