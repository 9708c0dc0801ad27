//! Which request a reply answers. Retries of one idempotency key share a command id, so a
//! reply names the very record it answers: the command record carries its sender's ticket
//! in a header, and the writer copies it onto the reply. Without it, the first reply of an
//! id (say, to a try answered 202 long ago) could reach a later try that sent another
//! payload and is owed a conflict.

use rdkafka::Message;
use rdkafka::message::{Header, Headers, OwnedHeaders};

/// The header naming the request that sent a command (a number unique per sender).
pub const REPLY_TICKET: &str = "leaky-reply-ticket";

/// `headers` plus the ticket of the request that sends the record.
pub fn with_reply_ticket(headers: OwnedHeaders, ticket: u64) -> OwnedHeaders {
    headers.insert(Header {
        key: REPLY_TICKET,
        value: Some(&ticket.to_string()),
    })
}

/// The ticket a record carries, if any (and readable).
pub fn reply_ticket_of<M: Message>(message: &M) -> Option<u64> {
    let headers = message.headers()?;
    headers
        .iter()
        .filter(|h| h.key == REPLY_TICKET)
        .find_map(|h| std::str::from_utf8(h.value?).ok()?.parse().ok())
}
