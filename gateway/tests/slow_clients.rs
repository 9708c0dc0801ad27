//! Slow and flooding clients against the gateway binary: 2,000 sockets trickling their
//! headers hold nothing a paying caller needs, and each is dropped at the header timeout.

mod support;

use std::time::{Duration, Instant};

use domain::Tier;
use serde_json::json;
use support::Deployment;
use support::log::{Fate, fate_of};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const TRICKLERS: usize = 2_000;

#[tokio::test(flavor = "multi_thread")]
async fn a_paying_caller_is_served_while_two_thousand_clients_trickle_their_headers() {
    let deployment = Deployment::start(&[("LEAKY_HTTP__HEADER_TIMEOUT_MS", "3000")]).await;
    deployment
        .pool_with("user:alice/openai", Tier::User, 10_000)
        .await;
    let addr = deployment.url("").trim_start_matches("http://").to_owned();

    let mut tricklers = Vec::with_capacity(TRICKLERS);
    for _ in 0..TRICKLERS {
        let mut socket = TcpStream::connect(&addr).await.unwrap();
        socket
            .write_all(b"POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\nx-slow: ")
            .await
            .unwrap();
        tricklers.push(socket);
    }
    let opened = Instant::now();

    let response = reqwest::Client::new()
        .post(deployment.url("/v1/chat/completions"))
        .header("authorization", &deployment.alice)
        .json(&json!({
            "model": "gpt-4o-mini",
            "messages": [{"role": "user", "content": "hello"}],
            "max_tokens": 20,
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert!(
        opened.elapsed() < Duration::from_secs(3),
        "served while the tricklers were still connected"
    );
    let id = response.headers()["x-request-id"]
        .to_str()
        .unwrap()
        .to_owned();
    response.bytes().await.unwrap();
    assert!(matches!(
        fate_of(&deployment.kafka, &id).await,
        Fate::Settled { consumed, .. } if Some(consumed) == deployment.reported(&id)
    ));

    // Every trickler is dropped once the header timeout has passed.
    let mut still_open = 0;
    for socket in &mut tricklers {
        let left = Duration::from_secs(10).saturating_sub(opened.elapsed());
        let mut buf = [0u8; 256];
        match tokio::time::timeout(left, socket.read(&mut buf)).await {
            Ok(Ok(0) | Err(_)) => {}
            Ok(Ok(_)) => {
                // A 408 answer first is fine too; the close follows.
                if !matches!(
                    tokio::time::timeout(Duration::from_secs(2), socket.read(&mut buf)).await,
                    Ok(Ok(0) | Err(_))
                ) {
                    still_open += 1;
                }
            }
            Err(_) => still_open += 1,
        }
    }
    assert_eq!(still_open, 0, "tricklers still connected after 10 s");
}
