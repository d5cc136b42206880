//! Server-Sent Events: an incremental parser of `text/event-stream` bodies.
//!
//! Owns the WHATWG event-stream grammar (lines ending in CRLF, LF or CR;
//! `data`, `event`, `id` and `retry` fields; comments; a blank line
//! dispatches) with a bound on the size of one event. It must not do I/O or
//! read what an event's data means.

/// One dispatched event. `data` may be empty: a server primes resumption
/// with an event that carries only an `id`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Event {
    /// The `event` field, empty when absent (which means `message`).
    pub name: String,
    pub data: Vec<u8>,
    /// The `id` field of this event, if it had one.
    pub id: Option<String>,
    /// The `retry` field (milliseconds), if it had one.
    pub retry: Option<u64>,
}

impl Event {
    /// Whether this is a `message` event (named so, or unnamed).
    pub fn is_message(&self) -> bool {
        self.name.is_empty() || self.name == "message"
    }
}

/// The longest `event` or `id` field kept, in bytes.
pub const MAX_FIELD: usize = 1024;

/// A line at least this long is moved into an event rather than copied, and
/// a line buffer grown past it is not kept for the lines after it.
const MOVE_AT: usize = 64 * 1024;

/// The length of `data:` or `data: ` at the start of `line`, if it is a `data` field.
fn data_prefix(line: &[u8]) -> Option<usize> {
    let v = line.strip_prefix(b"data:")?;
    Some(if v.first() == Some(&b' ') { 6 } else { 5 })
}

/// An event grew past the parser's limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("an event of the server's stream is larger than {0} bytes")]
pub struct TooLarge(pub usize);

/// Feeds chunks in, takes events out.
#[derive(Debug)]
pub struct Parser {
    line: Vec<u8>,
    /// The previous chunk ended with CR: a leading LF belongs to that line end.
    after_cr: bool,
    current: Event,
    fields: bool,
    max: usize,
}

impl Parser {
    /// A parser refusing events (or lines) longer than `max` bytes.
    pub fn new(max: usize) -> Self {
        Self {
            line: Vec::new(),
            after_cr: false,
            current: Event::default(),
            fields: false,
            max,
        }
    }

    /// Parses `chunk`, appending every event it completes to `out`.
    pub fn feed(&mut self, chunk: &[u8], out: &mut Vec<Event>) -> Result<(), TooLarge> {
        let mut rest = chunk;
        if self.after_cr && rest.first() == Some(&b'\n') {
            rest = &rest[1..];
        }
        self.after_cr = false;
        while let Some(end) = rest.iter().position(|&b| b == b'\n' || b == b'\r') {
            self.line.extend_from_slice(&rest[..end]);
            self.check()?;
            let line = std::mem::take(&mut self.line);
            self.end_line(line, out);
            let crlf = rest[end] == b'\r' && rest.get(end + 1) == Some(&b'\n');
            if rest[end] == b'\r' && end + 1 == rest.len() {
                self.after_cr = true;
            }
            rest = &rest[end + if crlf { 2 } else { 1 }..];
        }
        self.line.extend_from_slice(rest);
        self.check()
    }

    /// Takes one complete line. A long `data` line that starts an event
    /// becomes the event's data without a copy; otherwise the line buffer is
    /// kept for the next line, unless a long line made it large.
    fn end_line(&mut self, mut line: Vec<u8>, out: &mut Vec<Event>) {
        if line.len() >= MOVE_AT
            && self.current.data.is_empty()
            && let Some(skip) = data_prefix(&line)
        {
            line.drain(..skip);
            line.push(b'\n');
            self.current.data = line;
            self.fields = true;
            return;
        }
        self.on_line(&line, out);
        line.clear();
        if line.capacity() <= MOVE_AT {
            self.line = line;
        }
    }

    fn check(&self) -> Result<(), TooLarge> {
        if self.line.len() + self.current.data.len() > self.max {
            return Err(TooLarge(self.max));
        }
        Ok(())
    }

    fn on_line(&mut self, line: &[u8], out: &mut Vec<Event>) {
        if line.is_empty() {
            if self.fields {
                let mut e = std::mem::take(&mut self.current);
                if e.data.last() == Some(&b'\n') {
                    e.data.pop();
                }
                out.push(e);
            }
            self.fields = false;
            return;
        }
        if line[0] == b':' {
            return; // a comment (keep-alive)
        }
        let (field, value) = match line.iter().position(|&b| b == b':') {
            Some(p) => {
                let v = &line[p + 1..];
                (&line[..p], v.strip_prefix(b" ").unwrap_or(v))
            }
            None => (line, &b""[..]),
        };
        self.fields = true;
        match field {
            b"data" => {
                self.current.data.extend_from_slice(value);
                self.current.data.push(b'\n');
            }
            // an over-long name names no event we read: it is not a message
            b"event" if value.len() > MAX_FIELD => self.current.name = "?".into(),
            b"event" => self.current.name = String::from_utf8_lossy(value).into_owned(),
            // an over-long id is not kept (it would be sent back as Last-Event-ID)
            b"id" if value.len() > MAX_FIELD => {}
            b"id" if !value.contains(&0) => {
                self.current.id = Some(String::from_utf8_lossy(value).into_owned());
            }
            b"retry" if !value.is_empty() && value.iter().all(u8::is_ascii_digit) => {
                self.current.retry = std::str::from_utf8(value).ok().and_then(|v| v.parse().ok());
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_in(chunks: &[&[u8]]) -> Vec<Event> {
        let mut p = Parser::new(1024);
        let mut out = Vec::new();
        for c in chunks {
            p.feed(c, &mut out).unwrap();
        }
        out
    }

    #[test]
    fn long_lines_parse_as_short_ones_do() {
        let long = "x".repeat(MOVE_AT + 10);
        let text = format!(
            "data:{long}\ndata: b\n\n: {long}\ndata: {long}\n\ndata: a\ndata:{long}\r\n\r\n"
        );
        let mut p = Parser::new(4 * MOVE_AT);
        let mut out = Vec::new();
        for c in text.as_bytes().chunks(4096) {
            p.feed(c, &mut out).unwrap();
        }
        let datas: Vec<Vec<u8>> = out.into_iter().map(|e| e.data).collect();
        assert_eq!(
            datas,
            [format!("{long}\nb"), long.clone(), format!("a\n{long}")].map(String::into_bytes)
        );
    }

    #[test]
    fn events_across_chunks_and_line_ends() {
        let whole: &[u8] =
            b": ping\r\nevent: message\r\nid: 7\r\ndata: {\"a\":\r\ndata: 1}\r\n\r\nretry: 50\nid: 8\n\n";
        let expect = vec![
            Event {
                name: "message".into(),
                data: b"{\"a\":\n1}".to_vec(),
                id: Some("7".into()),
                retry: None,
            },
            Event {
                name: String::new(),
                data: Vec::new(),
                id: Some("8".into()),
                retry: Some(50),
            },
        ];
        assert_eq!(parse_in(&[whole]), expect);
        for split in 1..whole.len() {
            let (a, b) = whole.split_at(split);
            assert_eq!(parse_in(&[a, b]), expect, "split at {split}");
        }
        assert_eq!(parse_in(&[b"data:x\r", b"\r"])[0].data, b"x");
    }

    #[test]
    fn over_long_ids_and_names_are_not_kept() {
        let long = "x".repeat(MAX_FIELD + 1);
        let mut p = Parser::new(1 << 20);
        let mut out = Vec::new();
        let text = format!("id: {long}\nevent: {long}\ndata: 1\n\nid: 7\ndata: 2\n\n");
        p.feed(text.as_bytes(), &mut out).unwrap();
        assert_eq!(out[0].id, None);
        assert!(!out[0].is_message());
        assert_eq!(out[1].id.as_deref(), Some("7"));
    }

    #[test]
    fn endpoint_event_and_limit() {
        let e = parse_in(&[b"event: endpoint\ndata: /messages?sessionId=1\n\n"]);
        assert_eq!(e[0].name, "endpoint");
        assert!(!e[0].is_message());
        let mut p = Parser::new(8);
        assert_eq!(
            p.feed(b"data: 0123456789\n", &mut Vec::new()),
            Err(TooLarge(8))
        );
    }
}
