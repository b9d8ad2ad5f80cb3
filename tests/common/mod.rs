//! Shared harness for the integration tests: start the real `maglevd`
//! binary on a temporary config, talk to it only through its control socket,
//! and run real backends (TCP listeners, HTTP servers) on loopback addresses.
//!
//! Waiting is event-driven: `wait_for` reads the daemon's `watch events`
//! stream until the condition holds or a generous deadline passes, so tests
//! never sleep and hope.
#![allow(dead_code)]

pub mod backends;
pub mod vpp;

use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

static DIR_SEQ: AtomicU32 = AtomicU32::new(0);

/// A fresh directory under the system temp dir, removed on drop.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> TempDir {
        let n = DIR_SEQ.fetch_add(1, Ordering::Relaxed);
        let p = std::env::temp_dir().join(format!("maglev-{tag}-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).unwrap();
        TempDir(p)
    }
    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

pub fn maglevd_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_maglevd"))
}

/// A running maglevd.
pub struct Daemon {
    pub child: Child,
    pub dir: TempDir,
    pub socket: PathBuf,
    pub config: PathBuf,
    pub log: PathBuf,
}

impl Daemon {
    /// Start maglevd with `yaml` as its config and wait until its control
    /// socket answers. VPP integration and metrics are off unless `extra`
    /// flags say otherwise.
    pub fn start(tag: &str, yaml: &str, extra: &[&str]) -> Daemon {
        let dir = TempDir::new(tag);
        let config = dir.path().join("maglev.yaml");
        std::fs::write(&config, yaml).unwrap();
        let socket = dir.path().join("maglevd.sock");
        let log = dir.path().join("maglevd.log");
        let mut cmd = Command::new(maglevd_bin());
        cmd.arg("--config")
            .arg(&config)
            .arg("--control-socket")
            .arg(&socket)
            .arg("--log-file")
            .arg(&log)
            .arg("--log-level")
            .arg("debug")
            .arg("--metrics-addr")
            .arg("")
            .arg("--vpp-api-addr")
            .arg("")
            .args(extra)
            .env_remove("RUST_LOG")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit());
        let child = cmd.spawn().expect("spawn maglevd");
        let d = Daemon {
            child,
            dir,
            socket,
            config,
            log,
        };
        d.wait_ready();
        d
    }

    fn wait_ready(&self) {
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if let Ok(mut s) = UnixStream::connect(&self.socket) {
                let _ = s.write_all(b"show version\n");
                let mut out = String::new();
                if s.read_to_string(&mut out).is_ok() && !out.is_empty() {
                    return;
                }
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!(
            "maglevd did not open its control socket; log:\n{}",
            self.log_text()
        );
    }

    /// Send one command, return the whole reply.
    pub fn cmd(&self, line: &str) -> String {
        let mut s = UnixStream::connect(&self.socket).expect("connect control socket");
        s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
        s.write_all(line.as_bytes()).unwrap();
        s.write_all(b"\n").unwrap();
        let mut out = String::new();
        s.read_to_string(&mut out).expect("read reply");
        out
    }

    /// Like `cmd` but panics on an error reply.
    pub fn ok(&self, line: &str) -> String {
        let r = self.cmd(line);
        assert!(!is_error(&r), "command {line:?} failed: {r}");
        r
    }

    /// Open a `watch events` stream.
    pub fn watch(&self, args: &str) -> Watch {
        let mut s = UnixStream::connect(&self.socket).expect("connect control socket");
        s.write_all(format!("watch events {args}\n").as_bytes())
            .unwrap();
        Watch {
            reader: BufReader::new(s),
        }
    }

    /// Current state of a backend, from `json show backends NAME`.
    pub fn backend_state(&self, name: &str) -> String {
        let r = self.ok(&format!("json show backends {name}"));
        json_str_field(&r, "state").unwrap_or_else(|| panic!("no state in {r}"))
    }

    /// Wait until `backend` is in `state` (checked once, then on every event).
    pub fn wait_backend(&self, backend: &str, state: &str, within: Duration) {
        let mut w = self.watch("backend");
        let deadline = Instant::now() + within;
        loop {
            if self.backend_state(backend) == state {
                return;
            }
            if w.next_line(deadline).is_none() {
                panic!(
                    "backend {backend} did not reach {state} within {within:?}; now {}; log tail:\n{}",
                    self.backend_state(backend),
                    self.log_tail(40)
                );
            }
        }
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    pub fn log_tail(&self, n: usize) -> String {
        let t = self.log_text();
        let lines: Vec<&str> = t.lines().collect();
        lines[lines.len().saturating_sub(n)..].join("\n")
    }

    pub fn pid(&self) -> i32 {
        self.child.id() as i32
    }

    pub fn signal(&self, sig: nix::sys::signal::Signal) {
        nix::sys::signal::kill(nix::unistd::Pid::from_raw(self.pid()), sig).unwrap();
    }

    /// Send SIGTERM and wait for the exit status.
    pub fn stop(mut self) -> std::process::ExitStatus {
        self.signal(nix::sys::signal::Signal::SIGTERM);
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(st) = self.child.try_wait().unwrap() {
                return st;
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                panic!("maglevd did not exit on SIGTERM");
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Resident set size in KiB, from /proc.
    pub fn rss_kib(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid())).unwrap();
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A `watch events` stream.
pub struct Watch {
    pub reader: BufReader<UnixStream>,
}

impl Watch {
    /// Next line, or None when the deadline passes or the stream ends.
    pub fn next_line(&mut self, deadline: Instant) -> Option<String> {
        let left = deadline.checked_duration_since(Instant::now())?;
        self.reader
            .get_ref()
            .set_read_timeout(Some(left.max(Duration::from_millis(1))))
            .ok()?;
        let mut line = String::new();
        match self.reader.read_line(&mut line) {
            Ok(0) => None,
            Ok(_) => Some(line.trim_end().to_string()),
            Err(_) => None,
        }
    }

    /// Read lines until one contains every needle.
    pub fn wait_for(&mut self, needles: &[&str], within: Duration) -> String {
        let deadline = Instant::now() + within;
        let mut seen = Vec::new();
        while let Some(l) = self.next_line(deadline) {
            if needles.iter().all(|n| l.contains(n)) {
                return l;
            }
            seen.push(l);
        }
        panic!(
            "no event with {needles:?} within {within:?}; saw:\n{}",
            seen.join("\n")
        );
    }
}

pub fn is_error(reply: &str) -> bool {
    reply.lines().any(|l| l.starts_with("ERR "))
}

/// Minimal extraction of `"key":"value"` from a JSON document (first match).
pub fn json_str_field(doc: &str, key: &str) -> Option<String> {
    let pat = format!("\"{key}\":\"");
    let start = doc.find(&pat)? + pat.len();
    let end = doc[start..].find('"')?;
    Some(doc[start..start + end].to_string())
}

/// Minimal extraction of `"key":number`.
pub fn json_num_field(doc: &str, key: &str) -> Option<i64> {
    let pat = format!("\"{key}\":");
    let start = doc.find(&pat)? + pat.len();
    let rest = &doc[start..];
    let end = rest
        .find(|c: char| !(c.is_ascii_digit() || c == '-'))
        .unwrap_or(rest.len());
    rest[..end].parse().ok()
}
