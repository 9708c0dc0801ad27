//! `POST …/chat/completions` in the OpenAI shape, which Qwen (DashScope compatible mode) and
//! Gemini's OpenAI-compatible endpoint share: plain, or streamed with a final usage chunk
//! when `stream_options.include_usage` asks for it.

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::ledger::Usage;
use crate::reply::{bad_request, failure, json_with_id, request_id, sse, wait};
use crate::{StubState, tokens};

#[derive(Debug, Deserialize)]
struct ChatRequest {
    model: String,
    messages: Vec<Message>,
    #[serde(default)]
    max_tokens: Option<u64>,
    #[serde(default)]
    max_completion_tokens: Option<u64>,
    #[serde(default)]
    stream: bool,
    #[serde(default)]
    stream_options: Option<StreamOptions>,
}

#[derive(Debug, Deserialize)]
struct Message {
    #[serde(default)]
    content: Option<Content>,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum Content {
    Text(String),
    Parts(Vec<Part>),
}

#[derive(Debug, Deserialize)]
struct Part {
    #[serde(default)]
    text: Option<String>,
}

#[derive(Debug, Deserialize)]
struct StreamOptions {
    #[serde(default)]
    include_usage: bool,
}

impl Message {
    fn text(&self) -> String {
        match &self.content {
            None => String::new(),
            Some(Content::Text(text)) => text.clone(),
            Some(Content::Parts(parts)) => parts
                .iter()
                .filter_map(|p| p.text.as_deref())
                .collect::<Vec<_>>()
                .join(" "),
        }
    }
}

/// Answers a chat completion.
pub async fn chat_completions(
    State(state): State<StubState>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let request: ChatRequest = match serde_json::from_slice(&body) {
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
        return failure(status, false);
    }

    let texts: Vec<String> = request.messages.iter().map(Message::text).collect();
    let whole: Value = serde_json::from_slice(&body).unwrap_or_default();
    let prompt = tokens::prompt(&texts) + tokens::beyond_messages(&whole, &["messages"]);
    let cap = request.max_completion_tokens.or(request.max_tokens);
    let words = tokens::reply_words(cap.map_or(behaviour.reply_tokens, |cap| {
        cap.min(behaviour.reply_tokens)
    }));
    let usage = Usage::new(prompt, words.len() as u64);
    let finish = if (words.len() as u64) < behaviour.reply_tokens {
        "length"
    } else {
        "stop"
    };
    let created = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let completion_id = format!("chatcmpl-{id}");

    if !request.stream {
        let body = json!({
            "id": completion_id, "object": "chat.completion", "created": created,
            "model": request.model,
            "choices": [{"index": 0, "finish_reason": finish, "logprobs": null,
                         "message": {"role": "assistant", "content": words.join(" ")}}],
            "usage": usage,
        });
        state.ledger.record(&id, usage);
        return json_with_id(body, &id);
    }

    let include_usage = request.stream_options.is_some_and(|o| o.include_usage);
    let chunk = |delta: Value, finish: Value| {
        let mut chunk = json!({
            "id": completion_id, "object": "chat.completion.chunk", "created": created,
            "model": request.model,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish, "logprobs": null}],
        });
        if include_usage {
            chunk["usage"] = Value::Null;
        }
        chunk.to_string()
    };
    let mut events = vec![chunk(
        json!({"role": "assistant", "content": ""}),
        Value::Null,
    )];
    for (i, word) in words.iter().enumerate() {
        let piece = if i == 0 {
            (*word).to_owned()
        } else {
            format!(" {word}")
        };
        events.push(chunk(json!({"content": piece}), Value::Null));
    }
    events.push(chunk(json!({}), json!(finish)));
    if include_usage {
        events.push(
            json!({
                "id": completion_id, "object": "chat.completion.chunk", "created": created,
                "model": request.model, "choices": [], "usage": usage,
            })
            .to_string(),
        );
    }
    events.push("[DONE]".to_owned());
    let ledger = state.ledger.clone();
    let recorded_id = id.clone();
    sse(events, &behaviour, &id, move || {
        if include_usage {
            ledger.record(&recorded_id, usage);
        }
    })
}
