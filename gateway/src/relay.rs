//! One call, end to end: hold the worst case, call the provider, pass the answer on, then
//! settle to the reported usage (or release on failure).
//!
//! Everything after the hold runs in its own task, not in the request's future: a client
//! that disconnects drops its request, never the accounting. A stream keeps being read to
//! its end (for the usage report) after its client left.

use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use domain::{PoolId, ProviderName};
use problem::Problem;
use serde_json::json;
use tokio::sync::{mpsc, oneshot};

use crate::GatewayState;
use crate::caller::Caller;
use crate::dialect::{Dialect, Prepared};
use crate::holds::{Hold, ReserveError, Resolution};
use crate::inflight::InflightGuard;
use crate::limits;
use crate::sse::SseReader;
use crate::upstream::{Answer, CallError};
use crate::usage::{Settlement, StreamTally, reported_total};

/// A call ready to go: where to, in which shape.
#[derive(Debug)]
pub struct Call {
    /// The provider (the provider part of the pool charged).
    pub provider: String,
    /// The shape of request and answer.
    pub dialect: Dialect,
    /// The provider's URL.
    pub url: String,
    /// The request.
    pub prepared: Prepared,
}

/// Runs `call` for `caller`. The whole call runs in a task of its own, the reserve
/// included: a client that hangs up while its hold is being taken must not leave the hold
/// behind.
pub async fn relay(state: GatewayState, caller: Caller, call: Call) -> Response {
    let (answer, answered) = oneshot::channel();
    tokio::spawn(hold_and_call(state, caller, call, answer));
    match answered.await {
        Ok(response) => response,
        Err(_) => Problem::unavailable("the call ended without an answer").into_response(),
    }
}

async fn hold_and_call(
    state: GatewayState,
    caller: Caller,
    call: Call,
    answer: oneshot::Sender<Response>,
) {
    let guard = state.inflight.start();
    if let Err(error) = state.upstreams.check(&call.provider) {
        state.metrics.call(&call.provider, "circuit_open");
        let _ = answer.send(call_failed(&error).into_response());
        return;
    }
    let provider = match ProviderName::parse(&call.provider) {
        Ok(provider) => provider,
        Err(error) => {
            let problem = Problem::new(
                StatusCode::NOT_FOUND,
                "unknown-provider",
                "No such provider",
                error.to_string(),
            );
            let _ = answer.send(problem.into_response());
            return;
        }
    };
    let pool = PoolId::new(caller.owner.clone(), provider);
    let worst_case = call.prepared.worst_case();
    if let Some(hold) = state.ready.take(&pool, &caller.actor, worst_case) {
        run_call(state, call, hold, answer, guard).await;
        return;
    }
    let ttl = Duration::from_millis(
        state
            .settings
            .hold_ttl_ms(&call.provider, call.prepared.stream),
    );
    let reserved = state
        .holds
        .reserve(pool, caller.actor.clone(), worst_case, ttl)
        .await;
    let hold = match reserved {
        Ok(hold) => {
            state.ready.learn(&hold);
            hold
        }
        Err(ReserveError::Refused { rejection, limits }) => {
            state.metrics.call(&call.provider, "refused");
            let (problem, headers) = limits::refusal(&rejection, limits.as_deref());
            let _ = answer.send((headers, problem).into_response());
            return;
        }
        Err(ReserveError::Unavailable(detail)) => {
            state.metrics.call(&call.provider, "pool_unavailable");
            let _ = answer.send(Problem::unavailable(detail).into_response());
            return;
        }
    };
    run_call(state, call, hold, answer, guard).await;
}

/// Calls the provider, answers through `answer` as soon as it can, then resolves the hold.
async fn run_call(
    state: GatewayState,
    call: Call,
    hold: Hold,
    answer: oneshot::Sender<Response>,
    _guard: InflightGuard,
) {
    let request_id = hold.reservation_id.to_string();
    let headers = hold_headers(&hold);
    let outcome = state
        .upstreams
        .call(
            &call.provider,
            &call.url,
            &call.prepared.body,
            &request_id,
            call.prepared.stream,
        )
        .await;
    let settlement = match outcome {
        // Sent and then lost: the provider may have billed it, so the worst case is charged
        // (never more than the call can cost); a call it cannot have billed is released.
        Err(error) => {
            let _ = answer.send((headers, call_failed(&error)).into_response());
            error
                .may_have_been_billed()
                .then(|| Settlement::Estimated(call.prepared.worst_case()))
        }
        Ok(Answer::Whole {
            status,
            headers: upstream_headers,
            body,
        }) => {
            // A success without a usage report is charged the call's worst case: the provider
            // did the work, and that is an upper bound of it. A refusal (4xx) is released.
            let settlement = status.is_success().then(|| {
                serde_json::from_slice(&body)
                    .ok()
                    .and_then(|json| reported_total(call.dialect, &json))
                    .map_or(
                        Settlement::Estimated(call.prepared.worst_case()),
                        Settlement::Reported,
                    )
            });
            let _ =
                answer.send((headers, passed_on(status, &upstream_headers, body)).into_response());
            settlement
        }
        Ok(Answer::Stream(response)) => {
            Some(stream(&state, &call, &hold, response, (headers, answer)).await)
        }
    };
    let resolution = match settlement {
        Some(settlement) => {
            let source = match settlement {
                Settlement::Reported(_) => "reported",
                Settlement::Estimated(_) => "estimated",
            };
            state
                .metrics
                .settled_tokens
                .with_label_values(&[&call.provider, source])
                .inc_by(settlement.tokens());
            state.holds.settle(&hold, settlement.tokens()).await
        }
        None => state.holds.release(&hold).await,
    };
    let outcome = match resolution {
        Resolution::Settled(_) => "settled",
        Resolution::SettledWithOverage { overage } => {
            state
                .metrics
                .overage_tokens
                .with_label_values(&[&call.provider])
                .inc_by(overage);
            "settled_with_overage"
        }
        Resolution::Charged(_) => "charged_without_hold",
        Resolution::Released => "released",
        Resolution::Unresolved => "unresolved",
    };
    state.metrics.call(&call.provider, outcome);
}

/// The rate-limit headers of the pool after the reserve, and the request id (the hold's).
fn hold_headers(hold: &Hold) -> HeaderMap {
    let mut headers = hold
        .limits
        .as_ref()
        .map(limits::headers)
        .unwrap_or_default();
    if let Ok(id) = HeaderValue::try_from(hold.reservation_id.to_string()) {
        headers.insert("x-request-id", id);
    }
    headers
}

/// Passes a stream on while tallying it; returns what to settle once it ended.
async fn stream(
    state: &GatewayState,
    call: &Call,
    hold: &Hold,
    mut response: reqwest::Response,
    (headers, answer): (HeaderMap, oneshot::Sender<Response>),
) -> Settlement {
    let (sender, receiver) = mpsc::channel::<Result<Bytes, std::io::Error>>(64);
    let body = Body::from_stream(futures::stream::unfold(receiver, |mut r| async move {
        r.recv().await.map(|item| (item, r))
    }));
    let mut streamed = Response::new(body);
    streamed.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/event-stream"),
    );
    streamed
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    let _ = answer.send((headers, streamed).into_response());

    let settings = state.upstreams.settings(&call.provider);
    let idle = Duration::from_millis(settings.map_or(30_000, |s| s.stream_idle_timeout_ms));
    // The hold was sized for a stream of at most this long; past it the stream is cut.
    let ends_by = tokio::time::Instant::now()
        + Duration::from_millis(settings.map_or(300_000, |s| s.stream_max_ms));
    let mut reader = SseReader::default();
    let mut tally = StreamTally::default();
    // Once the client is gone, keep reading (for the usage) but stop sending.
    let mut client = Some(sender);
    loop {
        let wait = idle.min(ends_by.saturating_duration_since(tokio::time::Instant::now()));
        let chunk = match tokio::time::timeout(wait, response.chunk()).await {
            Ok(Ok(Some(chunk))) => chunk,
            Ok(Ok(None)) => break,
            Ok(Err(error)) => {
                cut(&mut client, format!("the provider's stream broke: {error}")).await;
                break;
            }
            Err(_) if tokio::time::Instant::now() >= ends_by => {
                cut(
                    &mut client,
                    "the stream went on longer than allowed".to_owned(),
                )
                .await;
                break;
            }
            Err(_) => {
                cut(&mut client, "the provider's stream stalled".to_owned()).await;
                break;
            }
        };
        for data in reader.feed(&chunk) {
            let wanted =
                tally.observe(call.dialect, &data, call.prepared.caller_wants_stream_usage);
            if let (true, Some(to_client)) = (wanted, &client) {
                let event = Bytes::from(format!("data: {data}\n\n"));
                if to_client.send(Ok(event)).await.is_err() {
                    tracing::info!(reservation = %hold.reservation_id, "client left mid-stream");
                    client = None;
                }
            }
        }
    }
    // Bounded by the call's worst case, not the hold: a ready hold may be larger.
    tally.to_settle(call.prepared.prompt_estimate, call.prepared.worst_case())
}

/// Ends the client's stream with an error, so it sees a broken stream, not a short one.
async fn cut(client: &mut Option<mpsc::Sender<Result<Bytes, std::io::Error>>>, why: String) {
    if let Some(sender) = client.take() {
        let _ = sender
            .send(Err(std::io::Error::new(
                std::io::ErrorKind::ConnectionAborted,
                why,
            )))
            .await;
    }
}

/// A provider's whole answer, passed on with its status and content type.
fn passed_on(status: StatusCode, headers: &reqwest::header::HeaderMap, body: Bytes) -> Response {
    let mut response = Response::new(Body::from(body));
    *response.status_mut() = status;
    let mut kept = HeaderMap::new();
    if let Some(kind) = headers.get(header::CONTENT_TYPE) {
        kept.insert(header::CONTENT_TYPE, kind.clone());
    }
    response.headers_mut().extend(kept);
    response
}

fn call_failed(error: &CallError) -> Problem {
    match error {
        CallError::CircuitOpen(open) => Problem::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "upstream-circuit-open",
            "The provider is failing; calls are paused",
            error.to_string(),
        )
        .retry_after(open.retry_in.as_millis().div_ceil(1_000).max(1) as u64),
        CallError::TimedOut(_) => Problem::new(
            StatusCode::GATEWAY_TIMEOUT,
            "upstream-timeout",
            "The provider did not answer in time",
            error.to_string(),
        ),
        CallError::Failed { status, .. } => Problem::new(
            StatusCode::BAD_GATEWAY,
            "upstream-failed",
            "The provider failed",
            error.to_string(),
        )
        .with("upstream_status", json!(status)),
    }
}
