//! Errors of the stats segment reader. Every variant carries the offsets or
//! values that made a read fail, so a DEBUG log line says what was wrong.

use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StatsError {
    /// A fixed-size read (`what`) at `offset` does not fit in the segment.
    Truncated {
        what: &'static str,
        offset: u64,
        len: u64,
        size: u64,
    },
    /// Header `version` is not the one this reader understands (2).
    UnsupportedVersion { found: u64 },
    /// A pointer lies below VPP's mapping base (negative relocation).
    PointerBelowBase {
        what: &'static str,
        pointer: u64,
        base: u64,
    },
    /// A relocated pointer is 0 (the header) or past the end of the segment.
    PointerOutOfRange {
        what: &'static str,
        pointer: u64,
        offset: u64,
        size: u64,
    },
    /// A vector's length does not fit between its data and the segment end.
    VectorTooLong {
        what: &'static str,
        offset: u64,
        len: u64,
        elem_size: u64,
        size: u64,
    },
    /// A directory index at or past the directory length.
    EntryOutOfRange { index: usize, len: usize },
    /// A directory entry's 128-byte name field has no NUL terminator.
    NameNotTerminated { index: usize },
    /// The entry exists but has a type the caller cannot use.
    WrongType {
        name: String,
        found: u32,
        expected: &'static str,
    },
    /// A symlink points outside the directory, at another symlink or at an
    /// entry that holds no counter vector.
    BadSymlink {
        index: usize,
        target: u32,
        target_type: Option<u32>,
    },
    /// No directory entry has this name.
    NotFound { name: String },
    /// Copying one read would exceed the byte budget (the segment size):
    /// only a corrupt segment gets here, e.g. many rows aliasing one vector.
    BudgetExceeded { limit: u64 },
    /// VPP kept `in_progress` set for all polls of all attempts.
    Busy { attempts: u32 },
    /// Every attempt saw the epoch or `in_progress` change under it.
    Unstable { attempts: u32 },
}

impl StatsError {
    /// Errors that re-reading cannot cure even if the segment changes: the
    /// segment layout is not one we speak.
    pub fn is_permanent(&self) -> bool {
        matches!(self, StatsError::UnsupportedVersion { .. })
    }
}

impl fmt::Display for StatsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StatsError::Truncated {
                what,
                offset,
                len,
                size,
            } => write!(
                f,
                "stats segment: {what} ({len} bytes at offset {offset}) beyond segment size {size}"
            ),
            StatsError::UnsupportedVersion { found } => {
                write!(f, "stats segment: version {found}, expected 2")
            }
            StatsError::PointerBelowBase {
                what,
                pointer,
                base,
            } => write!(
                f,
                "stats segment: {what} pointer {pointer:#x} below segment base {base:#x}"
            ),
            StatsError::PointerOutOfRange {
                what,
                pointer,
                offset,
                size,
            } => write!(
                f,
                "stats segment: {what} pointer {pointer:#x} (offset {offset}) outside segment of {size} bytes"
            ),
            StatsError::VectorTooLong {
                what,
                offset,
                len,
                elem_size,
                size,
            } => write!(
                f,
                "stats segment: {what} vector at offset {offset} claims {len} elements of {elem_size} bytes, segment is {size} bytes"
            ),
            StatsError::EntryOutOfRange { index, len } => write!(
                f,
                "stats segment: directory index {index} out of range (directory has {len} entries)"
            ),
            StatsError::NameNotTerminated { index } => {
                write!(f, "stats segment: directory entry {index} name has no NUL")
            }
            StatsError::WrongType {
                name,
                found,
                expected,
            } => write!(
                f,
                "stats segment: entry {name:?} has type {found}, expected {expected}"
            ),
            StatsError::BadSymlink {
                index,
                target,
                target_type,
            } => match target_type {
                Some(t) => write!(
                    f,
                    "stats segment: symlink {index} targets entry {target} of type {t}"
                ),
                None => write!(
                    f,
                    "stats segment: symlink {index} targets entry {target} outside the directory"
                ),
            },
            StatsError::NotFound { name } => write!(f, "stats segment: no entry named {name:?}"),
            StatsError::BudgetExceeded { limit } => write!(
                f,
                "stats segment: read would copy more than {limit} bytes (corrupt vectors)"
            ),
            StatsError::Busy { attempts } => write!(
                f,
                "stats segment: VPP kept in_progress set over {attempts} attempts"
            ),
            StatsError::Unstable { attempts } => write!(
                f,
                "stats segment: epoch changed during each of {attempts} attempts"
            ),
        }
    }
}

impl std::error::Error for StatsError {}
