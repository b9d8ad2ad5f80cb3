//! The HTTP exchange of http/https probes: the request template built once
//! per check and completed with the backend's `Host` per probe, the verdict on the response (status ranges, body checks), and the
//! plain-socket driver. The TLS driver in `tls.rs` reuses [`HttpExchange`]
//! with rustls in between.
//!
//! One request, one response, then an abortive close (open-questions Q-H8:
//! GET, no redirects followed, body read limit 64 KiB, `Connection: close`).
//! Without a body check the verdict is given as soon as the status line is
//! parsed and reading stops there.

use std::fmt;
use std::net::SocketAddr;
use std::sync::Arc;

use mio::net::TcpStream;
use regex_lite::Regex;

use super::http_parse::{Progress, ResponseParser};
use super::socket::{io_error_text, read_some, write_some};
use crate::config::model::{HttpParams, StatusRange};
use crate::health::types::Code;

/// Decoded body bytes read for a body check (open-questions Q-H8).
pub const MAX_BODY: usize = 64 * 1024;

/// A probe's outcome before timing is attached.
pub(crate) type Verdict = (Code, String);

/// Why an http check cannot be turned into a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HttpSpecError {
    /// Path or host contains bytes that would break the request line.
    BadRequestField {
        field: &'static str,
        value: String,
    },
    BadRegex {
        regex: String,
        error: String,
    },
}

impl fmt::Display for HttpSpecError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HttpSpecError::BadRequestField { field, value } => {
                write!(
                    f,
                    "http {field} {value:?} contains spaces or control characters"
                )
            }
            HttpSpecError::BadRegex { regex, error } => {
                write!(f, "response-regexp {regex:?}: {error}")
            }
        }
    }
}

/// What the body must satisfy; shared by every backend of a check.
#[derive(Debug, Clone, Default)]
pub struct BodyCheck {
    pub contains: Option<String>,
    pub regex: Option<Regex>,
}

impl BodyCheck {
    /// Compile the body checks of `params` (once per health check).
    pub fn new(params: &HttpParams) -> Result<Self, HttpSpecError> {
        let regex = match &params.response_regexp {
            Some(source) => Some(Regex::new(source).map_err(|e| HttpSpecError::BadRegex {
                regex: source.clone(),
                error: e.to_string(),
            })?),
            None => None,
        };
        Ok(BodyCheck {
            contains: params.response_contains.clone(),
            regex,
        })
    }

    pub fn is_empty(&self) -> bool {
        self.contains.is_none() && self.regex.is_none()
    }

    /// `Err(detail)` when the body fails a check.
    fn verify(&self, body: &[u8]) -> Result<(), String> {
        if let Some(needle) = &self.contains {
            let found =
                needle.is_empty() || body.windows(needle.len()).any(|w| w == needle.as_bytes());
            if !found {
                return Err(format!("body does not contain {needle:?}"));
            }
        }
        if let Some(regex) = &self.regex {
            if !regex.is_match(&String::from_utf8_lossy(body)) {
                return Err(format!("body does not match /{}/", regex.as_str()));
            }
        }
        Ok(())
    }
}

/// Everything an http(s) probe sends and expects, shared by every backend
/// of a check: the request is kept as the text around the `Host` value and
/// completed per probe, so 10,000 backends do not each hold a copy.
#[derive(Debug, Clone)]
pub struct HttpRequestSpec {
    /// `GET <path> HTTP/1.1\r\nHost: `
    head: Box<str>,
    /// The configured `Host`; `None`: the backend address.
    host: Option<Box<str>>,
    /// The rest of the headers after the `Host` value.
    tail: &'static str,
    /// 80 or 443: left out of the default `Host` value.
    default_port: u16,
    accepted: Vec<StatusRange>,
    body_check: Arc<BodyCheck>,
    max_body: usize,
}

const REQUEST_TAIL: &str = concat!(
    "\r\nUser-Agent: vpp-maglev/",
    env!("CARGO_PKG_VERSION"),
    "\r\nAccept: */*\r\nConnection: close\r\n\r\n"
);

impl HttpRequestSpec {
    /// Build the request template of a check. `default_port` is 80 or 443:
    /// the port is left out of the default `Host` value when it is the default.
    pub fn new(
        params: &HttpParams,
        body_check: Arc<BodyCheck>,
        default_port: u16,
    ) -> Result<Self, HttpSpecError> {
        check_field("path", &params.path)?;
        let host = match &params.host {
            Some(host) => {
                check_field("host", host)?;
                Some(host.as_str().into())
            }
            None => None,
        };
        Ok(HttpRequestSpec {
            head: format!("GET {} HTTP/1.1\r\nHost: ", params.path).into(),
            host,
            tail: REQUEST_TAIL,
            default_port,
            accepted: params.response_codes.clone(),
            body_check,
            max_body: MAX_BODY,
        })
    }

    /// The exact bytes written to a backend at `addr`.
    pub fn request_for(&self, addr: SocketAddr) -> Vec<u8> {
        // "[" v6 "]:" port: at most 48 bytes of default Host.
        let mut out = Vec::with_capacity(self.head.len() + 48 + self.tail.len());
        out.extend_from_slice(self.head.as_bytes());
        match &self.host {
            Some(h) => out.extend_from_slice(h.as_bytes()),
            // Written in place: a String per probe otherwise.
            None => {
                let _ = write_default_host(&mut out, addr, self.default_port);
            }
        }
        out.extend_from_slice(self.tail.as_bytes());
        out
    }

    fn accepts(&self, status: u16) -> bool {
        self.accepted
            .iter()
            .any(|r| (r.low..=r.high).contains(&status))
    }
}

/// The backend address as a `Host` value: `[v6]` bracketed, port if not default.
fn write_default_host(
    out: &mut impl std::io::Write,
    addr: SocketAddr,
    default_port: u16,
) -> std::io::Result<()> {
    match addr {
        SocketAddr::V4(a) => write!(out, "{}", a.ip())?,
        SocketAddr::V6(a) => write!(out, "[{}]", a.ip())?,
    }
    if addr.port() != default_port {
        write!(out, ":{}", addr.port())?;
    }
    Ok(())
}

fn check_field(field: &'static str, value: &str) -> Result<(), HttpSpecError> {
    if value.is_empty() || value.bytes().any(|b| b <= b' ' || b == 0x7f) {
        return Err(HttpSpecError::BadRequestField {
            field,
            value: value.to_owned(),
        });
    }
    Ok(())
}

/// One request/response exchange, independent of the transport.
#[derive(Debug)]
pub(crate) struct HttpExchange {
    spec: Arc<HttpRequestSpec>,
    request: Vec<u8>,
    written: usize,
    parser: ResponseParser,
}

impl HttpExchange {
    pub(crate) fn new(spec: Arc<HttpRequestSpec>, addr: SocketAddr) -> Self {
        let max_body = if spec.body_check.is_empty() {
            0
        } else {
            spec.max_body
        };
        HttpExchange {
            request: spec.request_for(addr),
            spec,
            written: 0,
            parser: ResponseParser::new(max_body),
        }
    }

    /// Request bytes not yet handed to the transport.
    pub(crate) fn unsent(&self) -> &[u8] {
        self.request.get(self.written..).unwrap_or_default()
    }

    pub(crate) fn mark_sent(&mut self, n: usize) {
        self.written = self.written.saturating_add(n).min(self.request.len());
    }

    /// Response bytes arrived; `Some` once the verdict is known.
    pub(crate) fn on_data(&mut self, data: &[u8]) -> Option<Verdict> {
        let progress = match self.parser.feed(data) {
            Ok(p) => p,
            Err(e) => return Some((Code::L7Rsp, e.to_string())),
        };
        let status = self.parser.status()?;
        if !self.spec.accepts(status) {
            return Some((Code::L7Sts, format!("status {status}")));
        }
        if self.spec.body_check.is_empty() {
            return Some((Code::L7Ok, format!("status {status}")));
        }
        match progress {
            Progress::Complete => Some(self.judge_body(status)),
            Progress::NeedMore => None,
        }
    }

    /// The peer closed its side.
    pub(crate) fn on_eof(&mut self) -> Verdict {
        if let Err(e) = self.parser.finish() {
            return (Code::L7Rsp, e.to_string());
        }
        match self.parser.status() {
            Some(status) if !self.spec.accepts(status) => (Code::L7Sts, format!("status {status}")),
            Some(status) => self.judge_body(status),
            None => (
                Code::L7Rsp,
                "connection closed before a response".to_owned(),
            ),
        }
    }

    fn judge_body(&self, status: u16) -> Verdict {
        match self.spec.body_check.verify(self.parser.body()) {
            Ok(()) => (Code::L7Ok, format!("status {status}")),
            Err(detail) => (Code::L7Sts, detail),
        }
    }
}

/// Write what the socket takes of the request; the rest goes out on the
/// next writable event. `Err` ends the probe.
pub(crate) fn send_plain(stream: &mut TcpStream, http: &mut HttpExchange) -> Result<(), Verdict> {
    while !http.unsent().is_empty() {
        match write_some(stream, http.unsent()) {
            Ok(Some(n)) => http.mark_sent(n),
            Ok(None) => break,
            Err(e) => return Err((Code::L7Rsp, format!("send: {}", io_error_text(&e)))),
        }
    }
    Ok(())
}

/// Drive a plain-HTTP exchange after a readiness event on a connected socket.
pub(crate) fn drive_plain(
    stream: &mut TcpStream,
    http: &mut HttpExchange,
    event: &mio::event::Event,
) -> Option<Verdict> {
    if let Err(verdict) = send_plain(stream, http) {
        return Some(verdict);
    }
    if !(event.is_readable() || event.is_read_closed()) {
        return None;
    }
    READ_BUF.with_borrow_mut(|buf| read_response(stream, http, event, buf))
}

thread_local! {
    /// The read buffer of every plain-http probe on the thread (the loop's):
    /// an array on the stack would be zeroed for every response. Health
    /// answers are small; a bigger one takes a few more reads.
    static READ_BUF: std::cell::RefCell<[u8; 4096]> = const { std::cell::RefCell::new([0; 4096]) };
}

fn read_response(
    stream: &mut TcpStream,
    http: &mut HttpExchange,
    event: &mio::event::Event,
    buf: &mut [u8],
) -> Option<Verdict> {
    loop {
        match read_some(stream, buf) {
            Ok(Some(0)) => return Some(http.on_eof()),
            Ok(Some(n)) => {
                if let Some(verdict) = http.on_data(buf.get(..n).unwrap_or_default()) {
                    return Some(verdict);
                }
                // A short read drained the socket; epoll is edge-triggered and
                // reports the next arrival, so skip the read that would only
                // say EAGAIN — unless the peer's FIN is already pending.
                if n < buf.len() && !event.is_read_closed() {
                    return None;
                }
            }
            Ok(None) => return None,
            Err(e) => return Some((Code::L7Rsp, format!("recv: {}", io_error_text(&e)))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params() -> HttpParams {
        HttpParams {
            path: "/healthz".into(),
            host: None,
            response_codes: vec![StatusRange {
                low: 200,
                high: 399,
            }],
            response_contains: None,
            response_regexp: None,
            insecure: true,
        }
    }

    fn exchange(p: &HttpParams) -> HttpExchange {
        let body = Arc::new(BodyCheck::new(p).unwrap());
        let addr: SocketAddr = "127.0.0.1:8080".parse().unwrap();
        HttpExchange::new(Arc::new(HttpRequestSpec::new(p, body, 80).unwrap()), addr)
    }

    #[test]
    fn request_bytes() {
        let p = params();
        let body = Arc::new(BodyCheck::new(&p).unwrap());
        let cases: [(&str, u16, Option<&str>, &str); 4] = [
            ("127.0.0.1:80", 80, None, "127.0.0.1"),
            ("127.0.0.1:8080", 80, None, "127.0.0.1:8080"),
            ("[::1]:443", 443, None, "[::1]"),
            ("[::1]:443", 443, Some("www.example.com"), "www.example.com"),
        ];
        for (addr, default_port, host, want_host) in cases {
            let mut p = p.clone();
            p.host = host.map(str::to_owned);
            let spec = HttpRequestSpec::new(&p, body.clone(), default_port).unwrap();
            let want = format!(
                "GET /healthz HTTP/1.1\r\nHost: {want_host}\r\nUser-Agent: vpp-maglev/{}\r\nAccept: */*\r\nConnection: close\r\n\r\n",
                env!("CARGO_PKG_VERSION")
            );
            let request = spec.request_for(addr.parse().unwrap());
            assert_eq!(String::from_utf8_lossy(&request), want);
        }
        let mut bad = p.clone();
        bad.path = "/a b".into();
        assert!(matches!(
            HttpRequestSpec::new(&bad, body, 80),
            Err(HttpSpecError::BadRequestField { field: "path", .. })
        ));
        bad.response_regexp = Some("(".into());
        assert!(matches!(
            BodyCheck::new(&bad),
            Err(HttpSpecError::BadRegex { .. })
        ));
    }

    #[test]
    fn verdicts() {
        let plain = params();
        let mut contains = params();
        contains.response_contains = Some("ready".into());
        let mut regex = params();
        regex.response_regexp = Some("^ok [0-9]+$".into());
        let mut only_200 = params();
        only_200.response_codes = vec![StatusRange {
            low: 200,
            high: 200,
        }];
        let ok = |b: &'static str| -> Vec<u8> {
            format!("HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n{b}", b.len()).into_bytes()
        };
        // (name, params, response, verdict after data, verdict after eof)
        type Case<'a> = (&'a str, &'a HttpParams, Vec<u8>, Option<Verdict>, Verdict);
        let cases: Vec<Case> = vec![
            // (name, params, response, verdict after data, verdict after eof)
            (
                "200 status only, decided at the status line",
                &plain,
                b"HTTP/1.1 200 OK\r\n".to_vec(),
                Some((Code::L7Ok, "status 200".into())),
                (Code::L7Ok, "status 200".into()),
            ),
            (
                "302 in the default range",
                &plain,
                b"HTTP/1.1 302 Found\r\n".to_vec(),
                Some((Code::L7Ok, "status 302".into())),
                (Code::L7Ok, "status 302".into()),
            ),
            (
                "503 rejected",
                &plain,
                b"HTTP/1.1 503 Unavailable\r\n".to_vec(),
                Some((Code::L7Sts, "status 503".into())),
                (Code::L7Sts, "status 503".into()),
            ),
            (
                "302 outside 200-200",
                &only_200,
                b"HTTP/1.1 302 Found\r\n".to_vec(),
                Some((Code::L7Sts, "status 302".into())),
                (Code::L7Sts, "status 302".into()),
            ),
            (
                "garbage",
                &plain,
                b"hello\r\n".to_vec(),
                Some((Code::L7Rsp, "malformed status line \"hello\"".into())),
                (
                    Code::L7Rsp,
                    "connection closed before end of response".into(),
                ),
            ),
            (
                "body contains",
                &contains,
                ok("all ready now"),
                Some((Code::L7Ok, "status 200".into())),
                (Code::L7Ok, "status 200".into()),
            ),
            (
                "body lacks",
                &contains,
                ok("starting"),
                Some((Code::L7Sts, "body does not contain \"ready\"".into())),
                (Code::L7Sts, "body does not contain \"ready\"".into()),
            ),
            (
                "body needs more",
                &contains,
                b"HTTP/1.1 200 OK\r\nContent-Length: 50\r\n\r\nready".to_vec(),
                None,
                (
                    Code::L7Rsp,
                    "connection closed before end of response".into(),
                ),
            ),
            (
                "close-delimited body",
                &contains,
                b"HTTP/1.0 200 OK\r\n\r\nready".to_vec(),
                None,
                (Code::L7Ok, "status 200".into()),
            ),
            (
                "regex match",
                &regex,
                ok("ok 42"),
                Some((Code::L7Ok, "status 200".into())),
                (Code::L7Ok, "status 200".into()),
            ),
            (
                "regex mismatch",
                &regex,
                ok("ok x"),
                Some((Code::L7Sts, "body does not match /^ok [0-9]+$/".into())),
                (Code::L7Sts, "body does not match /^ok [0-9]+$/".into()),
            ),
            (
                "empty response",
                &plain,
                Vec::new(),
                None,
                (
                    Code::L7Rsp,
                    "connection closed before end of response".into(),
                ),
            ),
        ];
        for (name, p, response, after_data, after_eof) in cases {
            let mut x = exchange(p);
            assert_eq!(x.on_data(&response), after_data, "{name}: after data");
            let mut x = exchange(p);
            let _ = x.on_data(&response);
            if after_data.is_none() {
                assert_eq!(x.on_eof(), after_eof, "{name}: after eof");
            }
        }
    }

    #[test]
    fn partial_writes_tracked() {
        let mut x = exchange(&params());
        let total = x.unsent().len();
        x.mark_sent(10);
        assert_eq!(x.unsent().len(), total - 10);
        x.mark_sent(usize::MAX);
        assert!(x.unsent().is_empty());
    }
}
