use super::*;

fn ok(input: &str) -> (Request, usize) {
    match parse_head(input.as_bytes()) {
        Ok(Some(r)) => r,
        other => panic!("{input:?}: {other:?}"),
    }
}

#[test]
fn parse_table() {
    // (input, method, path, version, keep_alive, has_body)
    let cases: &[(&str, Method, &str, Version, bool, bool)] = &[
        (
            "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n",
            Method::Get,
            "/metrics",
            Version::Http11,
            true,
            false,
        ),
        (
            "GET /metrics?x=1&y HTTP/1.1\r\n\r\n",
            Method::Get,
            "/metrics",
            Version::Http11,
            true,
            false,
        ),
        (
            "HEAD / HTTP/1.1\r\nConnection: close\r\n\r\n",
            Method::Head,
            "/",
            Version::Http11,
            false,
            false,
        ),
        (
            "GET /metrics HTTP/1.1\r\nconnection: Keep-Alive, CLOSE\r\n\r\n",
            Method::Get,
            "/metrics",
            Version::Http11,
            false,
            false,
        ),
        (
            "GET /metrics HTTP/1.0\r\n\r\n",
            Method::Get,
            "/metrics",
            Version::Http10,
            false,
            false,
        ),
        (
            "GET /metrics HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
            Method::Get,
            "/metrics",
            Version::Http10,
            true,
            false,
        ),
        (
            "GET /metrics HTTP/1.0\r\nConnection: close\r\nConnection: keep-alive\r\n\r\n",
            Method::Get,
            "/metrics",
            Version::Http10,
            false,
            false,
        ),
        // Bare LF and leading empty lines are tolerated.
        (
            "\r\n\nGET /x HTTP/1.1\nA: b\n\n",
            Method::Get,
            "/x",
            Version::Http11,
            true,
            false,
        ),
        (
            "POST /metrics HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello",
            Method::Other,
            "/metrics",
            Version::Http11,
            false,
            true,
        ),
        (
            "GET / HTTP/1.1\r\nContent-Length: 0\r\n\r\n",
            Method::Get,
            "/",
            Version::Http11,
            true,
            false,
        ),
        (
            "GET / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n",
            Method::Get,
            "/",
            Version::Http11,
            false,
            true,
        ),
        (
            "GET /metrics#frag HTTP/1.1\r\nX:\r\n\r\n",
            Method::Get,
            "/metrics",
            Version::Http11,
            true,
            false,
        ),
    ];
    for &(input, method, path, version, keep_alive, has_body) in cases {
        let (r, n) = ok(input);
        assert_eq!(r.method, method, "{input:?}");
        assert_eq!(r.path, path, "{input:?}");
        assert_eq!(r.version, version, "{input:?}");
        assert_eq!(r.keep_alive, keep_alive, "{input:?}");
        assert_eq!(r.has_body, has_body, "{input:?}");
        let body_len = if has_body && method == Method::Other {
            5
        } else {
            0
        };
        assert_eq!(n, input.len() - body_len, "{input:?}");
    }
}

#[test]
fn incomplete_heads_wait() {
    for input in [
        "",
        "\r\n",
        "GET",
        "GET /metrics HTTP/1.1",
        "GET /metrics HTTP/1.1\r\n",
        "GET /metrics HTTP/1.1\r\nHost: x\r\n",
        "GET /metrics HTTP/1.1\r\nHost: x\r\n\r",
    ] {
        assert_eq!(parse_head(input.as_bytes()), Ok(None), "{input:?}");
    }
}

#[test]
fn pipelined_requests_split_at_the_head() {
    let two = "GET /a HTTP/1.1\r\n\r\nGET /b HTTP/1.1\r\n\r\n";
    let (r, n) = ok(two);
    assert_eq!(r.path, "/a");
    let (r2, _) = ok(&two[n..]);
    assert_eq!(r2.path, "/b");
}

#[test]
fn errors() {
    let big_header = format!("GET / HTTP/1.1\r\nX: {}\r\n\r\n", "a".repeat(MAX_HEAD));
    let no_end = "GET / HTTP/1.1\r\nX: y\r\n".repeat(MAX_HEAD / 10);
    let cases: Vec<(String, Status)> = vec![
        (big_header, Status::HeaderFieldsTooLarge),
        (no_end, Status::HeaderFieldsTooLarge),
        ("GET /\r\n\r\n".into(), Status::BadRequest),
        ("GET  / HTTP/1.1\r\n\r\n".into(), Status::BadRequest),
        ("GET / HTTP/1.1 extra\r\n\r\n".into(), Status::BadRequest),
        (
            "GET / HTTP/1.1\r\nno colon here\r\n\r\n".into(),
            Status::BadRequest,
        ),
        (
            "GET / HTTP/1.1\r\nBad Name: x\r\n\r\n".into(),
            Status::BadRequest,
        ),
        ("GET / HTTP/2.0\r\n\r\n".into(), Status::VersionNotSupported),
        ("GET / SPDY\r\n\r\n".into(), Status::VersionNotSupported),
    ];
    for (input, status) in cases {
        match parse_head(input.as_bytes()) {
            Err(e) => assert_eq!(e.status(), status, "{:?}", &input[..input.len().min(40)]),
            other => panic!("{:?}: {other:?}", &input[..input.len().min(40)]),
        }
    }
}

#[test]
fn head_of_exactly_max_is_accepted() {
    let prefix = "GET / HTTP/1.1\r\nX: ";
    let fill = MAX_HEAD - prefix.len() - 4;
    let input = format!("{prefix}{}\r\n\r\n", "a".repeat(fill));
    assert_eq!(input.len(), MAX_HEAD);
    assert!(matches!(parse_head(input.as_bytes()), Ok(Some(_))));
    let input = format!("{prefix}{}\r\n\r\n", "a".repeat(fill + 1));
    assert!(parse_head(input.as_bytes()).is_err());
}

fn req(method: Method, path: &str) -> Request {
    Request {
        method,
        path: path.into(),
        version: Version::Http11,
        keep_alive: true,
        has_body: false,
    }
}

#[test]
fn routes() {
    assert_eq!(
        route(&req(Method::Get, "/metrics")),
        Route::Metrics { head_only: false }
    );
    assert_eq!(
        route(&req(Method::Head, "/metrics")),
        Route::Metrics { head_only: true }
    );
    let status = |r: Route| match r {
        Route::Fixed { status, .. } => status,
        Route::Metrics { .. } => Status::Ok,
    };
    assert_eq!(status(route(&req(Method::Get, "/"))), Status::Ok);
    assert_eq!(
        status(route(&req(Method::Get, "/metricsx"))),
        Status::NotFound
    );
    assert_eq!(
        status(route(&req(Method::Get, "/metrics/"))),
        Status::NotFound
    );
    assert_eq!(
        status(route(&req(Method::Other, "/metrics"))),
        Status::MethodNotAllowed
    );
}

#[test]
fn response_heads() {
    assert_eq!(
        response_head(Status::Ok, true, 12, true),
        "HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4; charset=utf-8\r\n\
         Content-Length: 12\r\nConnection: keep-alive\r\n\r\n"
    );
    let h = response_head(Status::MethodNotAllowed, false, 3, false);
    assert!(h.starts_with("HTTP/1.1 405 Method Not Allowed\r\n"), "{h}");
    assert!(h.contains("\r\nAllow: GET, HEAD\r\n"), "{h}");
    assert!(h.ends_with("Connection: close\r\n\r\n"), "{h}");
    assert!(
        h.contains("Content-Type: text/plain; charset=utf-8\r\n"),
        "{h}"
    );
}
