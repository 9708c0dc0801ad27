//! Server-sent events, read incrementally: bytes in (however the network cut them), the
//! `data` of each complete event out.

/// Collects bytes until an event is complete.
#[derive(Debug, Default)]
pub struct SseReader {
    pending: Vec<u8>,
}

impl SseReader {
    /// Feeds `bytes`; returns the data of every event they completed (an event's `data:`
    /// lines joined by newlines; events without data, such as comments, are skipped).
    pub fn feed(&mut self, bytes: &[u8]) -> Vec<String> {
        self.pending.extend_from_slice(bytes);
        let mut events = Vec::new();
        while let Some((end, separator)) = find_blank_line(&self.pending) {
            let block: Vec<u8> = self.pending.drain(..end + separator).collect();
            if let Some(data) = data_of(&String::from_utf8_lossy(&block[..end])) {
                events.push(data);
            }
        }
        events
    }
}

/// Where the first blank line (event end) starts, and its length.
fn find_blank_line(bytes: &[u8]) -> Option<(usize, usize)> {
    (0..bytes.len()).find_map(|i| {
        let rest = &bytes[i..];
        if rest.starts_with(b"\r\n\r\n") {
            Some((i, 4))
        } else if rest.starts_with(b"\n\n") {
            Some((i, 2))
        } else {
            None
        }
    })
}

fn data_of(block: &str) -> Option<String> {
    let lines: Vec<&str> = block
        .lines()
        .filter_map(|line| line.strip_prefix("data:"))
        .map(|data| data.strip_prefix(' ').unwrap_or(data))
        .collect();
    (!lines.is_empty()).then(|| lines.join("\n"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_cut_anywhere_by_the_network_come_out_whole() {
        let stream = b"data: {\"a\":1}\n\n: keep-alive\n\ndata: [DONE]\r\n\r\n";
        for cut in 0..stream.len() {
            let mut reader = SseReader::default();
            let mut events = reader.feed(&stream[..cut]);
            events.extend(reader.feed(&stream[cut..]));
            assert_eq!(events, vec!["{\"a\":1}", "[DONE]"], "cut at {cut}");
        }
    }

    #[test]
    fn multi_line_data_is_joined() {
        let mut reader = SseReader::default();
        assert_eq!(
            reader.feed(b"event: x\ndata: one\ndata:two\n\n"),
            vec!["one\ntwo"]
        );
    }
}
