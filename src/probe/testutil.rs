//! Test harness for the probes: a minimal mio loop that drives one probe to
//! its result (the daemon's loop does the same with many), tiny blocking
//! servers on loopback, and throw-away network namespaces.

use std::io::{Read, Write};
use std::net::{IpAddr, SocketAddr, TcpListener, TcpStream};
use std::process::Command;
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use mio::{Events, Poll, Token};

use super::{IcmpEngine, Probe, ProbeKind, ProbeTarget, Ready, SocketFactory, SocketPool};
use crate::health::types::ProbeResult;

/// Run one tcp/http/https probe to completion, as the daemon loop would,
/// on a socket pool of its own.
pub fn run_probe(target: &ProbeTarget, sockets: &SocketFactory) -> ProbeResult {
    let mut poll = Poll::new().unwrap();
    let mut pool = SocketPool::new(1 << 20);
    run_probe_in(&mut poll, &mut pool, target, sockets)
}

/// Run one probe on `pool`'s sockets (reused across calls) and hand the
/// socket back at the end, as the daemon does.
pub fn run_probe_in(
    poll: &mut Poll,
    pool: &mut SocketPool,
    target: &ProbeTarget,
    sockets: &SocketFactory,
) -> ProbeResult {
    let mut events = Events::with_capacity(8);
    let start = Instant::now();
    let deadline = start + target.timeout;
    let mut probe = match Probe::start(target, poll.registry(), pool, 0, sockets, start) {
        Ok(p) => p,
        Err(result) => return result,
    };
    loop {
        let now = Instant::now();
        if now >= deadline {
            let result = probe.on_timeout(now);
            probe.recycle(pool);
            return result;
        }
        poll.poll(&mut events, Some(deadline - now)).unwrap();
        for event in events.iter() {
            // Idle sockets of the pool may report their last reset.
            if pool.id_of(event.token()) != Some(probe.socket_id()) {
                continue;
            }
            let result = match probe.on_ready(event, Instant::now()) {
                Ready::Pending => continue,
                Ready::RequestDue => match probe.send_request(Instant::now()) {
                    Some(result) => result,
                    None => continue,
                },
                Ready::Done(result) => result,
            };
            probe.recycle(pool);
            return result;
        }
    }
}

/// Run one echo probe; also returns which socket kinds the engine opened
/// (`true` = raw).
pub fn run_ping(
    sockets: &SocketFactory,
    dest: IpAddr,
    source: Option<IpAddr>,
    timeout: Duration,
) -> (ProbeResult, Vec<bool>) {
    let mut poll = Poll::new().unwrap();
    let mut events = Events::with_capacity(8);
    let mut engine = IcmpEngine::new(Token(100), 4);
    let start = Instant::now();
    let deadline = start + timeout;
    const KEY: u64 = 0x5eed;
    if let Err(result) = engine.send(poll.registry(), sockets, dest, source, KEY, start) {
        return (result, engine.socket_kinds());
    }
    loop {
        let now = Instant::now();
        if now >= deadline {
            let result = engine.timeout(KEY, now).expect("still outstanding");
            return (result, engine.socket_kinds());
        }
        poll.poll(&mut events, Some(deadline - now)).unwrap();
        for event in events.iter() {
            assert!(engine.owns(event.token()));
            let mut finished = engine.on_readable(event.token(), Instant::now());
            assert!(finished.len() <= 1);
            if let Some((key, result)) = finished.pop() {
                assert_eq!(key, KEY);
                assert_eq!(engine.outstanding(), 0);
                return (result, engine.socket_kinds());
            }
        }
    }
}

pub fn target(addr: SocketAddr, kind: ProbeKind, timeout_ms: u64) -> ProbeTarget {
    ProbeTarget {
        addr,
        source: None,
        timeout: Duration::from_millis(timeout_ms),
        kind,
    }
}

/// Accept one connection on `ip` (ephemeral port) in a thread and hand it to
/// `handler` with the peer's address. The channel yields what the handler returns.
pub fn serve_once<T: Send + 'static>(
    ip: &str,
    handler: impl FnOnce(TcpStream, SocketAddr) -> T + Send + 'static,
) -> (SocketAddr, mpsc::Receiver<T>) {
    let listener = TcpListener::bind((ip, 0)).unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        if let Ok((stream, peer)) = listener.accept() {
            stream
                .set_read_timeout(Some(Duration::from_secs(5)))
                .unwrap();
            let _ = tx.send(handler(stream, peer));
        }
    });
    (addr, rx)
}

/// Read an HTTP request head (up to the blank line).
pub fn read_request(stream: &mut impl Read) -> String {
    let mut request = Vec::new();
    let mut byte = [0u8; 1];
    while !request.ends_with(b"\r\n\r\n") {
        match stream.read(&mut byte) {
            Ok(1) => request.push(byte[0]),
            _ => break,
        }
    }
    String::from_utf8_lossy(&request).into_owned()
}

/// An HTTP server answering one request with `response`; yields the request.
pub fn http_once(ip: &str, response: &'static [u8]) -> (SocketAddr, mpsc::Receiver<String>) {
    serve_once(ip, move |mut stream, _| {
        let request = read_request(&mut stream);
        let _ = stream.write_all(response);
        request
    })
}

/// A network namespace made for one test, deleted on drop.
pub struct TestNetns {
    pub name: String,
}

impl TestNetns {
    /// `None` (after printing why) when namespaces cannot be made here.
    pub fn create(tag: &str) -> Option<TestNetns> {
        let name = format!("mglv-probe-{tag}-{}", std::process::id());
        let _ = Command::new("ip").args(["netns", "del", &name]).output();
        match Command::new("ip").args(["netns", "add", &name]).output() {
            Ok(out) if out.status.success() => Some(TestNetns { name }),
            Ok(out) => {
                eprintln!(
                    "SKIP: `ip netns add` failed: {}",
                    String::from_utf8_lossy(&out.stderr).trim()
                );
                None
            }
            Err(e) => {
                eprintln!("SKIP: cannot run ip(8): {e}");
                None
            }
        }
    }

    /// Run a shell command inside the namespace; panics on failure.
    pub fn exec(&self, script: &str) {
        let out = Command::new("ip")
            .args(["netns", "exec", &self.name, "sh", "-c", script])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{script}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

impl Drop for TestNetns {
    fn drop(&mut self) {
        let _ = Command::new("ip")
            .args(["netns", "del", &self.name])
            .output();
    }
}
