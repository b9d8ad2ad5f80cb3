//! Operator actions through the control socket: pause/resume/enable/disable
//! of backends, runtime weights, and pool failover seen in `show frontends`
//! and in frontend events. Addresses 127.12.<b>.x.

mod common;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use common::backends::{common_port, lo, TcpBackend};
use common::{config, is_error, log_event, Daemon, Watch, FAST};

const WAIT: Duration = Duration::from_secs(10);

/// Probe results of each backend seen on a debug log watch during `window`.
fn probes_during(w: &mut Watch, window: Duration) -> Vec<(String, String)> {
    let deadline = Instant::now() + window;
    let mut out = Vec::new();
    while let Some(line) = w.next_line(deadline) {
        if let Some(v) = log_event(&line, "probe-done") {
            out.push((
                v["attrs"]["backend"].as_str().unwrap().to_string(),
                v["attrs"]["code"].as_str().unwrap().to_string(),
            ));
        }
    }
    out
}

/// The log records from now until `backend` transitions to `to`, as
/// (msg, backend, code/to).
fn log_until(w: &mut Watch, backend: &str, to: &str) -> Vec<String> {
    let deadline = Instant::now() + WAIT;
    let mut out = Vec::new();
    while let Some(line) = w.next_line(deadline) {
        if let Some(v) = log_event(&line, "probe-done") {
            if v["attrs"]["backend"] == backend {
                out.push(format!("probe {}", v["attrs"]["code"].as_str().unwrap()));
            }
        } else if let Some(v) = log_event(&line, "backend-transition") {
            if v["attrs"]["backend"] == backend {
                let a = &v["attrs"];
                out.push(format!(
                    "{}->{} {}",
                    a["from"].as_str().unwrap(),
                    a["to"].as_str().unwrap(),
                    a["code"].as_str().unwrap()
                ));
                if a["to"] == to {
                    return out;
                }
            }
        }
    }
    panic!("{backend} never went {to}; saw {out:?}");
}

#[test]
fn pause_resume_enable_disable() {
    let (a1, a2) = (lo(12, 0, 1), lo(12, 0, 2));
    let port = common_port(&[a1, a2]);
    let mut be = TcpBackend::start(SocketAddr::new(a1, port));
    let _other = TcpBackend::start(SocketAddr::new(a2, port));
    let yaml = config(&format!(
        "  healthchecks:\n    t: {{ type: tcp, port: {port}, {FAST}, rise: 2, fall: 2 }}\n  backends:\n    b: {{ address: {a1}, healthcheck: t }}\n    other: {{ address: {a2}, healthcheck: t }}\n  frontends:\n    f:\n      address: 192.0.2.12\n      protocol: tcp\n      port: 80\n      pools:\n        - name: main\n          backends: {{ b: {{}}, other: {{}} }}\n"
    ));
    let d = Daemon::start("operator", &yaml, &[]);
    d.wait_transition("b", "up", "L4OK", WAIT);
    d.wait_transition("other", "up", "L4OK", WAIT);

    // Errors: resume when not paused, unknown backend.
    let r = d.cmd("set backend b resume");
    assert_eq!(r, "ERR backend 'b': backend is not paused\n\n");
    let r = d.cmd("set backend nope pause");
    assert_eq!(r, "ERR unknown backend 'nope'\n\n");

    // Pause: state, transition, weight 0.
    assert_eq!(d.ok("set backend b pause"), "OK\n\n");
    let paused = d.backend("b");
    assert_eq!(paused["state"], "paused");
    assert_eq!(d.history("b")[0], "up->paused paused");
    assert_eq!(paused["frontends"][0]["effective_weight"], 0);
    // Pausing again is a no-op success.
    assert_eq!(d.ok("set backend b pause"), "OK\n\n");

    // While paused nothing probes b, even though its listener is gone,
    // while `other` keeps being probed.
    be.close();
    let mut w = d.watch("log level debug");
    let seen = probes_during(&mut w, Duration::from_millis(1200));
    assert!(
        !seen.iter().any(|(b, _)| b == "b"),
        "b was probed while paused: {seen:?}"
    );
    assert!(
        seen.iter().filter(|(b, _)| b == "other").count() >= 3,
        "the window saw too few probes of other: {seen:?}"
    );
    let still = d.backend("b");
    for k in [
        "state",
        "counter",
        "last_code",
        "last_detail",
        "transitions",
    ] {
        let strip = |v: &serde_json::Value| {
            let mut v = v.clone();
            if let Some(ts) = v.as_array_mut() {
                for t in ts {
                    t.as_object_mut().unwrap().remove("age_ms");
                }
            }
            v
        };
        assert_eq!(
            strip(&still[k]),
            strip(&paused[k]),
            "{k} moved while paused"
        );
    }

    // Resume goes through unknown and is resolved by exactly one probe.
    let mut w = d.watch("log level debug");
    assert_eq!(d.ok("set backend b resume"), "OK\n\n");
    let seq = log_until(&mut w, "b", "down");
    assert_eq!(
        seq,
        [
            "paused->unknown resumed",
            "probe L4CON",
            "unknown->down L4CON"
        ]
    );

    // Disable, then pause/resume are refused; disable twice is fine.
    assert_eq!(d.ok("set backend b disable"), "OK\n\n");
    assert_eq!(d.backend_state("b"), "disabled");
    assert_eq!(d.history("b")[0], "down->disabled disabled");
    assert_eq!(
        d.cmd("set backend b pause"),
        "ERR backend 'b': backend is disabled\n\n"
    );
    assert_eq!(
        d.cmd("set backend b resume"),
        "ERR backend 'b': backend is disabled\n\n"
    );
    assert_eq!(d.ok("set backend b disable"), "OK\n\n");

    // Enable: through unknown, one probe, up again (listener back).
    be.reopen();
    let mut w = d.watch("log level debug");
    assert_eq!(d.ok("set backend b enable"), "OK\n\n");
    let seq = log_until(&mut w, "b", "up");
    assert_eq!(
        seq,
        [
            "disabled->unknown enabled",
            "probe L4OK",
            "unknown->up L4OK"
        ]
    );
    assert_eq!(d.ok("set backend b enable"), "OK\n\n");
    assert_eq!(d.backend_state("b"), "up");
    assert_eq!(
        d.json("show frontends f")["pools"][0]["members"][0]["effective_weight"],
        100
    );
}

fn member(f: &serde_json::Value, pool: usize, backend: &str) -> serde_json::Value {
    f["pools"][pool]["members"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["backend"] == backend)
        .unwrap_or_else(|| panic!("{backend} not in pool {pool}: {f}"))
        .clone()
}

/// (backend, configured weight, effective weight).
type Member = (String, i64, i64);

/// (active, members) per pool.
fn pools(f: &serde_json::Value) -> Vec<(bool, Vec<Member>)> {
    f["pools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            let ms = p["members"]
                .as_array()
                .unwrap()
                .iter()
                .map(|m| {
                    (
                        m["backend"].as_str().unwrap().to_string(),
                        m["weight"].as_i64().unwrap(),
                        m["effective_weight"].as_i64().unwrap(),
                    )
                })
                .collect();
            (p["active"].as_bool().unwrap(), ms)
        })
        .collect()
}

fn s(v: &str) -> String {
    v.to_string()
}

#[test]
fn failover_to_fallback_pool_and_back() {
    let addrs = [lo(12, 1, 1), lo(12, 1, 2), lo(12, 1, 3)];
    let port = common_port(&addrs);
    let mut p1 = TcpBackend::start(SocketAddr::new(addrs[0], port));
    let mut p2 = TcpBackend::start(SocketAddr::new(addrs[1], port));
    let mut fb = TcpBackend::start(SocketAddr::new(addrs[2], port));
    let yaml = config(&format!(
        "  healthchecks:\n    t: {{ type: tcp, port: {port}, {FAST}, rise: 1, fall: 1 }}\n  backends:\n    p1: {{ address: {}, healthcheck: t }}\n    p2: {{ address: {}, healthcheck: t }}\n    fb: {{ address: {}, healthcheck: t }}\n  frontends:\n    f:\n      address: 192.0.2.121\n      protocol: tcp\n      port: 80\n      pools:\n        - name: primary\n          backends: {{ p1: {{ weight: 100 }}, p2: 70 }}\n        - name: fallback\n          backends: {{ fb: 50 }}\n",
        addrs[0], addrs[1], addrs[2]
    ));
    let d = Daemon::start("failover", &yaml, &[]);
    for b in ["p1", "p2", "fb"] {
        d.wait_transition(b, "up", "L4OK", WAIT);
    }
    let f = d.json("show frontends f");
    assert_eq!(f["state"], "up");
    assert_eq!(
        pools(&f),
        [
            (true, vec![(s("p1"), 100, 100), (s("p2"), 70, 70)]),
            (false, vec![(s("fb"), 50, 0)])
        ]
    );
    let mut fw = d.watch("frontend");

    // Primary down: the fallback takes over with its configured weight.
    p1.close();
    p2.close();
    d.wait_backend("p1", "down", WAIT);
    d.wait_backend("p2", "down", WAIT);
    let f = d.json("show frontends f");
    assert_eq!(f["state"], "up");
    assert_eq!(
        pools(&f),
        [
            (false, vec![(s("p1"), 100, 0), (s("p2"), 70, 0)]),
            (true, vec![(s("fb"), 50, 50)])
        ]
    );
    assert_eq!(member(&f, 0, "p1")["state"], "down");

    // Everything down: the frontend goes down (an event), then up again
    // when a primary member returns, and the primary is active again.
    fb.close();
    fw.wait_for(
        &[
            "\"type\":\"frontend\"",
            "\"frontend\":\"f\"",
            "\"from\":\"up\"",
            "\"to\":\"down\"",
        ],
        WAIT,
    );
    assert_eq!(d.json("show frontends f")["state"], "down");
    p1.reopen();
    fw.wait_for(
        &[
            "\"type\":\"frontend\"",
            "\"frontend\":\"f\"",
            "\"from\":\"down\"",
            "\"to\":\"up\"",
        ],
        WAIT,
    );
    let f = d.json("show frontends f");
    assert_eq!(
        pools(&f),
        [
            (true, vec![(s("p1"), 100, 100), (s("p2"), 70, 0)]),
            (false, vec![(s("fb"), 50, 0)])
        ]
    );

    // Weight 0 on every up primary member also fails over.
    fb.reopen();
    p2.reopen();
    d.wait_backend("fb", "up", WAIT);
    d.wait_backend("p2", "up", WAIT);
    assert_eq!(
        d.ok("set frontend f pool primary backend p1 weight 0"),
        "OK\n\n"
    );
    assert_eq!(
        d.ok("set frontend f pool primary backend p2 weight 0 flush"),
        "OK\n\n"
    );
    let f = d.json("show frontends f");
    assert_eq!(
        pools(&f),
        [
            (false, vec![(s("p1"), 0, 0), (s("p2"), 0, 0)]),
            (true, vec![(s("fb"), 50, 50)])
        ]
    );
    assert_eq!(f["state"], "up");
    // And back with a weight > 0.
    assert_eq!(
        d.ok("set frontend f pool primary backend p2 weight 30"),
        "OK\n\n"
    );
    let f = d.json("show frontends f");
    assert_eq!(
        pools(&f),
        [
            (true, vec![(s("p1"), 0, 0), (s("p2"), 30, 30)]),
            (false, vec![(s("fb"), 50, 0)])
        ]
    );

    // Weight errors.
    for (cmd, want) in [
        (
            "set frontend nope pool primary backend p1 weight 1",
            "ERR unknown frontend 'nope'",
        ),
        (
            "set frontend f pool nope backend p1 weight 1",
            "ERR frontend 'f' has no pool 'nope'",
        ),
        (
            "set frontend f pool fallback backend p1 weight 1",
            "ERR pool 'fallback' of frontend 'f' has no backend 'p1'",
        ),
    ] {
        let r = d.cmd(cmd);
        assert!(is_error(&r));
        assert_eq!(r, format!("{want}\n\n"), "{cmd}");
    }
    let r = d.cmd("set frontend f pool primary backend p1 weight 101");
    assert!(r.starts_with("ERR ") && r.contains("101"), "{r}");
}
