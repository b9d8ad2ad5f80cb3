//! Health checking end to end: real TCP/HTTP backends on loopback, ICMP,
//! and probing inside a network namespace. Every test has its own
//! 127.11.<b>.x addresses and its own daemon.

mod common;

use std::net::SocketAddr;
use std::process::Command;
use std::time::{Duration, Instant};

use common::backends::{common_port, lo, HttpBackend, HttpBehaviour, TcpBackend};
use common::{config, log_event, Daemon, FAST};

const WAIT: Duration = Duration::from_secs(10);

/// Read log records from `w` until a `backend-transition` of `backend` to
/// `to`; return the probe codes of `backend` seen before it.
fn probes_until_transition(w: &mut common::Watch, backend: &str, to: &str) -> Vec<String> {
    let deadline = Instant::now() + WAIT;
    let mut codes = Vec::new();
    while let Some(line) = w.next_line(deadline) {
        if let Some(v) = log_event(&line, "probe-done") {
            if v["attrs"]["backend"] == backend {
                codes.push(v["attrs"]["code"].as_str().unwrap().to_string());
            }
        } else if let Some(v) = log_event(&line, "backend-transition") {
            if v["attrs"]["backend"] == backend && v["attrs"]["to"] == to {
                return codes;
            }
        }
    }
    panic!("no transition of {backend} to {to}; probes seen: {codes:?}");
}

#[test]
fn tcp_backend_goes_down_when_closed_and_rises_back() {
    let addr = lo(11, 0, 1);
    let port = common_port(&[addr]);
    let mut be = TcpBackend::start(SocketAddr::new(addr, port));
    let yaml = config(&format!(
        "  healthchecks:\n    t: {{ type: tcp, port: {port}, {FAST}, rise: 3, fall: 2 }}\n  backends:\n    b: {{ address: {addr}, healthcheck: t }}\n"
    ));
    let d = Daemon::start("tcp-updown", &yaml, &[]);
    d.wait_transition("b", "up", "L4OK", WAIT);
    // Fully healthy (counter = rise + fall - 1) before the failures start,
    // so exactly `fall` failures must bring it down.
    d.wait_until("b fully up", WAIT, || d.backend("b")["counter"] == 4);

    let mut w = d.watch("log level debug");
    be.close();
    let fails = probes_until_transition(&mut w, "b", "down");
    assert_eq!(fails, ["L4CON", "L4CON"], "fall=2 failures from fully up");
    assert_eq!(d.history("b"), ["up->down L4CON", "unknown->up L4OK"]);
    let b = d.backend("b");
    assert_eq!(b["last_code"], "L4CON");
    assert_eq!(b["state"], "down");

    // Fully down (counter 0) before it comes back: exactly `rise` passes.
    d.wait_until("b fully down", WAIT, || d.backend("b")["counter"] == 0);
    let mut w = d.watch("log level debug");
    be.reopen();
    let passes = probes_until_transition(&mut w, "b", "up");
    assert_eq!(
        passes,
        ["L4OK", "L4OK", "L4OK"],
        "rise=3 passes from fully down"
    );
    assert_eq!(
        d.history("b"),
        ["down->up L4OK", "up->down L4CON", "unknown->up L4OK"]
    );
    assert!(d.stop().success());
}

/// One HTTP failure mode: the backend answers well (up, L7OK), then badly
/// (down with `code`), then well again (up).
fn http_case(tag: &str, b: u8, params: &str, bad: impl FnOnce(&mut HttpBehaviour), code: &str) {
    let addr = lo(11, b, 1);
    let port = common_port(&[addr]);
    let server = HttpBackend::start(SocketAddr::new(addr, port));
    server.set(|h| h.body = "ok 42 healthy\n".into());
    let yaml = config(&format!(
        "  healthchecks:\n    h: {{ type: http, port: {port}, {FAST}, rise: 1, fall: 1, params: {params} }}\n  backends:\n    web: {{ address: {addr}, healthcheck: h }}\n"
    ));
    let d = Daemon::start(tag, &yaml, &[]);
    d.wait_transition("web", "up", "L7OK", WAIT);
    server.set(bad);
    d.wait_transition("web", "down", code, WAIT);
    let b = d.backend("web");
    assert_eq!(b["last_code"], code, "{b}");
    server.set(|h| {
        *h = HttpBehaviour {
            body: "ok 42 healthy\n".into(),
            ..HttpBehaviour::default()
        }
    });
    d.wait_transition("web", "up", "L7OK", WAIT);
    assert_eq!(
        d.history("web"),
        [
            "down->up L7OK".to_string(),
            format!("up->down {code}"),
            "unknown->up L7OK".to_string()
        ]
    );
}

#[test]
fn http_wrong_status_is_l7sts() {
    http_case(
        "http-sts",
        1,
        "{ path: /healthz, response-codes: \"200\" }",
        |h| h.status = 503,
        "L7STS",
    );
}

#[test]
fn http_status_outside_default_range_is_l7sts() {
    // Default accepted codes are 200-399: a 404 fails.
    http_case("http-404", 2, "{}", |h| h.status = 404, "L7STS");
}

#[test]
fn http_body_without_expected_text_is_l7sts() {
    http_case(
        "http-contains",
        3,
        "{ response-contains: healthy }",
        |h| h.body = "ok 42 sick\n".into(),
        "L7STS",
    );
}

#[test]
fn http_body_not_matching_regexp_is_l7sts() {
    http_case(
        "http-regexp",
        4,
        "{ response-regexp: \"^ok [0-9]+ \" }",
        |h| h.body = "ok x healthy\n".into(),
        "L7STS",
    );
}

#[test]
fn http_slow_answer_is_l7tout() {
    http_case(
        "http-tout",
        5,
        "{}",
        |h| h.delay = Duration::from_millis(1500),
        "L7TOUT",
    );
}

#[test]
fn http_garbage_answer_is_l7rsp() {
    http_case("http-garbage", 6, "{}", |h| h.garbage = true, "L7RSP");
}

#[test]
fn icmp_reachable_and_unreachable() {
    // 127.0.0.1 always answers; ::2 has no route on a normal host (this one
    // answers with "address unreachable" or not at all, depending on its
    // routes), so it goes down with L3CON or L3TOUT.
    let yaml = config(&format!(
        "  healthchecks:\n    ping: {{ type: icmp, {FAST}, rise: 1, fall: 1 }}\n  backends:\n    here: {{ address: 127.0.0.1, healthcheck: ping }}\n    nowhere: {{ address: \"::2\", healthcheck: ping }}\n"
    ));
    let d = Daemon::start("icmp", &yaml, &[]);
    d.wait_transition("here", "up", "L3OK", WAIT);
    d.wait_backend("nowhere", "down", WAIT);
    let t = d.transitions("nowhere");
    assert_eq!(t.len(), 1, "{t:?}");
    assert_eq!((t[0][0].as_str(), t[0][1].as_str()), ("unknown", "down"));
    assert!(
        t[0][2] == "L3CON" || t[0][2] == "L3TOUT",
        "unexpected code {}",
        t[0][2]
    );
    assert_eq!(d.backend("here")["check_type"], "icmp");
}

/// A network namespace for one test, deleted on drop (also on panic).
struct Netns(String);

impl Netns {
    fn create(name: &str) -> Option<Netns> {
        let st = Command::new("ip")
            .args(["netns", "add", name])
            .status()
            .ok()?;
        if !st.success() {
            return None;
        }
        let ns = Netns(name.to_string());
        let up = Command::new("ip")
            .args(["netns", "exec", name, "ip", "link", "set", "lo", "up"])
            .status()
            .unwrap();
        assert!(up.success(), "ip link set lo up in {name}");
        Some(ns)
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = Command::new("ip").args(["netns", "del", &self.0]).status();
    }
}

/// A TCP listener created inside namespace `ns` (by a thread that entered
/// it); the socket stays in that namespace whatever thread accepts.
fn tcp_backend_in(ns: &str, addr: SocketAddr) -> TcpBackend {
    let path = format!("/var/run/netns/{ns}");
    std::thread::spawn(move || {
        let f = std::fs::File::open(&path).unwrap();
        nix::sched::setns(&f, nix::sched::CloneFlags::CLONE_NEWNET).unwrap();
        TcpBackend::start(addr)
    })
    .join()
    .unwrap()
}

#[test]
fn probes_run_inside_the_configured_netns() {
    let name = format!("mgl-test-{}", std::process::id());
    let Some(ns) = Netns::create(&name) else {
        eprintln!("SKIP probes_run_inside_the_configured_netns: `ip netns add {name}` failed");
        return;
    };
    let addr = lo(11, 20, 1);
    // Free on the host too: the same address/port outside the namespace
    // must refuse connections.
    let port = common_port(&[addr]);
    // The backend lives in the namespace; the host keeps nothing on it.
    common::backends::unreserve(SocketAddr::new(addr, port));
    let _be = tcp_backend_in(&ns.0, SocketAddr::new(addr, port));
    let body = |netns: &str| {
        config(&format!(
            "  healthchecker: {{ netns: \"{netns}\" }}\n  healthchecks:\n    t: {{ type: tcp, port: {port}, {FAST}, rise: 1, fall: 1 }}\n  backends:\n    b: {{ address: {addr}, healthcheck: t }}\n"
        ))
    };
    let inside = Daemon::start("netns-in", &body(&ns.0), &[]);
    let outside = Daemon::start("netns-out", &body(""), &[]);
    inside.wait_transition("b", "up", "L4OK", WAIT);
    outside.wait_transition("b", "down", "L4CON", WAIT);

    // Moving the host daemon into the namespace by reload restarts the
    // backend (history kept) and it comes up.
    outside.write_config(&body(&ns.0));
    outside.ok("config reload");
    outside.wait_transition("b", "up", "L4OK", WAIT);
    let h = outside.history("b");
    assert_eq!(h.last().unwrap(), "unknown->down L4CON", "{h:?}");
    assert!(h.contains(&"down->unknown restarted".to_string()), "{h:?}");
}
