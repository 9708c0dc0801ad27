//! Calling a provider: per-attempt timeouts, bounded retries with backoff on failures that
//! are worth retrying, and a circuit breaker per provider. A retry only ever happens before
//! any of the answer was passed on.
//!
//! Only a request the provider cannot have billed is retried: one that never connected, or
//! one the provider refused (429, 5xx). A request that was sent and then timed out or broke
//! may have been generated and billed, so it is not sent again (a retry could bill it
//! twice); the call is charged its worst case instead (`CallError::may_have_been_billed`).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use reqwest::StatusCode;
use reqwest::header::HeaderMap;
use serde_json::Value;

use crate::breaker::{Breaker, Open};
use crate::config::UpstreamSettings;

/// The header carrying the request id upstream (the reservation id), so a provider's
/// records and the pool's events can be joined.
pub const REQUEST_ID: &str = "x-request-id";

/// Every configured provider and its breaker.
#[derive(Debug, Clone)]
pub struct Upstreams {
    client: reqwest::Client,
    providers: Arc<HashMap<String, Upstream>>,
}

#[derive(Debug)]
struct Upstream {
    settings: UpstreamSettings,
    breaker: Mutex<Breaker>,
}

/// What came back.
#[derive(Debug)]
pub enum Answer {
    /// A whole body (not streamed, or a refusal the provider made at once).
    Whole {
        /// Its status.
        status: StatusCode,
        /// Its headers.
        headers: HeaderMap,
        /// Its body.
        body: Bytes,
    },
    /// A stream whose headers said 200: the body is still to be read.
    Stream(reqwest::Response),
}

/// Why a call produced no answer to pass on.
#[derive(Debug, Clone, thiserror::Error)]
pub enum CallError {
    /// The provider's circuit is open.
    #[error("the provider is failing; calls are paused for {} ms", .0.retry_in.as_millis())]
    CircuitOpen(Open),
    /// The request was sent and no answer came in time (not retried: it may have been
    /// generated and billed).
    #[error("the provider did not answer within {0} ms")]
    TimedOut(u64),
    /// Every attempt failed (the last status, if one came).
    #[error("the provider failed: {detail}")]
    Failed {
        /// The provider's last status.
        status: Option<u16>,
        /// What went wrong.
        detail: String,
        /// Whether the request reached the provider without being refused (the exchange
        /// broke after sending), so it may have been billed.
        sent: bool,
    },
}

impl CallError {
    /// Whether the provider may have done (and billed) the work though no answer came: the
    /// call is then charged its worst case rather than released.
    pub fn may_have_been_billed(&self) -> bool {
        matches!(self, Self::TimedOut(_) | Self::Failed { sent: true, .. })
    }
}

enum Attempt {
    Done(Answer),
    Retry(CallError),
    /// Failed in a way a retry could bill twice.
    GiveUp(CallError),
}

impl Upstreams {
    /// Clients for `providers`.
    pub fn new(providers: &std::collections::BTreeMap<String, UpstreamSettings>) -> Self {
        let providers = providers
            .iter()
            .map(|(name, settings)| {
                let breaker = Breaker::new(
                    settings.breaker_failures,
                    Duration::from_millis(settings.breaker_open_ms),
                );
                let upstream = Upstream {
                    settings: settings.clone(),
                    breaker: Mutex::new(breaker),
                };
                (name.clone(), upstream)
            })
            .collect();
        let client = reqwest::Client::builder()
            .pool_max_idle_per_host(256)
            .tcp_nodelay(true)
            .build()
            .expect("a plain HTTP client always builds");
        Self {
            client,
            providers: Arc::new(providers),
        }
    }

    /// The settings of `provider`, if it is configured.
    pub fn settings(&self, provider: &str) -> Option<&UpstreamSettings> {
        self.providers.get(provider).map(|u| &u.settings)
    }

    /// Whether `provider` would take a call now (checked before holding any tokens).
    pub fn check(&self, provider: &str) -> Result<(), CallError> {
        match self.providers.get(provider) {
            Some(upstream) => lock(&upstream.breaker)
                .check(Instant::now())
                .map_err(CallError::CircuitOpen),
            None => Ok(()),
        }
    }

    /// POSTs `body` to `url` of `provider`, retrying as configured.
    pub async fn call(
        &self,
        provider: &str,
        url: &str,
        body: &Value,
        request_id: &str,
        stream: bool,
    ) -> Result<Answer, CallError> {
        let Some(upstream) = self.providers.get(provider) else {
            return Err(CallError::Failed {
                status: None,
                detail: format!("provider {provider} is not configured"),
                sent: false,
            });
        };
        let settings = &upstream.settings;
        let mut last = CallError::Failed {
            status: None,
            detail: "no attempt made".into(),
            sent: false,
        };
        for attempt in 0..=settings.retries {
            if attempt > 0 {
                tokio::time::sleep(Duration::from_millis(50 << attempt.min(6))).await;
            }
            lock(&upstream.breaker)
                .admit(Instant::now())
                .map_err(CallError::CircuitOpen)?;
            let outcome = self.attempt(settings, url, body, request_id, stream).await;
            let mut breaker = lock(&upstream.breaker);
            match outcome {
                Attempt::Done(answer) => {
                    breaker.succeeded();
                    return Ok(answer);
                }
                Attempt::Retry(error) => {
                    breaker.failed(Instant::now());
                    tracing::warn!(provider, attempt, %error, "upstream attempt failed");
                    last = error;
                }
                Attempt::GiveUp(error) => {
                    breaker.failed(Instant::now());
                    tracing::warn!(provider, attempt, %error,
                        "upstream attempt failed after the request was sent; not retried");
                    return Err(error);
                }
            }
        }
        Err(last)
    }

    async fn attempt(
        &self,
        settings: &UpstreamSettings,
        url: &str,
        body: &Value,
        request_id: &str,
        stream: bool,
    ) -> Attempt {
        let timeout = Duration::from_millis(settings.timeout_ms);
        let mut request = self
            .client
            .post(url)
            .header(REQUEST_ID, request_id)
            .json(body);
        if let Some(key) = &settings.api_key {
            request = request.bearer_auth(key);
        }
        let exchange = async {
            let response = request.send().await?;
            let status = response.status();
            if stream && status.is_success() {
                return Ok(Answer::Stream(response));
            }
            let headers = response.headers().clone();
            let body = response.bytes().await?;
            Ok::<_, reqwest::Error>(Answer::Whole {
                status,
                headers,
                body,
            })
        };
        match tokio::time::timeout(timeout, exchange).await {
            Err(_) => Attempt::GiveUp(CallError::TimedOut(settings.timeout_ms)),
            // Not connected: the provider never saw the request.
            Ok(Err(error)) if error.is_connect() => Attempt::Retry(CallError::Failed {
                status: None,
                detail: error.to_string(),
                sent: false,
            }),
            Ok(Err(error)) => Attempt::GiveUp(CallError::Failed {
                status: None,
                detail: error.to_string(),
                sent: true,
            }),
            Ok(Ok(Answer::Whole { status, body, .. }))
                if status == StatusCode::TOO_MANY_REQUESTS || status.is_server_error() =>
            {
                Attempt::Retry(CallError::Failed {
                    status: Some(status.as_u16()),
                    detail: format!(
                        "status {status}: {}",
                        String::from_utf8_lossy(&body[..body.len().min(200)])
                    ),
                    sent: false,
                })
            }
            Ok(Ok(answer)) => Attempt::Done(answer),
        }
    }
}

fn lock(breaker: &Mutex<Breaker>) -> std::sync::MutexGuard<'_, Breaker> {
    breaker.lock().unwrap_or_else(|p| p.into_inner())
}
