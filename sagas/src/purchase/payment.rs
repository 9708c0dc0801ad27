//! The payment provider's HTTP API as the saga uses it: every call a definite answer or
//! `Unknown` (to be retried with the same payment id, which the provider deduplicates).

use std::time::Duration;

use serde_json::{Value, json};

use super::decide::PaymentAnswer;

/// A client of the payment provider.
#[derive(Debug, Clone)]
pub struct PaymentClient {
    http: reqwest::Client,
    base_url: String,
}

impl PaymentClient {
    /// A client of the provider at `base_url`, giving up on a call after `timeout`.
    pub fn new(base_url: &str, timeout: Duration) -> anyhow::Result<Self> {
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout)
            .build()?;
        Ok(Self {
            http,
            base_url: base_url.trim_end_matches('/').to_owned(),
        })
    }

    /// Holds `amount_cents` on `payment_method` under `payment_id`.
    pub async fn reserve(
        &self,
        payment_id: &str,
        reference: &str,
        amount_cents: u64,
        payment_method: &str,
    ) -> PaymentAnswer {
        let body = json!({
            "reference": reference,
            "amount_cents": amount_cents,
            "payment_method": payment_method,
        });
        self.call(payment_id, "reserve", Some(body)).await
    }

    /// Charges what `payment_id` holds.
    pub async fn capture(&self, payment_id: &str) -> PaymentAnswer {
        self.call(payment_id, "capture", None).await
    }

    /// Voids the hold of `payment_id`, or refunds its charge.
    pub async fn release(&self, payment_id: &str) -> PaymentAnswer {
        self.call(payment_id, "release", None).await
    }

    async fn call(&self, payment_id: &str, operation: &str, body: Option<Value>) -> PaymentAnswer {
        let url = format!("{}/v1/payments/{payment_id}/{operation}", self.base_url);
        // The provider sees the purchase's trace, so its logs can be joined with ours.
        let mut request = self
            .http
            .post(&url)
            .header(telemetry::TRACEPARENT, telemetry::next_hop().to_string());
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = match request.send().await {
            Ok(response) => response,
            Err(error) => {
                tracing::warn!(payment_id, operation, %error, "payment provider did not answer");
                return PaymentAnswer::Unknown;
            }
        };
        let status = response.status();
        if status.is_success() {
            return PaymentAnswer::Done;
        }
        let problem: Value = response.json().await.unwrap_or(Value::Null);
        if status.as_u16() == 402 {
            let message = problem["detail"].as_str().unwrap_or("refused").to_owned();
            return PaymentAnswer::Refused { message };
        }
        tracing::warn!(payment_id, operation, %status, %problem, "payment provider refused the call; will retry");
        PaymentAnswer::Unknown
    }
}
