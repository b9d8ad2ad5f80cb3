//! Sans-IO HTTP/1.x response parser for the http/https probes.
//!
//! It is fed whatever bytes the socket (or the TLS session) produced, in any
//! split, and never touches a socket or a clock. It understands just enough
//! of RFC 9112 to judge a health-check response: the status line
//! (`HTTP/1.x NNN [reason]`), header fields (only `Content-Length` and
//! `Transfer-Encoding` matter), and a body delimited by `Content-Length`,
//! `chunked` coding or connection close. Interim `1xx` responses are skipped.
//! The decoded body is kept up to a cap; reaching the cap ends the response
//! (the probe matches what it has). The head is bounded too, so a hostile
//! backend cannot make the prober buffer without limit.

use std::fmt;

/// Largest accepted status line + header section, in bytes.
pub const MAX_HEAD: usize = 16 * 1024;
/// Longest accepted chunk-size line (extensions included).
const MAX_CHUNK_LINE: usize = 1024;

/// Why a response is not HTTP we accept; the probe reports these as L7RSP.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ParseError {
    /// The status line is not `HTTP/1.x NNN ...`; carries the line (truncated).
    BadStatusLine(String),
    /// A header line without a colon or with a bad name; carries the line.
    BadHeader(String),
    BadContentLength(String),
    /// `Transfer-Encoding` other than (ending in) `chunked`.
    UnsupportedTransferEncoding(String),
    BadChunkSize(String),
    /// Missing CRLF after chunk data.
    BadChunkTerminator,
    /// Status line plus headers exceed [`MAX_HEAD`].
    HeadTooLarge,
    /// The connection closed before the response was complete.
    Truncated,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ParseError::BadStatusLine(l) => write!(f, "malformed status line {l:?}"),
            ParseError::BadHeader(l) => write!(f, "malformed header line {l:?}"),
            ParseError::BadContentLength(v) => write!(f, "bad content-length {v:?}"),
            ParseError::UnsupportedTransferEncoding(v) => {
                write!(f, "unsupported transfer-encoding {v:?}")
            }
            ParseError::BadChunkSize(l) => write!(f, "bad chunk size line {l:?}"),
            ParseError::BadChunkTerminator => f.write_str("missing CRLF after chunk data"),
            ParseError::HeadTooLarge => write!(f, "response head larger than {MAX_HEAD} bytes"),
            ParseError::Truncated => f.write_str("connection closed before end of response"),
        }
    }
}

/// What the caller may do after feeding bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Progress {
    /// Feed more bytes (or call [`ResponseParser::finish`] on EOF).
    NeedMore,
    /// The response is complete (or the body cap was reached); stop reading.
    Complete,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    StatusLine,
    Headers,
    /// `Content-Length` body; bytes still to come.
    Fixed(u64),
    ChunkSize,
    ChunkData(u64),
    /// The CRLF after chunk data; how many of its bytes were seen.
    ChunkDataEnd(u8),
    Trailers,
    UntilClose,
    Done,
}

/// Incremental response parser.
#[derive(Debug, Clone)]
pub struct ResponseParser {
    phase: Phase,
    /// The current, not yet terminated line (status, header, chunk size, trailer).
    line: Vec<u8>,
    head_len: usize,
    status: Option<u16>,
    content_length: Option<u64>,
    chunked: bool,
    body: Vec<u8>,
    max_body: usize,
    body_capped: bool,
}

/// A complete line without its `\n` or `\r\n`.
fn strip_eol(line: &[u8]) -> &[u8] {
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    line.strip_suffix(b"\r").unwrap_or(line)
}

impl ResponseParser {
    /// `max_body`: decoded body bytes kept; reaching it completes the response.
    pub fn new(max_body: usize) -> Self {
        ResponseParser {
            phase: Phase::StatusLine,
            line: Vec::new(),
            head_len: 0,
            status: None,
            content_length: None,
            chunked: false,
            body: Vec::new(),
            max_body,
            body_capped: false,
        }
    }

    /// Status of the final (non-1xx) response, once its status line is parsed.
    pub fn status(&self) -> Option<u16> {
        self.status.filter(|s| *s >= 200)
    }

    /// Decoded body so far (at most `max_body` bytes).
    pub fn body(&self) -> &[u8] {
        &self.body
    }

    /// Whether the body was cut at `max_body`.
    pub fn body_capped(&self) -> bool {
        self.body_capped
    }

    pub fn is_complete(&self) -> bool {
        self.phase == Phase::Done
    }

    /// Consume `input`. Bytes after the end of the response are ignored.
    pub fn feed(&mut self, mut input: &[u8]) -> Result<Progress, ParseError> {
        while !input.is_empty() && self.phase != Phase::Done {
            let used = match self.phase {
                Phase::StatusLine | Phase::Headers | Phase::Trailers | Phase::ChunkSize => {
                    self.feed_line(input)?
                }
                Phase::Fixed(left) => {
                    let n = clamp_len(left, input.len());
                    self.push_body(input.get(..n).unwrap_or_default());
                    let left = left - n as u64;
                    self.phase = if left == 0 {
                        Phase::Done
                    } else {
                        Phase::Fixed(left)
                    };
                    n
                }
                Phase::ChunkData(left) => {
                    let n = clamp_len(left, input.len());
                    self.push_body(input.get(..n).unwrap_or_default());
                    let left = left - n as u64;
                    self.phase = if left == 0 {
                        Phase::ChunkDataEnd(0)
                    } else {
                        Phase::ChunkData(left)
                    };
                    n
                }
                Phase::ChunkDataEnd(seen) => {
                    let byte = input.first().copied().unwrap_or_default();
                    self.phase = match (seen, byte) {
                        (0, b'\r') => Phase::ChunkDataEnd(1),
                        (_, b'\n') => Phase::ChunkSize,
                        _ => return Err(ParseError::BadChunkTerminator),
                    };
                    1
                }
                Phase::UntilClose => {
                    self.push_body(input);
                    input.len()
                }
                Phase::Done => input.len(),
            };
            input = input.get(used..).unwrap_or_default();
            let in_body = matches!(
                self.phase,
                Phase::Fixed(_) | Phase::ChunkData(_) | Phase::UntilClose
            );
            if self.body_capped || (in_body && self.body.len() >= self.max_body) {
                self.body_capped = true;
                self.phase = Phase::Done;
            }
        }
        Ok(self.progress())
    }

    /// The peer closed the connection: a close-delimited body ends here,
    /// anything else unfinished is a truncated response.
    pub fn finish(&mut self) -> Result<Progress, ParseError> {
        match self.phase {
            Phase::Done => Ok(Progress::Complete),
            Phase::UntilClose => {
                self.phase = Phase::Done;
                Ok(Progress::Complete)
            }
            _ => Err(ParseError::Truncated),
        }
    }

    fn progress(&self) -> Progress {
        if self.phase == Phase::Done {
            Progress::Complete
        } else {
            Progress::NeedMore
        }
    }

    fn push_body(&mut self, data: &[u8]) {
        let room = self.max_body.saturating_sub(self.body.len());
        if data.len() > room {
            self.body_capped = true;
        }
        self.body
            .extend_from_slice(data.get(..room.min(data.len())).unwrap_or_default());
    }

    /// Accumulate one line; returns how many input bytes were used.
    fn feed_line(&mut self, input: &[u8]) -> Result<usize, ParseError> {
        let (taken, complete) = match input.iter().position(|b| *b == b'\n') {
            Some(i) => (i + 1, true),
            None => (input.len(), false),
        };
        let limit = match self.phase {
            Phase::ChunkSize => MAX_CHUNK_LINE,
            Phase::StatusLine | Phase::Headers => MAX_HEAD.saturating_sub(self.head_len),
            _ => MAX_HEAD,
        };
        if self.line.len() + taken > limit {
            return Err(match self.phase {
                Phase::ChunkSize => ParseError::BadChunkSize(printable(&self.line)),
                _ => ParseError::HeadTooLarge,
            });
        }
        let piece = input.get(..taken).unwrap_or_default();
        if !complete {
            self.line.extend_from_slice(piece);
            return Ok(taken);
        }
        if matches!(self.phase, Phase::StatusLine | Phase::Headers) {
            self.head_len += self.line.len() + taken;
        }
        if self.line.is_empty() {
            // The whole line came in this read (the usual case): parse it
            // where it is, no copy and no allocation per line.
            self.on_line(strip_eol(piece))?;
        } else {
            self.line.extend_from_slice(piece);
            let mut line = std::mem::take(&mut self.line);
            let result = self.on_line(strip_eol(&line));
            line.clear();
            self.line = line;
            result?;
        }
        Ok(taken)
    }

    fn on_line(&mut self, line: &[u8]) -> Result<(), ParseError> {
        match self.phase {
            Phase::StatusLine => {
                self.status = Some(parse_status_line(line)?);
                self.phase = Phase::Headers;
            }
            Phase::Headers if line.is_empty() => self.end_of_head()?,
            Phase::Headers => self.on_header(line)?,
            Phase::ChunkSize => {
                let size = parse_chunk_size(line)?;
                self.phase = if size == 0 {
                    Phase::Trailers
                } else {
                    Phase::ChunkData(size)
                };
            }
            Phase::Trailers if line.is_empty() => self.phase = Phase::Done,
            Phase::Trailers => {}
            _ => {}
        }
        Ok(())
    }

    fn on_header(&mut self, line: &[u8]) -> Result<(), ParseError> {
        // obs-fold continuation lines only ever extend a header we ignore or
        // would reject anyway; skipping them is the lenient choice.
        if line.first().is_some_and(|b| *b == b' ' || *b == b'\t') {
            return Ok(());
        }
        let colon = line
            .iter()
            .position(|b| *b == b':')
            .ok_or_else(|| ParseError::BadHeader(printable(line)))?;
        let (name, value) = line.split_at(colon);
        if name.is_empty() || !name.iter().all(|b| is_token_char(*b)) {
            return Err(ParseError::BadHeader(printable(line)));
        }
        let value = trim(value.get(1..).unwrap_or_default());
        if name.eq_ignore_ascii_case(b"content-length") {
            let parsed = std::str::from_utf8(value)
                .ok()
                .filter(|v| !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit()))
                .and_then(|v| v.parse::<u64>().ok())
                .ok_or_else(|| ParseError::BadContentLength(printable(value)))?;
            if self.content_length.is_some_and(|old| old != parsed) {
                return Err(ParseError::BadContentLength(printable(value)));
            }
            self.content_length = Some(parsed);
        } else if name.eq_ignore_ascii_case(b"transfer-encoding") {
            let last = value.rsplit(|b| *b == b',').next().map(trim);
            if last.is_some_and(|c| c.eq_ignore_ascii_case(b"chunked")) {
                self.chunked = true;
            } else if !value.eq_ignore_ascii_case(b"identity") {
                return Err(ParseError::UnsupportedTransferEncoding(printable(value)));
            }
        }
        Ok(())
    }

    fn end_of_head(&mut self) -> Result<(), ParseError> {
        let status = self.status.unwrap_or_default();
        if (100..200).contains(&status) && status != 101 {
            // Interim response: the real one follows.
            self.status = None;
            self.content_length = None;
            self.chunked = false;
            self.phase = Phase::StatusLine;
            return Ok(());
        }
        self.phase = if status == 204 || status == 304 || status == 101 {
            Phase::Done
        } else if self.chunked {
            Phase::ChunkSize
        } else {
            match self.content_length {
                Some(0) => Phase::Done,
                Some(n) => Phase::Fixed(n),
                None => Phase::UntilClose,
            }
        };
        if self.max_body == 0 && self.phase != Phase::Done {
            self.body_capped = true;
            self.phase = Phase::Done;
        }
        Ok(())
    }
}

fn clamp_len(left: u64, available: usize) -> usize {
    usize::try_from(left).map_or(available, |l| l.min(available))
}

fn parse_status_line(line: &[u8]) -> Result<u16, ParseError> {
    let bad = || ParseError::BadStatusLine(printable(line));
    let rest = line.strip_prefix(b"HTTP/1.").ok_or_else(bad)?;
    let (minor, rest) = rest.split_first().ok_or_else(bad)?;
    if !minor.is_ascii_digit() {
        return Err(bad());
    }
    let rest = rest.strip_prefix(b" ").ok_or_else(bad)?;
    let digits = rest.get(..3).ok_or_else(bad)?;
    if !digits.iter().all(u8::is_ascii_digit) {
        return Err(bad());
    }
    match rest.get(3) {
        None | Some(b' ') => {}
        Some(_) => return Err(bad()),
    }
    let status = digits
        .iter()
        .fold(0u16, |acc, d| acc * 10 + u16::from(d - b'0'));
    if status < 100 {
        return Err(bad());
    }
    Ok(status)
}

fn parse_chunk_size(line: &[u8]) -> Result<u64, ParseError> {
    let bad = || ParseError::BadChunkSize(printable(line));
    let hex = trim(line.split(|b| *b == b';').next().unwrap_or_default());
    if hex.is_empty() || hex.len() > 15 {
        return Err(bad());
    }
    hex.iter().try_fold(0u64, |acc, b| {
        let digit = char::from(*b).to_digit(16).ok_or_else(bad)?;
        Ok(acc * 16 + u64::from(digit))
    })
}

fn is_token_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

fn trim(mut v: &[u8]) -> &[u8] {
    while let [b' ' | b'\t', rest @ ..] = v {
        v = rest;
    }
    while let [rest @ .., b' ' | b'\t'] = v {
        v = rest;
    }
    v
}

/// A short printable rendering of untrusted bytes for error details.
fn printable(bytes: &[u8]) -> String {
    let cut = bytes.get(..80).unwrap_or(bytes);
    String::from_utf8_lossy(cut).into_owned()
}

#[cfg(test)]
#[path = "http_parse_tests.rs"]
mod tests;
