//! VPP's optimistic read protocol (STATS.md §7): note the epoch, wait for
//! `in_progress` to clear, read and copy, then check that neither moved.
//!
//! VPP writers never wait for readers, so a reader must detect and discard a
//! read that overlapped a structural change. Waiting here is a bounded spin
//! (no sleep, no clock: the module stays pure and the daemon loop is never
//! held for long); when VPP stays busy the caller gets `Busy` and simply
//! tries again at its next scrape.

use std::sync::atomic::{fence, Ordering};

use super::error::StatsError;
use super::memory::SegmentMemory;
use super::segment::{Segment, HEADER_LEN, OFF_EPOCH, OFF_IN_PROGRESS};

/// Bounds of one consistent read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReadPolicy {
    /// Whole read attempts before giving up.
    pub max_attempts: u32,
    /// Polls of `in_progress` per attempt before counting the attempt lost.
    pub max_spins: u32,
}

impl Default for ReadPolicy {
    /// VPP holds `in_progress` for microseconds; 8 × 10,000 polls bound a
    /// read to well under a millisecond of spinning in the worst case.
    fn default() -> Self {
        ReadPolicy {
            max_attempts: 8,
            max_spins: 10_000,
        }
    }
}

fn header_word<M: SegmentMemory + ?Sized>(mem: &M, offset: usize) -> Result<u64, StatsError> {
    mem.load_u64(offset).ok_or(StatsError::Truncated {
        what: "header",
        offset: 0,
        len: HEADER_LEN as u64,
        size: mem.len() as u64,
    })
}

/// Run `read` against a [`Segment`] view until it completes without VPP
/// changing the structure underneath.
///
/// A read whose result (success or error) was not bracketed by the same
/// epoch with `in_progress == 0` is discarded and retried. A read that fails
/// under a stable epoch is retried too (STATS.md says a bounds failure is
/// "just retry"), and after the last attempt its error is returned: under a
/// stable epoch it describes real corruption. `UnsupportedVersion` is
/// returned at once.
pub fn read_consistent<M, T, F>(mem: &M, policy: ReadPolicy, mut read: F) -> Result<T, StatsError>
where
    M: SegmentMemory + ?Sized,
    F: FnMut(&Segment<'_, M>) -> Result<T, StatsError>,
{
    let attempts = policy.max_attempts.max(1);
    let mut last_error = None;
    let mut busy = false;
    for _ in 0..attempts {
        let epoch = header_word(mem, OFF_EPOCH)?;
        if !wait_idle(mem, policy.max_spins)? {
            busy = true;
            continue;
        }
        let result = Segment::open(mem).and_then(|segment| read(&segment.pinned_to(epoch)));
        // Order the data loads above before the re-check below (seqlock).
        fence(Ordering::Acquire);
        let stable =
            header_word(mem, OFF_IN_PROGRESS)? == 0 && header_word(mem, OFF_EPOCH)? == epoch;
        if !stable {
            busy = false;
            last_error = None;
            continue;
        }
        match result {
            Ok(value) => return Ok(value),
            Err(error) if error.is_permanent() => return Err(error),
            Err(error) => last_error = Some(error),
        }
    }
    Err(match last_error {
        Some(error) => error,
        None if busy => StatsError::Busy { attempts },
        None => StatsError::Unstable { attempts },
    })
}

/// Spin until `in_progress` reads 0; `false` if it never did.
fn wait_idle<M: SegmentMemory + ?Sized>(mem: &M, max_spins: u32) -> Result<bool, StatsError> {
    for _ in 0..max_spins.max(1) {
        if header_word(mem, OFF_IN_PROGRESS)? == 0 {
            return Ok(true);
        }
        std::hint::spin_loop();
    }
    Ok(false)
}
