//! ICMP echo probes: one shared socket per (family, source address) — the
//! namespace is the [`SocketFactory`]'s, so an engine serves one namespace —
//! and a table of outstanding echo requests keyed by sequence number.
//!
//! Socket choice: an unprivileged ping socket (`SOCK_DGRAM`, `IPPROTO_ICMP*`)
//! when `net.ipv4.ping_group_range` admits our gid — the kernel then fills
//! checksums, rewrites the echo id to the socket's "port" and delivers only
//! our replies — else a raw socket (`CAP_NET_RAW`), which sees every ICMP
//! message of the host, so replies are filtered by the engine's echo id.
//! In both cases a reply is matched by sequence number, sender address,
//! magic and probe key. Raw sockets also see ICMP errors quoting our
//! requests (unreachable, time exceeded): those end the probe with L3CON.
//! A ping socket does not report such errors without `IP_RECVERR`, so there
//! the probe simply times out (L3TOUT).
//!
//! The loop reserves a token range for the engine ([`IcmpEngine::new`]),
//! routes events whose token it [`owns`](IcmpEngine::owns) to
//! [`on_readable`](IcmpEngine::on_readable), and at a probe's deadline calls
//! [`timeout`](IcmpEngine::timeout) with the probe key.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::os::fd::{AsRawFd, OwnedFd};
use std::sync::atomic::{AtomicU16, Ordering};
use std::time::Instant;

use mio::unix::SourceFd;
use mio::{Interest, Registry, Token};
use nix::errno::Errno;
use nix::sys::socket::{recvfrom, sendto, MsgFlags, SockProtocol, SockType, SockaddrStorage};

use super::icmp_wire::{echo_request, parse_v4, parse_v6, Received};
use super::netns::{SocketError, SocketFactory};
use super::result;
use super::socket::{bind_source, errno_text, family_of};
use crate::health::types::{Code, ProbeResult};

/// Engines created so far, to give each its own echo id.
static ENGINES: AtomicU16 = AtomicU16::new(0);

#[derive(Debug)]
struct IcmpSocket {
    fd: OwnedFd,
    v6: bool,
    source: Option<IpAddr>,
    /// Raw sockets deliver the IPv4 header and foreign traffic.
    raw: bool,
}

#[derive(Debug, Clone, Copy)]
struct Outstanding {
    key: u64,
    dest: IpAddr,
    socket: usize,
    sent: Instant,
}

/// All ICMP probes of the daemon (of one namespace).
#[derive(Debug)]
pub struct IcmpEngine {
    first_token: usize,
    max_sockets: usize,
    sockets: Vec<IcmpSocket>,
    by_seq: HashMap<u16, Outstanding>,
    seq_of_key: HashMap<u64, u16>,
    next_seq: u16,
    ident: u16,
    epoch: Option<Instant>,
}

impl IcmpEngine {
    /// The engine registers its sockets with tokens
    /// `first_token .. first_token + max_sockets`, which the loop reserves.
    pub fn new(first_token: Token, max_sockets: usize) -> Self {
        let n = ENGINES.fetch_add(1, Ordering::Relaxed);
        // An odd multiplier is a bijection on u16: engines of one process
        // never share an id.
        let ident = (std::process::id() as u16) ^ n.wrapping_mul(0x9e37);
        IcmpEngine {
            first_token: first_token.0,
            max_sockets,
            sockets: Vec::new(),
            by_seq: HashMap::new(),
            seq_of_key: HashMap::new(),
            next_seq: 1,
            ident,
            epoch: None,
        }
    }

    /// Whether `token` belongs to one of this engine's sockets.
    pub fn owns(&self, token: Token) -> bool {
        (self.first_token..self.first_token + self.max_sockets).contains(&token.0)
    }

    /// Kind of each socket opened so far (`true` = raw), for tests.
    #[cfg(test)]
    pub(crate) fn socket_kinds(&self) -> Vec<bool> {
        self.sockets.iter().map(|s| s.raw).collect()
    }

    /// Probes in flight.
    pub fn outstanding(&self) -> usize {
        self.by_seq.len()
    }

    /// Send one echo request for probe `key` (replacing any it still has in
    /// flight). `Err` is the probe's final result (socket or send failure).
    pub fn send(
        &mut self,
        registry: &Registry,
        sockets: &SocketFactory,
        dest: IpAddr,
        source: Option<IpAddr>,
        key: u64,
        now: Instant,
    ) -> Result<(), ProbeResult> {
        self.cancel(key);
        let fail = |code: Code, detail: String| result(code, detail, now, now);
        let index = self
            .socket_for(registry, sockets, dest, source)
            .map_err(|(code, detail)| fail(code, detail))?;
        let seq = self
            .free_seq()
            .ok_or_else(|| fail(Code::L3Con, "too many echo requests in flight".into()))?;
        let epoch = *self.epoch.get_or_insert(now);
        let stamp = u64::try_from(now.saturating_duration_since(epoch).as_nanos()).unwrap_or(0);
        let packet = echo_request(dest.is_ipv6(), self.ident, seq, key, stamp);
        let socket = self
            .sockets
            .get(index)
            .ok_or_else(|| fail(Code::L3Con, "icmp socket vanished".into()))?;
        let to = SockaddrStorage::from(SocketAddr::new(dest, 0));
        loop {
            match sendto(socket.fd.as_raw_fd(), &packet, &to, MsgFlags::empty()) {
                Ok(_) => break,
                Err(Errno::EINTR) => continue,
                Err(e) => return Err(fail(Code::L3Con, format!("send: {}", errno_text(e)))),
            }
        }
        self.by_seq.insert(
            seq,
            Outstanding {
                key,
                dest,
                socket: index,
                sent: now,
            },
        );
        self.seq_of_key.insert(key, seq);
        Ok(())
    }

    /// Drain the socket behind `token`; results of the probes it finished.
    // Not inlined: its read buffer stays in this frame instead of adding to
    // the event loop's, whose stack every daemon keeps resident.
    #[inline(never)]
    pub fn on_readable(&mut self, token: Token, now: Instant) -> Vec<(u64, ProbeResult)> {
        let mut done = Vec::new();
        let Some(index) = token.0.checked_sub(self.first_token) else {
            return done;
        };
        let Some(socket) = self.sockets.get(index) else {
            return done;
        };
        let (fd, v6, raw) = (socket.fd.as_raw_fd(), socket.v6, socket.raw);
        let mut buf = [0u8; 2048];
        loop {
            let (n, from) = match recvfrom::<SockaddrStorage>(fd, &mut buf) {
                Ok(got) => got,
                Err(Errno::EINTR) => continue,
                Err(Errno::EAGAIN) => break,
                Err(e) => {
                    log::debug!("event=icmp-recv-error error={:?}", errno_text(e));
                    break;
                }
            };
            let packet = buf.get(..n).unwrap_or_default();
            let parsed = if v6 {
                parse_v6(packet)
            } else {
                parse_v4(packet, raw)
            };
            let from = from.as_ref().and_then(sender_ip);
            if let Some(finished) = parsed.and_then(|p| self.match_packet(index, raw, p, from, now))
            {
                done.push(finished);
            }
        }
        done
    }

    /// The probe's deadline passed: L3TOUT if it was still waiting.
    pub fn timeout(&mut self, key: u64, now: Instant) -> Option<ProbeResult> {
        let seq = self.seq_of_key.remove(&key)?;
        let out = self.by_seq.remove(&seq)?;
        Some(result(Code::L3Tout, "no echo reply".into(), out.sent, now))
    }

    /// Forget probe `key` (paused, removed backend…); a late reply is ignored.
    pub fn cancel(&mut self, key: u64) {
        if let Some(seq) = self.seq_of_key.remove(&key) {
            self.by_seq.remove(&seq);
        }
    }

    /// Deregister and close every socket (e.g. before a netns change).
    pub fn close(&mut self, registry: &Registry) {
        for socket in self.sockets.drain(..) {
            let _ = registry.deregister(&mut SourceFd(&socket.fd.as_raw_fd()));
        }
        self.by_seq.clear();
        self.seq_of_key.clear();
    }

    fn match_packet(
        &mut self,
        index: usize,
        raw: bool,
        packet: Received,
        from: Option<IpAddr>,
        now: Instant,
    ) -> Option<(u64, ProbeResult)> {
        let (ident, seq) = match &packet {
            Received::EchoReply { ident, seq, .. } | Received::Error { ident, seq, .. } => {
                (*ident, *seq)
            }
        };
        // Ping sockets rewrite the id and demultiplex for us.
        if raw && ident != self.ident {
            return None;
        }
        let out = *self.by_seq.get(&seq)?;
        if out.socket != index {
            return None;
        }
        let (code, detail) = match packet {
            Received::EchoReply { key, .. } if key == out.key && from == Some(out.dest) => {
                (Code::L3Ok, "echo reply".to_owned())
            }
            Received::Error { dest, reason, .. } if dest == out.dest => {
                let by = from.map(|f| format!(" from {f}")).unwrap_or_default();
                (Code::L3Con, format!("{reason}{by}"))
            }
            _ => return None,
        };
        self.by_seq.remove(&seq);
        self.seq_of_key.remove(&out.key);
        Some((out.key, result(code, detail, out.sent, now)))
    }

    fn free_seq(&mut self) -> Option<u16> {
        for _ in 0..=u16::MAX {
            let seq = self.next_seq;
            self.next_seq = self.next_seq.wrapping_add(1);
            if !self.by_seq.contains_key(&seq) {
                return Some(seq);
            }
        }
        None
    }

    /// Index of the socket for (family of `dest`, `source`), created on demand.
    fn socket_for(
        &mut self,
        registry: &Registry,
        sockets: &SocketFactory,
        dest: IpAddr,
        source: Option<IpAddr>,
    ) -> Result<usize, (Code, String)> {
        let v6 = dest.is_ipv6();
        if let Some(i) = self
            .sockets
            .iter()
            .position(|s| s.v6 == v6 && s.source == source)
        {
            return Ok(i);
        }
        if self.sockets.len() >= self.max_sockets {
            return Err((Code::L3Con, "too many icmp sockets".into()));
        }
        let (fd, raw) = open_socket(sockets, dest, source)?;
        let index = self.sockets.len();
        registry
            .register(
                &mut SourceFd(&fd.as_raw_fd()),
                Token(self.first_token + index),
                Interest::READABLE,
            )
            .map_err(|e| (Code::L3Con, format!("register: {e}")))?;
        self.sockets.push(IcmpSocket {
            fd,
            v6,
            source,
            raw,
        });
        Ok(index)
    }
}

/// A ping socket if allowed, else a raw one; bound to `source` if given.
fn open_socket(
    sockets: &SocketFactory,
    dest: IpAddr,
    source: Option<IpAddr>,
) -> Result<(OwnedFd, bool), (Code, String)> {
    let protocol = if dest.is_ipv6() {
        SockProtocol::IcmpV6
    } else {
        SockProtocol::Icmp
    };
    let family = family_of(dest);
    let as_result = |e: SocketError| match e {
        // Namespace trouble reads like the other probe types' (config.md §3).
        SocketError::EnterNetns { .. } => (Code::L4Con, e.to_string()),
        SocketError::Socket(_) => (Code::L3Con, e.to_string()),
    };
    let (fd, raw) = match sockets.socket(family, SockType::Datagram, Some(protocol)) {
        Ok(fd) => (fd, false),
        Err(SocketError::Socket(Errno::EACCES | Errno::EPERM | Errno::EPROTONOSUPPORT)) => (
            sockets
                .socket(family, SockType::Raw, Some(protocol))
                .map_err(as_result)?,
            true,
        ),
        Err(e) => return Err(as_result(e)),
    };
    if let Some(source) = source {
        bind_source(&fd, source).map_err(|d| (Code::L3Con, d))?;
    }
    Ok((fd, raw))
}

fn sender_ip(addr: &SockaddrStorage) -> Option<IpAddr> {
    if let Some(v4) = addr.as_sockaddr_in() {
        return Some(IpAddr::V4(v4.ip()));
    }
    addr.as_sockaddr_in6().map(|v6| IpAddr::V6(v6.ip()))
}
