//! Reading `kcat -C -f '<format>'` output back into records, for the `leaky-avro-json` decoder.
//!
//! Debian's kcat has no Avro support, so kcat prints the raw payload and the decoder is
//! given the same `-f` format string to cut its output into records. Payloads are binary,
//! so they need a length before them: `%R` (4-byte big-endian, -1 for NULL) or `%S` (as
//! text). The default format is `%R%s`. Metadata may come first, e.g.
//! `%t %p %o %T %h %K %k%R%s`: text tokens (`%t %p %o %T %h %K %S`) must each be followed
//! by a literal separator (a space, `\t`, ...), and `%k` needs `%K` before it. `%h` is the
//! record's headers, `name=value` pairs separated by commas (e.g. its `traceparent`).

use std::io::{self, BufRead};
use std::str::FromStr;

/// The format the decoder assumes when given none: just length-prefixed payloads.
pub const DEFAULT_FORMAT: &str = "%R%s";

/// One piece of a format string.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    Literal(Vec<u8>),
    /// A text token and the separator byte that ends it.
    Text(TextField, u8),
    /// `%R`: the payload length as a 4-byte big-endian signed integer.
    BinaryValueLength,
    /// `%k`: the key's bytes, `%K` long.
    Key,
    /// `%s`: the payload's bytes, `%R` or `%S` long.
    Value,
}

/// A token kcat prints as text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TextField {
    Topic,
    Partition,
    Offset,
    Timestamp,
    KeyLength,
    ValueLength,
    Headers,
}

/// Why a format string cannot be used to read kcat output back.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("format {format:?}: {problem}")]
pub struct FormatError {
    /// The format string.
    pub format: String,
    /// What is wrong with it.
    pub problem: String,
}

/// A kcat `-f` format string the decoder can read back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Format {
    tokens: Vec<Token>,
}

impl FromStr for Format {
    type Err = FormatError;
    fn from_str(format: &str) -> Result<Self, Self::Err> {
        let problem = |problem: &str| FormatError {
            format: format.to_owned(),
            problem: problem.to_owned(),
        };
        let mut raw = Vec::new();
        let mut bytes = format.as_bytes().iter().copied().peekable();
        while let Some(b) = bytes.next() {
            match (b, bytes.peek().copied()) {
                (b'%', Some(t)) => {
                    bytes.next();
                    raw.push(match t {
                        b't' => Raw::Text(TextField::Topic),
                        b'p' => Raw::Text(TextField::Partition),
                        b'o' => Raw::Text(TextField::Offset),
                        b'T' => Raw::Text(TextField::Timestamp),
                        b'K' => Raw::Text(TextField::KeyLength),
                        b'S' => Raw::Text(TextField::ValueLength),
                        b'h' => Raw::Text(TextField::Headers),
                        b'R' => Raw::Token(Token::BinaryValueLength),
                        b'k' => Raw::Token(Token::Key),
                        b's' => Raw::Token(Token::Value),
                        b'%' => Raw::Byte(b'%'),
                        _ => return Err(problem(&format!("%{} is not supported", t as char))),
                    });
                }
                (b'\\', Some(e)) => {
                    bytes.next();
                    raw.push(Raw::Byte(match e {
                        b'n' => b'\n',
                        b'r' => b'\r',
                        b't' => b'\t',
                        b'x' => {
                            let digits: String = std::iter::from_fn(|| {
                                bytes.next_if(u8::is_ascii_hexdigit).map(char::from)
                            })
                            .take(2)
                            .collect();
                            u8::from_str_radix(&digits, 16)
                                .map_err(|_| problem("\\x needs hex digits"))?
                        }
                        other => other,
                    }));
                }
                (b, _) => raw.push(Raw::Byte(b)),
            }
        }
        Self::from_raw(raw).map_err(|p| problem(&p))
    }
}

/// A format token before separators are attached to the text tokens.
enum Raw {
    Byte(u8),
    Text(TextField),
    Token(Token),
}

impl Format {
    fn from_raw(raw: Vec<Raw>) -> Result<Self, String> {
        let mut tokens: Vec<Token> = Vec::new();
        let mut pending_text: Option<TextField> = None;
        let (mut key_length, mut value_length, mut value) = (false, false, false);
        for item in raw {
            if let Some(field) = pending_text.take() {
                match &item {
                    Raw::Byte(b) => tokens.push(Token::Text(field, *b)),
                    _ => return Err("a text token must be followed by a literal separator".into()),
                }
            }
            match item {
                Raw::Byte(b) => match tokens.last_mut() {
                    Some(Token::Literal(bytes)) => bytes.push(b),
                    _ => tokens.push(Token::Literal(vec![b])),
                },
                Raw::Text(field) => {
                    key_length |= field == TextField::KeyLength;
                    value_length |= field == TextField::ValueLength;
                    pending_text = Some(field);
                }
                Raw::Token(Token::Key) if !key_length => return Err("%k needs %K before it".into()),
                Raw::Token(Token::Value) if !value_length => {
                    return Err("%s needs %R or %S before it".into());
                }
                Raw::Token(token) => {
                    value_length |= token == Token::BinaryValueLength;
                    value |= token == Token::Value;
                    tokens.push(token);
                }
            }
        }
        if pending_text.is_some() {
            return Err("a text token must be followed by a literal separator".into());
        }
        if !value {
            return Err("it must contain %s".into());
        }
        Ok(Self { tokens })
    }
}

/// One record of kcat output; metadata is `Some` only if the format printed it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KcatRecord {
    /// `%t`.
    pub topic: Option<String>,
    /// `%p`.
    pub partition: Option<i32>,
    /// `%o`.
    pub offset: Option<i64>,
    /// `%T`, milliseconds since the epoch.
    pub timestamp: Option<i64>,
    /// `%h`: each header's name and value, in order.
    pub headers: Option<Vec<(String, String)>>,
    /// `%k`: `Some(None)` for a NULL key.
    pub key: Option<Option<Vec<u8>>>,
    /// `%s`: `None` for a NULL payload (a tombstone).
    pub value: Option<Vec<u8>>,
}

/// Reads the next record of `format` from `input`; `Ok(None)` at the end of the input.
pub fn read_record(format: &Format, input: &mut impl BufRead) -> io::Result<Option<KcatRecord>> {
    if input.fill_buf()?.is_empty() {
        return Ok(None);
    }
    let mut record = KcatRecord::default();
    let (mut key_length, mut value_length): (i64, i64) = (-1, -1);
    for token in &format.tokens {
        match token {
            Token::Literal(expected) => {
                let found = read_exact(input, expected.len())?;
                if &found != expected {
                    return Err(invalid(format!("expected {expected:?}, found {found:?}")));
                }
            }
            Token::Text(field, separator) => {
                let text = read_until(input, *separator)?;
                match field {
                    TextField::Topic => record.topic = Some(text),
                    TextField::Partition => record.partition = Some(number(&text)?),
                    TextField::Offset => record.offset = Some(number(&text)?),
                    TextField::Timestamp => record.timestamp = Some(number(&text)?),
                    TextField::KeyLength => key_length = number(&text)?,
                    TextField::ValueLength => value_length = number(&text)?,
                    TextField::Headers => record.headers = Some(headers(&text)),
                }
            }
            Token::BinaryValueLength => {
                let bytes = read_exact(input, 4)?;
                let array: [u8; 4] = bytes
                    .try_into()
                    .map_err(|_| invalid("short length".into()))?;
                value_length = i64::from(i32::from_be_bytes(array));
            }
            Token::Key => record.key = Some(read_sized(input, key_length)?),
            Token::Value => record.value = read_sized(input, value_length)?,
        }
    }
    Ok(Some(record))
}

/// `length` bytes, or `None` for kcat's -1 (NULL).
fn read_sized(input: &mut impl BufRead, length: i64) -> io::Result<Option<Vec<u8>>> {
    match usize::try_from(length) {
        Ok(length) => read_exact(input, length).map(Some),
        Err(_) if length == -1 => Ok(None),
        Err(_) => Err(invalid(format!("invalid length {length}"))),
    }
}

fn read_exact(input: &mut impl BufRead, length: usize) -> io::Result<Vec<u8>> {
    let mut bytes = vec![0; length];
    input.read_exact(&mut bytes)?;
    Ok(bytes)
}

/// Text up to (not including) `separator`, which is left for the literal that follows.
fn read_until(input: &mut impl BufRead, separator: u8) -> io::Result<String> {
    let mut text = Vec::new();
    loop {
        let buffer = input.fill_buf()?;
        if buffer.is_empty() {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        match buffer.iter().position(|b| *b == separator) {
            Some(end) => {
                text.extend_from_slice(&buffer[..end]);
                input.consume(end);
                break;
            }
            None => {
                let length = buffer.len();
                text.extend_from_slice(buffer);
                input.consume(length);
            }
        }
    }
    String::from_utf8(text).map_err(|e| invalid(e.to_string()))
}

/// kcat's `%h`: `name=value` pairs separated by commas; nothing for no headers.
fn headers(text: &str) -> Vec<(String, String)> {
    text.split(',')
        .filter(|pair| !pair.is_empty())
        .map(|pair| match pair.split_once('=') {
            Some((name, value)) => (name.to_owned(), value.to_owned()),
            None => (pair.to_owned(), String::new()),
        })
        .collect()
}

fn number<T: FromStr>(text: &str) -> io::Result<T> {
    text.parse()
        .map_err(|_| invalid(format!("expected a number, found {text:?}")))
}

fn invalid(message: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, message)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read_all(format: &str, mut input: &[u8]) -> io::Result<Vec<KcatRecord>> {
        let format: Format = format.parse().unwrap();
        std::iter::from_fn(|| read_record(&format, &mut input).transpose()).collect()
    }

    #[test]
    fn the_default_format_is_length_prefixed_payloads_with_minus_one_for_null() {
        let input = [&[0, 0, 0, 2][..], b"ab", &[0xff; 4], &[0, 0, 0, 0]].concat();
        let records = read_all(DEFAULT_FORMAT, &input).unwrap();
        let values: Vec<_> = records.into_iter().map(|r| r.value).collect();
        assert_eq!(values, [Some(b"ab".to_vec()), None, Some(vec![])]);
    }

    #[test]
    fn metadata_is_read_up_to_each_separator_and_keys_by_their_length() {
        let format = r"%t\t%p %o %T %K %k%S %s\n";
        let input = b"t.x\t3 42 1700 5 k:y z5 \x00\x01 \n\n\nt.y\t0 7 0 -1 -1 \n";
        let records = read_all(format, &input[..]).unwrap();
        assert_eq!(records.len(), 2);
        assert_eq!(records[0].topic.as_deref(), Some("t.x"));
        assert_eq!(
            (
                records[0].partition,
                records[0].offset,
                records[0].timestamp
            ),
            (Some(3), Some(42), Some(1700))
        );
        assert_eq!(records[0].key, Some(Some(b"k:y z".to_vec())));
        assert_eq!(records[0].value, Some(b"\x00\x01 \n\n".to_vec()));
        assert_eq!(
            (records[1].key.clone(), records[1].value.clone()),
            (Some(None), None)
        );
    }

    #[test]
    fn headers_are_read_as_name_value_pairs() {
        let input = b"traceparent=00-ab-cd-01,dlq.reason=x \0\0\0\0 \0\0\0\0";
        let records = read_all("%h %R%s", &input[..]).unwrap();
        assert_eq!(
            records[0].headers,
            Some(vec![
                ("traceparent".to_owned(), "00-ab-cd-01".to_owned()),
                ("dlq.reason".to_owned(), "x".to_owned()),
            ])
        );
        assert_eq!(records[1].headers, Some(vec![]));
    }

    #[test]
    fn input_cut_short_inside_a_record_is_an_error() {
        let error = read_all(DEFAULT_FORMAT, &[0, 0, 0, 9, b'a']).unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::UnexpectedEof);
    }

    #[test]
    fn formats_that_cannot_be_read_back_are_refused() {
        for format in [
            "%s",
            "%S%s",
            "%k%R%s",
            "%K%k%R%s",
            "%p%o%R%s",
            "%R%s%p",
            "%R",
            r"\xZZ%R%s",
        ] {
            assert!(format.parse::<Format>().is_err(), "{format:?}");
        }
        for format in [
            "%R%s",
            "%p %o %K %k%R%s\n",
            r"%t\x1f%p|%R%s",
            "100%% %R%s",
            "%h %R%s",
        ] {
            assert!(format.parse::<Format>().is_ok(), "{format:?}");
        }
    }
}
