//! The stub's "tokenizer": a deterministic count that behaves like BPE for the purpose of
//! testing (never more tokens than UTF-8 bytes), and the words it replies with.

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
