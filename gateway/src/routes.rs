//! The gateway's routes: OpenAI-compatible chat for every provider (by model, or by the
//! provider in the path) and Gemini's native API, each turned into a [`Call`].

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use problem::Problem;

use crate::GatewayState;
use crate::caller::Caller;
use crate::dialect::{Budget, Dialect, RequestError, prepare};
use crate::relay::{Call, relay};

/// `POST /v1/chat/completions` (model → provider), `POST /{provider}/v1/chat/completions`,
/// `POST /v1beta/models/{model}:{generateContent|streamGenerateContent}` (Gemini).
pub fn routes(state: GatewayState) -> Router {
    Router::new()
        .route("/v1/chat/completions", post(chat_by_model))
        .route("/{provider}/v1/chat/completions", post(chat_with_provider))
        .route("/v1beta/models/{model_action}", post(gemini_native))
        .with_state(state)
}

async fn chat_by_model(
    State(state): State<GatewayState>,
    caller: Caller,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let result = async {
        let body = read_json(&headers, body, state.settings.max_body_bytes).await?;
        let prepared =
            prepare(Dialect::OpenAiChat, &body, budget(&state), None).map_err(refused)?;
        let provider = state
            .settings
            .provider_of(&prepared.model)
            .ok_or_else(|| {
                Problem::new(
                    StatusCode::NOT_FOUND,
                    "unknown-model",
                    "No provider serves this model",
                    format!("model {:?} matches no configured prefix", prepared.model),
                )
            })?
            .to_owned();
        openai_call(&state, provider, prepared)
    }
    .await;
    match result {
        Ok(call) => relay(state, caller, call).await,
        Err(problem) => problem.into_response(),
    }
}

async fn chat_with_provider(
    State(state): State<GatewayState>,
    Path(provider): Path<String>,
    caller: Caller,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let result = async {
        let body = read_json(&headers, body, state.settings.max_body_bytes).await?;
        let prepared =
            prepare(Dialect::OpenAiChat, &body, budget(&state), None).map_err(refused)?;
        openai_call(&state, provider, prepared)
    }
    .await;
    match result {
        Ok(call) => relay(state, caller, call).await,
        Err(problem) => problem.into_response(),
    }
}

async fn gemini_native(
    State(state): State<GatewayState>,
    Path(model_action): Path<String>,
    caller: Caller,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let result = async {
        let (model, stream) = match model_action.split_once(':') {
            Some((model, "generateContent")) => (model, false),
            Some((model, "streamGenerateContent")) => (model, true),
            _ => {
                return Err(not_found(
                    "expected models/{model}:generateContent or :streamGenerateContent",
                ));
            }
        };
        let native = state
            .upstreams
            .settings("gemini")
            .and_then(|s| s.native_base_url.clone())
            .ok_or_else(|| not_found("the gemini provider has no native API configured"))?;
        let body = read_json(&headers, body, state.settings.max_body_bytes).await?;
        let prepared = prepare(
            Dialect::GeminiNative,
            &body,
            budget(&state),
            Some((model, stream)),
        )
        .map_err(refused)?;
        let action = if stream {
            "streamGenerateContent"
        } else {
            "generateContent"
        };
        Ok(Call {
            provider: "gemini".to_owned(),
            dialect: Dialect::GeminiNative,
            url: native_url(&native, model, action, stream)?,
            prepared,
        })
    }
    .await;
    match result {
        Ok(call) => relay(state, caller, call).await,
        Err(problem) => problem.into_response(),
    }
}

/// `{native}/models/{model}:{action}` with the model as one encoded path segment (it was
/// checked already; the encoding keeps that true whatever the check lets through).
fn native_url(native: &str, model: &str, action: &str, stream: bool) -> Result<String, Problem> {
    let mut url = reqwest::Url::parse(native)
        .map_err(|_| not_found("the gemini provider's native API address is not a URL"))?;
    url.path_segments_mut()
        .map_err(|()| not_found("the gemini provider's native API address has no path"))?
        .pop_if_empty()
        .push("models")
        .push(&format!("{model}:{action}"));
    if stream {
        url.set_query(Some("alt=sse"));
    }
    Ok(url.into())
}

fn openai_call(
    state: &GatewayState,
    provider: String,
    prepared: crate::dialect::Prepared,
) -> Result<Call, Problem> {
    let upstream = state
        .upstreams
        .settings(&provider)
        .ok_or_else(|| not_found(&format!("no provider named {provider:?}")))?;
    Ok(Call {
        url: format!("{}/chat/completions", upstream.base_url),
        provider,
        dialect: Dialect::OpenAiChat,
        prepared,
    })
}

fn budget(state: &GatewayState) -> Budget {
    Budget {
        default_max_tokens: state.settings.default_max_tokens,
        max_tokens_cap: state.settings.max_tokens_cap,
    }
}

/// The body, if it is JSON and not too large.
async fn read_json(headers: &HeaderMap, body: Body, limit: usize) -> Result<Bytes, Problem> {
    let is_json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if !is_json {
        return Err(Problem::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported-media-type",
            "The body must be JSON",
            "send content-type: application/json",
        ));
    }
    axum::body::to_bytes(body, limit).await.map_err(|_| {
        Problem::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "body-too-large",
            "The request body is too large",
            format!("at most {limit} bytes"),
        )
    })
}

fn refused(error: RequestError) -> Problem {
    match error {
        RequestError::Malformed(detail) => Problem::malformed(detail),
        RequestError::Invalid { field, detail } => Problem::invalid_field(field, detail),
        RequestError::BadModel(detail) => Problem::new(
            StatusCode::BAD_REQUEST,
            "invalid-model",
            "Not a model name",
            detail,
        ),
    }
}

fn not_found(detail: &str) -> Problem {
    Problem::new(
        StatusCode::NOT_FOUND,
        "not-found",
        "No such resource",
        detail,
    )
}
