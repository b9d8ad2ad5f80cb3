//! The real maglevd's `/metrics`, checked by the real Prometheus tools:
//! `promtool check metrics` on its output, and a `prometheus` server that
//! scrapes it and answers a query for a backend-state series.

mod common;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::backends::{lo, HttpBackend};
use common::Daemon;

fn tool(name: &str) -> String {
    for dir in ["/usr/bin", "/usr/local/bin", "/bin"] {
        let p = format!("{dir}/{name}");
        if std::path::Path::new(&p).is_file() {
            return p;
        }
    }
    panic!("{name} not found: run scripts/install-deps.sh (Debian package `prometheus`)");
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn http_get(addr: SocketAddr, target: &str) -> Option<String> {
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_millis(500)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(s, "GET {target} HTTP/1.0\r\nHost: {addr}\r\n\r\n").ok()?;
    let mut resp = String::new();
    s.read_to_string(&mut resp).ok()?;
    resp.split_once("\r\n\r\n").map(|(_, b)| b.to_string())
}

struct KillOnDrop(Child);
impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start_daemon(metrics: SocketAddr) -> (Daemon, HttpBackend) {
    let addr = lo(43, 0, 1);
    let backend = HttpBackend::start((addr, 0).into());
    let port = backend.addr.port();
    let yaml = format!(
        r#"
maglev:
  vpp: {{ api-socket: "" }}
  healthchecks:
    web: {{ type: http, port: {port}, interval: 200ms, timeout: 300ms, params: {{ path: /healthz }} }}
  backends:
    web-1: {{ address: 127.43.0.1, healthcheck: web }}
    web-2: {{ address: 127.43.0.2, healthcheck: web }}
  frontends:
    web:
      address: 192.0.2.80
      protocol: tcp
      port: 80
      pools:
        - name: primary
          backends: {{ web-1: {{}}, web-2: {{ weight: 30 }} }}
"#
    );
    let d = Daemon::start("metrics", &yaml, &["--metrics-addr", &metrics.to_string()]);
    d.wait_backend("web-1", "up", Duration::from_secs(10));
    d.wait_backend("web-2", "down", Duration::from_secs(10));
    (d, backend)
}

#[test]
fn promtool_accepts_maglevd_metrics() {
    let metrics: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
    let (_d, _b) = start_daemon(metrics);
    let body = http_get(metrics, "/metrics").expect("GET /metrics");
    for want in [
        "maglev_backend_state{backend=\"web-1\",state=\"up\"} 1",
        "maglev_backend_state{backend=\"web-2\",state=\"down\"} 1",
        "maglev_frontend_pool_backend_weight{frontend=\"web\",pool=\"primary\",backend=\"web-2\"} 30",
        "maglev_probe_total{backend=\"web-2\",type=\"http\",result=\"failure\",code=\"L4CON\"}",
        "maglev_vpp_connected 0",
        "maglevd_loop_iterations_total",
    ] {
        assert!(body.contains(want), "missing {want:?} in:\n{body}");
    }
    let mut child = Command::new(tool("promtool"))
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(body.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success() && out.stdout.is_empty() && out.stderr.is_empty(),
        "promtool: {:?}\n{}{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn prometheus_scrapes_maglevd() {
    let metrics: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
    let (d, _b) = start_daemon(metrics);
    let dir = d.dir.path().join("prometheus");
    std::fs::create_dir_all(&dir).unwrap();
    let config = dir.join("prometheus.yml");
    std::fs::write(
        &config,
        format!(
            "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\nscrape_configs:\n  - job_name: maglevd\n    static_configs:\n      - targets: ['{metrics}']\n"
        ),
    )
    .unwrap();
    let web: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
    let log = dir.join("prometheus.log");
    let mut prom = KillOnDrop(
        Command::new(tool("prometheus"))
            .arg(format!("--config.file={}", config.display()))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.join("data").display()
            ))
            .arg(format!("--web.listen-address={web}"))
            .stdout(Stdio::null())
            .stderr(Stdio::from(std::fs::File::create(&log).unwrap()))
            .spawn()
            .unwrap(),
    );
    let query =
        "/api/v1/query?query=maglev_backend_state%7Bbackend%3D%22web-1%22%2Cstate%3D%22up%22%7D";
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(body) = http_get(web, query) {
            if body.contains("\"backend\":\"web-1\"") && body.contains("\"1\"]") {
                assert!(body.contains("\"job\":\"maglevd\""), "{body}");
                return;
            }
        }
        if let Ok(Some(st)) = prom.0.try_wait() {
            panic!(
                "prometheus exited ({st}):\n{}",
                std::fs::read_to_string(&log).unwrap_or_default()
            );
        }
        assert!(
            Instant::now() < deadline,
            "no sample within 30 s; prometheus log:\n{}",
            std::fs::read_to_string(&log).unwrap_or_default()
        );
        // Prometheus scrapes every second; ask again shortly.
        std::thread::sleep(Duration::from_millis(200));
    }
}
