//! Health probes (spec/health.md §1–2) as non-blocking state machines over
//! mio sockets, driven by the daemon's single-threaded loop.
//!
//! # Contract with the loop
//!
//! The loop owns the `mio::Poll`, the tokens, the timer heap and the clock.
//! A probe reads no clock: every entry point takes `now`, used only for
//! `ProbeResult::duration_us`.
//!
//! Once per health check (and again on reload), build a [`PreparedCheck`]
//! (compiled body checks, TLS client config), then one [`ProbeTarget`] per
//! backend with [`PreparedCheck::target`]. For each probe:
//!
//! * tcp/http/https: [`Probe::start`] takes a socket from the loop's
//!   [`SocketPool`] for a backend slot. `Err(result)` is the probe's final
//!   result (socket, bind or netns failure: L4CON). `Ok`: arm a timer at
//!   `now + target.timeout`; route events of the pool's tokens to the owning
//!   slot's [`Probe::on_ready`] until it returns [`Ready::Done`]. On
//!   [`Ready::RequestDue`] (http: connected, request not written) call
//!   [`Probe::send_request`] when it suits the loop, which batches them. If
//!   the timer fires first call [`Probe::on_timeout`]. Either way, and to cancel a
//!   probe (pause, removal), hand the socket back with [`Probe::recycle`].
//!   A probe dropped instead closes its socket abortively.
//! * icmp: one [`IcmpEngine`] per namespace with its own token range;
//!   `engine.send(.., key, now)` per probe (key: any u64 the loop uses to
//!   find the backend), route the engine's tokens to
//!   `engine.on_readable(token, now)` which returns finished `(key, result)`
//!   pairs, and at the deadline call `engine.timeout(key, now)` (`None` if
//!   the result was already delivered). `engine.cancel(key)` forgets one.
//!
//! Pooled sockets are registered `READABLE | WRITABLE` once (edge-triggered)
//! and reused, so a probe costs no `socket`, `epoll_ctl` or `close` at all.
//!
//! Result codes: tcp L4OK/L4TOUT/L4CON; http adds L7OK/L7TOUT/L7RSP/L7STS
//! (connect timeout stays L4TOUT, refused L4CON); https adds L6TOUT/L6RSP for
//! the handshake; icmp L3OK/L3TOUT/L3CON (docs/probes.md has the table).

pub mod http;
pub mod http_parse;
pub mod icmp;
pub mod icmp_wire;
pub mod netns;
#[cfg(feature = "https")]
pub mod pem;
pub mod pool;
pub mod socket;
#[cfg(feature = "https")]
pub mod tls;

#[cfg(test)]
mod tests;
#[cfg(all(test, feature = "https"))]
mod tests_https;
#[cfg(test)]
mod testutil;

use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use std::os::fd::AsRawFd;

use mio::net::TcpStream;
use mio::Registry;

pub use self::http::{BodyCheck, HttpRequestSpec, HttpSpecError};
pub use self::icmp::IcmpEngine;
pub use self::netns::{SocketError, SocketFactory};
pub use self::pool::SocketPool;
#[cfg(feature = "https")]
pub use self::tls::{HttpsSpec, TlsSetupError};

use self::http::{drive_plain, send_plain, HttpExchange, Verdict};
use self::socket::{connect_outcome, errno_text, set_linger_zero};
#[cfg(feature = "https")]
use self::tls::TlsExchange;
use crate::config::model::{CheckType, HealthCheck};
use crate::health::types::{Code, ProbeResult};

/// What a probe does, with everything prebuilt that does not change per probe.
#[derive(Debug, Clone)]
pub enum ProbeKind {
    Tcp,
    Http(Arc<HttpRequestSpec>),
    #[cfg(feature = "https")]
    Https(Arc<HttpsSpec>),
    /// Runs on the [`IcmpEngine`], not as a [`Probe`].
    Icmp,
}

/// One backend's probe, reused for every probe of it.
#[derive(Debug, Clone)]
pub struct ProbeTarget {
    /// Backend address; the port is 0 for icmp.
    pub addr: SocketAddr,
    /// Source address to bind (the check's per-family `probe-ipv*-src`).
    pub source: Option<IpAddr>,
    pub timeout: Duration,
    pub kind: ProbeKind,
}

/// Why a health check cannot be turned into probe targets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SetupError {
    /// tcp/http/https check without a port.
    MissingPort,
    /// http/https check without its parameter block.
    MissingHttpParams,
    Http(HttpSpecError),
    #[cfg(feature = "https")]
    Tls(TlsSetupError),
    /// An https check in a build without the `https` feature.
    HttpsDisabled,
}

impl fmt::Display for SetupError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SetupError::MissingPort => f.write_str("health check has no port"),
            SetupError::MissingHttpParams => f.write_str("http health check has no params"),
            SetupError::Http(e) => e.fmt(f),
            #[cfg(feature = "https")]
            SetupError::Tls(e) => e.fmt(f),
            SetupError::HttpsDisabled => f.write_str("https probes are not built in"),
        }
    }
}

/// The per-check half of probe setup: built once per health check.
#[derive(Debug, Clone)]
pub struct PreparedCheck {
    check: HealthCheck,
    /// The request template, shared by every target of the check; the
    /// error is reported per target, as when the request was built there.
    http: Result<Arc<HttpRequestSpec>, SetupError>,
    #[cfg(feature = "https")]
    tls: Option<Arc<rustls::ClientConfig>>,
}

impl PreparedCheck {
    pub fn new(check: &HealthCheck) -> Result<Self, SetupError> {
        let body_check = match &check.http {
            Some(params) => BodyCheck::new(params).map_err(SetupError::Http)?,
            None => BodyCheck::default(),
        };
        #[cfg(feature = "https")]
        let tls = match (check.check_type, &check.http) {
            (CheckType::Https, Some(params)) => {
                Some(tls::client_config(params.insecure).map_err(SetupError::Tls)?)
            }
            _ => None,
        };
        #[cfg(not(feature = "https"))]
        if check.check_type == CheckType::Https {
            return Err(SetupError::HttpsDisabled);
        }
        let default_port = match check.check_type {
            CheckType::Https => 443,
            _ => 80,
        };
        let http = match &check.http {
            Some(params) => HttpRequestSpec::new(params, Arc::new(body_check), default_port)
                .map(Arc::new)
                .map_err(SetupError::Http),
            None => Err(SetupError::MissingHttpParams),
        };
        Ok(PreparedCheck {
            check: check.clone(),
            http,
            #[cfg(feature = "https")]
            tls,
        })
    }

    /// As [`PreparedCheck::new`] with an explicit TLS client config (tests,
    /// or a daemon option for a private CA bundle).
    #[cfg(feature = "https")]
    pub fn with_tls(
        check: &HealthCheck,
        tls: Arc<rustls::ClientConfig>,
    ) -> Result<Self, SetupError> {
        let mut prepared = Self::new(check)?;
        prepared.tls = Some(tls);
        Ok(prepared)
    }

    /// The probe target for a backend at `address`.
    pub fn target(&self, address: IpAddr) -> Result<ProbeTarget, SetupError> {
        let check = &self.check;
        let source = match address {
            IpAddr::V4(_) => check.probe_ipv4_src.map(IpAddr::V4),
            IpAddr::V6(_) => check.probe_ipv6_src.map(IpAddr::V6),
        };
        let port = match check.check_type {
            CheckType::Icmp => 0,
            _ => check.port.ok_or(SetupError::MissingPort)?,
        };
        let addr = SocketAddr::new(address, port);
        let http_spec = || self.http.clone();
        let kind = match check.check_type {
            CheckType::Icmp => ProbeKind::Icmp,
            CheckType::Tcp => ProbeKind::Tcp,
            CheckType::Http => ProbeKind::Http(http_spec()?),
            #[cfg(feature = "https")]
            CheckType::Https => {
                let http = http_spec()?;
                let config = self.tls.clone().ok_or(SetupError::MissingHttpParams)?;
                let host = check.http.as_ref().and_then(|p| p.host.as_deref());
                ProbeKind::Https(Arc::new(HttpsSpec {
                    http,
                    config,
                    server_name: tls::server_name(host, address),
                }))
            }
            #[cfg(not(feature = "https"))]
            CheckType::Https => return Err(SetupError::HttpsDisabled),
        };
        Ok(ProbeTarget {
            addr,
            source,
            timeout: check.timeout,
            kind,
        })
    }
}

/// A result stamped with the time since `started`.
pub(crate) fn result(code: Code, detail: String, started: Instant, now: Instant) -> ProbeResult {
    let micros = now.saturating_duration_since(started).as_micros();
    ProbeResult {
        code,
        detail,
        duration_us: u64::try_from(micros).unwrap_or(u64::MAX),
    }
}

#[derive(Debug)]
enum Stage {
    Tcp,
    Http(HttpExchange),
    #[cfg(feature = "https")]
    Https(Box<TlsExchange>),
}

/// What a readiness event did to a [`Probe`].
#[derive(Debug)]
pub enum Ready {
    /// Nothing to report yet.
    Pending,
    /// An http probe connected and its request is not written yet. The
    /// loop writes it with [`Probe::send_request`], back to back with other
    /// probes' requests: a backend's server that is woken by a burst of
    /// requests serves them in one go instead of sleeping between probes.
    RequestDue,
    Done(ProbeResult),
}

/// One in-flight tcp/http/https probe.
#[derive(Debug)]
pub struct Probe {
    /// `None` only after [`Probe::recycle`] took it back.
    stream: Option<TcpStream>,
    /// The socket's id in the [`SocketPool`].
    socket_id: u32,
    started: Instant,
    connected: bool,
    stage: Stage,
}

impl Probe {
    /// Take a socket for slot `owner` from `pool` (creating it in the
    /// factory's namespace, bound to the source, when none is idle) and
    /// start the connect.
    pub fn start(
        target: &ProbeTarget,
        registry: &Registry,
        pool: &mut SocketPool,
        owner: u32,
        sockets: &SocketFactory,
        now: Instant,
    ) -> Result<Probe, ProbeResult> {
        let fail = |code, detail| result(code, detail, now, now);
        let stage = match &target.kind {
            ProbeKind::Tcp => Stage::Tcp,
            ProbeKind::Http(spec) => Stage::Http(HttpExchange::new(spec.clone(), target.addr)),
            #[cfg(feature = "https")]
            ProbeKind::Https(spec) => Stage::Https(Box::new(
                TlsExchange::new(spec, target.addr).map_err(|d| fail(Code::L6Rsp, d))?,
            )),
            ProbeKind::Icmp => {
                return Err(fail(
                    Code::L3Con,
                    "icmp probes run on the IcmpEngine".into(),
                ))
            }
        };
        let lease = pool
            .acquire(target.addr.ip(), target.source, owner, sockets, registry)
            .map_err(|d| fail(Code::L4Con, d))?;
        let addr = nix::sys::socket::SockaddrStorage::from(target.addr);
        if let Err(e) = nix::sys::socket::connect(lease.stream.as_raw_fd(), &addr) {
            if e != nix::errno::Errno::EINPROGRESS {
                pool.release(lease.id, lease.stream);
                return Err(fail(Code::L4Con, format!("connect: {}", errno_text(e))));
            }
        }
        Ok(Probe {
            stream: Some(lease.stream),
            socket_id: lease.id,
            started: now,
            connected: false,
            stage,
        })
    }

    /// The socket's id in the pool (the loop routes its events by it).
    pub fn socket_id(&self) -> u32 {
        self.socket_id
    }

    /// Hand the socket back to the pool (the connection is reset).
    pub fn recycle(mut self, pool: &mut SocketPool) {
        if let Some(stream) = self.stream.take() {
            pool.release(self.socket_id, stream);
        }
    }

    /// A readiness event for this probe's token.
    pub fn on_ready(&mut self, event: &mio::event::Event, now: Instant) -> Ready {
        let Some(stream) = self.stream.as_mut() else {
            return Ready::Pending;
        };
        if !self.connected {
            match connect_outcome(stream, event) {
                Ok(true) => self.connected = true,
                Ok(false) => return Ready::Pending,
                Err(detail) => return Ready::Done(self.finish(Code::L4Con, detail, now)),
            }
            match self.stage {
                Stage::Tcp => return Ready::Done(self.finish(Code::L4Ok, "connected".into(), now)),
                // Nothing has arrived that a read must not miss (the event
                // is edge-triggered): the request can wait for its batch.
                Stage::Http(_) if !(event.is_readable() || event.is_read_closed()) => {
                    return Ready::RequestDue
                }
                _ => {}
            }
        }
        let verdict: Option<Verdict> = match &mut self.stage {
            Stage::Tcp => None,
            Stage::Http(http) => drive_plain(stream, http, event),
            #[cfg(feature = "https")]
            Stage::Https(tls) => tls.drive(stream, event),
        };
        match verdict {
            Some((code, detail)) => Ready::Done(self.finish(code, detail, now)),
            None => Ready::Pending,
        }
    }

    /// Write the request after [`Ready::RequestDue`]. `Some` when the
    /// write failed, which ends the probe; what the socket did not take
    /// goes out on later writable events, through [`Probe::on_ready`].
    pub fn send_request(&mut self, now: Instant) -> Option<ProbeResult> {
        let stream = self.stream.as_mut()?;
        let Stage::Http(http) = &mut self.stage else {
            return None;
        };
        let (code, detail) = send_plain(stream, http).err()?;
        Some(self.finish(code, detail, now))
    }

    /// The deadline passed before a verdict.
    pub fn on_timeout(&self, now: Instant) -> ProbeResult {
        let (code, detail) = if !self.connected {
            (Code::L4Tout, "connect timeout")
        } else {
            match &self.stage {
                Stage::Tcp | Stage::Http(_) => (Code::L7Tout, "timeout waiting for response"),
                #[cfg(feature = "https")]
                Stage::Https(tls) if tls.is_handshaking() => {
                    (Code::L6Tout, "TLS handshake timeout")
                }
                #[cfg(feature = "https")]
                Stage::Https(_) => (Code::L7Tout, "timeout waiting for response"),
            }
        };
        self.finish(code, detail.to_owned(), now)
    }

    fn finish(&self, code: Code, detail: String, now: Instant) -> ProbeResult {
        result(code, detail, self.started, now)
    }
}

impl Drop for Probe {
    fn drop(&mut self) {
        // Not recycled: close without TIME_WAIT. (The pool keeps the id as
        // lent out; only a caller that forgets `recycle` gets here.)
        if let Some(stream) = self.stream.take() {
            set_linger_zero(&stream);
        }
    }
}
