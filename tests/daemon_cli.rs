//! The command lines: `maglevd --check` exit codes, the `maglevc` client,
//! and the control protocol's framing seen end to end (prefixes, JSON,
//! empty-line terminator, `ERR `). Addresses 127.15.<b>.x.

mod common;

use std::io::Write;
use std::net::SocketAddr;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use common::backends::{common_port, lo, TcpBackend};
use common::{config, is_error, maglevd_bin, parse_json, Daemon, TempDir, FAST};

const WAIT: Duration = Duration::from_secs(10);

fn check(path: &std::path::Path) -> Output {
    Command::new(maglevd_bin())
        .arg("--check")
        .arg("--config")
        .arg(path)
        .env_remove("RUST_LOG")
        .output()
        .unwrap()
}

#[test]
fn check_exit_codes() {
    let dir = TempDir::new("check");
    let good = config(
        "  healthchecks:\n    t: { type: tcp, port: 80 }\n  backends:\n    b: { address: 192.0.2.1, healthcheck: t }\n",
    );
    let cases: [(&str, String, i32, &str); 5] = [
        ("good.yaml", good.clone(), 0, ""),
        (
            "parse.yaml",
            good.replace("port: 80", "port: 80, bogus: 1"),
            1,
            "parse error: maglev.healthchecks.t: unknown field `bogus`",
        ),
        (
            "yaml.yaml",
            "maglev: [unclosed\n".to_string(),
            1,
            "parse error",
        ),
        (
            "semantic.yaml",
            good.replace("healthcheck: t", "healthcheck: missing"),
            2,
            "invalid configuration (1 error):\n  backends.b.healthcheck:",
        ),
        (
            "range.yaml",
            good.replace("port: 80", "port: 0"),
            2,
            "healthchecks.t.port",
        ),
    ];
    for (file, text, code, msg) in cases {
        let p = dir.path().join(file);
        std::fs::write(&p, text).unwrap();
        let out = check(&p);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(code), "{file}: {stderr}");
        if code == 0 {
            assert!(stderr.is_empty(), "{file}: {stderr}");
            let stdout = String::from_utf8_lossy(&out.stdout);
            assert!(stdout.starts_with("config ok: "), "{stdout}");
        } else {
            assert!(stderr.contains(msg), "{file}: {stderr}");
        }
    }
    // Unreadable: missing file, a directory.
    for p in [dir.path().join("missing.yaml"), dir.path().to_path_buf()] {
        let out = check(&p);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{}: {stderr}", p.display());
        assert!(
            stderr.contains(&format!("cannot read {}", p.display())),
            "{stderr}"
        );
    }
    // The shipped example is valid.
    let out = check(std::path::Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/etc/maglev.yaml"
    )));
    assert_eq!(out.status.code(), Some(0), "{out:?}");
}

#[test]
fn daemon_refuses_to_start_on_invalid_config() {
    let dir = TempDir::new("badstart");
    let p = dir.path().join("m.yaml");
    std::fs::write(
        &p,
        config("  backends:\n    b: { address: 192.0.2.1, healthcheck: none }\n"),
    )
    .unwrap();
    let out = Command::new(maglevd_bin())
        .arg("--config")
        .arg(&p)
        .arg("--control-socket")
        .arg(dir.path().join("s.sock"))
        .arg("--metrics-addr")
        .arg("")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("backends.b.healthcheck"), "{stderr}");
    assert!(!dir.path().join("s.sock").exists());
}

#[test]
fn vpp_api_flag_applies_before_validation() {
    // With VPP enabled (the default) an IPv4 backend in a frontend needs
    // vpp.lb.ipv4-src-address; `--vpp-api-addr ""` disables VPP, so the
    // same file is valid.
    let dir = TempDir::new("vppflag");
    let p = dir.path().join("m.yaml");
    let yaml = "maglev:\n  backends:\n    s: { address: 192.0.2.7 }\n  frontends:\n    f:\n      address: 192.0.2.8\n      pools:\n        - name: main\n          backends: { s: {} }\n";
    std::fs::write(&p, yaml).unwrap();
    let out = check(&p);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    assert!(
        text(&out.stderr).contains("vpp.lb.ipv4-src-address"),
        "{out:?}"
    );
    let out = Command::new(maglevd_bin())
        .args(["--check", "--vpp-api-addr", "", "--config"])
        .arg(&p)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    // The harness starts the daemon with `--vpp-api-addr ""`.
    let d = Daemon::start("vppflag", yaml, &[]);
    assert!(d
        .cmd("show vpp info")
        .starts_with("ERR VPP integration is disabled"));
    assert_eq!(d.backend_state("s"), "up");
}

fn maglevc(socket: &std::path::Path, args: &[&str], stdin: Option<&str>) -> Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_maglevc"));
    c.arg("--socket")
        .arg(socket)
        .args(args)
        .env_remove("MAGLEV_CONTROL_SOCKET")
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = c.spawn().unwrap();
    if let Some(text) = stdin {
        let mut si = child.stdin.take().unwrap();
        si.write_all(text.as_bytes()).unwrap();
    }
    child.wait_with_output().unwrap()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn small_daemon(tag: &str, b: u8) -> (Daemon, TcpBackend) {
    let a = lo(15, b, 1);
    let port = common_port(&[a]);
    let be = TcpBackend::start(SocketAddr::new(a, port));
    let yaml = config(&format!(
        "  healthchecks:\n    t: {{ type: tcp, port: {port}, {FAST}, rise: 1, fall: 1 }}\n  backends:\n    web: {{ address: {a}, healthcheck: t }}\n    sorry: {{ address: 192.0.2.159 }}\n  frontends:\n    f:\n      address: 192.0.2.15\n      protocol: tcp\n      port: 80\n      pools:\n        - name: main\n          backends: {{ web: {{}} }}\n        - name: last\n          backends: {{ sorry: {{}} }}\n"
    ));
    let d = Daemon::start(tag, &yaml, &[]);
    d.wait_transition("web", "up", "L4OK", WAIT);
    (d, be)
}

#[test]
fn maglevc_one_shot_errors_and_pipe() {
    let (d, _be) = small_daemon("maglevc", 0);

    let out = maglevc(&d.socket, &["show", "version"], None);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(text(&out.stdout), d.ok("show version"));
    assert!(text(&out.stdout).starts_with("version     0.1.0\n"));

    let out = maglevc(&d.socket, &["show", "backends", "nope"], None);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(text(&out.stdout), "ERR unknown backend 'nope'\n\n");

    let out = maglevc(&d.socket, &["set", "backend", "web", "pause"], None);
    assert_eq!(
        (out.status.code(), text(&out.stdout)),
        (Some(0), "OK\n\n".into())
    );
    assert_eq!(d.backend_state("web"), "paused");

    let gone = d.dir.path().join("no-such.sock");
    let out = maglevc(&gone, &["show", "version"], None);
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
    assert!(
        text(&out.stderr).contains("cannot reach maglevd"),
        "{}",
        text(&out.stderr)
    );

    let out = maglevc(&gone, &["--version"], None);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(text(&out.stdout), "maglevc 0.1.0\n");

    // Interactive mode with commands on a pipe: every reply, in order
    // (computed first: web is still paused, so sorry carries the traffic).
    let script = "show version\nsh ba sorry\n\nset backend web resume\nshow backends nope\nshow healthchecks t\nquit\nshow version\n";
    let want = format!(
        "{}{}OK\n\nERR unknown backend 'nope'\n\n{}",
        d.ok("show version"),
        d.ok("show backends sorry")
            .split_inclusive('\n')
            .filter(|l| !l.contains(" ago "))
            .collect::<String>(),
        d.ok("show healthchecks t"),
    );
    let out = maglevc(&d.socket, &[], Some(script));
    let got: String = text(&out.stdout)
        .split_inclusive('\n')
        .filter(|l| !l.contains(" ago "))
        .collect();
    assert_eq!(got, want, "stderr: {}", text(&out.stderr));
    assert_eq!(out.status.code(), Some(0), "the last command succeeded");
    d.wait_backend("web", "up", WAIT);

    // The exit status of a piped session is that of its last command.
    let out = maglevc(&d.socket, &[], Some("show version\nshow backends nope\n"));
    assert_eq!(out.status.code(), Some(1));
}

/// One complete reply is well framed: ends with exactly one empty line, and
/// is either an `ERR ` line alone or payload/OK without blank lines inside.
fn assert_framed(cmd: &str, r: &str) {
    assert!(r.ends_with('\n'), "{cmd}: {r:?}");
    let body = r.strip_suffix('\n').unwrap();
    assert!(body.is_empty() || body.ends_with('\n'), "{cmd}: {r:?}");
    assert!(!body.ends_with("\n\n"), "{cmd}: two empty lines: {r:?}");
    let lines: Vec<&str> = body.lines().collect();
    assert!(
        lines.iter().all(|l| !l.is_empty()),
        "{cmd}: empty line inside: {r:?}"
    );
    if is_error(r) {
        assert_eq!(lines.len(), 1, "{cmd}: {r:?}");
        assert!(lines[0].starts_with("ERR "), "{cmd}: {r:?}");
    }
}

#[test]
fn protocol_prefixes_json_and_framing() {
    let (d, _be) = small_daemon("framing", 1);
    let strip_ages = |s: String| -> String {
        s.lines()
            .filter(|l| !l.contains(" ago "))
            .collect::<Vec<_>>()
            .join("\n")
    };
    for (short, long) in [
        ("sh ba", "show backends"),
        ("sh ba web", "show backends web"),
        ("sh f", "show frontends"),
        ("sh fr f", "show frontends f"),
        ("sh h", "show healthchecks"),
        ("sh ver", "show version"),
        ("h", "help"),
        ("json sh ba", "json show backends"),
        ("sh ba json", "json show backends"),
    ] {
        let (a, b) = (d.cmd(short), d.cmd(long));
        assert!(!is_error(&b), "{long}: {b}");
        if short.contains("json") {
            assert_eq!(
                parse_json(&a)["backends"].is_array(),
                parse_json(&b)["backends"].is_array()
            );
        } else {
            assert_eq!(strip_ages(a), strip_ages(b), "{short} vs {long}");
        }
    }

    // Every show command has a JSON form that parses, first or last word.
    let all = d.json("show backends");
    assert_eq!(all["backends"].as_array().unwrap().len(), 2);
    let web = d.json("show backends web");
    assert_eq!(web["name"], "web");
    assert_eq!(web["state"], "up");
    assert_eq!(web["healthcheck"], "t");
    assert_eq!(
        parse_json(&d.ok("show backends sorry json"))["healthcheck"],
        serde_json::Value::Null
    );
    assert_eq!(d.json("show frontends")["frontends"][0]["name"], "f");
    assert_eq!(d.json("show frontends f")["pools"][1]["name"], "last");
    assert_eq!(d.json("show healthchecks")["healthchecks"][0]["name"], "t");
    assert_eq!(d.json("show healthchecks t")["interval_ms"], 200);
    assert_eq!(d.json("show version")["version"], "0.1.0");
    for cmd in [
        "json show backends",
        "show frontends f json",
        "json show healthchecks t",
    ] {
        let r = d.ok(cmd);
        assert_eq!(
            r.lines().filter(|l| !l.is_empty()).count(),
            1,
            "{cmd}: one document on one line"
        );
        assert_framed(cmd, &r);
    }

    // Framing of every kind of reply.
    for cmd in [
        "help",
        "show version",
        "show backends",
        "show backends web",
        "show frontends",
        "show frontends f",
        "show healthchecks",
        "show healthchecks t",
        "json show backends",
        "set backend sorry pause",
        "set backend sorry resume",
        "config check",
        "log reopen",
        "show vpp info",
        "sync vpp lb state",
        "bogus",
        "s",
        "show",
        "show version x",
        "set backend",
        "set frontend f pool main backend web weight 140",
        "json set backend web pause",
        "show backends nope",
        "show frontends nope",
        "show healthchecks nope",
        "set backend web resume",
    ] {
        let r = d.cmd(cmd);
        assert_framed(cmd, &r);
    }
    for (cmd, want) in [
        ("bogus", "ERR unknown word 'bogus' at position 1"),
        (
            "s",
            "ERR ambiguous word 's' at position 1: could be show set sync",
        ),
        (
            "config",
            "ERR incomplete command 'config', expected one of: check reload",
        ),
        (
            "show version x",
            "ERR unexpected 'x' at position 3 after 'show version'",
        ),
        (
            "set frontend f pool main backend web weight 140",
            "ERR weight 140 out of range 0..=100",
        ),
        ("show vpp info", "ERR VPP integration is disabled"),
        ("Show version", "ERR unknown word 'Show'"),
    ] {
        let r = d.cmd(cmd);
        assert!(r.starts_with(want), "{cmd}: {r:?}");
    }
    // A trailing \r is stripped; a blank line gets no reply (the next
    // command on the connection is the one answered).
    assert_eq!(d.cmd("show version\r"), d.cmd("show version"));
    assert_eq!(d.cmd("\nshow version"), d.cmd("show version"));
    // Help lists every command of the grammar.
    let help = d.ok("help");
    for c in [
        "show version",
        "set backend <backend> pause",
        "watch events",
        "config reload",
    ] {
        assert!(help.contains(c), "help lacks {c}");
    }

    // Interactive mode over a raw socket, commands pipelined in one write
    // (the docs' scripting example).
    let raw = |input: &[u8]| {
        let mut s = std::os::unix::net::UnixStream::connect(&d.socket).unwrap();
        s.set_read_timeout(Some(WAIT)).unwrap();
        s.write_all(input).unwrap();
        let mut out = String::new();
        std::io::Read::read_to_string(&mut s, &mut out).unwrap();
        out
    };
    let v = d.ok("show version");
    assert_eq!(
        raw(b"prompt\nshow version\nsh ba nope\n\nquit\nshow version\n"),
        format!("> {v}> ERR unknown backend 'nope'\n\n> > ")
    );
    // `prompt` toggles: back to one-shot, the next reply closes.
    assert_eq!(
        raw(b"prompt\nshow version\nprompt\nshow version\nshow version\n"),
        format!("> {v}> {v}")
    );
    // Abbreviated.
    assert_eq!(raw(b"pro\nexit\n"), "> ");
}
