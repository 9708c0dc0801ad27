//! The stub's "tokenizer": a deterministic count that behaves like BPE for the purpose of
//! testing (never more tokens than UTF-8 bytes), and the words it replies with.

use serde_json::Value;

/// Tokens in `text`: each whitespace-separated word counts one per started 4 bytes.
pub fn count(text: &str) -> u64 {
    text.split_whitespace()
        .map(|word| word.len().div_ceil(4) as u64)
        .sum()
}

/// Tokens a chat prompt costs: its texts plus 3 per message and 3 to prime the reply (the
/// accounting OpenAI documents for its chat format).
pub fn prompt(texts: &[String]) -> u64 {
    texts.iter().map(|t| count(t) + 3).sum::<u64>() + 3
}

/// What a provider bills for one image, audio clip or file part (OpenAI's price of a
/// high-detail 1024×1024 image).
pub const MEDIA_PART_TOKENS: u64 = 765;

/// Parts whose cost is their content, not their JSON.
const MEDIA_KEYS: &[&str] = &["image_url", "input_audio", "file", "inlineData", "fileData"];

/// Fields that steer the call rather than being read by the model.
const PARAMETERS: &[&str] = &["stream_options", "safetySettings"];

/// Tokens of everything in a request the model reads besides the texts of its messages
/// (`conversation`, counted by [`prompt`]): tools, functions, `response_format`, Gemini's
/// `toolConfig` and `generationConfig.responseSchema`, each by its JSON text; and every
/// media part anywhere. Providers bill these too; a stub that skipped them would let a test
/// pass a gateway that holds less than it will be billed.
pub fn beyond_messages(body: &Value, conversation: &[&str]) -> u64 {
    let Some(fields) = body.as_object() else {
        return 0;
    };
    let structured: u64 = fields
        .iter()
        .filter(|(name, _)| !conversation.contains(&name.as_str()))
        .filter(|(name, _)| !PARAMETERS.contains(&name.as_str()))
        .map(|(name, value)| match (name.as_str(), value) {
            ("generationConfig", Value::Object(config)) => config
                .values()
                .filter(|v| v.is_object() || v.is_array())
                .map(json_tokens)
                .sum(),
            (_, Value::Object(_) | Value::Array(_)) => json_tokens(value),
            _ => 0,
        })
        .sum();
    structured + media_parts(body) * MEDIA_PART_TOKENS
}

fn json_tokens(value: &Value) -> u64 {
    count(&value.to_string())
}

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

/// Words of at most 4 bytes, so each reply word is exactly one token.
const LEXICON: &[&str] = &[
    "the", "stub", "says", "ok", "and", "more", "word", "text", "for", "you",
];

/// The `n` words of a reply, one token each.
pub fn reply_words(n: u64) -> Vec<&'static str> {
    (0..n as usize)
        .map(|i| LEXICON[i % LEXICON.len()])
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tools_schemas_and_media_are_billed_and_parameters_are_not() {
        let schema =
            serde_json::json!({"type": "object", "properties": {"answer": {"type": "string"}}});
        let body = serde_json::json!({
            "model": "gpt-4o-mini",
            "messages": [{"role": "user", "content": [
                {"type": "text", "text": "hi"},
                {"type": "image_url", "image_url": {"url": "https://example.com/a.png"}}
            ]}],
            "response_format": {"type": "json_schema", "json_schema": {"schema": schema}},
            "stream_options": {"include_usage": true},
            "max_tokens": 5
        });
        let format = count(&body["response_format"].to_string());
        assert!(format > 10);
        assert_eq!(
            beyond_messages(&body, &["messages"]),
            format + MEDIA_PART_TOKENS
        );
    }

    #[test]
    fn a_gemini_response_schema_is_billed_and_its_sampling_settings_are_not() {
        let body = serde_json::json!({
            "contents": [{"parts": [{"text": "hi"}]}],
            "generationConfig": {"maxOutputTokens": 5, "responseSchema": {"type": "STRING"}}
        });
        assert_eq!(
            beyond_messages(&body, &["contents"]),
            count(r#"{"type":"STRING"}"#)
        );
    }

    #[test]
    fn a_word_costs_one_token_per_started_four_bytes() {
        assert_eq!(count(""), 0);
        assert_eq!(count("ok"), 1);
        assert_eq!(count("four five"), 2);
        assert_eq!(count("tokenizer"), 3);
    }

    #[test]
    fn never_more_tokens_than_bytes() {
        for text in ["a b c d", "x", "  spaced   out  ", "ünïcödé wörds"] {
            assert!(count(text) <= text.len() as u64, "{text:?}");
        }
    }

    #[test]
    fn each_reply_word_is_one_token() {
        let words = reply_words(25);
        assert_eq!(words.len(), 25);
        assert_eq!(count(&words.join(" ")), 25);
    }

    #[test]
    fn a_prompt_costs_its_texts_plus_framing() {
        assert_eq!(prompt(&["hi you".to_owned()]), 2 + 3 + 3);
        assert_eq!(prompt(&[]), 3);
    }
}
