//! The I/O shell against a real kernel: a memfd holding the captured
//! segment is handed over a SOCK_SEQPACKET socket with SCM_RIGHTS, exactly as
//! VPP does, then mapped and read.

use std::fs::File;
use std::io::{IoSlice, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use nix::errno::Errno;
use nix::sys::memfd::{memfd_create, MemFdCreateFlag};
use nix::sys::socket::{
    accept, bind, listen, sendmsg, socket, AddressFamily, Backlog, ControlMessage, MsgFlags,
    SockFlag, SockType, UnixAddr,
};
use nix::sys::stat::fstat;

use super::client::{connect_blocking, ClientError, StatsConnector};
use super::counters::{read_boottime, read_lb_counters, VipQuery};
use super::tests_fixture::{expected, fixture_segment};
use super::{DirectoryIndex, ReadPolicy, SegmentMemory};

const TIMEOUT: Duration = Duration::from_secs(5);

/// A private directory for one test's socket, removed on drop.
struct TempDir(PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn temp_socket_path(tag: &str) -> (TempDir, PathBuf) {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!("maglev-stats-{}-{tag}-{n}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("stats.sock");
    (TempDir(dir), path)
}

fn memfd_with(bytes: &[u8]) -> OwnedFd {
    let fd = memfd_create(c"stat segment", MemFdCreateFlag::MFD_CLOEXEC).unwrap();
    let mut file = File::from(fd);
    file.write_all(bytes).unwrap();
    OwnedFd::from(file)
}

/// Listen at `path` and answer one connection per element of `fds` like
/// VPP: a 0-byte message carrying the fd (or none), then close.
fn serve(path: &PathBuf, fds: Vec<Option<OwnedFd>>, delay: Duration) -> JoinHandle<()> {
    let listener = socket(
        AddressFamily::Unix,
        SockType::SeqPacket,
        SockFlag::SOCK_CLOEXEC,
        None,
    )
    .unwrap();
    bind(listener.as_raw_fd(), &UnixAddr::new(path).unwrap()).unwrap();
    listen(&listener, Backlog::new(4).unwrap()).unwrap();
    std::thread::spawn(move || {
        for fd in fds {
            std::thread::sleep(delay);
            // SAFETY: accept just returned a new fd that nothing else owns.
            let conn = unsafe { OwnedFd::from_raw_fd(accept(listener.as_raw_fd()).unwrap()) };
            let raw: Vec<i32> = fd.iter().map(|f| f.as_raw_fd()).collect();
            let cmsgs: Vec<ControlMessage> = if raw.is_empty() {
                Vec::new()
            } else {
                vec![ControlMessage::ScmRights(&raw)]
            };
            let iov: [IoSlice; 0] = [];
            sendmsg::<UnixAddr>(conn.as_raw_fd(), &iov, &cmsgs, MsgFlags::empty(), None).unwrap();
        }
    })
}

#[test]
fn blocking_client_maps_segment_sent_with_scm_rights() {
    let bytes = fixture_segment();
    let memfd = memfd_with(bytes);
    let memfd_inode = fstat(memfd.as_raw_fd()).unwrap().st_ino as u64;
    let (_dir, path) = temp_socket_path("blocking");
    let dup = memfd.try_clone().unwrap();
    let server = serve(&path, vec![Some(memfd), Some(dup)], Duration::ZERO);

    let first = connect_blocking(&path, TIMEOUT).unwrap();
    let second = connect_blocking(&path, TIMEOUT).unwrap();
    server.join().unwrap();

    assert_eq!(first.len(), bytes.len());
    assert_eq!(first.inode(), memfd_inode);
    assert!(first.same_segment(&second));
    let mut index = DirectoryIndex::new();
    let boottime = read_boottime(&first, &mut index, ReadPolicy::default()).unwrap();
    assert_eq!(boottime, expected()["boottime"]["value"].as_u64().unwrap());
    // The mapping reads exactly like the byte slice, unaligned loads too.
    for offset in [0, 8, 16, 120_512 - 8, 120_512 + 3, bytes.len() - 8] {
        assert_eq!(first.load_u64(offset), bytes.load_u64(offset), "{offset}");
    }
    assert_eq!(first.load_u64(bytes.len() - 7), None);
    let query = [VipQuery {
        lb_index: 1,
        fib_index: Some(8),
    }];
    let from_map = read_lb_counters(&second, &mut index, ReadPolicy::default(), &query).unwrap();
    let from_bytes = read_lb_counters(
        bytes,
        &mut DirectoryIndex::new(),
        ReadPolicy::default(),
        &query,
    );
    assert_eq!(Ok(from_map), from_bytes);
}

#[test]
fn nonblocking_connector_reports_pending_then_ready() {
    let memfd = memfd_with(fixture_segment());
    let (_dir, path) = temp_socket_path("nonblocking");
    // VPP accepts from its main loop: the fd arrives some time after connect.
    let server = serve(&path, vec![Some(memfd)], Duration::from_millis(300));
    let mut connector = StatsConnector::connect(&path).unwrap();
    assert!(connector.poll_receive().unwrap().is_none());
    let mut mapped = None;
    for _ in 0..500 {
        if let Some(segment) = connector.poll_receive().unwrap() {
            mapped = Some(segment);
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    server.join().unwrap();
    let mapped = mapped.expect("fd never arrived");
    let boottime = read_boottime(&mapped, &mut DirectoryIndex::new(), ReadPolicy::default());
    assert_eq!(boottime.ok(), expected()["boottime"]["value"].as_u64());
}

#[test]
fn restarted_vpp_has_a_different_inode() {
    let old = memfd_with(fixture_segment());
    let new = memfd_with(fixture_segment());
    let (_dir, path) = temp_socket_path("restart");
    let server = serve(&path, vec![Some(old), Some(new)], Duration::ZERO);
    let before = connect_blocking(&path, TIMEOUT).unwrap();
    let after = connect_blocking(&path, TIMEOUT).unwrap();
    server.join().unwrap();
    assert!(!before.same_segment(&after));
    assert_ne!(before.inode(), after.inode());
}

#[test]
fn connection_failures_are_errors() {
    let (_dir, path) = temp_socket_path("missing");
    let err = connect_blocking(&path, TIMEOUT).unwrap_err();
    assert!(
        matches!(
            err,
            ClientError::Connect {
                errno: Errno::ENOENT,
                ..
            }
        ),
        "{err:?}"
    );
    let err = StatsConnector::connect(&path).unwrap_err();
    assert!(matches!(err, ClientError::Connect { .. }), "{err:?}");

    let (_dir, path) = temp_socket_path("nofd");
    let server = serve(&path, vec![None], Duration::ZERO);
    let err = connect_blocking(&path, TIMEOUT).unwrap_err();
    server.join().unwrap();
    assert!(matches!(err, ClientError::NoFd { .. }), "{err:?}");

    let empty = memfd_with(&[]);
    let (_dir, path) = temp_socket_path("empty");
    let server = serve(&path, vec![Some(empty)], Duration::ZERO);
    let err = connect_blocking(&path, TIMEOUT).unwrap_err();
    server.join().unwrap();
    assert_eq!(err, ClientError::BadSize { size: 0 });
}

#[test]
fn blocking_client_times_out_when_vpp_never_answers() {
    let (_dir, path) = temp_socket_path("silent");
    let listener = socket(
        AddressFamily::Unix,
        SockType::SeqPacket,
        SockFlag::SOCK_CLOEXEC,
        None,
    )
    .unwrap();
    bind(listener.as_raw_fd(), &UnixAddr::new(&path).unwrap()).unwrap();
    listen(&listener, Backlog::new(4).unwrap()).unwrap();
    let err = connect_blocking(&path, Duration::from_millis(50)).unwrap_err();
    assert!(
        matches!(
            err,
            ClientError::Receive {
                errno: Errno::EAGAIN,
                ..
            }
        ),
        "{err:?}"
    );
}
