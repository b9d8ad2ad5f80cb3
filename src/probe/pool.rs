//! Probe sockets kept open between probes and reused.
//!
//! A TCP probe is cheap in user space; its cost is the kernel's. Creating
//! and freeing a socket per probe (`socket`, `epoll_ctl(ADD)`,
//! `setsockopt(SO_LINGER)`, `close`, plus the socket, file and epoll item
//! allocations behind them) was about 40 % of the kernel time of a loopback
//! TCP probe. Linux lets a TCP socket be dissolved and connected again:
//! `connect` to an `AF_UNSPEC` address (connect(2)) runs `tcp_disconnect`,
//! which resets an established connection (a RST, exactly what the linger-0
//! close sent), releases the ephemeral port and leaves the socket closed,
//! still registered with epoll and ready for the next `connect`.
//!
//! Each pooled socket has its own `mio::Token` (base + id), registered
//! once. The pool records which backend slot owns a socket while a probe
//! uses it, so the loop routes readiness by socket id. An idle socket may
//! still report the hang-up of its last connection; nobody owns it then, so
//! the event is dropped. epoll re-reads a socket's state when it reports an
//! event, so a socket reused for a new connection only ever reports that
//! connection's state.
//!
//! At most [`MAX_IDLE`] sockets wait idle, so a burst of probes in flight
//! (say every backend timing out at once) does not pin thousands of kernel
//! sockets afterwards.

use std::net::IpAddr;
use std::os::fd::AsRawFd;

use mio::net::TcpStream;
use mio::{Interest, Registry, Token};
use nix::sys::socket::SockType;

use super::netns::SocketFactory;
use super::socket::{bind_source, defer_handshake_ack, family_of, set_linger_zero};

/// Idle sockets kept at most (each costs the kernel a few KiB).
pub const MAX_IDLE: usize = 256;

/// Sockets are interchangeable only with the same family and source bind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct PoolKey {
    v6: bool,
    source: Option<IpAddr>,
}

impl PoolKey {
    fn new(dest: IpAddr, source: Option<IpAddr>) -> PoolKey {
        PoolKey {
            v6: dest.is_ipv6(),
            source,
        }
    }
}

/// A probe holds the socket for backend slot `owner`. `epoch` says which
/// namespace generation the socket was made in.
#[derive(Debug, Clone, Copy)]
struct Busy {
    owner: u32,
    key: PoolKey,
    epoch: u32,
}

/// A socket waiting for the next probe.
#[derive(Debug)]
struct Idle {
    id: u32,
    key: PoolKey,
    stream: TcpStream,
}

/// Reusable, epoll-registered TCP sockets for probes.
#[derive(Debug)]
pub struct SocketPool {
    token_base: usize,
    /// By id: `Some` while a probe holds the socket; `None` when it is idle
    /// (then it is in `idle`) or closed (then its id is in `free_ids`).
    busy: Vec<Option<Busy>>,
    idle: Vec<Idle>,
    free_ids: Vec<u32>,
    /// Bumped by [`SocketPool::reset`]: sockets of an older epoch belong to
    /// another network namespace and are closed when they come back.
    epoch: u32,
    /// Sockets opened so far (tests check reuse with it).
    opened: u64,
}

/// A socket lent to one probe: its pool id and the stream.
#[derive(Debug)]
pub struct Lease {
    pub id: u32,
    pub stream: TcpStream,
    /// `true` when the socket was opened for this probe.
    pub fresh: bool,
}

impl SocketPool {
    /// Sockets get tokens `token_base + id`.
    pub fn new(token_base: usize) -> SocketPool {
        SocketPool {
            token_base,
            busy: Vec::new(),
            idle: Vec::new(),
            free_ids: Vec::new(),
            epoch: 0,
            opened: 0,
        }
    }

    pub fn token(&self, id: u32) -> Token {
        Token(self.token_base + id as usize)
    }

    /// The socket id behind `token`, if it is one of the pool's.
    pub fn id_of(&self, token: Token) -> Option<u32> {
        let id = token.0.checked_sub(self.token_base)?;
        (id < self.busy.len()).then_some(id as u32)
    }

    /// The backend slot whose probe holds socket `id`.
    pub fn owner(&self, id: u32) -> Option<u32> {
        self.busy
            .get(id as usize)
            .copied()
            .flatten()
            .map(|b| b.owner)
    }

    /// Sockets opened since the pool was created.
    pub fn opened(&self) -> u64 {
        self.opened
    }

    pub fn idle_count(&self) -> usize {
        self.idle.len()
    }

    /// A closed socket for a connection to `dest` (bound to `source`),
    /// registered for read and write readiness, lent to slot `owner`.
    pub fn acquire(
        &mut self,
        dest: IpAddr,
        source: Option<IpAddr>,
        owner: u32,
        sockets: &SocketFactory,
        registry: &Registry,
    ) -> Result<Lease, String> {
        let key = PoolKey::new(dest, source);
        let busy = Some(Busy {
            owner,
            key,
            epoch: self.epoch,
        });
        // Most configs have one key, so the match is usually the last entry.
        if let Some(pos) = self.idle.iter().rposition(|i| i.key == key) {
            let Idle { id, stream, .. } = self.idle.swap_remove(pos);
            if let Some(slot) = self.busy.get_mut(id as usize) {
                *slot = busy;
            }
            return Ok(Lease {
                id,
                stream,
                fresh: false,
            });
        }
        let fd = sockets
            .socket(family_of(dest), SockType::Stream, None)
            .map_err(|e| e.to_string())?;
        if let Some(source) = source {
            bind_source(&fd, source)?;
        }
        defer_handshake_ack(&fd);
        let mut stream = TcpStream::from_std(std::net::TcpStream::from(fd));
        let id = match self.free_ids.pop() {
            Some(id) => id,
            None => {
                self.busy.push(None);
                (self.busy.len() - 1) as u32
            }
        };
        if let Err(e) = registry.register(
            &mut stream,
            self.token(id),
            Interest::READABLE | Interest::WRITABLE,
        ) {
            self.free_ids.push(id);
            return Err(format!("register: {e}"));
        }
        if let Some(slot) = self.busy.get_mut(id as usize) {
            *slot = busy;
        }
        self.opened += 1;
        Ok(Lease {
            id,
            stream,
            fresh: true,
        })
    }

    /// A probe is done with socket `id`: dissolve its connection (a RST if
    /// it was established) and keep it for the next probe, or close it.
    pub fn release(&mut self, id: u32, stream: TcpStream) {
        let Some(Busy { key, epoch, .. }) = self.busy.get_mut(id as usize).and_then(Option::take)
        else {
            // Not lent out: should not happen; never keep a stray socket.
            close_abortively(stream);
            return;
        };
        if epoch == self.epoch && self.idle.len() < MAX_IDLE && disconnect(&stream) {
            self.idle.push(Idle { id, key, stream });
        } else {
            self.free_ids.push(id);
            close_abortively(stream);
        }
    }

    /// Close every idle socket and make the busy ones close when they come
    /// back (the network namespace changed).
    pub fn reset(&mut self) {
        self.epoch = self.epoch.wrapping_add(1);
        // Dropping an idle (closed) socket sends nothing.
        self.free_ids.extend(self.idle.drain(..).map(|i| i.id));
    }
}

/// `connect(fd, AF_UNSPEC)`: `tcp_disconnect`, which sends a RST when the
/// connection was established and returns the socket to the closed state.
fn disconnect(stream: &TcpStream) -> bool {
    // SAFETY: an all-zero `sockaddr` is a valid value (family AF_UNSPEC);
    // `stream` keeps the descriptor open for the whole call, and the exact
    // size of the address is passed.
    let rc = unsafe {
        let mut addr: nix::libc::sockaddr = std::mem::zeroed();
        addr.sa_family = nix::libc::AF_UNSPEC as nix::libc::sa_family_t;
        nix::libc::connect(
            stream.as_raw_fd(),
            &addr,
            std::mem::size_of::<nix::libc::sockaddr>() as nix::libc::socklen_t,
        )
    };
    rc == 0
}

/// Close without a FIN exchange or TIME_WAIT, as the probes always did.
fn close_abortively(stream: TcpStream) {
    set_linger_zero(&stream);
    drop(stream);
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::{Ipv4Addr, TcpListener};

    #[test]
    fn ids_map_to_tokens_and_back() {
        let pool = SocketPool::new(1000);
        assert_eq!(pool.token(3), Token(1003));
        // Only ids of sockets the pool made are recognised.
        assert_eq!(pool.id_of(Token(1003)), None);
        assert_eq!(pool.id_of(Token(999)), None);
    }

    #[test]
    fn released_sockets_are_reused_and_keyed_by_source() {
        let poll = mio::Poll::new().unwrap();
        let sockets = SocketFactory::current();
        let mut pool = SocketPool::new(1 << 20);
        let dest = IpAddr::V4(Ipv4Addr::LOCALHOST);
        let a = pool
            .acquire(dest, None, 7, &sockets, poll.registry())
            .unwrap();
        assert!(a.fresh);
        assert_eq!(pool.owner(a.id), Some(7));
        assert_eq!(pool.id_of(pool.token(a.id)), Some(a.id));
        let id = a.id;
        pool.release(a.id, a.stream);
        assert_eq!(pool.owner(id), None);
        assert_eq!(pool.idle_count(), 1);
        // Another family cannot take it.
        let v6 = pool
            .acquire("::1".parse().unwrap(), None, 8, &sockets, poll.registry())
            .unwrap();
        assert!(v6.fresh);
        assert_ne!(v6.id, id);
        let b = pool
            .acquire(dest, None, 9, &sockets, poll.registry())
            .unwrap();
        assert!(!b.fresh);
        assert_eq!(b.id, id);
        assert_eq!(pool.owner(id), Some(9));
        assert_eq!(pool.opened(), 2);
        pool.release(b.id, b.stream);
        pool.release(v6.id, v6.stream);
    }

    #[test]
    fn reset_closes_idle_and_returning_sockets() {
        let poll = mio::Poll::new().unwrap();
        let sockets = SocketFactory::current();
        let mut pool = SocketPool::new(1 << 20);
        let dest = IpAddr::V4(Ipv4Addr::LOCALHOST);
        let a = pool
            .acquire(dest, None, 1, &sockets, poll.registry())
            .unwrap();
        let b = pool
            .acquire(dest, None, 2, &sockets, poll.registry())
            .unwrap();
        pool.release(a.id, a.stream);
        pool.reset();
        assert_eq!(pool.idle_count(), 0);
        // `b` was made before the reset: it is closed, not kept.
        pool.release(b.id, b.stream);
        assert_eq!(pool.idle_count(), 0);
        let c = pool
            .acquire(dest, None, 3, &sockets, poll.registry())
            .unwrap();
        assert!(c.fresh);
        pool.release(c.id, c.stream);
        assert_eq!(pool.idle_count(), 1);
    }

    #[test]
    fn idle_sockets_are_capped() {
        let poll = mio::Poll::new().unwrap();
        let sockets = SocketFactory::current();
        let mut pool = SocketPool::new(1 << 20);
        let dest = IpAddr::V4(Ipv4Addr::LOCALHOST);
        let leases: Vec<Lease> = (0..MAX_IDLE + 5)
            .map(|i| {
                pool.acquire(dest, None, i as u32, &sockets, poll.registry())
                    .unwrap()
            })
            .collect();
        for l in leases {
            pool.release(l.id, l.stream);
        }
        assert_eq!(pool.idle_count(), MAX_IDLE);
    }

    #[test]
    fn a_reused_socket_connects_again() {
        // The property everything rests on: after connect(AF_UNSPEC) the
        // same socket connects to another listener.
        let poll = mio::Poll::new().unwrap();
        let sockets = SocketFactory::current();
        let mut pool = SocketPool::new(1 << 20);
        let first = TcpListener::bind("127.0.0.1:0").unwrap();
        let second = TcpListener::bind("127.0.0.1:0").unwrap();
        let dest = IpAddr::V4(Ipv4Addr::LOCALHOST);
        for listener in [&first, &second, &first] {
            let lease = pool
                .acquire(dest, None, 0, &sockets, poll.registry())
                .unwrap();
            let addr = listener.local_addr().unwrap();
            let target = nix::sys::socket::SockaddrStorage::from(addr);
            match nix::sys::socket::connect(lease.stream.as_raw_fd(), &target) {
                Ok(()) | Err(nix::errno::Errno::EINPROGRESS) => {}
                Err(e) => panic!("connect {addr}: {e}"),
            }
            let (_peer, from) = listener.accept().unwrap();
            assert_eq!(from, lease.stream.local_addr().unwrap());
            pool.release(lease.id, lease.stream);
        }
        assert_eq!(pool.opened(), 1);
    }
}
