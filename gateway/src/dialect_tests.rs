use serde_json::json;

use super::*;

const BUDGET: Budget = Budget {
    default_max_tokens: 100,
    max_tokens_cap: 1_000,
};

fn openai(body: serde_json::Value) -> Result<Prepared, RequestError> {
    prepare(
        Dialect::OpenAiChat,
        body.to_string().as_bytes(),
        BUDGET,
        None,
    )
}

#[test]
fn a_request_without_a_budget_gets_the_default_written_into_it() {
    let prepared =
        openai(json!({"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}]}))
            .unwrap();
    assert_eq!(prepared.body["max_tokens"], 100);
    assert_eq!(prepared.completion_budget, 100);
    assert!(!prepared.stream);
}

#[test]
fn a_budget_over_the_cap_is_lowered_to_it_in_the_field_the_caller_used() {
    let prepared = openai(
        json!({"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}],
                                "max_completion_tokens": 5_000, "n": 2}),
    )
    .unwrap();
    assert_eq!(prepared.body["max_completion_tokens"], 1_000);
    assert!(prepared.body.get("max_tokens").is_none());
    assert_eq!(prepared.completion_budget, 2_000);
}

#[test]
fn the_prompt_estimate_bounds_any_tokenizer_from_above() {
    let text = "a fairly ordinary sentence, with punctuation; and ünïcödé.";
    let prepared =
        openai(json!({"model": "gpt-4o", "messages": [{"role": "user", "content": text}]}))
            .unwrap();
    // Every token is at least one byte, and a message costs a few tokens of framing.
    assert!(prepared.prompt_estimate >= text.len() as u64 + 3 + 3);
    assert_eq!(prepared.worst_case(), prepared.prompt_estimate + 100);
}

#[test]
fn a_stream_always_asks_for_usage_and_remembers_whether_the_caller_did() {
    let quiet = openai(json!({"model": "gpt-4o", "stream": true,
                              "messages": [{"role": "user", "content": "hi"}]}))
    .unwrap();
    assert_eq!(quiet.body["stream_options"]["include_usage"], true);
    assert!(!quiet.caller_wants_stream_usage);
    let asking = openai(json!({"model": "gpt-4o", "stream": true,
                               "stream_options": {"include_usage": true},
                               "messages": [{"role": "user", "content": "hi"}]}))
    .unwrap();
    assert!(asking.caller_wants_stream_usage);
}

#[test]
fn bad_requests_name_their_field() {
    let field = |body| match openai(body) {
        Err(RequestError::Invalid { field, .. }) => field,
        other => panic!("expected an invalid field, got {other:?}"),
    };
    assert_eq!(
        field(json!({"messages": [{"role": "user", "content": "hi"}]})),
        "model"
    );
    assert_eq!(
        field(json!({"model": "gpt-4o", "messages": []})),
        "messages"
    );
    assert_eq!(
        field(json!({"model": "gpt-4o", "messages": [{"content": "x"}], "max_tokens": 0})),
        "max_tokens"
    );
    assert_eq!(
        field(json!({"model": "gpt-4o", "messages": [{"content": "x"}], "max_tokens": -3})),
        "max_tokens"
    );
    assert_eq!(
        field(json!({"model": "gpt-4o", "messages": [{"content": "x"}], "stream": "yes"})),
        "stream"
    );
    assert_eq!(
        field(json!({"model": "gpt-4o", "messages": [{"content": "x"}], "n": 99})),
        "n"
    );
    assert!(matches!(
        prepare(Dialect::OpenAiChat, b"[1,2]", BUDGET, None),
        Err(RequestError::Malformed(_))
    ));
    assert!(matches!(
        prepare(Dialect::OpenAiChat, b"{not json", BUDGET, None),
        Err(RequestError::Malformed(_))
    ));
}

#[test]
fn gemini_budgets_live_in_generation_config() {
    let body = json!({"contents": [{"parts": [{"text": "hi"}]}],
                      "generationConfig": {"maxOutputTokens": 50, "candidateCount": 2}});
    let prepared = prepare(
        Dialect::GeminiNative,
        body.to_string().as_bytes(),
        BUDGET,
        Some(("gemini-2.0-flash", true)),
    )
    .unwrap();
    assert_eq!(prepared.completion_budget, 100);
    assert!(prepared.stream);
    assert_eq!(prepared.model, "gemini-2.0-flash");
    let defaulted = prepare(
        Dialect::GeminiNative,
        json!({"contents": [{"parts": [{"text": "hi"}]}]})
            .to_string()
            .as_bytes(),
        BUDGET,
        Some(("gemini-2.0-flash", false)),
    )
    .unwrap();
    assert_eq!(defaulted.body["generationConfig"]["maxOutputTokens"], 100);
}

#[test]
fn both_budget_fields_are_capped_when_both_are_sent() {
    let prepared = openai(json!({"model": "gpt-4o", "messages": [{"content": "hi"}],
                                 "max_completion_tokens": 10, "max_tokens": 1_000_000}))
    .unwrap();
    assert_eq!(prepared.body["max_completion_tokens"], 1_000);
    assert_eq!(prepared.body["max_tokens"], 1_000);
    assert_eq!(prepared.completion_budget, 1_000);
}

#[test]
fn the_prompt_bound_covers_every_field_of_the_request_not_only_the_messages() {
    let schema = "x".repeat(100_000);
    let prepared = openai(json!({"model": "gpt-4o", "messages": [{"content": "hi"}],
        "response_format": {"type": "json_schema", "json_schema": {"schema": {"description": schema}}}}))
    .unwrap();
    assert!(prepared.prompt_estimate > 100_000);
    let gemini = prepare(
        Dialect::GeminiNative,
        json!({"contents": [{"parts": [{"text": "hi"}]}],
               "toolConfig": {"functionCallingConfig": {"mode": "ANY"}},
               "generationConfig": {"responseSchema": {"description": "y".repeat(50_000)}}})
        .to_string()
        .as_bytes(),
        BUDGET,
        Some(("gemini-2.0-flash", false)),
    )
    .unwrap();
    assert!(gemini.prompt_estimate > 50_000);
}

#[test]
fn media_billed_by_content_adds_its_bound_per_part() {
    let plain = openai(json!({"model": "gpt-4o", "messages": [{"content": "hi"}]})).unwrap();
    let image = openai(json!({"model": "gpt-4o", "messages": [{"content": [
        {"type": "text", "text": "hi"},
        {"type": "image_url", "image_url": {"url": "https://example.com/a.png"}}]}]}))
    .unwrap();
    assert!(image.prompt_estimate >= plain.prompt_estimate + MEDIA_PART_TOKENS);
    let cached = prepare(
        Dialect::GeminiNative,
        json!({"contents": [{"parts": [{"text": "hi"}]}], "cachedContent": "cachedContents/abc"})
            .to_string()
            .as_bytes(),
        BUDGET,
        Some(("gemini-2.0-flash", false)),
    )
    .unwrap();
    assert!(cached.prompt_estimate >= MEDIA_PART_TOKENS);
}

#[test]
fn model_ids_pass_and_anything_that_could_steer_a_url_is_refused() {
    use crate::dialect::{ModelIn, check_model};
    for good in [
        "gpt-4o-mini",
        "gpt-4.1",
        "qwen-plus",
        "gemini-2.0-flash",
        "o3",
    ] {
        assert_eq!(check_model(good, ModelIn::Path), Ok(()), "{good}");
        assert_eq!(check_model(good, ModelIn::Body), Ok(()), "{good}");
    }
    for body_only in [
        "ft:gpt-4o-mini:acme::abc123",
        "models/gemini-2.0-flash",
        "tunedModels/mine-1",
    ] {
        assert_eq!(check_model(body_only, ModelIn::Body), Ok(()), "{body_only}");
        assert!(
            check_model(body_only, ModelIn::Path).is_err(),
            "{body_only}"
        );
    }
    let long = "a".repeat(129);
    for bad in [
        "",
        "..",
        ".hidden",
        "-x",
        "a/b",
        "a?b",
        "a#b",
        "a%2Fb",
        "a\u{0}",
        "a b",
        "a\u{2215}b",
        "models/../x",
        long.as_str(),
    ] {
        for carried in [ModelIn::Path, ModelIn::Body] {
            assert!(
                matches!(check_model(bad, carried), Err(RequestError::BadModel(_))),
                "{bad:?} {carried:?}"
            );
        }
    }
}
