//! Drives a real `MetricsServer` on a real `mio::Poll` against real
//! loopback TCP clients, all on the test thread: the clients are
//! non-blocking and the harness pumps the server between their reads.

use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use mio::{Events, Poll, Token};

use super::*;

const LISTENER: Token = Token(7);
const BASE: usize = 1000;

struct Harness {
    poll: Poll,
    events: Events,
    server: MetricsServer,
    body: String,
}

#[derive(Debug)]
struct Response {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Response {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

impl Harness {
    fn new(max_clients: usize, idle: Duration) -> Self {
        let poll = Poll::new().unwrap();
        let server = MetricsServer::bind(
            "127.0.0.1:0".parse().unwrap(),
            poll.registry(),
            LISTENER,
            BASE,
            max_clients,
            idle,
        )
        .unwrap();
        Harness {
            poll,
            events: Events::with_capacity(64),
            server,
            body: "# HELP up x\n# TYPE up gauge\nup 1\n".into(),
        }
    }

    /// Run the server's side of the loop once (up to `wait`).
    fn turn(&mut self, wait: Duration) {
        self.poll.poll(&mut self.events, Some(wait)).unwrap();
        let now = Instant::now();
        let reg = self.poll.registry();
        for ev in self.events.iter() {
            assert!(self.server.owns(ev.token()), "{:?}", ev.token());
            if self.server.is_listener(ev.token()) {
                self.server.accept(reg, now);
            } else if let Some(c) = self.server.client_of(ev.token()) {
                let mut wants = self.server.on_ready(reg, c, ev, now);
                while let Some(c) = wants {
                    wants = self.server.respond(reg, c, &self.body, now);
                }
            }
        }
        self.server.expire_idle(reg, now);
    }

    fn pump(&mut self, total: Duration) {
        let end = Instant::now() + total;
        while Instant::now() < end {
            self.turn(Duration::from_millis(5));
        }
    }

    fn connect(&mut self) -> TcpStream {
        let s = TcpStream::connect(self.server.local_addr()).unwrap();
        s.set_nonblocking(true).unwrap();
        self.pump(Duration::from_millis(20));
        s
    }

    fn send(&mut self, s: &mut TcpStream, bytes: &[u8]) {
        s.write_all(bytes).unwrap();
    }

    /// Read one response (`head_only`: ignore Content-Length for the body).
    fn read_response(&mut self, s: &mut TcpStream, head_only: bool) -> Response {
        let deadline = Instant::now() + Duration::from_secs(5);
        let mut buf = Vec::new();
        let mut chunk = vec![0u8; 1 << 20];
        let mut eof = false;
        loop {
            assert!(
                Instant::now() < deadline,
                "no response: {:?}",
                String::from_utf8_lossy(&buf[..buf.len().min(200)])
            );
            self.turn(Duration::from_millis(2));
            loop {
                match s.read(&mut chunk) {
                    Ok(0) => {
                        eof = true;
                        break;
                    }
                    Ok(n) => buf.extend_from_slice(&chunk[..n]),
                    Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                    Err(e) => panic!("read: {e}"),
                }
            }
            if let Some(r) = complete(&buf, head_only) {
                return r;
            }
            assert!(!eof, "closed before a full response: {} bytes", buf.len());
        }
    }

    /// Pump until the server closes `s` (EOF or reset). False on timeout.
    fn closed(&mut self, s: &mut TcpStream, within: Duration) -> bool {
        self.read_until_closed(s, within).is_some()
    }

    /// Pump and discard input until the server closes `s`; the bytes read,
    /// or None on timeout.
    fn read_until_closed(&mut self, s: &mut TcpStream, within: Duration) -> Option<usize> {
        let deadline = Instant::now() + within;
        let mut total = 0;
        let mut chunk = vec![0u8; 1 << 20];
        while Instant::now() < deadline {
            self.turn(Duration::from_millis(2));
            loop {
                match s.read(&mut chunk) {
                    Ok(0) => return Some(total),
                    Ok(n) => total += n,
                    Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                    Err(_) => return Some(total),
                }
            }
        }
        None
    }
}

fn complete(buf: &[u8], head_only: bool) -> Option<Response> {
    let head_len = buf.windows(4).position(|w| w == b"\r\n\r\n")? + 4;
    let text = String::from_utf8_lossy(&buf[..head_len]);
    let head = text.trim_end();
    let mut lines = head.split("\r\n");
    let status: u16 = lines.next()?.split(' ').nth(1)?.parse().ok()?;
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(": "))
        .map(|(n, v)| (n.to_string(), v.to_string()))
        .collect();
    let len: usize = headers
        .iter()
        .find(|(n, _)| n == "Content-Length")?
        .1
        .parse()
        .ok()?;
    let body_len = if head_only { 0 } else { len };
    (buf.len() >= head_len + body_len).then(|| Response {
        status,
        headers,
        body: buf[head_len..head_len + body_len].to_vec(),
    })
}

const GET_METRICS: &[u8] = b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n";

#[test]
fn keep_alive_serves_metrics_twice() {
    let mut h = Harness::new(4, IDLE_TIMEOUT);
    let mut c = h.connect();
    for _ in 0..2 {
        h.send(&mut c, GET_METRICS);
        let r = h.read_response(&mut c, false);
        assert_eq!(r.status, 200);
        assert_eq!(
            r.header("Content-Type"),
            Some("text/plain; version=0.0.4; charset=utf-8")
        );
        assert_eq!(r.header("Connection"), Some("keep-alive"));
        assert_eq!(r.body, h.body.as_bytes());
    }
    assert_eq!(h.server.client_count(), 1);
    assert_eq!(h.server.stats.scrapes, 2);
    assert_eq!(h.server.stats.accepted, 1);
}

#[test]
fn fixed_routes_keep_the_connection() {
    let mut h = Harness::new(4, IDLE_TIMEOUT);
    let mut c = h.connect();
    h.send(&mut c, b"GET /nope HTTP/1.1\r\n\r\n");
    let r = h.read_response(&mut c, false);
    assert_eq!(r.status, 404);
    assert!(String::from_utf8_lossy(&r.body).contains("/metrics"));
    h.send(&mut c, b"GET /?x HTTP/1.1\r\n\r\n");
    let r = h.read_response(&mut c, false);
    assert_eq!(r.status, 200);
    assert_eq!(r.header("Content-Type"), Some("text/plain; charset=utf-8"));
    assert!(String::from_utf8_lossy(&r.body).contains("/metrics"));
    h.send(&mut c, b"HEAD /metrics HTTP/1.1\r\n\r\n");
    let r = h.read_response(&mut c, true);
    assert_eq!(r.status, 200);
    assert_eq!(r.header("Content-Length"), Some(&*h.body.len().to_string()));
    // Nothing but the next response follows the HEAD head.
    h.send(&mut c, GET_METRICS);
    let r = h.read_response(&mut c, false);
    assert_eq!(r.body, h.body.as_bytes());
    assert_eq!(h.server.stats.errors, 1);
}

#[test]
fn method_not_allowed_closes_after_a_body() {
    let mut h = Harness::new(4, IDLE_TIMEOUT);
    let mut c = h.connect();
    h.send(
        &mut c,
        b"POST /metrics HTTP/1.1\r\nContent-Length: 4\r\n\r\nabcd",
    );
    let r = h.read_response(&mut c, false);
    assert_eq!(r.status, 405);
    assert_eq!(r.header("Allow"), Some("GET, HEAD"));
    assert_eq!(r.header("Connection"), Some("close"));
    assert!(h.closed(&mut c, Duration::from_secs(3)));
    // The server lingers (draining input) until the client closes too.
    assert_eq!(h.server.client_count(), 1);
    drop(c);
    h.pump(Duration::from_millis(30));
    assert_eq!(h.server.client_count(), 0);
}

#[test]
fn connection_close_is_honoured() {
    let mut h = Harness::new(4, IDLE_TIMEOUT);
    let mut c = h.connect();
    h.send(
        &mut c,
        b"GET /metrics HTTP/1.1\r\nConnection: close\r\n\r\n",
    );
    let r = h.read_response(&mut c, false);
    assert_eq!(r.status, 200);
    assert_eq!(r.header("Connection"), Some("close"));
    assert_eq!(r.body, h.body.as_bytes());
    assert!(h.closed(&mut c, Duration::from_secs(3)));
}

#[test]
fn oversized_head_gets_431_and_close() {
    let mut h = Harness::new(4, IDLE_TIMEOUT);
    let mut c = h.connect();
    let mut req = b"GET /metrics HTTP/1.1\r\n".to_vec();
    while req.len() <= request::MAX_HEAD + 100 {
        req.extend_from_slice(b"X-Filler: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n");
    }
    h.send(&mut c, &req);
    let r = h.read_response(&mut c, false);
    assert_eq!(r.status, 431);
    assert!(h.closed(&mut c, Duration::from_secs(3)));
    assert_eq!(h.server.stats.scrapes, 0);
}

#[test]
fn pipelined_requests_are_answered_in_order() {
    let mut h = Harness::new(4, IDLE_TIMEOUT);
    let mut c = h.connect();
    let mut two = GET_METRICS.to_vec();
    two.extend_from_slice(b"GET /x HTTP/1.1\r\n\r\n");
    two.extend_from_slice(GET_METRICS);
    h.send(&mut c, &two);
    let mut all = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(5);
    let one = h.body.len();
    loop {
        assert!(
            Instant::now() < deadline,
            "{}",
            String::from_utf8_lossy(&all)
        );
        h.turn(Duration::from_millis(2));
        let mut chunk = [0u8; 4096];
        if let Ok(n) = c.read(&mut chunk) {
            all.extend_from_slice(&chunk[..n]);
        }
        let text = String::from_utf8_lossy(&all);
        if text.matches("HTTP/1.1 ").count() == 3 && text.ends_with(&h.body) && all.len() > 2 * one
        {
            let statuses: Vec<&str> = text.split("HTTP/1.1 ").skip(1).map(|r| &r[..3]).collect();
            assert_eq!(statuses, ["200", "404", "200"]);
            break;
        }
    }
    assert_eq!(h.server.stats.scrapes, 2);
}

#[test]
fn client_limit_rejects_extra_connections() {
    let mut h = Harness::new(2, IDLE_TIMEOUT);
    let mut a = h.connect();
    let mut b = h.connect();
    let mut extra = h.connect();
    assert_eq!(h.server.client_count(), 2);
    assert_eq!(h.server.stats.rejected, 1);
    // The extra one got a 503 (best effort) and is closed.
    let mut got = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(3);
    loop {
        assert!(Instant::now() < deadline, "extra connection not closed");
        let mut chunk = [0u8; 1024];
        match extra.read(&mut chunk) {
            Ok(0) => break,
            Ok(n) => got.extend_from_slice(&chunk[..n]),
            Err(e) if e.kind() == ErrorKind::WouldBlock => h.turn(Duration::from_millis(2)),
            Err(_) => break,
        }
    }
    assert!(
        got.is_empty() || got.starts_with(b"HTTP/1.1 503 "),
        "{got:?}"
    );
    for c in [&mut a, &mut b] {
        h.send(c, GET_METRICS);
        assert_eq!(h.read_response(c, false).status, 200);
    }
    // A slot freed by a close is reused.
    drop(a);
    h.pump(Duration::from_millis(30));
    assert_eq!(h.server.client_count(), 1);
    let mut d = h.connect();
    h.send(&mut d, GET_METRICS);
    assert_eq!(h.read_response(&mut d, false).status, 200);
    assert_eq!(h.server.stats.rejected, 1);
}

#[test]
fn idle_clients_time_out() {
    let idle = Duration::from_millis(150);
    let mut h = Harness::new(4, idle);
    // Never sends anything.
    let mut silent = h.connect();
    // Sends half a head and stalls: reads do not extend the deadline.
    let mut stalled = h.connect();
    h.send(&mut stalled, b"GET /metrics HTTP/1.1\r\n");
    // Served, then idles on keep-alive.
    let mut served = h.connect();
    h.send(&mut served, GET_METRICS);
    assert_eq!(h.read_response(&mut served, false).status, 200);
    let next = h.server.next_deadline().unwrap();
    assert!(next <= Instant::now() + idle);
    for c in [&mut silent, &mut stalled, &mut served] {
        assert!(h.closed(c, Duration::from_secs(2)));
    }
    assert_eq!(h.server.client_count(), 0);
    assert_eq!(h.server.stats.timed_out, 3);
    assert_eq!(h.server.next_deadline(), None);
}

#[test]
fn large_body_to_a_slow_reader_does_not_block() {
    let idle = Duration::from_millis(1000);
    let mut h = Harness::new(4, idle);
    // Larger than loopback socket buffers can absorb.
    h.body = "x".repeat(48 * 1024 * 1024);
    let mut reader = h.connect();
    h.send(&mut reader, GET_METRICS);
    let mut stuck = h.connect();
    h.send(&mut stuck, GET_METRICS);
    // The loop keeps turning although neither client reads yet.
    let t = Instant::now();
    h.pump(Duration::from_millis(50));
    assert!(t.elapsed() < Duration::from_millis(500));
    assert_eq!(h.server.client_count(), 2);
    assert_eq!(h.server.stats.scrapes, 2);
    // One reads everything (its progress keeps it alive); the other never
    // reads and is dropped with most of its response unsent.
    let r = h.read_response(&mut reader, false);
    assert_eq!(r.status, 200);
    assert_eq!(r.body.len(), h.body.len());
    h.pump(idle + Duration::from_millis(300));
    let got = h.read_until_closed(&mut stuck, Duration::from_secs(5));
    let got = got.expect("slow client not dropped");
    assert!(got < h.body.len(), "{got}");
    assert!(h.server.stats.timed_out >= 1);
}

#[test]
fn tokens_map_to_clients() {
    let mut h = Harness::new(3, IDLE_TIMEOUT);
    assert!(h.server.owns(LISTENER));
    assert!(h.server.owns(Token(BASE)));
    assert!(h.server.owns(Token(BASE + 2)));
    assert!(!h.server.owns(Token(BASE + 3)));
    assert!(!h.server.owns(Token(BASE - 1)));
    assert_eq!(h.server.client_of(Token(BASE)), None);
    let a = h.connect();
    let id = h.server.client_of(Token(BASE)).unwrap();
    drop(a);
    h.pump(Duration::from_millis(30));
    assert_eq!(h.server.client_of(Token(BASE)), None);
    let _b = h.connect();
    // Same slot, new identity: a stale id cannot reach the new client.
    let id2 = h.server.client_of(Token(BASE)).unwrap();
    assert_ne!(id, id2);
    let reg = h.poll.registry();
    assert_eq!(h.server.respond(reg, id, "stale", Instant::now()), None);
}
