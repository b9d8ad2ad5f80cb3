//! vppsim's stats segment: a memfd laid out like VPP's version-2 segment
//! (STATS.md), mapped read-write by the simulator and handed to clients over
//! a `SOCK_SEQPACKET` socket with `SCM_RIGHTS`, as VPP does. It carries
//! `/sys/boottime`, `/sys/heartbeat`, lb's four per-VIP counters and
//! `/net/route/to`, kept equal to the lb model's counters by [`writer`].
//!
//! This module is the I/O shell: the memfd and its mapping
//! ([`SharedMapping`]), the listener ([`StatsListener`]) and
//! [`StatsSegment`], which the server syncs after every request and every
//! `SimHandle::with_lb`. A simulator restart makes a new segment (new memfd,
//! new boottime), like a VPP restart.

pub mod writer;

#[cfg(test)]
mod tests;

use std::io::{self, IoSlice};
use std::num::NonZeroUsize;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};
use std::path::{Path, PathBuf};
use std::ptr::NonNull;
use std::sync::atomic::{fence, AtomicU64, Ordering};

use nix::errno::Errno;
use nix::sys::memfd::{memfd_create, MemFdCreateFlag};
use nix::sys::mman::{mmap, munmap, MapFlags, ProtFlags};
use nix::sys::socket::{
    accept4, bind, listen, sendmsg, socket, AddressFamily, Backlog, ControlMessage, MsgFlags,
    SockFlag, SockType, UnixAddr,
};
use nix::unistd::ftruncate;

use self::writer::{SegmentWriter, WritableMemory};
use crate::sim::lb::LbState;

/// Size of the simulator's segment (VPP's default is 32 MiB; the
/// simulator's few counters fit in much less).
pub const SEGMENT_SIZE: usize = 4 << 20;

/// The segment memfd mapped read-write (`MAP_SHARED`) in this process.
#[derive(Debug)]
pub struct SharedMapping {
    memfd: OwnedFd,
    base: NonNull<u8>,
    len: usize,
}

// SAFETY: the mapping is owned by this value and only written through
// `&mut self`; the raw pointer is what keeps the type from being Send.
unsafe impl Send for SharedMapping {}

fn errno_to_io(errno: Errno) -> io::Error {
    io::Error::from_raw_os_error(errno as i32)
}

impl SharedMapping {
    /// A new memfd named like VPP's ("stat segment") of `len` bytes, zeroed.
    pub fn create(len: usize) -> io::Result<SharedMapping> {
        let size = NonZeroUsize::new(len)
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "empty stats segment"))?;
        let memfd =
            memfd_create(c"stat segment", MemFdCreateFlag::MFD_CLOEXEC).map_err(errno_to_io)?;
        let file_len = i64::try_from(len)
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "stats segment too big"))?;
        ftruncate(&memfd, file_len).map_err(errno_to_io)?;
        // SAFETY: a fresh shared mapping of a memfd we own and sized above;
        // no Rust reference ever covers it (writes go through raw pointers).
        let pointer = unsafe {
            mmap(
                None,
                size,
                ProtFlags::PROT_READ | ProtFlags::PROT_WRITE,
                MapFlags::MAP_SHARED,
                &memfd,
                0,
            )
        }
        .map_err(errno_to_io)?;
        Ok(SharedMapping {
            memfd,
            base: pointer.cast(),
            len,
        })
    }

    /// Address of the mapping: the segment's `base`, so readers relocate
    /// pointers exactly as they do for VPP's.
    pub fn address(&self) -> u64 {
        self.base.as_ptr() as u64
    }

    pub fn memfd(&self) -> BorrowedFd<'_> {
        self.memfd.as_fd()
    }

    fn in_bounds(&self, offset: usize, len: usize) -> bool {
        offset.checked_add(len).is_some_and(|end| end <= self.len)
    }
}

impl WritableMemory for SharedMapping {
    fn size(&self) -> usize {
        self.len
    }

    fn write_bytes(&mut self, offset: usize, bytes: &[u8]) {
        if self.in_bounds(offset, bytes.len()) {
            // SAFETY: in bounds of our live mapping; `bytes` is ordinary
            // memory, so the ranges cannot overlap.
            unsafe {
                std::ptr::copy_nonoverlapping(
                    bytes.as_ptr(),
                    self.base.as_ptr().add(offset),
                    bytes.len(),
                );
            }
        }
    }

    fn store_u64(&mut self, offset: usize, value: u64) {
        if self.in_bounds(offset, 8) && offset % 8 == 0 {
            // SAFETY: in bounds, 8-byte aligned (the mapping is page
            // aligned), writable, and only ever accessed atomically or by
            // other processes.
            let word = unsafe { AtomicU64::from_ptr(self.base.as_ptr().add(offset).cast()) };
            word.store(value.to_le(), Ordering::Release);
        }
    }

    fn barrier(&mut self) {
        fence(Ordering::SeqCst);
    }
}

impl Drop for SharedMapping {
    fn drop(&mut self) {
        // SAFETY: base/len are what mmap returned and nothing refers to the
        // mapping once self is gone. Clients keep their own mappings.
        let _ = unsafe { munmap(self.base.cast(), self.len) };
    }
}

/// One incarnation's segment.
#[derive(Debug)]
pub struct StatsSegment {
    writer: SegmentWriter<SharedMapping>,
}

impl StatsSegment {
    /// A fresh segment of [`SEGMENT_SIZE`] for a VPP booted at `boottime`
    /// (Unix seconds).
    pub fn create(boottime: u64) -> io::Result<StatsSegment> {
        let mapping = SharedMapping::create(SEGMENT_SIZE)?;
        let base = mapping.address();
        Ok(StatsSegment {
            writer: SegmentWriter::new(mapping, base, boottime),
        })
    }

    /// Brings the segment up to the model; `/sys/heartbeat` follows VPP's
    /// 10-second collector (uptime / 10).
    pub fn sync(&mut self, lb: &LbState, uptime_secs: u32) {
        let reported = self.writer.clamped();
        self.writer.sync(lb, u64::from(uptime_secs / 10));
        if reported.is_none() {
            if let Some(clamped) = self.writer.clamped() {
                crate::logev!(
                    log::Level::Warn,
                    "vppsim-stats-segment-full",
                    vip_len = clamped.vip_len,
                    route_len = clamped.route_len
                );
            }
        }
    }

    pub fn memfd(&self) -> BorrowedFd<'_> {
        self.writer.memory().memfd()
    }

    pub fn boottime(&self) -> u64 {
        self.writer.boottime()
    }

    pub fn epoch(&self) -> u64 {
        self.writer.epoch()
    }
}

/// VPP's stats socket: every accepted connection gets one empty message
/// carrying the segment fd, then is closed.
#[derive(Debug)]
pub struct StatsListener {
    socket: OwnedFd,
    path: PathBuf,
}

impl StatsListener {
    /// Binds a non-blocking `SOCK_SEQPACKET` listener at `path`, replacing a
    /// stale file.
    pub fn bind(path: &Path) -> io::Result<StatsListener> {
        match std::fs::remove_file(path) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
        let addr = UnixAddr::new(path).map_err(errno_to_io)?;
        let socket = socket(
            AddressFamily::Unix,
            SockType::SeqPacket,
            SockFlag::SOCK_NONBLOCK | SockFlag::SOCK_CLOEXEC,
            None,
        )
        .map_err(errno_to_io)?;
        bind(socket.as_raw_fd(), &addr).map_err(errno_to_io)?;
        let backlog = Backlog::new(64).map_err(errno_to_io)?;
        listen(&socket, backlog).map_err(errno_to_io)?;
        Ok(StatsListener {
            socket,
            path: path.to_path_buf(),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// For registration with mio (`SourceFd`).
    pub fn raw_fd(&self) -> RawFd {
        self.socket.as_raw_fd()
    }

    /// Answers every pending connection with `memfd`; returns how many.
    /// A client that went away before its message is simply skipped.
    pub fn serve_pending(&self, memfd: BorrowedFd<'_>) -> io::Result<usize> {
        let mut served = 0;
        loop {
            let raw = match accept4(self.socket.as_raw_fd(), SockFlag::SOCK_CLOEXEC) {
                Ok(raw) => raw,
                Err(Errno::EAGAIN) => return Ok(served),
                Err(Errno::EINTR | Errno::ECONNABORTED) => continue,
                Err(errno) => return Err(errno_to_io(errno)),
            };
            // SAFETY: accept4 just returned this fd; nothing else owns it.
            let conn = unsafe { OwnedFd::from_raw_fd(raw) };
            let fds = [memfd.as_raw_fd()];
            let cmsgs = [ControlMessage::ScmRights(&fds)];
            let iov: [IoSlice; 0] = [];
            match sendmsg::<UnixAddr>(
                conn.as_raw_fd(),
                &iov,
                &cmsgs,
                MsgFlags::MSG_DONTWAIT | MsgFlags::MSG_NOSIGNAL,
                None,
            ) {
                Ok(_) => served += 1,
                Err(errno) => {
                    crate::logev!(log::Level::Debug, "vppsim-stats-send-failed", error = errno)
                }
            }
        }
    }

    /// Closes the socket and removes its file.
    pub fn close(self) {
        let path = self.path.clone();
        drop(self);
        let _ = std::fs::remove_file(path);
    }
}
