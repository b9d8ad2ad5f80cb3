use super::*;

/// Expected outcome of parsing a whole input followed (if needed) by EOF.
#[derive(Debug)]
enum Want {
    /// Complete with status and body (before EOF is seen).
    Complete(u16, &'static [u8]),
    /// Complete only once EOF is signalled (close-delimited body).
    CompleteAtEof(u16, &'static [u8]),
    /// Needs more input and EOF is a truncation.
    Truncated,
    Error(fn(&ParseError) -> bool),
}

const CASES: &[(&str, &[u8], Want)] = &[
    (
        "content-length",
        b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello",
        Want::Complete(200, b"hello"),
    ),
    (
        "trailing bytes after the response are ignored",
        b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhiEXTRA",
        Want::Complete(200, b"hi"),
    ),
    (
        "missing reason phrase",
        b"HTTP/1.1 503\r\nContent-Length: 0\r\n\r\n",
        Want::Complete(503, b""),
    ),
    (
        "empty reason phrase",
        b"HTTP/1.1 404 \r\ncontent-length: 3\r\n\r\nabc",
        Want::Complete(404, b"abc"),
    ),
    (
        "HTTP/1.0 close-delimited",
        b"HTTP/1.0 200 OK\r\nServer: x\r\n\r\nbody until close",
        Want::CompleteAtEof(200, b"body until close"),
    ),
    (
        "bare LF line endings",
        b"HTTP/1.1 200 OK\nContent-Length: 2\n\nok",
        Want::Complete(200, b"ok"),
    ),
    (
        "chunked with extension and trailer",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n4;x=y\r\nWiki\r\n5\r\npedia\r\n0\r\nX-T: 1\r\n\r\n",
        Want::Complete(200, b"Wikipedia"),
    ),
    (
        "chunked upper-case hex",
        b"HTTP/1.1 200 OK\r\ntransfer-encoding: Chunked\r\n\r\nA\r\n0123456789\r\n0\r\n\r\n",
        Want::Complete(200, b"0123456789"),
    ),
    (
        "interim 100 Continue skipped",
        b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 1\r\n\r\nx",
        Want::Complete(201, b"x"),
    ),
    (
        "204 has no body",
        b"HTTP/1.1 204 No Content\r\n\r\n",
        Want::Complete(204, b""),
    ),
    (
        "header folding tolerated",
        b"HTTP/1.1 200 OK\r\nX-A: 1\r\n  continued\r\nContent-Length: 1\r\n\r\n!",
        Want::Complete(200, b"!"),
    ),
    (
        "truncated body",
        b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort",
        Want::Truncated,
    ),
    (
        "truncated head",
        b"HTTP/1.1 200 OK\r\nContent-Len",
        Want::Truncated,
    ),
    (
        "garbage",
        b"SSH-2.0-OpenSSH_9.6\r\n",
        Want::Error(|e| matches!(e, ParseError::BadStatusLine(_))),
    ),
    (
        "HTTP/2 status line",
        b"HTTP/2 200\r\n\r\n",
        Want::Error(|e| matches!(e, ParseError::BadStatusLine(_))),
    ),
    (
        "non-digit status",
        b"HTTP/1.1 2x0 OK\r\n\r\n",
        Want::Error(|e| matches!(e, ParseError::BadStatusLine(_))),
    ),
    (
        "four-digit status",
        b"HTTP/1.1 2000 OK\r\n\r\n",
        Want::Error(|e| matches!(e, ParseError::BadStatusLine(_))),
    ),
    (
        "header without colon",
        b"HTTP/1.1 200 OK\r\nNoColonHere\r\n\r\n",
        Want::Error(|e| matches!(e, ParseError::BadHeader(_))),
    ),
    (
        "bad content-length",
        b"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
        Want::Error(|e| matches!(e, ParseError::BadContentLength(_))),
    ),
    (
        "conflicting content-length",
        b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
        Want::Error(|e| matches!(e, ParseError::BadContentLength(_))),
    ),
    (
        "unsupported transfer-encoding",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n",
        Want::Error(|e| matches!(e, ParseError::UnsupportedTransferEncoding(_))),
    ),
    (
        "bad chunk size",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
        Want::Error(|e| matches!(e, ParseError::BadChunkSize(_))),
    ),
    (
        "missing CRLF after chunk",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabX",
        Want::Error(|e| *e == ParseError::BadChunkTerminator),
    ),
];

/// Feed `input` in pieces cut at `cuts`, then EOF if still incomplete.
fn run(
    input: &[u8],
    cuts: &[usize],
    max_body: usize,
) -> (Result<Progress, ParseError>, ResponseParser) {
    let mut parser = ResponseParser::new(max_body);
    let mut start = 0;
    for &cut in cuts.iter().chain(std::iter::once(&input.len())) {
        match parser.feed(&input[start..cut]) {
            Ok(Progress::Complete) => return (Ok(Progress::Complete), parser),
            Ok(Progress::NeedMore) => {}
            Err(e) => return (Err(e), parser),
        }
        start = cut;
    }
    let eof = parser.finish();
    (eof.map(|_| Progress::NeedMore), parser)
}

fn check(name: &str, input: &[u8], want: &Want, cuts: &[usize]) {
    let (result, parser) = run(input, cuts, 64 * 1024);
    match want {
        Want::Complete(status, body) => {
            assert_eq!(result, Ok(Progress::Complete), "{name} cuts {cuts:?}");
            assert_eq!(parser.status(), Some(*status), "{name}");
            assert_eq!(parser.body(), *body, "{name} cuts {cuts:?}");
        }
        Want::CompleteAtEof(status, body) => {
            assert_eq!(result, Ok(Progress::NeedMore), "{name} cuts {cuts:?}");
            assert!(parser.is_complete(), "{name}");
            assert_eq!(parser.status(), Some(*status), "{name}");
            assert_eq!(parser.body(), *body, "{name} cuts {cuts:?}");
        }
        Want::Truncated => assert_eq!(result, Err(ParseError::Truncated), "{name} cuts {cuts:?}"),
        Want::Error(pred) => match result {
            Err(e) => assert!(pred(&e), "{name} cuts {cuts:?}: unexpected error {e:?}"),
            Ok(p) => panic!("{name} cuts {cuts:?}: expected an error, got {p:?}"),
        },
    }
}

#[test]
fn table_in_one_piece() {
    for (name, input, want) in CASES {
        check(name, input, want, &[]);
    }
}

#[test]
fn table_split_at_every_byte_boundary() {
    for (name, input, want) in CASES {
        for cut in 1..input.len() {
            check(name, input, want, &[cut]);
        }
    }
}

#[test]
fn table_one_byte_at_a_time() {
    for (name, input, want) in CASES {
        let cuts: Vec<usize> = (1..input.len()).collect();
        check(name, input, want, &cuts);
    }
}

#[test]
fn status_known_before_body() {
    let mut p = ResponseParser::new(1024);
    assert_eq!(
        p.feed(b"HTTP/1.1 503 Service Unavailable\r\n"),
        Ok(Progress::NeedMore)
    );
    assert_eq!(p.status(), Some(503));
    let mut interim = ResponseParser::new(1024);
    interim.feed(b"HTTP/1.1 100 Continue\r\n").unwrap();
    assert_eq!(interim.status(), None, "1xx is not the final status");
}

#[test]
fn oversized_headers_rejected() {
    let mut input = b"HTTP/1.1 200 OK\r\n".to_vec();
    while input.len() <= MAX_HEAD {
        input.extend_from_slice(b"X-Filler: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n");
    }
    input.extend_from_slice(b"\r\n");
    let mut p = ResponseParser::new(1024);
    assert_eq!(p.feed(&input), Err(ParseError::HeadTooLarge));
    // One endless header line is caught too, even fed in small pieces.
    let mut p = ResponseParser::new(1024);
    p.feed(b"HTTP/1.1 200 OK\r\nX: ").unwrap();
    let chunk = [b'a'; 1000];
    let mut last = Ok(Progress::NeedMore);
    for _ in 0..20 {
        last = p.feed(&chunk);
        if last.is_err() {
            break;
        }
    }
    assert_eq!(last, Err(ParseError::HeadTooLarge));
}

#[test]
fn body_cap_completes_early() {
    let (result, p) = run(
        b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n0123456789abcdef",
        &[],
        8,
    );
    assert_eq!(result, Ok(Progress::Complete));
    assert_eq!(p.body(), b"01234567");
    assert!(p.body_capped());
    // Exactly filling the cap with a complete body is not "capped".
    let (result, p) = run(
        b"HTTP/1.1 200 OK\r\nContent-Length: 8\r\n\r\n01234567",
        &[],
        8,
    );
    assert_eq!(result, Ok(Progress::Complete));
    assert!(!p.body_capped());
    // Close-delimited and chunked bodies stop at the cap as well.
    let (result, p) = run(b"HTTP/1.0 200 OK\r\n\r\n0123456789", &[3], 4);
    assert_eq!(result, Ok(Progress::Complete));
    assert_eq!(p.body(), b"0123");
    let (result, p) = run(
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n6\r\nabcdef\r\n",
        &[],
        4,
    );
    assert_eq!(result, Ok(Progress::Complete));
    assert_eq!(p.body(), b"abcd");
}

#[test]
fn zero_body_cap_stops_after_head() {
    let (result, p) = run(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n", &[], 0);
    assert_eq!(result, Ok(Progress::Complete));
    assert_eq!(p.status(), Some(200));
}
