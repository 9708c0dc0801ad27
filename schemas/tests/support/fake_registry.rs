//! A stand-in schema registry on a loopback port that counts the requests it gets, to show
//! that codecs do not ask the registry once per record. It knows one schema, with id 1.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

/// A running fake registry.
pub struct FakeRegistry {
    /// Its base URL.
    pub url: String,
    /// `POST /subjects/{subject}/versions` requests so far.
    pub registrations: Arc<AtomicUsize>,
    /// `GET /schemas/ids/{id}` requests so far.
    pub lookups: Arc<AtomicUsize>,
}

impl FakeRegistry {
    /// Starts a registry whose only schema, id 1, is `schema`.
    pub async fn start(schema: &'static str) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let registrations = Arc::new(AtomicUsize::new(0));
        let lookups = Arc::new(AtomicUsize::new(0));
        let counters = (Arc::clone(&registrations), Arc::clone(&lookups));
        tokio::spawn(async move {
            loop {
                let (stream, _) = listener.accept().await.unwrap();
                tokio::spawn(serve(stream, schema, counters.clone()));
            }
        });
        Self {
            url,
            registrations,
            lookups,
        }
    }

    pub fn registrations(&self) -> usize {
        self.registrations.load(Ordering::SeqCst)
    }

    pub fn lookups(&self) -> usize {
        self.lookups.load(Ordering::SeqCst)
    }
}

/// Answers HTTP/1.1 requests on one (keep-alive) connection.
async fn serve(
    stream: TcpStream,
    schema: &'static str,
    (registrations, lookups): (Arc<AtomicUsize>, Arc<AtomicUsize>),
) {
    let mut stream = BufReader::new(stream);
    loop {
        let mut request_line = String::new();
        if stream.read_line(&mut request_line).await.unwrap_or(0) == 0 {
            return;
        }
        let mut content_length = 0;
        loop {
            let mut header = String::new();
            stream.read_line(&mut header).await.unwrap();
            if header.trim().is_empty() {
                break;
            }
            if let Some((name, value)) = header.split_once(':')
                && name.eq_ignore_ascii_case("content-length")
            {
                content_length = value.trim().parse().unwrap();
            }
        }
        let mut body = vec![0; content_length];
        stream.read_exact(&mut body).await.unwrap();
        let path = request_line.split_whitespace().nth(1).unwrap_or_default();
        let (status, json) = if request_line.starts_with("POST") && path.ends_with("/versions") {
            registrations.fetch_add(1, Ordering::SeqCst);
            ("200 OK", serde_json::json!({ "id": 1 }))
        } else if path.starts_with("/schemas/ids/1?") || path == "/schemas/ids/1" {
            lookups.fetch_add(1, Ordering::SeqCst);
            ("200 OK", serde_json::json!({ "schema": schema }))
        } else {
            let missing = serde_json::json!({ "error_code": 40403, "message": "Schema not found" });
            ("404 Not Found", missing)
        };
        let body = json.to_string();
        let response = format!(
            "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
            body.len()
        );
        stream
            .get_mut()
            .write_all(response.as_bytes())
            .await
            .unwrap();
    }
}
