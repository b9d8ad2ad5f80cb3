//! Probes against real sockets on loopback (each test its own 127.x.y.z),
//! driven by the test loop in `testutil`.

use std::io::Write;
use std::net::{IpAddr, SocketAddr, TcpStream};
use std::os::fd::AsRawFd;
use std::time::Duration;

use nix::sys::socket::{bind, listen, AddressFamily, Backlog, SockType, SockaddrStorage};

use super::testutil::*;
use super::*;
use crate::config::model::{HttpParams, StatusRange};

fn health_check(check_type: CheckType, port: u16, http: Option<HttpParams>) -> HealthCheck {
    HealthCheck {
        check_type,
        port: Some(port),
        interval: Duration::from_secs(2),
        fast_interval: Duration::from_secs(2),
        down_interval: Duration::from_secs(2),
        timeout: Duration::from_millis(1500),
        rise: 2,
        fall: 3,
        probe_ipv4_src: None,
        probe_ipv6_src: None,
        http,
    }
}

pub(super) fn http_params() -> HttpParams {
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

fn http_target(addr: SocketAddr, params: HttpParams) -> ProbeTarget {
    let check = health_check(CheckType::Http, addr.port(), Some(params));
    PreparedCheck::new(&check)
        .unwrap()
        .target(addr.ip())
        .unwrap()
}

fn code_detail(r: &ProbeResult) -> (Code, &str) {
    (r.code, r.detail.as_str())
}

#[test]
fn tcp_open_port_is_l4ok_and_never_reaches_accept() {
    let listener = std::net::TcpListener::bind("127.10.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let addr = listener.local_addr().unwrap();
    let tries = 5;
    // One pool, as in the daemon: every probe after the first reuses the
    // socket, whose deferral must survive the disconnect.
    let mut poll = mio::Poll::new().unwrap();
    let mut pool = SocketPool::new(1 << 20);
    for _ in 0..tries {
        let r = run_probe_in(
            &mut poll,
            &mut pool,
            &target(addr, ProbeKind::Tcp, 1000),
            &SocketFactory::current(),
        );
        assert_eq!(code_detail(&r), (Code::L4Ok, "connected"));
        assert!(r.duration_us < 1_000_000);
    }
    assert_eq!(pool.opened(), 1, "the probes did not share one socket");
    // The handshake's last ACK is held back (TCP_DEFER_ACCEPT) and the
    // disconnect's RST ends the half-open connection, so the server has
    // nothing to accept. An ACK escapes only if the probe stalls past the
    // delayed-ACK timer (up to 200 ms), so allow for one stall, not more.
    let accepted = std::iter::from_fn(|| listener.accept().ok()).count();
    assert!(
        accepted <= 1,
        "{accepted} of {tries} tcp probes completed the handshake on the server"
    );
}

#[test]
fn tcp_closed_port_is_l4con() {
    let addr = std::net::TcpListener::bind("127.10.0.2:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let r = run_probe(
        &target(addr, ProbeKind::Tcp, 1000),
        &SocketFactory::current(),
    );
    assert_eq!(code_detail(&r), (Code::L4Con, "connection refused"));
}

#[test]
fn tcp_full_backlog_is_l4tout() {
    // A listener that never accepts, with its accept queue filled: the
    // kernel drops further SYNs, so the probe's connect never completes.
    let (listener, _fillers) = full_backlog_listener("127.10.0.3");
    let addr = listener.local_addr().unwrap();
    let r = run_probe(
        &target(addr, ProbeKind::Tcp, 300),
        &SocketFactory::current(),
    );
    assert_eq!(code_detail(&r), (Code::L4Tout, "connect timeout"));
    assert!(r.duration_us >= 300_000, "{r:?}");
}

/// A listener on `ip` whose accept queue is full: SYNs are dropped.
fn full_backlog_listener(ip: &str) -> (std::net::TcpListener, Vec<TcpStream>) {
    let fd = nix::sys::socket::socket(
        AddressFamily::Inet,
        SockType::Stream,
        nix::sys::socket::SockFlag::SOCK_CLOEXEC,
        None,
    )
    .unwrap();
    let any: SocketAddr = format!("{ip}:0").parse().unwrap();
    bind(fd.as_raw_fd(), &SockaddrStorage::from(any)).unwrap();
    listen(&fd, Backlog::new(0).unwrap()).unwrap();
    let listener = std::net::TcpListener::from(fd);
    let addr = listener.local_addr().unwrap();
    let mut fillers = Vec::new();
    for _ in 0..8 {
        match TcpStream::connect_timeout(&addr, Duration::from_millis(200)) {
            Ok(s) => fillers.push(s),
            Err(_) => break,
        }
    }
    (listener, fillers)
}

#[test]
fn one_pooled_socket_serves_every_outcome_in_turn() {
    // The socket is dissolved with connect(AF_UNSPEC) after each probe and
    // connected again: no outcome (refused, connect or response timeout,
    // http error) may leak into the next probe's verdict.
    let open = std::net::TcpListener::bind("127.10.9.1:0").unwrap();
    let open_addr = open.local_addr().unwrap();
    let closed = std::net::TcpListener::bind("127.10.9.2:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let (_full, _fillers) = full_backlog_listener("127.10.9.3");
    let full = _full.local_addr().unwrap();
    let mut poll = mio::Poll::new().unwrap();
    let mut pool = SocketPool::new(1 << 20);
    let sockets = SocketFactory::current();
    let tcp = |addr, ms| target(addr, ProbeKind::Tcp, ms);
    let mut run = |t: &ProbeTarget| run_probe_in(&mut poll, &mut pool, t, &sockets);

    assert_eq!(
        code_detail(&run(&tcp(open_addr, 1000))),
        (Code::L4Ok, "connected")
    );
    assert_eq!(
        code_detail(&run(&tcp(closed, 1000))),
        (Code::L4Con, "connection refused")
    );
    assert_eq!(
        code_detail(&run(&tcp(open_addr, 1000))),
        (Code::L4Ok, "connected")
    );
    assert_eq!(
        code_detail(&run(&tcp(full, 200))),
        (Code::L4Tout, "connect timeout")
    );
    assert_eq!(
        code_detail(&run(&tcp(open_addr, 1000))),
        (Code::L4Ok, "connected")
    );
    let (ok, _rx) = http_once(
        "127.10.9.4",
        b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
    );
    assert_eq!(
        code_detail(&run(&http_target(ok, http_params()))),
        (Code::L7Ok, "status 200")
    );
    let (silent, _rx) = serve_once("127.10.9.5", |mut s, _| {
        read_request(&mut s);
        std::thread::sleep(Duration::from_millis(600));
    });
    let mut t = http_target(silent, http_params());
    t.timeout = Duration::from_millis(200);
    assert_eq!(
        code_detail(&run(&t)),
        (Code::L7Tout, "timeout waiting for response")
    );
    let (bad, _rx) = http_once(
        "127.10.9.6",
        b"HTTP/1.1 503 Unavailable\r\nContent-Length: 0\r\n\r\n",
    );
    assert_eq!(
        code_detail(&run(&http_target(bad, http_params()))),
        (Code::L7Sts, "status 503")
    );
    assert_eq!(
        code_detail(&run(&tcp(open_addr, 1000))),
        (Code::L4Ok, "connected")
    );
    assert_eq!(
        pool.opened(),
        1,
        "every probe must have reused the one socket"
    );
    // Nothing reached accept on the open listener: each connection was
    // reset before the handshake's last ACK (see the test above).
    open.set_nonblocking(true).unwrap();
    assert!(open.accept().is_err());
}

#[test]
fn probes_bind_the_source_address() {
    // A tcp probe never reaches accept (see above), so the http probe, which
    // shares the connect path, shows the server which source it came from.
    let (addr, rx) = serve_once("127.10.0.4", |mut s, peer| {
        read_request(&mut s);
        let _ = s.write_all(b"HTTP/1.1 200 OK\r\n\r\n");
        peer.ip()
    });
    let mut t = http_target(addr, http_params());
    t.source = Some("127.10.0.5".parse().unwrap());
    let r = run_probe(&t, &SocketFactory::current());
    assert_eq!(r.code, Code::L7Ok);
    assert_eq!(rx.recv().unwrap().to_string(), "127.10.0.5");
}

#[test]
fn tcp_unassigned_source_fails_at_start() {
    // Binding fails locally (EADDRNOTAVAIL); no packet is ever sent.
    let mut t = target("127.10.0.6:9".parse().unwrap(), ProbeKind::Tcp, 1000);
    t.source = Some("192.0.2.1".parse().unwrap());
    let r = run_probe(&t, &SocketFactory::current());
    assert_eq!(
        code_detail(&r),
        (
            Code::L4Con,
            "bind 192.0.2.1: cannot assign requested address"
        )
    );
}

#[test]
fn tcp_over_ipv6_loopback() {
    let (addr, _rx) = serve_once("::1", |_, _| ());
    let r = run_probe(
        &target(addr, ProbeKind::Tcp, 1000),
        &SocketFactory::current(),
    );
    assert_eq!(r.code, Code::L4Ok);
}

#[test]
fn http_200_is_l7ok_and_request_is_well_formed() {
    let (addr, rx) = http_once(
        "127.11.0.1",
        b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
    );
    let r = run_probe(&http_target(addr, http_params()), &SocketFactory::current());
    assert_eq!(code_detail(&r), (Code::L7Ok, "status 200"));
    let request = rx.recv().unwrap();
    assert_eq!(
        request,
        format!(
            "GET /healthz HTTP/1.1\r\nHost: 127.11.0.1:{}\r\nUser-Agent: vpp-maglev/{}\r\nAccept: */*\r\nConnection: close\r\n\r\n",
            addr.port(),
            env!("CARGO_PKG_VERSION")
        )
    );
}

#[test]
fn http_table() {
    let mut contains = http_params();
    contains.response_contains = Some("healthy".into());
    let mut regex = http_params();
    regex.response_regexp = Some(r"status: (ok|degraded)".into());
    // (name, server ip, params, canned response, code, detail)
    type Case = (
        &'static str,
        &'static str,
        HttpParams,
        &'static [u8],
        Code,
        &'static str,
    );
    let cases: [Case; 9] = [
        ("503", "127.11.1.1", http_params(),
            b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n\r\n", Code::L7Sts, "status 503"),
        ("garbage", "127.11.1.2", http_params(), b"SSH-2.0-OpenSSH\r\n", Code::L7Rsp,
            "malformed status line \"SSH-2.0-OpenSSH\""),
        ("contains ok", "127.11.1.3", contains.clone(),
            b"HTTP/1.1 200 OK\r\nContent-Length: 12\r\n\r\nhealthy: yes", Code::L7Ok, "status 200"),
        ("contains missing", "127.11.1.4", contains.clone(),
            b"HTTP/1.1 200 OK\r\nContent-Length: 8\r\n\r\nstarting", Code::L7Sts, "body does not contain \"healthy\""),
        ("chunked regex", "127.11.1.5", regex.clone(),
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n8\r\nstatus: \r\n8\r\ndegraded\r\n0\r\n\r\n",
            Code::L7Ok, "status 200"),
        ("close-delimited body", "127.11.1.6", contains.clone(),
            b"HTTP/1.0 200 OK\r\n\r\nall healthy", Code::L7Ok, "status 200"),
        ("empty answer", "127.11.1.7", http_params(), b"", Code::L7Rsp,
            "connection closed before end of response"),
        ("truncated body", "127.11.1.8", contains,
            b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nhealthy", Code::L7Rsp,
            "connection closed before end of response"),
        ("regex mismatch", "127.11.1.9", regex,
            b"HTTP/1.1 200 OK\r\nContent-Length: 12\r\n\r\nstatus: down", Code::L7Sts,
            "body does not match /status: (ok|degraded)/"),
    ];
    for (name, ip, params, response, code, detail) in cases {
        let (addr, _rx) = http_once(ip, response);
        let r = run_probe(&http_target(addr, params), &SocketFactory::current());
        assert_eq!(code_detail(&r), (code, detail), "{name}");
    }
}

#[test]
fn http_status_is_judged_before_the_body_arrives() {
    // The server sends the head, then stalls: with no body check the probe
    // must not wait for the body.
    let (addr, _rx) = serve_once("127.11.2.1", |mut s, _| {
        read_request(&mut s);
        s.write_all(b"HTTP/1.1 204 No Content\r\n").unwrap();
        std::thread::sleep(Duration::from_secs(2));
    });
    let mut t = http_target(addr, http_params());
    t.timeout = Duration::from_millis(1500);
    let r = run_probe(&t, &SocketFactory::current());
    assert_eq!(code_detail(&r), (Code::L7Ok, "status 204"));
    assert!(r.duration_us < 1_000_000);
}

#[test]
fn http_silent_server_is_l7tout() {
    let (addr, _rx) = serve_once("127.11.2.2", |mut s, _| {
        read_request(&mut s);
        std::thread::sleep(Duration::from_millis(800));
    });
    let mut t = http_target(addr, http_params());
    t.timeout = Duration::from_millis(300);
    let r = run_probe(&t, &SocketFactory::current());
    assert_eq!(
        code_detail(&r),
        (Code::L7Tout, "timeout waiting for response")
    );
}

#[test]
fn http_slow_dribbled_response_is_assembled() {
    let (addr, _rx) = serve_once("127.11.2.3", |mut s, _| {
        read_request(&mut s);
        for piece in [
            &b"HTTP/1.1 20"[..],
            b"0 OK\r\nContent-Le",
            b"ngth: 5\r\n\r\nhea",
            b"lt",
        ] {
            s.write_all(piece).unwrap();
            s.flush().unwrap();
            std::thread::sleep(Duration::from_millis(30));
        }
    });
    let mut params = http_params();
    params.response_contains = Some("healt".into());
    let r = run_probe(&http_target(addr, params), &SocketFactory::current());
    assert_eq!(code_detail(&r), (Code::L7Ok, "status 200"));
}

#[test]
fn http_refused_is_l4con() {
    let addr = std::net::TcpListener::bind("127.11.2.4:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let r = run_probe(&http_target(addr, http_params()), &SocketFactory::current());
    assert_eq!(r.code, Code::L4Con);
}

#[test]
fn prepared_check_picks_family_source_and_kind() {
    let mut check = health_check(CheckType::Tcp, 53, None);
    check.probe_ipv4_src = Some("127.0.0.9".parse().unwrap());
    let prepared = PreparedCheck::new(&check).unwrap();
    let v4 = prepared.target("127.0.0.1".parse().unwrap()).unwrap();
    assert_eq!(v4.source, Some("127.0.0.9".parse().unwrap()));
    assert_eq!(v4.addr, "127.0.0.1:53".parse().unwrap());
    let v6 = prepared.target("::1".parse().unwrap()).unwrap();
    assert_eq!(v6.source, None);
    let mut icmp = health_check(CheckType::Icmp, 0, None);
    icmp.port = None;
    let t = PreparedCheck::new(&icmp)
        .unwrap()
        .target("::1".parse().unwrap())
        .unwrap();
    assert!(matches!(t.kind, ProbeKind::Icmp));
    let mut bad = health_check(CheckType::Http, 80, Some(http_params()));
    bad.http.as_mut().unwrap().response_regexp = Some("([".into());
    assert!(matches!(PreparedCheck::new(&bad), Err(SetupError::Http(_))));
    bad.http = None;
    bad.check_type = CheckType::Http;
    let prepared = PreparedCheck::new(&bad).unwrap();
    assert_eq!(
        prepared.target("127.0.0.1".parse().unwrap()).unwrap_err(),
        SetupError::MissingHttpParams
    );
}

#[test]
fn icmp_echo_loopback_v4_and_v6() {
    for dest in ["127.12.0.1", "::1"] {
        let dest: IpAddr = dest.parse().unwrap();
        let (r, _kinds) = run_ping(
            &SocketFactory::current(),
            dest,
            None,
            Duration::from_secs(1),
        );
        assert_eq!(code_detail(&r), (Code::L3Ok, "echo reply"), "{dest}");
    }
}

#[test]
fn missing_netns_fails_every_probe_with_l4con() {
    let sockets = SocketFactory::new(Some("mglv-no-such-netns"));
    assert_eq!(sockets.netns(), Some("mglv-no-such-netns"));
    let want = "enter netns mglv-no-such-netns: no such file or directory";
    assert_eq!(sockets.check().unwrap_err().to_string(), want);
    let r = run_probe(
        &target("127.13.0.1:80".parse().unwrap(), ProbeKind::Tcp, 500),
        &sockets,
    );
    assert_eq!(code_detail(&r), (Code::L4Con, want));
    let (r, _) = run_ping(
        &sockets,
        "127.13.0.1".parse().unwrap(),
        None,
        Duration::from_millis(500),
    );
    assert_eq!(code_detail(&r), (Code::L4Con, want));
}

#[test]
fn netns_sockets_live_in_the_namespace() {
    let Some(ns) = TestNetns::create("tcp") else {
        return;
    };
    ns.exec("ip link set lo up");
    let sockets = SocketFactory::new(Some(&ns.name));
    sockets.check().unwrap();
    // A listener created through the factory exists only inside the namespace.
    let fd = sockets
        .socket(AddressFamily::Inet, SockType::Stream, None)
        .unwrap();
    let any: SocketAddr = "127.13.1.1:0".parse().unwrap();
    bind(fd.as_raw_fd(), &SockaddrStorage::from(any)).unwrap();
    listen(&fd, Backlog::new(16).unwrap()).unwrap();
    let listener = std::net::TcpListener::from(fd);
    let addr = listener.local_addr().unwrap();
    let inside = run_probe(&target(addr, ProbeKind::Tcp, 1000), &sockets);
    assert_eq!(inside.code, Code::L4Ok);
    let outside = run_probe(
        &target(addr, ProbeKind::Tcp, 1000),
        &SocketFactory::current(),
    );
    assert_eq!(code_detail(&outside), (Code::L4Con, "connection refused"));
}

#[test]
fn icmp_in_netns_ping_socket_timeout_and_send_error() {
    let Some(ns) = TestNetns::create("icmp") else {
        return;
    };
    let sockets = SocketFactory::new(Some(&ns.name));
    // Loopback down: no route, the send itself fails.
    let (r, _) = run_ping(
        &sockets,
        "127.0.0.1".parse().unwrap(),
        None,
        Duration::from_millis(500),
    );
    assert_eq!(
        code_detail(&r),
        (Code::L3Con, "send: network is unreachable")
    );

    ns.exec("ip link set lo up");
    // Unprivileged ping sockets where the namespace's sysctl allows them.
    ns.exec("echo '0 2147483647' > /proc/sys/net/ipv4/ping_group_range");
    let (r, kinds) = run_ping(
        &sockets,
        "127.0.0.1".parse().unwrap(),
        None,
        Duration::from_secs(1),
    );
    assert_eq!(code_detail(&r), (Code::L3Ok, "echo reply"));
    assert_eq!(kinds, vec![false], "a ping (SOCK_DGRAM) socket was used");
    let (r, kinds) = run_ping(
        &sockets,
        "::1".parse().unwrap(),
        None,
        Duration::from_secs(1),
    );
    assert_eq!(code_detail(&r), (Code::L3Ok, "echo reply"));
    assert_eq!(kinds, vec![false]);

    // Echo requests ignored: no reply, the probe times out.
    ns.exec("echo 1 > /proc/sys/net/ipv4/icmp_echo_ignore_all");
    for raw in [false, true] {
        if raw {
            ns.exec("echo '1 0' > /proc/sys/net/ipv4/ping_group_range");
        }
        let (r, kinds) = run_ping(
            &sockets,
            "127.0.0.1".parse().unwrap(),
            None,
            Duration::from_millis(300),
        );
        assert_eq!(
            code_detail(&r),
            (Code::L3Tout, "no echo reply"),
            "raw={raw}"
        );
        assert_eq!(kinds, vec![raw]);
        assert!(r.duration_us >= 300_000);
    }
}
