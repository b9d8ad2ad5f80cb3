//! Tests against the real Prometheus tools: `promtool check metrics` (in
//! `snapshot/tests.rs`) and a `prometheus` server scraping a live
//! [`MetricsServer`] here. Both come from Debian's `prometheus` package,
//! which `.ci/run` installs; a missing tool fails the test rather than
//! skipping it.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use mio::{Events, Poll, Token};

use super::fixture::synthetic;
use super::{render, MetricsServer};

/// Path of a Prometheus tool, or a failure telling how to install it.
pub fn require_tool(name: &str) -> PathBuf {
    let dirs = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&dirs)
        .chain([PathBuf::from("/usr/bin")])
        .map(|d| d.join(name))
        .find(|p| p.is_file())
        .unwrap_or_else(|| {
            panic!(
                "{name} not found: install Debian's `prometheus` package as .ci/run's \
                 install step does (apt-get update && apt-get install -y prometheus)"
            )
        })
}

/// Kills the server process however the test ends.
struct KillOnDrop(Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// One HTTP/1.0 GET against Prometheus' API; the body, if any.
fn http_get(addr: SocketAddr, target: &str) -> Option<String> {
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_millis(500)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
    write!(s, "GET {target} HTTP/1.0\r\nHost: {addr}\r\n\r\n").ok()?;
    let mut resp = String::new();
    s.read_to_string(&mut resp).ok()?;
    resp.split_once("\r\n\r\n").map(|(_, b)| b.to_string())
}

/// A real Prometheus scrapes our server until its query API reports
/// `maglev_backend_state{backend="web-1",state="up"}` = 1.
#[test]
fn prometheus_scrapes_backend_state() {
    let prometheus = require_tool("prometheus");
    let mut poll = Poll::new().unwrap();
    let mut server = MetricsServer::bind(
        "127.0.0.1:0".parse().unwrap(),
        poll.registry(),
        Token(1),
        100,
        8,
        Duration::from_secs(30),
    )
    .unwrap();
    let target = server.local_addr();
    let snapshot = synthetic(20, 2);

    let dir = std::env::temp_dir().join(format!("maglev-prom-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let config = dir.join("prometheus.yml");
    std::fs::write(
        &config,
        format!(
            "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n\
             scrape_configs:\n  - job_name: maglevd\n    static_configs:\n      \
             - targets: ['{target}']\n"
        ),
    )
    .unwrap();
    let web: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
    let child = Command::new(prometheus)
        .arg(format!("--config.file={}", config.display()))
        .arg(format!(
            "--storage.tsdb.path={}",
            dir.join("data").display()
        ))
        .arg(format!("--web.listen-address={web}"))
        .stdout(Stdio::null())
        .stderr(Stdio::from(
            std::fs::File::create(dir.join("prometheus.log")).unwrap(),
        ))
        .spawn()
        .unwrap();
    let mut child = KillOnDrop(child);

    let query =
        "/api/v1/query?query=maglev_backend_state%7Bbackend%3D%22web-1%22%2Cstate%3D%22up%22%7D";
    let deadline = Instant::now() + Duration::from_secs(25);
    let mut events = Events::with_capacity(64);
    let mut next_query = Instant::now();
    let mut last_answer = None;
    let found = loop {
        let now = Instant::now();
        assert!(
            now < deadline,
            "no sample within 25 s; last answer {last_answer:?}; scrapes {}; log:\n{}",
            server.stats.scrapes,
            std::fs::read_to_string(dir.join("prometheus.log")).unwrap_or_default()
        );
        if let Ok(Some(status)) = child.0.try_wait() {
            panic!(
                "prometheus exited ({status}):\n{}",
                std::fs::read_to_string(dir.join("prometheus.log")).unwrap_or_default()
            );
        }
        poll.poll(&mut events, Some(Duration::from_millis(50)))
            .unwrap();
        let now = Instant::now();
        for ev in events.iter() {
            if server.is_listener(ev.token()) {
                server.accept(poll.registry(), now);
            } else if let Some(c) = server.client_of(ev.token()) {
                let mut wants = server.on_ready(poll.registry(), c, ev, now);
                while let Some(c) = wants {
                    wants = server.respond(poll.registry(), c, &render(&snapshot), now);
                }
            }
        }
        server.expire_idle(poll.registry(), now);
        if now >= next_query {
            next_query = now + Duration::from_millis(300);
            // Blocking, but Prometheus answers its API from memory at once
            // and our scrape side waits in the kernel backlog meanwhile.
            if let Some(body) = http_get(web, query) {
                if body.contains("\"state\":\"up\"") && body.contains("\"1\"]") {
                    break body;
                }
                last_answer = Some(body);
            }
        }
    };
    assert!(found.contains("\"backend\":\"web-1\""), "{found}");
    assert!(found.contains("\"job\":\"maglevd\""), "{found}");
    assert!(server.stats.scrapes >= 1);
    drop(child);
    let _ = std::fs::remove_dir_all(&dir);
}
