//! Real backends on loopback for the integration tests: a TCP listener that
//! can be closed and reopened, and a small HTTP server whose answer (status,
//! body, delay) the test changes while it runs.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

/// How the HTTP server answers.
#[derive(Clone, Debug)]
pub struct HttpBehaviour {
    pub status: u16,
    pub body: String,
    /// Delay before answering (to provoke timeouts).
    pub delay: Duration,
    /// Answer with garbage instead of HTTP.
    pub garbage: bool,
}

impl Default for HttpBehaviour {
    fn default() -> Self {
        HttpBehaviour {
            status: 200,
            body: "ok\n".into(),
            delay: Duration::ZERO,
            garbage: false,
        }
    }
}

/// A threaded HTTP/1.1 server on a loopback address.
pub struct HttpBackend {
    pub addr: SocketAddr,
    pub behaviour: Arc<Mutex<HttpBehaviour>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl HttpBackend {
    pub fn start(addr: SocketAddr) -> HttpBackend {
        let listener = bind_reserved(addr);
        let addr = listener.local_addr().unwrap();
        listener.set_nonblocking(true).unwrap();
        let behaviour = Arc::new(Mutex::new(HttpBehaviour::default()));
        let stop = Arc::new(AtomicBool::new(false));
        let (b, s) = (Arc::clone(&behaviour), Arc::clone(&stop));
        let thread = std::thread::spawn(move || {
            while !s.load(Ordering::Relaxed) {
                match listener.accept() {
                    Ok((conn, _)) => {
                        let b = b.lock().unwrap().clone();
                        std::thread::spawn(move || serve(conn, b));
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(2)),
                }
            }
        });
        HttpBackend {
            addr,
            behaviour,
            stop,
            thread: Some(thread),
        }
    }

    pub fn set(&self, f: impl FnOnce(&mut HttpBehaviour)) {
        f(&mut self.behaviour.lock().unwrap());
    }
}

impl Drop for HttpBackend {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn serve(mut conn: TcpStream, b: HttpBehaviour) {
    let _ = conn.set_nonblocking(false);
    let _ = conn.set_read_timeout(Some(Duration::from_secs(5)));
    let mut buf = [0u8; 4096];
    let mut req = Vec::new();
    while !req.windows(4).any(|w| w == b"\r\n\r\n") {
        match conn.read(&mut buf) {
            Ok(0) | Err(_) => return,
            Ok(n) => req.extend_from_slice(&buf[..n]),
        }
    }
    if !b.delay.is_zero() {
        std::thread::sleep(b.delay);
    }
    if b.garbage {
        let _ = conn.write_all(b"this is not http\r\n\r\n");
        return;
    }
    let resp = format!(
        "HTTP/1.1 {} X\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{}",
        b.status,
        b.body.len(),
        b.body
    );
    let _ = conn.write_all(resp.as_bytes());
}

/// A plain TCP listener that accepts and closes; `close()` makes the port
/// refuse connections, `reopen()` brings it back.
pub struct TcpBackend {
    pub addr: SocketAddr,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl TcpBackend {
    pub fn start(addr: SocketAddr) -> TcpBackend {
        let listener = bind_reserved(addr);
        let addr = listener.local_addr().unwrap();
        listener.set_nonblocking(true).unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let s = Arc::clone(&stop);
        let thread = std::thread::spawn(move || {
            while !s.load(Ordering::Relaxed) {
                match listener.accept() {
                    Ok((c, _)) => drop(c),
                    Err(_) => std::thread::sleep(Duration::from_millis(2)),
                }
            }
        });
        TcpBackend {
            addr,
            stop,
            thread: Some(thread),
        }
    }

    /// Stop listening: connections are refused from now on.
    pub fn close(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }

    pub fn reopen(&mut self) {
        self.close();
        *self = TcpBackend::start(self.addr);
    }
}

impl Drop for TcpBackend {
    fn drop(&mut self) {
        self.close();
    }
}

/// A loopback address unique to a test: 127.<a>.<b>.<host>.
pub fn lo(a: u8, b: u8, host: u8) -> std::net::IpAddr {
    std::net::IpAddr::V4(std::net::Ipv4Addr::new(127, a, b, host))
}

/// Listeners bound by [`common_port`], waiting for their backend.
static RESERVED: Mutex<Vec<(SocketAddr, TcpListener)>> = Mutex::new(Vec::new());

/// The listener [`common_port`] reserved for `addr`, or a new one.
fn bind_reserved(addr: SocketAddr) -> TcpListener {
    let mut reserved = RESERVED.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(i) = reserved.iter().position(|(a, _)| *a == addr) {
        return reserved.swap_remove(i).1;
    }
    drop(reserved);
    TcpListener::bind(addr).unwrap_or_else(|e| panic!("bind {addr}: {e}"))
}

/// Give up the reservation of [`common_port`] on `addr` (a test that runs
/// its backend elsewhere, e.g. inside a network namespace).
#[allow(dead_code)]
pub fn unreserve(addr: SocketAddr) {
    let mut reserved = RESERVED.lock().unwrap_or_else(|p| p.into_inner());
    reserved.retain(|(a, _)| *a != addr);
}

/// Find a port free on every one of `addrs`, and keep it bound there for
/// the backends the caller starts on it.
pub fn common_port(addrs: &[std::net::IpAddr]) -> u16 {
    // Below the kernel's ephemeral range (32768–60999 by default): between
    // this check and the caller's bind, another test's `bind(…, 0)` on a
    // wildcard address could otherwise be handed the same port.
    let mut seed = u64::from(std::process::id())
        ^ std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(0);
    for a in addrs {
        if let std::net::IpAddr::V4(v4) = a {
            seed ^= u64::from(u32::from(*v4)).rotate_left(17);
        }
    }
    'outer: for _ in 0..200 {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let port = 20_000 + (seed % 12_000) as u16;
        let mut held = Vec::new();
        for a in addrs {
            match TcpListener::bind((*a, port)) {
                Ok(l) => held.push(((*a, port).into(), l)),
                Err(_) => continue 'outer,
            }
        }
        // Kept bound until the backends take them: no window in which
        // anything else could bind the port first.
        let mut reserved = RESERVED.lock().unwrap_or_else(|p| p.into_inner());
        reserved.extend(held);
        return port;
    }
    panic!("no common free port");
}
