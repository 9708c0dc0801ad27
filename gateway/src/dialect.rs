//! Reading a chat request in the shape it came in (OpenAI chat or Gemini native): what it
//! may cost at worst, and the body to send upstream with its completion budget made
//! explicit (and capped) and, for streams, the usage report switched on.
//!
//! The prompt estimate is the JSON byte length of the whole request as sent (every field a
//! provider may bill: messages, tools, `response_format`, Gemini's `toolConfig` and
//! `responseSchema`, …): a BPE token is at least one byte, so text is never under-counted.
//! Media a provider bills by content rather than by bytes (an image or file by URL or id,
//! audio, a Gemini `cachedContent`) adds [`MEDIA_PART_TOKENS`] each. Should a provider still
//! bill more than the hold, the excess is charged too (`holds::Holds::settle`).

use serde_json::{Value, json};

/// The request shapes the gateway speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    /// `POST …/chat/completions` (OpenAI, Qwen compatible mode, Gemini's OpenAI endpoint).
    OpenAiChat,
    /// `POST …/models/{model}:generateContent` / `:streamGenerateContent` (Gemini).
    GeminiNative,
}

/// Completion budgets: the default and the most a request may ask for.
#[derive(Debug, Clone, Copy)]
pub struct Budget {
    /// Used when the request names none.
    pub default_max_tokens: u64,
    /// Larger asks are lowered to this.
    pub max_tokens_cap: u64,
}

/// A request ready to send upstream.
#[derive(Debug, Clone, PartialEq)]
pub struct Prepared {
    /// The body to send: the caller's, with the budget (and stream usage) made explicit.
    pub body: Value,
    /// The model asked for.
    pub model: String,
    /// Whether the answer is streamed.
    pub stream: bool,
    /// Upper bound of the prompt's tokens.
    pub prompt_estimate: u64,
    /// Completion tokens allowed (per choice, times the number of choices).
    pub completion_budget: u64,
    /// Whether the caller itself asked for the usage chunk of a stream (else it is not
    /// passed on: it was only requested for the gateway's own accounting).
    pub caller_wants_stream_usage: bool,
}

impl Prepared {
    /// The tokens to hold: the prompt bound plus the completion budget.
    pub fn worst_case(&self) -> u64 {
        self.prompt_estimate.saturating_add(self.completion_budget)
    }
}

/// Why a request cannot be sent.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RequestError {
    /// Not a JSON object.
    #[error("the body must be a JSON object: {0}")]
    Malformed(String),
    /// The model name is not a model id (it could steer the upstream URL).
    #[error("model: {0}")]
    BadModel(String),
    /// A field is missing or has an impossible value.
    #[error("{field}: {detail}")]
    Invalid {
        /// The field.
        field: &'static str,
        /// What is wrong with it.
        detail: String,
    },
}

fn invalid(field: &'static str, detail: impl Into<String>) -> RequestError {
    RequestError::Invalid {
        field,
        detail: detail.into(),
    }
}

/// Longest model name accepted.
const MAX_MODEL_LEN: usize = 128;

/// Where a model name is carried: in the URL (Gemini's native API) or in the body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ModelIn {
    /// A path segment of the upstream URL: letters, digits, `.`, `_`, `-`.
    Path,
    /// The JSON body: also `:` (OpenAI fine-tunes, `ft:gpt-4o-mini:org::id`) and one
    /// `models/` or `tunedModels/` prefix (Gemini's OpenAI-compatible API takes both forms).
    Body,
}

/// Checks `model` looks like a provider's model id before anything is built from it: a
/// name that could carry `/`, `..`, `?`, `#`, `%` or any non-ASCII look-alike could steer a
/// URL to another endpoint of the provider's host, called with the operator's key.
pub fn check_model(model: &str, carried: ModelIn) -> Result<(), RequestError> {
    let name = match carried {
        ModelIn::Body => model
            .strip_prefix("models/")
            .or_else(|| model.strip_prefix("tunedModels/"))
            .unwrap_or(model),
        ModelIn::Path => model,
    };
    let allowed = |c: char| {
        c.is_ascii_alphanumeric()
            || matches!(c, '.' | '_' | '-')
            || (c == ':' && carried == ModelIn::Body)
    };
    let starts_well = name
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphanumeric());
    if model.len() > MAX_MODEL_LEN || !starts_well || !name.chars().all(allowed) {
        let more = if carried == ModelIn::Body {
            ", ':'"
        } else {
            ""
        };
        return Err(RequestError::BadModel(format!(
            "{model:?} is not a model id: at most {MAX_MODEL_LEN} characters, starting with a \
             letter or digit, of letters, digits, '.', '_', '-'{more}"
        )));
    }
    Ok(())
}

/// Most choices a request may ask for (each multiplies the completion budget).
const MAX_CHOICES: u64 = 16;

/// The prompt bound of one referenced media part (image, audio, file, cached content): a
/// high-detail image is billed at most a few thousand tokens by today's providers.
pub const MEDIA_PART_TOKENS: u64 = 8_192;

/// Parts whose cost is not their JSON's length: OpenAI `image_url`, `input_audio`, `file`;
/// Gemini `inlineData`, `fileData`.
const MEDIA_KEYS: &[&str] = &["image_url", "input_audio", "file", "inlineData", "fileData"];

/// Upper bound of the prompt tokens of `body` (see the module's doc).
fn prompt_bound(body: &Value) -> u64 {
    let cached = u64::from(body.get("cachedContent").is_some_and(|c| !c.is_null()));
    json_len(Some(body))
        .saturating_add((media_parts(body) + cached).saturating_mul(MEDIA_PART_TOKENS))
        .saturating_add(3)
}

/// How many media parts `value` holds, at any depth.
fn media_parts(value: &Value) -> u64 {
    match value {
        Value::Object(map) => {
            let here = MEDIA_KEYS.iter().filter(|k| map.contains_key(**k)).count() as u64;
            here + map.values().map(media_parts).sum::<u64>()
        }
        Value::Array(items) => items.iter().map(media_parts).sum(),
        _ => 0,
    }
}

/// Reads `body` in `dialect`; for Gemini, `gemini_call` is the model and whether it streams,
/// which its URL says.
pub fn prepare(
    dialect: Dialect,
    body: &[u8],
    budget: Budget,
    gemini_call: Option<(&str, bool)>,
) -> Result<Prepared, RequestError> {
    let mut body: Value =
        serde_json::from_slice(body).map_err(|e| RequestError::Malformed(e.to_string()))?;
    if !body.is_object() {
        return Err(RequestError::Malformed("got another JSON value".into()));
    }
    match (dialect, gemini_call) {
        (Dialect::OpenAiChat, _) => prepare_openai(body, budget),
        (Dialect::GeminiNative, Some((model, stream))) => {
            check_model(model, ModelIn::Path)?;
            prepare_gemini(&mut body, budget)?;
            Ok(prepared_gemini(body, model, stream))
        }
        (Dialect::GeminiNative, None) => Err(invalid("model", "missing from the path")),
    }
}

fn json_len(value: Option<&Value>) -> u64 {
    value.map_or(0, |v| v.to_string().len() as u64)
}

/// A positive integer field, if present.
fn positive(body: &Value, field: &'static str) -> Result<Option<u64>, RequestError> {
    match body.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(value) => match value.as_u64() {
            Some(n) if n > 0 => Ok(Some(n)),
            _ => Err(invalid(field, "must be a positive integer")),
        },
    }
}

fn prepare_openai(mut body: Value, budget: Budget) -> Result<Prepared, RequestError> {
    let model = match body.get("model") {
        Some(Value::String(model)) if !model.is_empty() => model.clone(),
        _ => return Err(invalid("model", "must be a non-empty string")),
    };
    check_model(&model, ModelIn::Body)?;
    match body.get("messages") {
        Some(Value::Array(messages)) if !messages.is_empty() => {}
        _ => return Err(invalid("messages", "must be a non-empty array")),
    }
    let stream = match body.get("stream") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(stream)) => *stream,
        Some(_) => return Err(invalid("stream", "must be a boolean")),
    };
    let choices = positive(&body, "n")?.unwrap_or(1);
    if choices > MAX_CHOICES {
        return Err(invalid("n", format!("at most {MAX_CHOICES}")));
    }
    // Newer clients send max_completion_tokens, older ones max_tokens; a provider may honour
    // either, so both are capped to the budget held (the one sent, or the newer one).
    let completion = positive(&body, "max_completion_tokens")?;
    let legacy = positive(&body, "max_tokens")?;
    let max_tokens = completion
        .into_iter()
        .chain(legacy)
        .max()
        .unwrap_or(budget.default_max_tokens)
        .min(budget.max_tokens_cap);
    if completion.is_some() {
        body["max_completion_tokens"] = json!(max_tokens);
    }
    if legacy.is_some() || completion.is_none() {
        body["max_tokens"] = json!(max_tokens);
    }
    let caller_wants_stream_usage = body
        .pointer("/stream_options/include_usage")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    if stream {
        body["stream_options"] = json!({"include_usage": true});
    }
    let prompt_estimate = prompt_bound(&body);
    Ok(Prepared {
        body,
        model,
        stream,
        prompt_estimate,
        completion_budget: max_tokens * choices,
        caller_wants_stream_usage,
    })
}

fn prepare_gemini(body: &mut Value, budget: Budget) -> Result<(), RequestError> {
    match body.get("contents") {
        Some(Value::Array(contents)) if !contents.is_empty() => {}
        _ => return Err(invalid("contents", "must be a non-empty array")),
    }
    let config = body
        .as_object_mut()
        .expect("checked to be an object")
        .entry("generationConfig")
        .or_insert_with(|| json!({}));
    if !config.is_object() {
        return Err(invalid("generationConfig", "must be an object"));
    }
    let choices = positive(config, "candidateCount")?.unwrap_or(1);
    if choices > MAX_CHOICES {
        return Err(invalid("candidateCount", format!("at most {MAX_CHOICES}")));
    }
    let asked = positive(config, "maxOutputTokens")?;
    config["maxOutputTokens"] = json!(
        asked
            .unwrap_or(budget.default_max_tokens)
            .min(budget.max_tokens_cap)
    );
    Ok(())
}

fn prepared_gemini(body: Value, model: &str, stream: bool) -> Prepared {
    let config = &body["generationConfig"];
    let max_tokens = config["maxOutputTokens"].as_u64().unwrap_or(0);
    let choices = config["candidateCount"].as_u64().unwrap_or(1);
    let prompt_estimate = prompt_bound(&body);
    Prepared {
        model: model.to_owned(),
        stream,
        prompt_estimate,
        completion_budget: max_tokens * choices,
        caller_wants_stream_usage: true,
        body,
    }
}

#[cfg(test)]
#[path = "dialect_tests.rs"]
mod tests;
