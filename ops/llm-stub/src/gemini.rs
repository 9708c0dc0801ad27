//! Gemini's native API: `POST /v1beta/models/{model}:generateContent`, and
//! `:streamGenerateContent?alt=sse` whose every chunk carries the usage so far.

use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::Response;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::ledger::Usage;
use crate::reply::{bad_request, failure, json_with_id, request_id, sse, wait};
use crate::{StubState, tokens};

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct GenerateRequest {
    contents: Vec<Content>,
    #[serde(default)]
    system_instruction: Option<Content>,
    #[serde(default)]
    generation_config: Option<GenerationConfig>,
}

#[derive(Debug, Deserialize)]
struct Content {
    #[serde(default)]
    parts: Vec<Part>,
}

#[derive(Debug, Deserialize)]
struct Part {
    #[serde(default)]
    text: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct GenerationConfig {
    #[serde(default)]
    max_output_tokens: Option<u64>,
}

impl Content {
    fn text(&self) -> String {
        self.parts
            .iter()
            .filter_map(|p| p.text.as_deref())
            .collect::<Vec<_>>()
            .join(" ")
    }
}

fn usage_metadata(usage: &Usage) -> Value {
    json!({
        "promptTokenCount": usage.prompt_tokens,
        "candidatesTokenCount": usage.completion_tokens,
        "totalTokenCount": usage.total_tokens,
    })
}

/// Answers `{model}:generateContent` or `{model}:streamGenerateContent`.
pub async fn generate(
    State(state): State<StubState>,
    Path(model_action): Path<String>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let Some((model, action)) = model_action.split_once(':') else {
        return bad_request("expected {model}:generateContent");
    };
    let stream = match action {
        "generateContent" => false,
        "streamGenerateContent" => true,
        other => return bad_request(format!("unknown action {other:?}")),
    };
    let request: GenerateRequest = match serde_json::from_slice(&body) {
        Ok(request) => request,
        Err(error) => return bad_request(error),
    };
    let id = request_id(&headers);
    let behaviour = state
        .chaos
        .read()
        .unwrap_or_else(|p| p.into_inner())
        .behaviour_for(&id, &headers);
    wait(&behaviour).await;
    if let Some(status) = behaviour.fail_status {
        return failure(status, true);
    }

    let mut texts: Vec<String> = request.contents.iter().map(Content::text).collect();
    if let Some(system) = &request.system_instruction {
        texts.push(system.text());
    }
    let whole: Value = serde_json::from_slice(&body).unwrap_or_default();
    let prompt = tokens::prompt(&texts)
        + tokens::beyond_messages(
            &whole,
            &["contents", "systemInstruction", "system_instruction"],
        );
    let cap = request
        .generation_config
        .and_then(|c| c.max_output_tokens)
        .map_or(behaviour.reply_tokens, |cap| {
            cap.min(behaviour.reply_tokens)
        });
    let words = tokens::reply_words(cap);
    let usage = Usage::new(prompt, words.len() as u64);
    let finish = if cap < behaviour.reply_tokens {
        "MAX_TOKENS"
    } else {
        "STOP"
    };
    let candidate = |text: String, finish: Option<&str>| {
        json!([{"index": 0, "content": {"role": "model", "parts": [{"text": text}]},
                "finishReason": finish}])
    };

    if !stream {
        let body = json!({
            "candidates": candidate(words.join(" "), Some(finish)),
            "usageMetadata": usage_metadata(&usage),
            "modelVersion": model,
            "responseId": id,
        });
        state.ledger.record(&id, usage);
        return json_with_id(body, &id);
    }

    let mut events = Vec::new();
    for (i, word) in words.iter().enumerate() {
        let last = i + 1 == words.len();
        let piece = if i == 0 {
            (*word).to_owned()
        } else {
            format!(" {word}")
        };
        let so_far = Usage::new(prompt, i as u64 + 1);
        events.push(
            json!({
                "candidates": candidate(piece, last.then_some(finish)),
                "usageMetadata": usage_metadata(&so_far),
                "modelVersion": model, "responseId": id,
            })
            .to_string(),
        );
    }
    if events.is_empty() {
        events.push(
            json!({"candidates": candidate(String::new(), Some(finish)),
                   "usageMetadata": usage_metadata(&usage), "modelVersion": model,
                   "responseId": id})
            .to_string(),
        );
    }
    let ledger = state.ledger.clone();
    let recorded_id = id.clone();
    sse(events, &behaviour, &id, move || {
        ledger.record(&recorded_id, usage)
    })
}
