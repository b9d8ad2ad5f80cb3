//! Open-file limit: every in-flight probe holds a socket, so 10,000 backends
//! need more than the usual 1,024. Raised once at start (and after a reload
//! that grows the backend count) to what the config needs.

use nix::sys::resource::{getrlimit, setrlimit, Resource};

/// File descriptors the daemon needs beyond one per backend.
pub const BASE_FDS: u64 = 64;

/// Descriptors needed for `backends` probers and `control_clients` clients.
pub fn needed(backends: usize, control_clients: usize) -> u64 {
    backends as u64 + control_clients as u64 + BASE_FDS
}

/// Outcome of [`raise_to`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NofileChange {
    pub before: u64,
    pub after: u64,
    pub needed: u64,
    pub hard: u64,
}

/// Raise the soft (and, when permitted, the hard) limit to at least `needed`.
/// Never lowers it. Returns what happened; an error only when the limit could
/// not even be read.
pub fn raise_to(needed: u64) -> nix::Result<NofileChange> {
    let (soft, hard) = getrlimit(Resource::RLIMIT_NOFILE)?;
    if soft >= needed {
        return Ok(NofileChange {
            before: soft,
            after: soft,
            needed,
            hard,
        });
    }
    // Root may raise the hard limit too; otherwise settle for the hard cap.
    if hard < needed && setrlimit(Resource::RLIMIT_NOFILE, needed, needed).is_ok() {
        return Ok(NofileChange {
            before: soft,
            after: needed,
            needed,
            hard: needed,
        });
    }
    let target = needed.min(hard);
    let after = if setrlimit(Resource::RLIMIT_NOFILE, target, hard).is_ok() {
        target
    } else {
        soft
    };
    Ok(NofileChange {
        before: soft,
        after,
        needed,
        hard,
    })
}
