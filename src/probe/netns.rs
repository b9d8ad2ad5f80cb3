//! Where probe sockets are born: the daemon's own network namespace, or the
//! one named by `healthchecker.netns` (spec/config.md §3).
//!
//! A socket keeps the namespace it was created in for its whole life, so only
//! `socket()` itself has to run inside the target namespace. The factory
//! keeps two descriptors open — the target (`/run/netns/<name>`) and our own
//! (`/proc/self/ns/net`, taken at construction) — and brackets each
//! `socket()` with `setns(target)` / `setns(own)`. `setns` acts on the calling
//! thread only, which is exactly the daemon's single event-loop thread.
//!
//! A namespace that cannot be opened or entered is not fatal: every socket
//! request then fails with `enter netns <name>: <errno>`, which the probes
//! report as `L4CON`, so all backends go down visibly. Opening is retried on
//! each request, so a namespace created after start-up is picked up.

use std::fmt;
use std::fs::File;
use std::os::fd::OwnedFd;

use nix::errno::Errno;
use nix::sched::{setns, CloneFlags};
use nix::sys::socket::{socket, AddressFamily, SockFlag, SockProtocol, SockType};

use super::socket::errno_text;

/// Directory `ip netns` keeps its bind-mounted namespace files in.
pub const NETNS_RUN_DIR: &str = "/run/netns";

/// A failed socket request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SocketError {
    /// Opening or entering (or leaving) the named namespace failed.
    EnterNetns { name: String, errno: Errno },
    /// `socket(2)` itself failed.
    Socket(Errno),
}

impl SocketError {
    pub fn errno(&self) -> Errno {
        match self {
            SocketError::EnterNetns { errno, .. } | SocketError::Socket(errno) => *errno,
        }
    }
}

impl fmt::Display for SocketError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SocketError::EnterNetns { name, errno } => {
                write!(f, "enter netns {name}: {}", errno_text(*errno))
            }
            SocketError::Socket(errno) => write!(f, "socket: {}", errno_text(*errno)),
        }
    }
}

#[derive(Debug)]
struct Namespace {
    name: String,
    /// `None` when opening failed at construction; retried per request.
    target: Option<OwnedFd>,
    /// Our own namespace, to return to; `Err` makes every request fail.
    own: Result<OwnedFd, Errno>,
}

/// Creates probe sockets in the configured namespace.
#[derive(Debug)]
pub struct SocketFactory {
    netns: Option<Namespace>,
}

impl SocketFactory {
    /// Sockets in the daemon's own namespace.
    pub fn current() -> Self {
        SocketFactory { netns: None }
    }

    /// Sockets in `/run/netns/<name>`, or the own namespace for `None`.
    pub fn new(netns: Option<&str>) -> Self {
        let Some(name) = netns else {
            return Self::current();
        };
        let own = open_ns("/proc/self/ns/net");
        let target = open_named(name).ok();
        SocketFactory {
            netns: Some(Namespace {
                name: name.to_owned(),
                target,
                own,
            }),
        }
    }

    /// Name of the namespace sockets are created in (`None` = own).
    pub fn netns(&self) -> Option<&str> {
        self.netns.as_ref().map(|ns| ns.name.as_str())
    }

    /// Check that the namespace can be used, for start-up logging.
    pub fn check(&self) -> Result<(), SocketError> {
        match &self.netns {
            None => Ok(()),
            Some(ns) => {
                ns.own.as_ref().map_err(|e| ns.error(*e))?;
                match &ns.target {
                    Some(_) => Ok(()),
                    None => open_named(&ns.name).map(drop).map_err(|e| ns.error(e)),
                }
            }
        }
    }

    /// A close-on-exec, non-blocking socket in the configured namespace.
    pub fn socket(
        &self,
        family: AddressFamily,
        ty: SockType,
        protocol: Option<SockProtocol>,
    ) -> Result<OwnedFd, SocketError> {
        let flags = SockFlag::SOCK_NONBLOCK | SockFlag::SOCK_CLOEXEC;
        let Some(ns) = &self.netns else {
            return socket(family, ty, flags, protocol).map_err(SocketError::Socket);
        };
        let own = ns.own.as_ref().map_err(|e| ns.error(*e))?;
        let opened;
        let target = match &ns.target {
            Some(fd) => fd,
            None => {
                opened = open_named(&ns.name).map_err(|e| ns.error(e))?;
                &opened
            }
        };
        setns(target, CloneFlags::CLONE_NEWNET).map_err(|e| ns.error(e))?;
        let created = socket(family, ty, flags, protocol).map_err(SocketError::Socket);
        if let Err(errno) = setns(own, CloneFlags::CLONE_NEWNET) {
            // The thread is now stuck in the probe namespace; nothing else the
            // daemon opens would be where it expects. Refuse loudly.
            log::error!(
                "event=netns-restore-failed netns={} error={:?}",
                ns.name,
                errno_text(errno)
            );
            return Err(ns.error(errno));
        }
        created
    }
}

impl Namespace {
    fn error(&self, errno: Errno) -> SocketError {
        SocketError::EnterNetns {
            name: self.name.clone(),
            errno,
        }
    }
}

fn open_named(name: &str) -> Result<OwnedFd, Errno> {
    // The name is a file under the run directory, never a path.
    if name.is_empty() || name.contains('/') || name == "." || name == ".." {
        return Err(Errno::EINVAL);
    }
    open_ns(&format!("{NETNS_RUN_DIR}/{name}"))
}

fn open_ns(path: &str) -> Result<OwnedFd, Errno> {
    File::open(path)
        .map(OwnedFd::from)
        .map_err(|e| e.raw_os_error().map_or(Errno::EIO, Errno::from_raw))
}
