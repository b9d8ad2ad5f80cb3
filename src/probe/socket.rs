//! The TCP socket plumbing shared by the tcp, http and https probes: a
//! non-blocking connect with an optional source bind, the connect-completion
//! check, and an abortive close.
//!
//! Syscall budget per probe (the prober is benchmarked on CPU per probe):
//! the socket comes from the [`super::pool::SocketPool`], already open and
//! registered, so a probe costs `connect` (→ `EINPROGRESS`), then after the
//! writable edge nothing at all on success — `getsockopt(SO_ERROR)` only
//! runs when epoll flagged an error, to name it — and the pool's
//! `connect(AF_UNSPEC)` at the end, which resets the connection (no FIN
//! exchange, no TIME_WAIT entry, as HAProxy's linger-0 close) and keeps the
//! socket for the next probe. The pool sets [`defer_handshake_ack`] once per
//! socket, which saves a segment per probe.

use std::io;
use std::net::{IpAddr, SocketAddr};
use std::os::fd::{AsFd, AsRawFd, OwnedFd};

use mio::net::TcpStream;
use nix::errno::Errno;
use nix::sys::socket::{bind, getsockopt, setsockopt, sockopt, AddressFamily, SockaddrStorage};

/// `Errno` as lower-case prose, e.g. "connection refused".
pub fn errno_text(errno: Errno) -> String {
    let desc = errno.desc();
    let mut chars = desc.chars();
    match chars.next() {
        Some(first) => first.to_lowercase().chain(chars).collect(),
        None => format!("{errno:?}"),
    }
}

/// `io::Error` as lower-case prose.
pub fn io_error_text(err: &io::Error) -> String {
    match err.raw_os_error() {
        Some(code) => errno_text(Errno::from_raw(code)),
        None => err.to_string(),
    }
}

pub fn family_of(addr: IpAddr) -> AddressFamily {
    match addr {
        IpAddr::V4(_) => AddressFamily::Inet,
        IpAddr::V6(_) => AddressFamily::Inet6,
    }
}

/// Bind `fd` to `source` with port 0 (kernel-chosen), e.g. for a per-family
/// probe source address.
pub fn bind_source(fd: &OwnedFd, source: IpAddr) -> Result<(), String> {
    let addr = SockaddrStorage::from(SocketAddr::new(source, 0));
    bind(fd.as_raw_fd(), &addr).map_err(|e| format!("bind {source}: {}", errno_text(e)))
}

/// Hold back the handshake's final ACK on every connection this socket
/// makes, as HAProxy does for its checks (with `TCP_QUICKACK` off): the
/// kernel waits for data to carry it, or for the delayed-ACK timer (up to
/// 200 ms). A tcp probe resets the connection as soon as the SYN-ACK is in,
/// so the backend's kernel drops the half-open request and never builds a
/// connection for the application to accept; an http or https probe's
/// first bytes carry the ACK. Either way one segment (and, for tcp, a whole
/// accept/read/close on the backend) less per probe.
///
/// `TCP_DEFER_ACCEPT` on a connecting socket has this effect (the SYN-SENT
/// state looks at it as at `TCP_QUICKACK` off), and unlike `TCP_QUICKACK`,
/// which `connect(AF_UNSPEC)` resets, it survives the disconnect: set once
/// when the pool opens the socket, not once per probe. Best effort: on
/// failure the probe just sends the ACK as usual.
pub fn defer_handshake_ack(fd: &impl AsRawFd) {
    use nix::libc::{c_int, socklen_t};
    // Seconds; any non-zero value turns the deferral on.
    let on: c_int = 1;
    // SAFETY: `fd` is an open socket borrowed for the whole call, and the
    // option points at a live `c_int` whose exact size is passed.
    let _ = unsafe {
        nix::libc::setsockopt(
            fd.as_raw_fd(),
            nix::libc::IPPROTO_TCP,
            nix::libc::TCP_DEFER_ACCEPT,
            std::ptr::addr_of!(on).cast(),
            std::mem::size_of::<c_int>() as socklen_t,
        )
    };
}

/// After a readiness event on a connecting socket: `Ok(true)` connected,
/// `Ok(false)` still connecting (spurious wake-up), `Err(detail)` failed.
pub fn connect_outcome(stream: &TcpStream, event: &mio::event::Event) -> Result<bool, String> {
    if event.is_error() || event.is_write_closed() {
        // Only now is the errno worth a syscall: it becomes the detail.
        return match getsockopt(&stream.as_fd(), sockopt::SocketError) {
            // Connected, then closed by the peer: the connect itself worked.
            Ok(0) => Ok(true),
            Ok(code) => Err(errno_text(Errno::from_raw(code))),
            Err(e) => Err(format!("getsockopt: {}", errno_text(e))),
        };
    }
    Ok(event.is_writable() || event.is_read_closed())
}

/// Make the coming `close` abortive (RST, no TIME_WAIT). Best effort: if it
/// fails the socket merely closes gracefully.
pub fn set_linger_zero(stream: &TcpStream) {
    let linger = nix::libc::linger {
        l_onoff: 1,
        l_linger: 0,
    };
    let _ = setsockopt(&stream.as_fd(), sockopt::Linger, &linger);
}

/// `read` that maps `Interrupted` to a retry and reports `WouldBlock` as `None`.
pub fn read_some(stream: &mut TcpStream, buf: &mut [u8]) -> io::Result<Option<usize>> {
    use std::io::Read;
    loop {
        match stream.read(buf) {
            Ok(n) => return Ok(Some(n)),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(None),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        }
    }
}

/// `write` with the same conventions as [`read_some`].
pub fn write_some(stream: &mut TcpStream, data: &[u8]) -> io::Result<Option<usize>> {
    use std::io::Write;
    loop {
        match stream.write(data) {
            Ok(n) => return Ok(Some(n)),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(None),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        }
    }
}
