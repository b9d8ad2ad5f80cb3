//! Reloads (SIGHUP and `config reload`), failed reloads, `config check`,
//! and log reopening (SIGUSR1 and `log reopen`). Addresses 127.13.<b>.x.

mod common;

use std::net::SocketAddr;
use std::path::Path;
use std::time::{Duration, Instant};

use nix::sys::signal::Signal;

use common::backends::{common_port, lo, TcpBackend};
use common::{config, log_event, Daemon, FAST};

const WAIT: Duration = Duration::from_secs(10);

fn reload_config(port: u16, variant: u8) -> String {
    let (a, b, c, e) = (lo(13, 0, 1), lo(13, 0, 2), lo(13, 0, 3), lo(13, 0, 4));
    let checks = format!(
        "  healthchecks:\n    t1: {{ type: tcp, port: {port}, {FAST}, rise: 1, fall: 1 }}\n    t2: {{ type: tcp, port: {port}, {FAST}, rise: 2, fall: 1 }}\n"
    );
    let frontend = |members: &str| {
        format!("  frontends:\n    f:\n      address: 192.0.2.13\n      protocol: tcp\n      port: 80\n      pools:\n        - name: main\n          backends: {{ {members} }}\n")
    };
    match variant {
        // keep, gone, change on t1.
        1 => config(&format!(
            "{checks}  backends:\n    keep: {{ address: {a}, healthcheck: t1 }}\n    gone: {{ address: {b}, healthcheck: t1 }}\n    change: {{ address: {c}, healthcheck: t1 }}\n{}",
            frontend("keep: 100, gone: 100, change: 100")
        )),
        // gone removed, new added, change moved to t2.
        2 => config(&format!(
            "{checks}  backends:\n    keep: {{ address: {a}, healthcheck: t1 }}\n    change: {{ address: {c}, healthcheck: t2 }}\n    new: {{ address: {e}, healthcheck: t1 }}\n{}",
            frontend("keep: 100, change: 100, new: 100")
        )),
        // new's check changed too.
        _ => config(&format!(
            "{checks}  backends:\n    keep: {{ address: {a}, healthcheck: t1 }}\n    change: {{ address: {c}, healthcheck: t2 }}\n    new: {{ address: {e}, healthcheck: t2 }}\n{}",
            frontend("keep: 100, change: 100, new: 100")
        )),
    }
}

fn names(d: &Daemon) -> Vec<String> {
    d.json("show backends")["backends"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["name"].as_str().unwrap().to_string())
        .collect()
}

fn weight_of(d: &Daemon, backend: &str) -> i64 {
    let f = d.json("show frontends f");
    f["pools"][0]["members"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["backend"] == backend)
        .unwrap()["weight"]
        .as_i64()
        .unwrap()
}

#[test]
fn reload_adds_removes_restarts_and_keeps() {
    let addrs = [lo(13, 0, 1), lo(13, 0, 2), lo(13, 0, 3), lo(13, 0, 4)];
    let port = common_port(&addrs);
    let mut keep_be = TcpBackend::start(SocketAddr::new(addrs[0], port));
    let _others: Vec<TcpBackend> = addrs[1..]
        .iter()
        .map(|a| TcpBackend::start(SocketAddr::new(*a, port)))
        .collect();
    let d = Daemon::start("reload", &reload_config(port, 1), &[]);
    for b in ["keep", "gone", "change"] {
        d.wait_transition(b, "up", "L4OK", WAIT);
    }
    // Give `keep` a longer history, so carrying it over means something.
    keep_be.close();
    d.wait_transition("keep", "down", "L4CON", WAIT);
    keep_be.reopen();
    d.wait_transition("keep", "up", "L4OK", WAIT);
    let keep_before = d.transitions("keep");
    assert_eq!(keep_before.len(), 3);
    assert_eq!(
        d.ok("set frontend f pool main backend keep weight 30"),
        "OK\n\n"
    );
    assert_eq!(weight_of(&d, "keep"), 30);

    // SIGHUP: gone removed, new added, change restarted, keep untouched.
    d.write_config(&reload_config(port, 2));
    let mut w = d.watch("backend");
    d.signal(Signal::SIGHUP);
    w.wait_for(
        &[
            "\"backend\":\"gone\"",
            "\"to\":\"removed\"",
            "\"code\":\"removed\"",
        ],
        WAIT,
    );
    d.wait_until("gone forgotten", WAIT, || {
        !names(&d).contains(&"gone".to_string())
    });
    assert_eq!(
        d.cmd("show backends gone"),
        "ERR unknown backend 'gone'\n\n"
    );
    d.wait_transition("new", "up", "L4OK", WAIT);
    d.wait_transition("change", "up", "L4OK", WAIT);
    assert_eq!(names(&d), ["change", "keep", "new"]);
    assert_eq!(
        d.history("change"),
        [
            "unknown->up L4OK",
            "up->unknown restarted",
            "unknown->up L4OK"
        ]
    );
    assert_eq!(
        d.backend("change")["rise"],
        2,
        "the new check's rise applies"
    );
    assert_eq!(d.transitions("keep"), keep_before, "keep's history moved");
    assert_eq!(d.backend_state("keep"), "up");
    assert_eq!(
        weight_of(&d, "keep"),
        100,
        "a runtime weight is lost on reload"
    );

    // `config reload`: new's check changes, the rest stays.
    let change_before = d.transitions("change");
    d.write_config(&reload_config(port, 3));
    assert_eq!(d.cmd("config reload"), "OK\n\n");
    d.wait_until("new restarted and up", WAIT, || {
        d.history("new")
            == [
                "unknown->up L4OK",
                "up->unknown restarted",
                "unknown->up L4OK",
            ]
    });
    assert_eq!(d.transitions("keep"), keep_before);
    assert_eq!(d.transitions("change"), change_before);

    // Reloading an identical file changes nothing at all.
    let new_before = d.transitions("new");
    assert_eq!(d.cmd("config reload"), "OK\n\n");
    assert_eq!(d.transitions("new"), new_before);
    assert_eq!(d.transitions("keep"), keep_before);
}

/// Everything `show` reports, minus the ages that move with the clock.
fn state_of(d: &Daemon) -> String {
    let mut b = d.json("show backends");
    for be in b["backends"].as_array_mut().unwrap() {
        for t in be["transitions"].as_array_mut().unwrap() {
            t.as_object_mut().unwrap().remove("age_ms");
        }
        // The counter and last result of a healthy backend are stable
        // (fully up, passing), so they are compared too.
    }
    let f = d.json("show frontends");
    let h = d.json("show healthchecks");
    format!("{b}\n{f}\n{h}")
}

#[test]
fn failed_reload_changes_nothing() {
    let a = lo(13, 1, 1);
    let port = common_port(&[a]);
    let _be = TcpBackend::start(SocketAddr::new(a, port));
    let good = config(&format!(
        "  healthchecks:\n    t: {{ type: tcp, port: {port}, {FAST}, rise: 1, fall: 1 }}\n  backends:\n    b: {{ address: {a}, healthcheck: t }}\n    s: {{ address: 192.0.2.131 }}\n  frontends:\n    f:\n      address: 192.0.2.13\n      protocol: tcp\n      port: 80\n      pools:\n        - name: main\n          backends: {{ b: {{}}, s: {{}} }}\n"
    ));
    let d = Daemon::start("badreload", &good, &[]);
    d.wait_transition("b", "up", "L4OK", WAIT);
    d.wait_until("b fully up", WAIT, || d.backend("b")["counter"] == 1);
    let before = state_of(&d);
    assert_eq!(d.cmd("config check"), "OK\n\n");

    // A parse error (a duration without unit), and a semantic error (a
    // backend naming a missing check while another backend is dropped).
    let parse_bad = good.replace("interval: 200ms", "interval: 200");
    let semantic_bad = good
        .replace("healthcheck: t }", "healthcheck: nope }")
        .replace("    s: { address: 192.0.2.131 }\n", "");
    for (bad, want) in [
        (&parse_bad, "parse error: maglev.healthchecks.t.interval"),
        (&semantic_bad, "invalid configuration"),
    ] {
        d.write_config(bad);
        let check = d.cmd("config check");
        assert!(
            check.starts_with("ERR ") && check.ends_with("\n\n"),
            "{check}"
        );
        assert!(check.contains(want), "{check}");
        let reload = d.cmd("config reload");
        assert!(reload.starts_with("ERR "), "{reload}");
        assert!(reload.contains(want), "{reload}");
        assert_eq!(check.lines().next(), reload.lines().next());
        assert_eq!(state_of(&d), before);

        // SIGHUP with the same file: logged, nothing changes.
        let mut w = d.watch("backend log level error");
        d.signal(Signal::SIGHUP);
        let l = w.wait_for(&["config-reload-failed", "SIGHUP"], WAIT);
        assert!(l.contains(want.split(':').next().unwrap()), "{l}");
        assert_eq!(state_of(&d), before);
    }
    let semantic = d.cmd("config check");
    assert!(semantic.contains("backends.b.healthcheck"), "{semantic}");

    // Probing went on all along, and the good file loads again.
    d.write_config(&good);
    assert_eq!(d.cmd("config check"), "OK\n\n");
    assert_eq!(d.cmd("config reload"), "OK\n\n");
    assert_eq!(state_of(&d), before);
    assert_eq!(d.backend_state("b"), "up");
}

/// Poll a file until it contains `needle` (the log writer has no event to
/// wait on).
fn wait_file_contains(path: &Path, needle: &str) -> String {
    let deadline = Instant::now() + WAIT;
    loop {
        let t = std::fs::read_to_string(path).unwrap_or_default();
        if t.contains(needle) {
            return t;
        }
        assert!(
            Instant::now() < deadline,
            "{} never got {needle:?}; it has:\n{t}",
            path.display()
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn log_file_is_reopened_after_rotation() {
    let yaml = config("  backends:\n    x: { address: 192.0.2.132 }\n");
    let d = Daemon::start("logreopen", &yaml, &[]);
    wait_file_contains(&d.log, "event=running");

    // SIGUSR1 after logrotate moved the file.
    let rotated = d.dir.path().join("maglevd.log.1");
    std::fs::rename(&d.log, &rotated).unwrap();
    d.signal(Signal::SIGUSR1);
    wait_file_contains(&d.log, "event=log-reopen trigger=SIGUSR1");
    assert_eq!(d.ok("set backend x pause"), "OK\n\n");
    let new = wait_file_contains(&d.log, "backend=x from=up to=paused");
    assert!(new.contains("event=backend-transition"), "{new}");
    let old = std::fs::read_to_string(&rotated).unwrap();
    assert!(old.contains("event=running"), "{old}");
    assert!(
        !old.contains("to=paused"),
        "written to the rotated file: {old}"
    );

    // `log reopen` through the control socket.
    let rotated2 = d.dir.path().join("maglevd.log.2");
    std::fs::rename(&d.log, &rotated2).unwrap();
    assert_eq!(d.ok("log reopen"), "OK\n\n");
    wait_file_contains(&d.log, "event=log-reopen trigger=control");
    assert_eq!(d.ok("set backend x resume"), "OK\n\n");
    wait_file_contains(&d.log, "backend=x from=paused to=unknown");
    let old2 = std::fs::read_to_string(&rotated2).unwrap();
    assert!(
        old2.contains("to=paused") && !old2.contains("to=unknown"),
        "{old2}"
    );

    // The log watch sees the same records.
    let mut w = d.watch("backend log");
    assert_eq!(d.ok("log reopen"), "OK\n\n");
    let l = w.wait_for(&["\"msg\":\"log-reopen\""], WAIT);
    let v = log_event(&l, "log-reopen").unwrap();
    assert_eq!(v["attrs"]["trigger"], "control");
}
