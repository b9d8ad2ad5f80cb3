//! The `/metrics` HTTP/1.1 listener on the daemon's mio loop: accepts
//! scrapers, parses request heads ([`super::request`]), answers `/`, 404,
//! 405 and errors by itself and hands `/metrics` requests to the daemon,
//! which renders a snapshot and calls [`MetricsServer::respond`].
//!
//! Nothing here blocks: sockets are non-blocking and registered
//! edge-triggered for both directions once, partial writes resume on the
//! next WRITABLE event, input is capped at the head limit, the number of
//! clients is capped (extra connections get a 503 and are closed), and a
//! client that neither completes a request nor reads its response within
//! the idle timeout is dropped. Keep-alive is supported because Prometheus
//! reuses its connection between scrapes.

use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr};
use std::time::{Duration, Instant};

use mio::event::Event;
use mio::net::{TcpListener, TcpStream};
use mio::{Interest, Registry, Token};

use super::request::{self, Route, Status, MAX_HEAD};

/// Idle timeout of a client: between requests, and for reading a response.
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(30);
/// Default client limit.
pub const MAX_CLIENTS: usize = 64;
/// Largest response queued for one client; beyond it the answer is a 503
/// (10,000 backends render to ~15 MB).
pub const MAX_RESPONSE: usize = 64 * 1024 * 1024;
/// After a response that closes the connection, unread input is drained
/// (so the kernel does not turn the close into a reset that would destroy
/// the response) for at most this long and this many bytes.
const LINGER: Duration = Duration::from_secs(2);
const LINGER_BYTES: usize = 64 * 1024;

/// Counters for the daemon's own metrics and logs.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct MetricsServerStats {
    pub accepted: u64,
    /// Connections closed at once because the client limit was reached.
    pub rejected: u64,
    pub timed_out: u64,
    /// `/metrics` requests handed to the daemon.
    pub scrapes: u64,
    /// Requests answered with a 4xx/5xx status.
    pub errors: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Waiting for (more of) a request head; output may still be draining.
    Reading,
    /// A `/metrics` request went to the daemon; waiting for `respond`.
    AwaitingMetrics { head_only: bool, keep_alive: bool },
    /// The last response is queued; close once it is written.
    Closing,
    /// Response written and our side shut down; discarding input until EOF.
    Draining,
}

struct Client {
    id: u64,
    stream: TcpStream,
    inbuf: Vec<u8>,
    out: Vec<u8>,
    out_pos: usize,
    phase: Phase,
    deadline: Instant,
    drained: usize,
}

impl Client {
    fn pending(&self) -> usize {
        self.out.len().saturating_sub(self.out_pos)
    }
}

/// Errors binding the metrics listener.
#[derive(Debug)]
pub enum MetricsServerError {
    Bind { addr: SocketAddr, source: io::Error },
    Register { addr: SocketAddr, source: io::Error },
}

impl std::fmt::Display for MetricsServerError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            MetricsServerError::Bind { addr, source } => {
                write!(f, "bind metrics listener {addr}: {source}")
            }
            MetricsServerError::Register { addr, source } => {
                write!(f, "register metrics listener {addr}: {source}")
            }
        }
    }
}

impl std::error::Error for MetricsServerError {}

/// What a step of a client's state machine ended with.
enum Step {
    Idle,
    WantsMetrics(u64),
    Drop,
}

pub struct MetricsServer {
    listener: TcpListener,
    local_addr: SocketAddr,
    listener_token: Token,
    client_token_base: usize,
    idle_timeout: Duration,
    /// Client slots; a slot's index is its token offset, so tokens stay in
    /// `client_token_base .. + max_clients` however many clients come and go.
    slots: Vec<Option<Client>>,
    next_serial: u64,
    pub stats: MetricsServerStats,
}

impl MetricsServer {
    /// Listen on `addr` (port 0 picks one: see [`MetricsServer::local_addr`]).
    pub fn bind(
        addr: SocketAddr,
        registry: &Registry,
        listener_token: Token,
        client_token_base: usize,
        max_clients: usize,
        idle_timeout: Duration,
    ) -> Result<Self, MetricsServerError> {
        let mut listener =
            TcpListener::bind(addr).map_err(|source| MetricsServerError::Bind { addr, source })?;
        let local_addr = listener
            .local_addr()
            .map_err(|source| MetricsServerError::Bind { addr, source })?;
        registry
            .register(&mut listener, listener_token, Interest::READABLE)
            .map_err(|source| MetricsServerError::Register { addr, source })?;
        let mut slots = Vec::new();
        slots.resize_with(max_clients, || None);
        Ok(MetricsServer {
            listener,
            local_addr,
            listener_token,
            client_token_base,
            idle_timeout,
            slots,
            next_serial: 0,
            stats: MetricsServerStats::default(),
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    pub fn is_listener(&self, token: Token) -> bool {
        token == self.listener_token
    }

    /// Whether `token` is the listener's or in the client token range.
    pub fn owns(&self, token: Token) -> bool {
        token == self.listener_token
            || token
                .0
                .checked_sub(self.client_token_base)
                .is_some_and(|slot| slot < self.slots.len())
    }

    /// The live client behind a token.
    pub fn client_of(&self, token: Token) -> Option<u64> {
        let slot = token.0.checked_sub(self.client_token_base)?;
        self.slots.get(slot)?.as_ref().map(|c| c.id)
    }

    pub fn client_count(&self) -> usize {
        self.slots.iter().filter(|s| s.is_some()).count()
    }

    /// Accept every pending connection.
    pub fn accept(&mut self, registry: &Registry, now: Instant) {
        loop {
            match self.listener.accept() {
                Ok((mut stream, _)) => {
                    let Some(slot) = self.slots.iter().position(Option::is_none) else {
                        self.stats.rejected += 1;
                        // Best effort into a fresh socket buffer; then close.
                        let head = request::response_head(
                            Status::ServiceUnavailable,
                            false,
                            TOO_MANY.len(),
                            false,
                        );
                        let _ = stream.write_all(head.as_bytes());
                        let _ = stream.write_all(TOO_MANY.as_bytes());
                        continue;
                    };
                    let token = Token(self.client_token_base + slot);
                    if registry
                        .register(&mut stream, token, Interest::READABLE | Interest::WRITABLE)
                        .is_err()
                    {
                        continue;
                    }
                    // Scrapes are small request/response pairs: no Nagle delay.
                    let _ = stream.set_nodelay(true);
                    self.next_serial += 1;
                    self.stats.accepted += 1;
                    if let Some(s) = self.slots.get_mut(slot) {
                        *s = Some(Client {
                            id: (self.next_serial << 32) | slot as u64,
                            stream,
                            inbuf: Vec::new(),
                            out: Vec::new(),
                            out_pos: 0,
                            phase: Phase::Reading,
                            deadline: now + self.idle_timeout,
                            drained: 0,
                        });
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                // EMFILE and friends: retry on the next listener event.
                Err(_) => break,
            }
        }
    }

    /// Handle readiness of a client socket. `Some(client)`: it asked for
    /// `/metrics`; render and call [`MetricsServer::respond`].
    pub fn on_ready(
        &mut self,
        registry: &Registry,
        client: u64,
        event: &Event,
        now: Instant,
    ) -> Option<u64> {
        if event.is_error() {
            self.drop_client(registry, client);
            return None;
        }
        self.step(registry, client, now)
    }

    /// Answer a `/metrics` request with `body`. Returns `Some(client)` when
    /// the same client already has its next (pipelined) `/metrics` request
    /// buffered: render again and respond again.
    pub fn respond(
        &mut self,
        registry: &Registry,
        client: u64,
        body: &str,
        now: Instant,
    ) -> Option<u64> {
        let idle = self.idle_timeout;
        let c = self.client_mut(client)?;
        let Phase::AwaitingMetrics {
            head_only,
            keep_alive,
        } = c.phase
        else {
            return None;
        };
        let too_big = body.len() > MAX_RESPONSE;
        if too_big {
            let text = request::error_body(Status::ServiceUnavailable);
            queue(c, Status::ServiceUnavailable, false, text, false, false);
        } else {
            queue(c, Status::Ok, true, body, head_only, keep_alive);
        }
        c.deadline = now + idle;
        self.stats.errors += u64::from(too_big);
        self.step(registry, client, now)
    }

    /// Close clients whose deadline passed.
    pub fn expire_idle(&mut self, registry: &Registry, now: Instant) {
        let expired: Vec<u64> = self
            .slots
            .iter()
            .flatten()
            // Awaiting clients too: the daemon answers at once, so one still
            // waiting after the idle timeout was forgotten.
            .filter(|c| c.deadline <= now)
            .map(|c| c.id)
            .collect();
        for id in expired {
            self.stats.timed_out += 1;
            self.drop_client(registry, id);
        }
    }

    /// Earliest client deadline, for the loop's timer.
    pub fn next_deadline(&self) -> Option<Instant> {
        self.slots.iter().flatten().map(|c| c.deadline).min()
    }

    /// Close everything (shutdown): no flushing, no waiting.
    pub fn shutdown(&mut self, registry: &Registry) {
        let ids: Vec<u64> = self.slots.iter().flatten().map(|c| c.id).collect();
        for id in ids {
            self.drop_client(registry, id);
        }
        let _ = registry.deregister(&mut self.listener);
    }

    fn client_mut(&mut self, client: u64) -> Option<&mut Client> {
        let slot = usize::try_from(client & 0xffff_ffff).ok()?;
        self.slots
            .get_mut(slot)?
            .as_mut()
            .filter(|c| c.id == client)
    }

    fn drop_client(&mut self, registry: &Registry, client: u64) {
        let Ok(slot) = usize::try_from(client & 0xffff_ffff) else {
            return;
        };
        if let Some(s) = self.slots.get_mut(slot) {
            if s.as_ref().is_some_and(|c| c.id == client) {
                if let Some(mut c) = s.take() {
                    let _ = registry.deregister(&mut c.stream);
                }
            }
        }
    }

    fn step(&mut self, registry: &Registry, client: u64, now: Instant) -> Option<u64> {
        let idle = self.idle_timeout;
        let c = self.client_mut(client)?;
        let (step, errors) = drive(c, now, idle);
        self.stats.errors += errors;
        match step {
            Step::Idle => None,
            Step::WantsMetrics(id) => {
                self.stats.scrapes += 1;
                Some(id)
            }
            Step::Drop => {
                self.drop_client(registry, client);
                None
            }
        }
    }
}

const TOO_MANY: &str = "too many metrics clients\n";

/// Queue a response; the connection stays open only if `keep_alive`.
fn queue(
    c: &mut Client,
    status: Status,
    metrics: bool,
    body: &str,
    head_only: bool,
    keep_alive: bool,
) {
    if c.pending() == 0 {
        c.out.clear();
        c.out_pos = 0;
    }
    let head = request::response_head(status, metrics, body.len(), keep_alive);
    c.out
        .reserve(head.len() + if head_only { 0 } else { body.len() });
    c.out.extend_from_slice(head.as_bytes());
    if !head_only {
        c.out.extend_from_slice(body.as_bytes());
    }
    c.phase = if keep_alive {
        Phase::Reading
    } else {
        Phase::Closing
    };
}

/// Run a client as far as it goes without blocking. Returns the outcome and
/// the number of error responses queued.
fn drive(c: &mut Client, now: Instant, idle: Duration) -> (Step, u64) {
    let mut errors = 0;
    loop {
        match flush(c) {
            Ok(true) => c.deadline = now + idle,
            Ok(false) => {}
            Err(()) => return (Step::Drop, errors),
        }
        if c.pending() > 0 {
            return (Step::Idle, errors);
        }
        match c.phase {
            Phase::AwaitingMetrics { .. } => return (Step::Idle, errors),
            Phase::Closing => {
                // Response written: stop sending, then drain briefly.
                if c.stream.shutdown(Shutdown::Write).is_err() {
                    return (Step::Drop, errors);
                }
                c.phase = Phase::Draining;
                c.deadline = c.deadline.min(now + LINGER);
            }
            Phase::Draining => {
                let mut buf = [0u8; 4096];
                loop {
                    match c.stream.read(&mut buf) {
                        Ok(0) => return (Step::Drop, errors),
                        Ok(n) => {
                            c.drained += n;
                            if c.drained > LINGER_BYTES {
                                return (Step::Drop, errors);
                            }
                        }
                        Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                            return (Step::Idle, errors)
                        }
                        Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                        Err(_) => return (Step::Drop, errors),
                    }
                }
            }
            Phase::Reading => match request::parse_head(&c.inbuf) {
                Ok(Some((req, n))) => {
                    c.inbuf.drain(..n.min(c.inbuf.len()));
                    match request::route(&req) {
                        Route::Metrics { head_only } => {
                            c.phase = Phase::AwaitingMetrics {
                                head_only,
                                keep_alive: req.keep_alive,
                            };
                            return (Step::WantsMetrics(c.id), errors);
                        }
                        Route::Fixed {
                            status,
                            body,
                            head_only,
                        } => {
                            if status != Status::Ok {
                                errors += 1;
                            }
                            queue(c, status, false, body, head_only, req.keep_alive);
                            c.deadline = now + idle;
                        }
                    }
                }
                Err(e) => {
                    errors += 1;
                    let status = e.status();
                    queue(c, status, false, request::error_body(status), false, false);
                }
                Ok(None) => match fill(c) {
                    Fill::Data => {}
                    Fill::WouldBlock => return (Step::Idle, errors),
                    Fill::Closed => return (Step::Drop, errors),
                },
            },
        }
    }
}

enum Fill {
    Data,
    WouldBlock,
    Closed,
}

/// Read one chunk of request head. The caller re-parses after each chunk,
/// so the buffer never grows far beyond [`MAX_HEAD`].
// Not inlined: its read buffer stays in this frame instead of adding to
// the event loop's, whose stack every daemon keeps resident.
#[inline(never)]
fn fill(c: &mut Client) -> Fill {
    let mut buf = [0u8; 4096];
    loop {
        match c.stream.read(&mut buf) {
            // EOF: nothing more can complete a request (a half-closed
            // client with a complete request was already served).
            Ok(0) => return Fill::Closed,
            Ok(n) => {
                c.inbuf.extend_from_slice(buf.get(..n).unwrap_or_default());
                debug_assert!(c.inbuf.len() <= MAX_HEAD + buf.len());
                return Fill::Data;
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Fill::WouldBlock,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(_) => return Fill::Closed,
        }
    }
}

/// Write what the socket takes. `Ok(true)`: some progress was made.
fn flush(c: &mut Client) -> Result<bool, ()> {
    let mut progressed = false;
    while c.pending() > 0 {
        let chunk = c.out.get(c.out_pos..).unwrap_or_default();
        match c.stream.write(chunk) {
            Ok(0) => return Err(()),
            Ok(n) => {
                c.out_pos += n;
                progressed = true;
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(_) => return Err(()),
        }
    }
    if c.pending() == 0 && !c.out.is_empty() {
        // Release a big scrape body instead of keeping it per connection.
        if c.out.capacity() > 64 * 1024 {
            c.out = Vec::new();
        } else {
            c.out.clear();
        }
        c.out_pos = 0;
    }
    Ok(progressed)
}

#[cfg(test)]
mod tests;
