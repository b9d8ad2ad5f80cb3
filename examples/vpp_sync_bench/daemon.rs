//! The real `maglevd` as a child process: generated config, control
//! socket commands, its log file, and its CPU time from /proc.

use std::fmt::Write as _;
use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::util::{as_address, load_address, vip_address, Context, Cpu, R};

/// What to put in the generated config.
pub struct Plan {
    pub vips: usize,
    pub ases: usize,
    pub weight: u8,
    /// HTTP backends probed at 1 s against nginx (probe load), 0 = none.
    pub load_backends: usize,
    pub nginx_port: u16,
    /// The flipping backend (address, HTTP port) and its own frontend.
    pub flip: Option<(std::net::IpAddr, u16)>,
    pub sync_interval: &'static str,
}

pub const FLIP_VIP: &str = "198.19.250.1";

pub fn config_yaml(sim_socket: &Path, plan: &Plan) -> String {
    let mut y = String::with_capacity(plan.vips * plan.ases * 16 + plan.load_backends * 64);
    let _ = write!(
        y,
        "maglev:\n  vpp:\n    api-socket: {}\n    stats-socket: /nonexistent/stats.sock\n    lb:\n      \
         sync-interval: {}\n      ipv4-src-address: 192.0.2.254\n      \
         startup-min-delay: 0s\n      startup-max-delay: 0s\n",
        sim_socket.display(),
        plan.sync_interval
    );
    y.push_str("  healthchecks:\n");
    let _ = writeln!(
        y,
        "    load: {{ type: http, port: {}, interval: 1s, timeout: 1s, rise: 2, fall: 3, params: {{ path: /healthz }} }}",
        plan.nginx_port
    );
    if let Some((_, port)) = plan.flip {
        let _ = writeln!(
            y,
            "    flip: {{ type: http, port: {port}, interval: 10ms, fast-interval: 10ms, down-interval: 10ms, \
             timeout: 250ms, rise: 1, fall: 1, params: {{ path: /healthz }} }}"
        );
    }
    y.push_str("  backends:\n");
    for i in 0..plan.ases {
        let _ = writeln!(y, "    as{i:02}: {{ address: {} }}", as_address(i));
    }
    for i in 0..plan.load_backends {
        let _ = writeln!(
            y,
            "    load{i:05}: {{ address: {}, healthcheck: load }}",
            load_address(i)
        );
    }
    if let Some((addr, _)) = plan.flip {
        let _ = writeln!(y, "    flip: {{ address: {addr}, healthcheck: flip }}");
    }
    y.push_str("  frontends:\n");
    let members: String = (0..plan.ases)
        .map(|i| format!("as{i:02}: {{ weight: {} }}", plan.weight))
        .collect::<Vec<_>>()
        .join(", ");
    for j in 0..plan.vips {
        let _ = write!(
            y,
            "    vip{j:04}:\n      address: {}\n      protocol: tcp\n      port: 80\n      pools:\n        \
             - name: primary\n          backends: {{ {members} }}\n",
            vip_address(j)
        );
    }
    if plan.flip.is_some() {
        let others: String = (0..plan.ases.saturating_sub(1))
            .map(|i| format!(", as{i:02}: {{ weight: {} }}", plan.weight))
            .collect();
        let _ = write!(
            y,
            "    flipfe:\n      address: {FLIP_VIP}\n      protocol: tcp\n      port: 80\n      pools:\n        \
             - name: primary\n          backends: {{ flip: {{ weight: {} }}{others} }}\n",
            plan.weight
        );
    }
    y
}

pub struct Daemon {
    child: Child,
    socket: PathBuf,
    pub log: PathBuf,
}

impl Daemon {
    pub fn start(bin: &Path, dir: &Path, yaml: &str) -> R<Daemon> {
        std::fs::create_dir_all(dir).ctx("create daemon dir")?;
        let config = dir.join("maglev.yaml");
        std::fs::write(&config, yaml).ctx("write config")?;
        let socket = dir.join("maglevd.sock");
        let log = dir.join("maglevd.log");
        let _ = std::fs::remove_file(&log);
        let child = Command::new(bin)
            .arg("--config")
            .arg(&config)
            .arg("--control-socket")
            .arg(&socket)
            .arg("--log-file")
            .arg(&log)
            .args(["--log-level", "info", "--metrics-addr", ""])
            .env_remove("RUST_LOG")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .ctx("spawn maglevd")?;
        let d = Daemon { child, socket, log };
        let deadline = Instant::now() + Duration::from_secs(60);
        while Instant::now() < deadline {
            if d.cmd("show version").is_ok_and(|r| !r.is_empty()) {
                return Ok(d);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Err(format!("maglevd did not answer on {}", d.socket.display()))
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn cpu(&self) -> R<Cpu> {
        Cpu::of(self.pid())
    }

    /// One control command, the whole reply.
    pub fn cmd(&self, line: &str) -> R<String> {
        let mut s = UnixStream::connect(&self.socket).ctx("connect control socket")?;
        s.set_read_timeout(Some(Duration::from_secs(120)))
            .ctx("timeout")?;
        s.write_all(format!("{line}\n").as_bytes())
            .ctx("send command")?;
        let mut out = String::new();
        s.read_to_string(&mut out).ctx("read reply")?;
        Ok(out)
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// The first log line containing every needle, waiting up to `within`.
    pub fn wait_log(&self, needles: &[&str], within: Duration) -> R<String> {
        let deadline = Instant::now() + within;
        loop {
            if let Some(line) = self
                .log_text()
                .lines()
                .find(|l| needles.iter().all(|n| l.contains(n)))
            {
                return Ok(line.to_owned());
            }
            if Instant::now() > deadline {
                return Err(format!(
                    "no log line with {needles:?} in {within:?}; see {}",
                    self.log.display()
                ));
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// SIGTERM, then wait (SIGKILL after 10 s).
    pub fn stop(mut self) {
        let pid = nix::unistd::Pid::from_raw(self.child.id() as i32);
        let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM);
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
