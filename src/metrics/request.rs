//! Sans-IO parsing of an HTTP/1.x request head for the metrics endpoint, and
//! the routing and response heads that follow from it.
//!
//! Only what a Prometheus scraper (or curl) sends is understood: a request
//! line and headers up to an empty line, at most [`MAX_HEAD`] bytes. Bodies
//! are not read: a request that announces one is answered and the
//! connection closed, which keeps the server free of body framing.

/// Largest accepted request head (request line + headers + empty line).
pub const MAX_HEAD: usize = 8 * 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Get,
    Head,
    /// Anything else; answered with 405.
    Other,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Version {
    Http10,
    Http11,
}

/// A parsed request head.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    pub method: Method,
    /// The target's path, query string removed.
    pub path: String,
    pub version: Version,
    /// Whether the connection may stay open after the response.
    pub keep_alive: bool,
    /// A body was announced (Content-Length > 0 or Transfer-Encoding).
    pub has_body: bool,
}

/// Why a head was rejected; each maps to a status and closes the connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RequestError {
    /// No end of head within [`MAX_HEAD`] bytes.
    HeadTooLarge { len: usize },
    /// Request line or a header line does not parse.
    Malformed { line: String },
    /// Not HTTP/1.0 or HTTP/1.1.
    Version { version: String },
}

impl RequestError {
    pub fn status(&self) -> Status {
        match self {
            RequestError::HeadTooLarge { .. } => Status::HeaderFieldsTooLarge,
            RequestError::Malformed { .. } => Status::BadRequest,
            RequestError::Version { .. } => Status::VersionNotSupported,
        }
    }
}

impl std::fmt::Display for RequestError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RequestError::HeadTooLarge { len } => {
                write!(f, "request head exceeds {MAX_HEAD} bytes ({len} buffered)")
            }
            RequestError::Malformed { line } => write!(f, "malformed request line {line:?}"),
            RequestError::Version { version } => write!(f, "unsupported HTTP version {version:?}"),
        }
    }
}

impl std::error::Error for RequestError {}

/// Parse the head at the start of `buf`. `Ok(None)`: need more bytes.
/// `Ok(Some((request, n)))`: the head is the first `n` bytes.
pub fn parse_head(buf: &[u8]) -> Result<Option<(Request, usize)>, RequestError> {
    // RFC 9112 §2.2: ignore empty lines before the request line.
    let start = buf
        .iter()
        .position(|&b| b != b'\r' && b != b'\n')
        .unwrap_or(buf.len());
    let Some(end) = find_head_end(buf, start) else {
        if buf.len() > MAX_HEAD {
            return Err(RequestError::HeadTooLarge { len: buf.len() });
        }
        return Ok(None);
    };
    if end > MAX_HEAD {
        return Err(RequestError::HeadTooLarge { len: end });
    }
    let head = buf.get(start..end).unwrap_or_default();
    let mut lines = head
        .split(|&b| b == b'\n')
        .map(|l| l.strip_suffix(b"\r").unwrap_or(l))
        .filter(|l| !l.is_empty());
    let request_line = lines.next().unwrap_or_default();
    let malformed = |l: &[u8]| RequestError::Malformed {
        line: String::from_utf8_lossy(l).into_owned(),
    };
    let mut parts = request_line.split(|&b| b == b' ');
    let (Some(method), Some(target), Some(version), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(malformed(request_line));
    };
    if method.is_empty() || target.is_empty() {
        return Err(malformed(request_line));
    }
    let version = match version {
        b"HTTP/1.1" => Version::Http11,
        b"HTTP/1.0" => Version::Http10,
        other => {
            return Err(RequestError::Version {
                version: String::from_utf8_lossy(other).into_owned(),
            })
        }
    };
    let method = match method {
        b"GET" => Method::Get,
        b"HEAD" => Method::Head,
        _ => Method::Other,
    };
    let path_bytes = target
        .split(|&b| b == b'?' || b == b'#')
        .next()
        .unwrap_or_default();
    let path = String::from_utf8_lossy(path_bytes).into_owned();

    let (mut saw_close, mut saw_keep_alive, mut has_body) = (false, false, false);
    for line in lines {
        let Some(colon) = line.iter().position(|&b| b == b':') else {
            return Err(malformed(line));
        };
        let name = line.get(..colon).unwrap_or_default();
        let value = trim(line.get(colon + 1..).unwrap_or_default());
        if name.is_empty() || name.iter().any(|b| b.is_ascii_whitespace()) {
            return Err(malformed(line));
        }
        if name.eq_ignore_ascii_case(b"connection") {
            for token in value.split(|&b| b == b',').map(trim) {
                saw_close |= token.eq_ignore_ascii_case(b"close");
                saw_keep_alive |= token.eq_ignore_ascii_case(b"keep-alive");
            }
        } else if name.eq_ignore_ascii_case(b"content-length") {
            has_body |= value.iter().any(|&b| b != b'0');
        } else if name.eq_ignore_ascii_case(b"transfer-encoding") {
            has_body = true;
        }
    }
    // `close` wins over `keep-alive`, whatever their order.
    let keep_alive = match version {
        Version::Http11 => !saw_close,
        Version::Http10 => saw_keep_alive && !saw_close,
    };
    Ok(Some((
        Request {
            method,
            path,
            version,
            keep_alive: keep_alive && !has_body,
            has_body,
        },
        end,
    )))
}

/// End of the head (index just past the empty line), from `start`.
/// Accepts CRLF and bare LF line ends.
fn find_head_end(buf: &[u8], start: usize) -> Option<usize> {
    let mut i = start;
    while let Some(off) = buf.get(i..)?.iter().position(|&b| b == b'\n') {
        let nl = i + off;
        match buf.get(nl + 1..) {
            Some([b'\n', ..]) => return Some(nl + 2),
            Some([b'\r', b'\n', ..]) => return Some(nl + 3),
            _ => i = nl + 1,
        }
    }
    None
}

fn trim(mut s: &[u8]) -> &[u8] {
    while let [b' ' | b'\t', rest @ ..] = s {
        s = rest;
    }
    while let [rest @ .., b' ' | b'\t'] = s {
        s = rest;
    }
    s
}

/// Response statuses the endpoint uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Ok,
    BadRequest,
    NotFound,
    MethodNotAllowed,
    HeaderFieldsTooLarge,
    ServiceUnavailable,
    VersionNotSupported,
}

impl Status {
    pub fn line(self) -> &'static str {
        match self {
            Status::Ok => "200 OK",
            Status::BadRequest => "400 Bad Request",
            Status::NotFound => "404 Not Found",
            Status::MethodNotAllowed => "405 Method Not Allowed",
            Status::HeaderFieldsTooLarge => "431 Request Header Fields Too Large",
            Status::ServiceUnavailable => "503 Service Unavailable",
            Status::VersionNotSupported => "505 HTTP Version Not Supported",
        }
    }
}

pub const METRICS_CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";
const TEXT_CONTENT_TYPE: &str = "text/plain; charset=utf-8";

/// What to do with a parsed request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    /// The daemon must render the metrics (body omitted for HEAD).
    Metrics { head_only: bool },
    /// A fixed answer the server gives by itself.
    Fixed {
        status: Status,
        body: &'static str,
        head_only: bool,
    },
}

const INDEX_BODY: &str = "maglevd: Prometheus metrics at /metrics\n";

pub fn route(r: &Request) -> Route {
    let head_only = r.method == Method::Head;
    if r.method == Method::Other {
        return Route::Fixed {
            status: Status::MethodNotAllowed,
            body: "method not allowed: use GET or HEAD\n",
            head_only: false,
        };
    }
    match r.path.as_str() {
        "/metrics" => Route::Metrics { head_only },
        "/" => Route::Fixed {
            status: Status::Ok,
            body: INDEX_BODY,
            head_only,
        },
        _ => Route::Fixed {
            status: Status::NotFound,
            body: "not found; metrics are at /metrics\n",
            head_only,
        },
    }
}

/// Body of an error status (the request could not be parsed).
pub fn error_body(status: Status) -> &'static str {
    match status {
        Status::HeaderFieldsTooLarge => "request head too large\n",
        Status::VersionNotSupported => "HTTP/1.0 or HTTP/1.1 only\n",
        Status::ServiceUnavailable => "response too large\n",
        _ => "bad request\n",
    }
}

/// A response head. `metrics` selects the exposition content type.
pub fn response_head(
    status: Status,
    metrics: bool,
    content_length: usize,
    keep_alive: bool,
) -> String {
    let mut h = String::with_capacity(160);
    h.push_str("HTTP/1.1 ");
    h.push_str(status.line());
    h.push_str("\r\nContent-Type: ");
    h.push_str(if metrics && status == Status::Ok {
        METRICS_CONTENT_TYPE
    } else {
        TEXT_CONTENT_TYPE
    });
    h.push_str("\r\nContent-Length: ");
    super::exposition::push_u64(&mut h, content_length as u64);
    if status == Status::MethodNotAllowed {
        h.push_str("\r\nAllow: GET, HEAD");
    }
    h.push_str(if keep_alive {
        "\r\nConnection: keep-alive\r\n\r\n"
    } else {
        "\r\nConnection: close\r\n\r\n"
    });
    h
}

#[cfg(test)]
mod tests;
