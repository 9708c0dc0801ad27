//! Calling a provider: per-attempt timeouts, bounded retries with backoff on failures that
//! are worth retrying (connection errors, timeouts, 429, 5xx), and a circuit breaker per
//! provider. A retry only ever happens before any of the answer was passed on.

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
    /// Every attempt timed out.
    #[error("the provider did not answer within {0} ms")]
    TimedOut(u64),
    /// Every attempt failed (the last status, if one came).
    #[error("the provider failed: {detail}")]
    Failed {
        /// The provider's last status.
        status: Option<u16>,
        /// What went wrong.
        detail: String,
    },
}

enum Attempt {
    Done(Answer),
    Retry(CallError),
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
            });
        };
        let settings = &upstream.settings;
        let mut last = CallError::Failed {
            status: None,
            detail: "no attempt made".into(),
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
            Err(_) => Attempt::Retry(CallError::TimedOut(settings.timeout_ms)),
            Ok(Err(error)) => Attempt::Retry(CallError::Failed {
                status: None,
                detail: error.to_string(),
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
                })
            }
            Ok(Ok(answer)) => Attempt::Done(answer),
        }
    }
}

fn lock(breaker: &Mutex<Breaker>) -> std::sync::MutexGuard<'_, Breaker> {
    breaker.lock().unwrap_or_else(|p| p.into_inner())
}
