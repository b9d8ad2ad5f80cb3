//! The I/O shell around the stats segment: fetch the segment fd from VPP's
//! stats socket (STATS.md §1), map it read-only and expose the mapping as a
//! [`SegmentMemory`] for the pure reader.
//!
//! Two ways in:
//! * [`StatsConnector`] — for the daemon loop. The socket is non-blocking:
//!   `connect()` on a Unix socket completes at once (the connection waits in
//!   VPP's backlog until VPP accepts), and [`StatsConnector::poll_receive`]
//!   returns `Ok(None)` until VPP has sent the fd. The loop registers
//!   [`StatsConnector::as_fd`] for readability with mio, calls
//!   `poll_receive` when woken and drops the connector at its own deadline.
//!   Nothing in here can block the loop.
//! * [`connect_blocking`] — for tools and tests: a blocking socket with
//!   `SO_RCVTIMEO` (like vpp_papi), so it waits at most `timeout`.

use std::fmt;
use std::io::IoSliceMut;
use std::num::NonZeroUsize;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::ptr::NonNull;
use std::time::Duration;

use nix::errno::Errno;
use nix::sys::mman::{mmap, munmap, MapFlags, ProtFlags};
use nix::sys::socket::{
    connect, recvmsg, setsockopt, socket, sockopt, AddressFamily, ControlMessageOwned, MsgFlags,
    SockFlag, SockType, UnixAddr,
};
use nix::sys::stat::fstat;
use nix::sys::time::TimeVal;

use super::memory::{checked_range, SegmentMemory};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientError {
    /// The stats socket path is not a valid Unix socket address.
    BadPath {
        path: PathBuf,
        errno: Errno,
    },
    Socket {
        errno: Errno,
    },
    /// `connect()` failed: ENOENT while VPP is down, ECONNREFUSED for a
    /// socket left behind by a crashed VPP, EAGAIN when its backlog is full.
    Connect {
        path: PathBuf,
        errno: Errno,
    },
    Receive {
        path: PathBuf,
        errno: Errno,
    },
    /// VPP closed the connection (or sent a message) without an fd.
    NoFd {
        path: PathBuf,
    },
    Stat {
        errno: Errno,
    },
    /// `st_size` is 0, negative or does not fit in memory.
    BadSize {
        size: i64,
    },
    Map {
        size: usize,
        errno: Errno,
    },
}

impl fmt::Display for ClientError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ClientError::BadPath { path, errno } => {
                write!(f, "stats socket path {}: {errno}", path.display())
            }
            ClientError::Socket { errno } => write!(f, "stats socket: {errno}"),
            ClientError::Connect { path, errno } => {
                write!(f, "connect to stats socket {}: {errno}", path.display())
            }
            ClientError::Receive { path, errno } => {
                write!(f, "receive segment fd from {}: {errno}", path.display())
            }
            ClientError::NoFd { path } => {
                write!(f, "stats socket {} sent no segment fd", path.display())
            }
            ClientError::Stat { errno } => write!(f, "fstat of stats segment fd: {errno}"),
            ClientError::BadSize { size } => write!(f, "stats segment size {size} unusable"),
            ClientError::Map { size, errno } => {
                write!(f, "mmap of {size}-byte stats segment: {errno}")
            }
        }
    }
}

impl std::error::Error for ClientError {}

/// VPP's stats segment mapped read-only into this process.
///
/// Reads use volatile loads because VPP writes concurrently: the compiler
/// must neither cache nor merge them (an aligned 8-byte volatile load is a
/// single `mov` on x86-64/aarch64, so counters are never torn). We cannot use
/// `AtomicU64::from_ptr`, whose contract requires writable memory.
///
/// VPP never shrinks its memfd, so the mapping cannot SIGBUS; after VPP
/// exits it simply freezes (STATS.md §8) until dropped.
#[derive(Debug)]
pub struct MappedSegment {
    base: NonNull<u8>,
    len: usize,
    device: u64,
    inode: u64,
}

impl MappedSegment {
    /// Map the segment behind `fd` (which may be closed afterwards).
    pub fn from_fd(fd: BorrowedFd<'_>) -> Result<Self, ClientError> {
        let stat = fstat(fd.as_raw_fd()).map_err(|errno| ClientError::Stat { errno })?;
        let size: i64 = stat.st_size;
        let len = usize::try_from(size)
            .ok()
            .and_then(NonZeroUsize::new)
            .ok_or(ClientError::BadSize { size })?;
        // SAFETY: a fresh read-only shared mapping of a file we hold open;
        // no Rust reference ever covers it (all reads are volatile).
        let pointer = unsafe { mmap(None, len, ProtFlags::PROT_READ, MapFlags::MAP_SHARED, fd, 0) }
            .map_err(|errno| ClientError::Map {
                size: len.get(),
                errno,
            })?;
        Ok(MappedSegment {
            base: pointer.cast(),
            len: len.get(),
            device: stat.st_dev as u64,
            inode: stat.st_ino as u64,
        })
    }

    /// Inode of VPP's memfd: every connection to the same VPP process maps
    /// the same inode, a restarted VPP hands out a new one.
    pub fn inode(&self) -> u64 {
        self.inode
    }

    pub fn device(&self) -> u64 {
        self.device
    }

    /// Whether both mappings show the same VPP segment (same VPP process).
    pub fn same_segment(&self, other: &MappedSegment) -> bool {
        (self.device, self.inode) == (other.device, other.inode)
    }

    fn byte_at(&self, offset: usize) -> u8 {
        // SAFETY: callers checked offset < len; the mapping is live while
        // self is.
        unsafe { std::ptr::read_volatile(self.base.as_ptr().add(offset)) }
    }
}

impl Drop for MappedSegment {
    fn drop(&mut self) {
        // SAFETY: base/len are exactly what mmap returned; nothing else
        // refers to the mapping once self is gone. An munmap error cannot be
        // acted upon here.
        let _ = unsafe { munmap(self.base.cast(), self.len) };
    }
}

impl SegmentMemory for MappedSegment {
    fn len(&self) -> usize {
        self.len
    }

    fn load_u64(&self, offset: usize) -> Option<u64> {
        checked_range(offset, 8, self.len)?;
        if offset % 8 == 0 {
            // SAFETY: in bounds (checked above) and 8-byte aligned (the
            // mapping is page-aligned).
            let word =
                unsafe { std::ptr::read_volatile(self.base.as_ptr().add(offset).cast::<u64>()) };
            return Some(u64::from_le(word));
        }
        let mut raw = [0u8; 8];
        self.read_bytes(offset, &mut raw)?;
        Some(u64::from_le_bytes(raw))
    }

    fn read_bytes(&self, offset: usize, out: &mut [u8]) -> Option<()> {
        let range = checked_range(offset, out.len(), self.len)?;
        for (slot, at) in out.iter_mut().zip(range) {
            *slot = self.byte_at(at);
        }
        Some(())
    }
}

/// A pending fetch of the segment fd over a non-blocking socket.
#[derive(Debug)]
pub struct StatsConnector {
    socket: OwnedFd,
    path: PathBuf,
}

fn unix_addr(path: &Path) -> Result<UnixAddr, ClientError> {
    UnixAddr::new(path).map_err(|errno| ClientError::BadPath {
        path: path.to_path_buf(),
        errno,
    })
}

fn seqpacket_socket(flags: SockFlag) -> Result<OwnedFd, ClientError> {
    socket(
        AddressFamily::Unix,
        SockType::SeqPacket,
        flags | SockFlag::SOCK_CLOEXEC,
        None,
    )
    .map_err(|errno| ClientError::Socket { errno })
}

impl StatsConnector {
    /// Open a non-blocking connection to the stats socket at `path`.
    pub fn connect(path: &Path) -> Result<Self, ClientError> {
        let addr = unix_addr(path)?;
        let socket = seqpacket_socket(SockFlag::SOCK_NONBLOCK)?;
        connect(socket.as_raw_fd(), &addr).map_err(|errno| ClientError::Connect {
            path: path.to_path_buf(),
            errno,
        })?;
        Ok(StatsConnector {
            socket,
            path: path.to_path_buf(),
        })
    }

    /// The socket, to register for readability.
    pub fn as_fd(&self) -> BorrowedFd<'_> {
        self.socket.as_fd()
    }

    /// Try to receive the fd and map it. `Ok(None)`: VPP has not sent it yet
    /// (wait for readability). The socket is done with after `Ok(Some(_))`
    /// or an error; drop the connector.
    pub fn poll_receive(&mut self) -> Result<Option<MappedSegment>, ClientError> {
        match receive_segment(&self.socket, &self.path, MsgFlags::MSG_DONTWAIT) {
            Err(ClientError::Receive {
                errno: Errno::EAGAIN,
                ..
            }) => Ok(None),
            other => other.map(Some),
        }
    }
}

/// Fetch and map the segment, waiting at most `timeout` for VPP to send the
/// fd. Blocks the caller: not for the daemon loop (use [`StatsConnector`]).
pub fn connect_blocking(path: &Path, timeout: Duration) -> Result<MappedSegment, ClientError> {
    let addr = unix_addr(path)?;
    let socket = seqpacket_socket(SockFlag::empty())?;
    // A zero SO_RCVTIMEO would mean "wait forever".
    let timeout = timeout.max(Duration::from_millis(1));
    let timeval = TimeVal::new(
        timeout.as_secs().try_into().unwrap_or(i64::MAX),
        timeout.subsec_micros().into(),
    );
    setsockopt(&socket, sockopt::ReceiveTimeout, &timeval)
        .map_err(|errno| ClientError::Socket { errno })?;
    connect(socket.as_raw_fd(), &addr).map_err(|errno| ClientError::Connect {
        path: path.to_path_buf(),
        errno,
    })?;
    receive_segment(&socket, path, MsgFlags::empty())
}

fn receive_segment(
    socket: &OwnedFd,
    path: &Path,
    flags: MsgFlags,
) -> Result<MappedSegment, ClientError> {
    let mut payload = [0u8; 16];
    let mut iov = [IoSliceMut::new(&mut payload)];
    // Room for a few fds: anything beyond one is closed, never leaked.
    let mut control = nix::cmsg_space!([std::os::fd::RawFd; 4]);
    let message = recvmsg::<()>(
        socket.as_raw_fd(),
        &mut iov,
        Some(&mut control),
        flags | MsgFlags::MSG_CMSG_CLOEXEC,
    )
    .map_err(|errno| ClientError::Receive {
        path: path.to_path_buf(),
        errno,
    })?;
    let mut fds: Vec<OwnedFd> = Vec::new();
    for cmsg in message.cmsgs().into_iter().flatten() {
        if let ControlMessageOwned::ScmRights(raw_fds) = cmsg {
            // SAFETY: the kernel just installed these fds for us; wrapping
            // them at once gives each exactly one owner.
            fds.extend(
                raw_fds
                    .into_iter()
                    .map(|fd| unsafe { OwnedFd::from_raw_fd(fd) }),
            );
        }
    }
    let fd = fds.into_iter().next().ok_or(ClientError::NoFd {
        path: path.to_path_buf(),
    })?;
    MappedSegment::from_fd(fd.as_fd())
}

/// Whether a failed fetch is worth retrying soon rather than at the next
/// reconnect interval (VPP busy accepting, interrupted call).
pub fn is_transient(error: &ClientError) -> bool {
    matches!(
        error,
        ClientError::Connect {
            errno: Errno::EAGAIN | Errno::EINTR,
            ..
        } | ClientError::Receive {
            errno: Errno::EAGAIN | Errno::EINTR,
            ..
        }
    )
}
