//! The usage a provider reported, in whichever shape it reports it.

use serde_json::Value;

use crate::dialect::Dialect;

/// Total tokens reported in a plain answer (or in one stream event), if any.
pub fn reported_total(dialect: Dialect, body: &Value) -> Option<u64> {
    match dialect {
        Dialect::OpenAiChat => {
            let usage = body.get("usage").filter(|u| u.is_object())?;
            usage["total_tokens"].as_u64().or_else(|| {
                Some(usage["prompt_tokens"].as_u64()? + usage["completion_tokens"].as_u64()?)
            })
        }
        Dialect::GeminiNative => body.pointer("/usageMetadata/totalTokenCount")?.as_u64(),
    }
}

/// What a stream said so far: its usage report, whether it ended properly, and how much
/// text it delivered (to estimate a stream that broke off before reporting).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StreamTally {
    /// The last usage reported (Gemini repeats a running total in every chunk).
    pub reported: Option<u64>,
    /// The stream ended as the protocol says (OpenAI `[DONE]`, Gemini a finish reason).
    pub finished: bool,
    /// Bytes of generated text seen.
    pub text_bytes: u64,
}

impl StreamTally {
    /// Takes in one event's data; returns whether the caller should see it (the usage chunk
    /// the gateway asked for on its own behalf is not passed on).
    pub fn observe(&mut self, dialect: Dialect, data: &str, caller_wants_usage: bool) -> bool {
        if dialect == Dialect::OpenAiChat && data.trim() == "[DONE]" {
            self.finished = true;
            return true;
        }
        let Ok(event) = serde_json::from_str::<Value>(data) else {
            return true;
        };
        let usage = reported_total(dialect, &event);
        if usage.is_some() {
            self.reported = usage;
        }
        match dialect {
            Dialect::OpenAiChat => {
                for choice in event["choices"].as_array().into_iter().flatten() {
                    self.text_bytes += text_len(&choice["delta"]["content"]);
                }
                let only_usage =
                    usage.is_some() && event["choices"].as_array().is_none_or(|c| c.is_empty());
                !only_usage || caller_wants_usage
            }
            Dialect::GeminiNative => {
                for candidate in event["candidates"].as_array().into_iter().flatten() {
                    for part in candidate["content"]["parts"]
                        .as_array()
                        .into_iter()
                        .flatten()
                    {
                        self.text_bytes += text_len(&part["text"]);
                    }
                    if candidate["finishReason"].is_string() {
                        self.finished = true;
                    }
                }
                true
            }
        }
    }

    /// The usage to settle: the report of a stream that finished; otherwise an upper bound
    /// of what was consumed (the prompt bound plus the text delivered, a token being at
    /// least a byte), never more than what was held.
    pub fn to_settle(&self, prompt_estimate: u64, held: u64) -> Settlement {
        match (self.finished, self.reported) {
            (true, Some(total)) => Settlement::Reported(total),
            _ => Settlement::Estimated(
                prompt_estimate
                    .saturating_add(self.text_bytes)
                    .max(self.reported.unwrap_or(0))
                    .min(held),
            ),
        }
    }
}

/// How much a call used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Settlement {
    /// The provider's own report.
    Reported(u64),
    /// The gateway's upper bound, for a stream cut before its report.
    Estimated(u64),
}

impl Settlement {
    /// The tokens.
    pub fn tokens(self) -> u64 {
        match self {
            Self::Reported(n) | Self::Estimated(n) => n,
        }
    }
}

fn text_len(value: &Value) -> u64 {
    value.as_str().map_or(0, |s| s.len() as u64)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn plain_answers_report_usage_in_each_shape() {
        let openai =
            json!({"usage": {"prompt_tokens": 7, "completion_tokens": 5, "total_tokens": 12}});
        assert_eq!(reported_total(Dialect::OpenAiChat, &openai), Some(12));
        let partial = json!({"usage": {"prompt_tokens": 7, "completion_tokens": 5}});
        assert_eq!(reported_total(Dialect::OpenAiChat, &partial), Some(12));
        assert_eq!(
            reported_total(Dialect::OpenAiChat, &json!({"usage": null})),
            None
        );
        let gemini = json!({"usageMetadata": {"totalTokenCount": 9}});
        assert_eq!(reported_total(Dialect::GeminiNative, &gemini), Some(9));
    }

    #[test]
    fn an_openai_stream_settles_to_its_usage_chunk_which_only_an_asking_caller_sees() {
        let mut tally = StreamTally::default();
        let content = json!({"choices": [{"delta": {"content": "hello"}}], "usage": null});
        assert!(tally.observe(Dialect::OpenAiChat, &content.to_string(), false));
        let usage = json!({"choices": [], "usage": {"total_tokens": 21}});
        assert!(!tally.observe(Dialect::OpenAiChat, &usage.to_string(), false));
        assert!(tally.observe(Dialect::OpenAiChat, &usage.to_string(), true));
        assert!(tally.observe(Dialect::OpenAiChat, "[DONE]", false));
        assert_eq!(tally.to_settle(100, 500), Settlement::Reported(21));
    }

    #[test]
    fn a_stream_cut_before_its_report_is_charged_an_upper_bound_within_the_hold() {
        let mut tally = StreamTally::default();
        let content = json!({"choices": [{"delta": {"content": "hello"}}]});
        tally.observe(Dialect::OpenAiChat, &content.to_string(), false);
        assert_eq!(tally.to_settle(100, 500), Settlement::Estimated(105));
        assert_eq!(tally.to_settle(100, 50), Settlement::Estimated(50));
    }

    #[test]
    fn a_gemini_stream_finishes_with_a_finish_reason_and_its_last_running_total() {
        let mut tally = StreamTally::default();
        let chunk = |text: &str, finish: Option<&str>, total: u64| {
            json!({"candidates": [{"content": {"parts": [{"text": text}]}, "finishReason": finish}],
                   "usageMetadata": {"totalTokenCount": total}})
            .to_string()
        };
        tally.observe(Dialect::GeminiNative, &chunk("a", None, 11), false);
        assert_eq!(tally.to_settle(10, 100), Settlement::Estimated(11));
        tally.observe(Dialect::GeminiNative, &chunk(" b", Some("STOP"), 12), false);
        assert_eq!(tally.to_settle(10, 100), Settlement::Reported(12));
    }
}
