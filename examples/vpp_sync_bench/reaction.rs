//! Reaction latency: a backend the harness flips between HTTP 200 and 503,
//! probed every 10 ms with rise = fall = 1, while nginx serves the probe
//! load of many other backends. For each flip two figures:
//!
//! * end-to-end: harness toggles the status → `lb_as_set_weight` arrives at
//!   vppsim (includes waiting for the next probe, up to one interval);
//! * probe result → frame: the harness wrote the first response with the
//!   new status → the frame arrives (the daemon's own path: read the
//!   response, rise/fall, weights, plan, send, plus loopback and the
//!   simulator's read).

use std::io::{Read, Write};
use std::net::{IpAddr, SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use vpp_maglev::sim::server::SimHandle;

use crate::util::{Context, R};

#[derive(Default)]
struct FlipState {
    healthy: bool,
    /// Bumped on every toggle.
    gen: u64,
    /// When the first response of the current generation was written.
    first_write: Option<Instant>,
    responses: u64,
}

/// The flipping HTTP backend (one thread, one connection at a time: the
/// daemon probes it every 10 ms, never in parallel).
pub struct FlipServer {
    state: Arc<Mutex<FlipState>>,
    pub addr: SocketAddr,
}

impl FlipServer {
    pub fn start(ip: IpAddr) -> R<FlipServer> {
        let listener = TcpListener::bind((ip, 0)).ctx("bind flip backend")?;
        let addr = listener.local_addr().ctx("flip backend address")?;
        let state = Arc::new(Mutex::new(FlipState {
            healthy: true,
            ..FlipState::default()
        }));
        let shared = Arc::clone(&state);
        std::thread::Builder::new()
            .name("flip-backend".into())
            .spawn(move || {
                for stream in listener.incoming().flatten() {
                    serve(stream, &shared);
                }
            })
            .ctx("spawn flip backend")?;
        Ok(FlipServer { state, addr })
    }

    fn lock(&self) -> MutexGuard<'_, FlipState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Changes the answer from the next request on.
    pub fn set_healthy(&self, healthy: bool) {
        let mut s = self.lock();
        s.healthy = healthy;
        s.gen += 1;
        s.first_write = None;
    }

    /// The first response written since the last toggle.
    pub fn first_write(&self) -> Option<Instant> {
        self.lock().first_write
    }

    pub fn responses(&self) -> u64 {
        self.lock().responses
    }
}

fn serve(mut stream: std::net::TcpStream, state: &Mutex<FlipState>) {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(1)));
    let _ = stream.set_nodelay(true);
    let mut req = Vec::new();
    let mut buf = [0u8; 1024];
    while !req.windows(4).any(|w| w == b"\r\n\r\n") {
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => return,
            Ok(n) => req.extend_from_slice(&buf[..n]),
        }
    }
    let (healthy, gen) = {
        let s = state.lock().unwrap_or_else(|p| p.into_inner());
        (s.healthy, s.gen)
    };
    let response: &[u8] = if healthy {
        b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    } else {
        b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    };
    if stream.write_all(response).is_err() {
        return;
    }
    let written = Instant::now();
    let mut s = state.lock().unwrap_or_else(|p| p.into_inner());
    s.responses += 1;
    if s.gen == gen && s.first_write.is_none() {
        s.first_write = Some(written);
    }
}

/// nginx answering `GET /healthz` with 200 on every address, for the probe
/// load (same shape as the core probe benchmark's).
pub struct Nginx {
    child: Child,
}

impl Nginx {
    pub fn start(dir: &Path, port: u16) -> R<Nginx> {
        let dir: PathBuf = dir.join("nginx");
        std::fs::create_dir_all(&dir).ctx("nginx dir")?;
        let d = dir.display();
        let conf = format!(
            "worker_processes 1;\nworker_rlimit_nofile 8192;\ndaemon off;\nmaster_process on;\npid {d}/nginx.pid;\n\
             error_log {d}/error.log warn;\nevents {{ worker_connections 4096; }}\nhttp {{\n    access_log off;\n    \
             client_body_temp_path {d}/cb;\n    proxy_temp_path {d}/px;\n    fastcgi_temp_path {d}/fc;\n    \
             uwsgi_temp_path {d}/uw;\n    scgi_temp_path {d}/sc;\n    keepalive_timeout 0;\n    server {{\n        \
             listen 0.0.0.0:{port} backlog=4096;\n        location /healthz {{ return 200; }}\n    }}\n}}\n"
        );
        let conf_path = dir.join("nginx.conf");
        std::fs::write(&conf_path, conf).ctx("write nginx.conf")?;
        let child = Command::new("nginx")
            .arg("-p")
            .arg(&dir)
            .arg("-c")
            .arg(&conf_path)
            .arg("-e")
            .arg(dir.join("error.log"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .ctx("spawn nginx")?;
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return Ok(Nginx { child });
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Err("nginx did not start listening".into())
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        let pid = nix::unistd::Pid::from_raw(self.child.id() as i32);
        let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGQUIT);
        let _ = self.child.wait();
    }
}

/// One measured flip.
pub struct Flip {
    /// When the frame arrived at vppsim.
    pub arrived: Instant,
    /// The first response of the new status, if the harness saw one.
    pub result_at: Option<Instant>,
    pub end_to_end: Duration,
    /// `None` when the harness saw no response of the new status (a probe
    /// that failed for another reason flipped it).
    pub from_result: Option<Duration>,
}

/// Toggles the backend and waits for its `lb_as_set_weight` with `weight`.
pub fn flip_once(sim: &SimHandle, server: &FlipServer, healthy: bool, weight: u8) -> R<Flip> {
    let needle = format!("as={} weight={weight} ", server.addr.ip());
    sim.clear_records();
    let toggled = Instant::now();
    server.set_healthy(healthy);
    let rec = sim
        .wait_for(
            |r| r.name == "lb_as_set_weight" && r.summary.contains(&needle),
            Duration::from_secs(10),
        )
        .ok_or_else(|| format!("no lb_as_set_weight with {needle:?} within 10 s"))?;
    Ok(Flip {
        arrived: rec.at,
        result_at: server.first_write(),
        end_to_end: rec.at.saturating_duration_since(toggled),
        from_result: server
            .first_write()
            .map(|w| rec.at.saturating_duration_since(w)),
    })
}

/// Moves the thread of this process named `name` to SCHED_FIFO priority 1
/// (needs CAP_SYS_NICE). A thread names itself once it runs, so a thread
/// just spawned may take a moment to show up under its name.
pub fn make_thread_realtime(name: &str) -> R<()> {
    let deadline = Instant::now() + Duration::from_secs(2);
    loop {
        match set_fifo(name) {
            Err(e) if e.starts_with("no thread") && Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(1));
            }
            other => return other,
        }
    }
}

fn set_fifo(name: &str) -> R<()> {
    let tasks = std::fs::read_dir("/proc/self/task").ctx("/proc/self/task")?;
    for task in tasks.flatten() {
        let comm = std::fs::read_to_string(task.path().join("comm")).unwrap_or_default();
        if comm.trim_end() != name {
            continue;
        }
        let tid: nix::libc::pid_t = task
            .file_name()
            .to_str()
            .and_then(|t| t.parse().ok())
            .ok_or("bad task id")?;
        let param = nix::libc::sched_param { sched_priority: 1 };
        // SAFETY: plain syscall wrapper; `param` outlives the call.
        let rc = unsafe { nix::libc::sched_setscheduler(tid, nix::libc::SCHED_FIFO, &param) };
        if rc != 0 {
            return Err(format!(
                "sched_setscheduler: {}",
                std::io::Error::last_os_error()
            ));
        }
        return Ok(());
    }
    Err(format!("no thread named {name}"))
}
