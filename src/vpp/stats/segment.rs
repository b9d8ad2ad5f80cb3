//! Decoding of the VPP stats segment (layout version 2, STATS.md §2–5) over
//! any [`SegmentMemory`]: header, pointer relocation, VPP vectors, the
//! directory and the values of each entry type.
//!
//! Everything here is pure and treats the segment as hostile: each pointer is
//! relocated with checked arithmetic and bounds-checked, each vector length
//! is capped by what fits in the segment, and every copy is charged to a
//! [`Budget`] of at most the segment size, so a corrupt segment yields a
//! [`StatsError`] — never a panic, an out-of-bounds read or a huge
//! allocation. Consistency with VPP's concurrent writers is the job of
//! [`super::consistency`]; this module reads whatever is there.

use super::error::StatsError;
use super::memory::{checked_range, SegmentMemory};

/// The only layout version this reader understands.
pub const SEGMENT_VERSION: u64 = 2;
/// Bytes of the shared header at offset 0.
pub const HEADER_LEN: usize = 40;
pub(crate) const OFF_VERSION: usize = 0;
pub(crate) const OFF_BASE: usize = 8;
pub(crate) const OFF_EPOCH: usize = 16;
pub(crate) const OFF_IN_PROGRESS: usize = 24;
pub(crate) const OFF_DIRECTORY: usize = 32;
/// Size of one directory entry.
pub const ENTRY_LEN: usize = 144;
const ENTRY_UNION: usize = 8;
const ENTRY_NAME: usize = 16;
/// Name field size, NUL included.
pub const NAME_FIELD_LEN: usize = 128;
/// A VPP vector's length is the u32 this many bytes before element 0.
const VEC_LEN_BEFORE_DATA: usize = 8;
const POINTER_LEN: usize = 8;
const COMBINED_LEN: usize = 16;

/// Directory entry types (STATS.md §5). Other values are skipped.
pub mod entry_type {
    pub const ILLEGAL: u32 = 0;
    pub const SCALAR_INDEX: u32 = 1;
    pub const COUNTER_VECTOR_SIMPLE: u32 = 2;
    pub const COUNTER_VECTOR_COMBINED: u32 = 3;
    pub const NAME_VECTOR: u32 = 4;
    pub const EMPTY: u32 = 5;
    pub const SYMLINK: u32 = 6;
    pub const HISTOGRAM_LOG2: u32 = 7;
    pub const RING_BUFFER: u32 = 8;
    pub const GAUGE: u32 = 9;
}

/// The shared header at offset 0.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    pub version: u64,
    /// Where VPP mapped the segment; pointers are relocated against it.
    pub base: u64,
    pub epoch: u64,
    pub in_progress: u64,
    pub directory_vector: u64,
}

/// Read the header without judging it (no version check).
pub fn read_header<M: SegmentMemory + ?Sized>(mem: &M) -> Result<Header, StatsError> {
    let field = |offset: usize| {
        mem.load_u64(offset).ok_or(StatsError::Truncated {
            what: "header",
            offset: 0,
            len: HEADER_LEN as u64,
            size: mem.len() as u64,
        })
    };
    Ok(Header {
        version: field(OFF_VERSION)?,
        base: field(OFF_BASE)?,
        epoch: field(OFF_EPOCH)?,
        in_progress: field(OFF_IN_PROGRESS)?,
        directory_vector: field(OFF_DIRECTORY)?,
    })
}

/// Byte allowance for copying values out of one read. Starts at the segment
/// size: a consistent segment never needs more for one entry or one dump,
/// because VPP's vectors are distinct allocations inside it.
#[derive(Debug)]
pub struct Budget {
    limit: u64,
    remaining: u64,
}

impl Budget {
    pub fn new(limit: usize) -> Self {
        Budget {
            limit: limit as u64,
            remaining: limit as u64,
        }
    }

    /// Budget for one read of `mem`.
    pub fn for_segment<M: SegmentMemory + ?Sized>(mem: &M) -> Self {
        Budget::new(mem.len())
    }

    pub(crate) fn take(&mut self, bytes: usize) -> Result<(), StatsError> {
        match self.remaining.checked_sub(bytes as u64) {
            Some(rest) => {
                self.remaining = rest;
                Ok(())
            }
            None => Err(StatsError::BudgetExceeded { limit: self.limit }),
        }
    }
}

/// A bounds-checked VPP vector: `len` elements of `elem_size` bytes at
/// segment offset `offset`. The whole extent lies inside the segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VecRef {
    pub offset: usize,
    pub len: usize,
    pub elem_size: usize,
}

impl VecRef {
    const EMPTY: VecRef = VecRef {
        offset: 0,
        len: 0,
        elem_size: 0,
    };

    /// Offset of element `index`, `None` past the end (which for counter
    /// vectors means "never incremented", i.e. 0).
    pub fn element(&self, index: usize) -> Option<usize> {
        if index >= self.len {
            return None;
        }
        // Cannot overflow: offset + len * elem_size was checked at creation.
        Some(self.offset + index * self.elem_size)
    }
}

/// One directory entry as stored (name decoded only for live entry types).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DirEntry {
    /// Position in the directory: what symlinks refer to.
    pub index: usize,
    pub entry_type: u32,
    /// The 8-byte union: value, pointer or `index1 | index2 << 32`.
    pub union: u64,
    /// Empty for ILLEGAL, EMPTY and unknown types, whose names are not read.
    pub name: String,
}

impl DirEntry {
    /// For symlinks: (target directory index, column in the target).
    pub fn symlink_indexes(&self) -> (u32, u32) {
        (self.union as u32, (self.union >> 32) as u32)
    }

    /// Whether the entry is a live statistic worth indexing by name.
    pub fn is_live(&self) -> bool {
        is_live_type(self.entry_type) && !self.name.is_empty()
    }
}

fn is_live_type(entry_type: u32) -> bool {
    (entry_type::SCALAR_INDEX..=entry_type::GAUGE).contains(&entry_type)
        && entry_type != entry_type::EMPTY
}

/// `{packets, bytes}` of a combined counter.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CombinedCounter {
    pub packets: u64,
    pub bytes: u64,
}

/// The decoded value of an entry. Counter shapes are `[thread][index]`;
/// symlink values have one element per thread row of their target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StatValue {
    Scalar(u64),
    Gauge(u64),
    Simple(Vec<Vec<u64>>),
    Combined(Vec<Vec<CombinedCounter>>),
    /// Histogram (type 7): per thread, element 0 is the minimum exponent.
    Histogram(Vec<Vec<u64>>),
    /// A null element pointer stays `None` so positions do not shift.
    Names(Vec<Option<String>>),
    SymlinkSimple(Vec<u64>),
    SymlinkCombined(Vec<CombinedCounter>),
}

/// A read view of one segment at one moment: header checked, directory
/// located. Cheap to create; create a new one per read attempt.
#[derive(Debug)]
pub struct Segment<'m, M: SegmentMemory + ?Sized> {
    mem: &'m M,
    header: Header,
    directory: VecRef,
}

impl<'m, M: SegmentMemory + ?Sized> Segment<'m, M> {
    /// Check the header (version 2) and locate the directory.
    pub fn open(mem: &'m M) -> Result<Self, StatsError> {
        let header = read_header(mem)?;
        if header.version != SEGMENT_VERSION {
            return Err(StatsError::UnsupportedVersion {
                found: header.version,
            });
        }
        let mut segment = Segment {
            mem,
            header,
            directory: VecRef::EMPTY,
        };
        segment.directory = segment.vector(header.directory_vector, ENTRY_LEN, "directory")?;
        Ok(segment)
    }

    /// Record the epoch the read protocol noted before this view was
    /// opened, so caches built from it are keyed by that epoch and are
    /// rebuilt on the next attempt if VPP moved on in between.
    pub(crate) fn pinned_to(mut self, epoch: u64) -> Self {
        self.header.epoch = epoch;
        self
    }

    pub fn header(&self) -> Header {
        self.header
    }

    pub fn memory(&self) -> &'m M {
        self.mem
    }

    /// Number of directory entries (including EMPTY slots).
    pub fn directory_len(&self) -> usize {
        self.directory.len
    }

    /// Segment offset of directory entry 0 (0 when there is no directory).
    pub fn directory_offset(&self) -> usize {
        self.directory.offset
    }

    /// Convert a VPP pointer to a segment offset with room for `len` bytes.
    /// `Ok(None)` for the null pointer.
    pub fn relocate(
        &self,
        pointer: u64,
        len: usize,
        what: &'static str,
    ) -> Result<Option<usize>, StatsError> {
        if pointer == 0 {
            return Ok(None);
        }
        let size = self.mem.len();
        let offset = pointer
            .checked_sub(self.header.base)
            .ok_or(StatsError::PointerBelowBase {
                what,
                pointer,
                base: self.header.base,
            })?;
        let out_of_range = StatsError::PointerOutOfRange {
            what,
            pointer,
            offset,
            size: size as u64,
        };
        // Offset 0 is the header: no vector can live there.
        let offset = usize::try_from(offset)
            .ok()
            .filter(|&o| o > 0)
            .ok_or(out_of_range.clone())?;
        checked_range(offset, len, size).ok_or(out_of_range)?;
        Ok(Some(offset))
    }

    /// Locate the vector whose element 0 is at `pointer`; the null pointer
    /// is an empty vector. The length is capped by what fits.
    pub fn vector(
        &self,
        pointer: u64,
        elem_size: usize,
        what: &'static str,
    ) -> Result<VecRef, StatsError> {
        let Some(offset) = self.relocate(pointer, 0, what)? else {
            return Ok(VecRef::EMPTY);
        };
        let size = self.mem.len();
        let len_offset =
            offset
                .checked_sub(VEC_LEN_BEFORE_DATA)
                .ok_or(StatsError::PointerOutOfRange {
                    what,
                    pointer,
                    offset: offset as u64,
                    size: size as u64,
                })?;
        let len = self.mem.load_u32(len_offset).ok_or(StatsError::Truncated {
            what,
            offset: len_offset as u64,
            len: 4,
            size: size as u64,
        })? as usize;
        let fits = len
            .checked_mul(elem_size)
            .and_then(|bytes| checked_range(offset, bytes, size))
            .is_some();
        if !fits {
            return Err(StatsError::VectorTooLong {
                what,
                offset: offset as u64,
                len: len as u64,
                elem_size: elem_size as u64,
                size: size as u64,
            });
        }
        Ok(VecRef {
            offset,
            len,
            elem_size,
        })
    }

    pub(crate) fn u64_at(&self, offset: usize, what: &'static str) -> Result<u64, StatsError> {
        self.mem.load_u64(offset).ok_or(StatsError::Truncated {
            what,
            offset: offset as u64,
            len: 8,
            size: self.mem.len() as u64,
        })
    }

    /// Directory entry `index`.
    pub fn entry(&self, index: usize) -> Result<DirEntry, StatsError> {
        let offset = self
            .directory
            .element(index)
            .ok_or(StatsError::EntryOutOfRange {
                index,
                len: self.directory.len,
            })?;
        // The type is a u32 followed by 4 bytes of junk: never read it as u64.
        let entry_type = self.mem.load_u32(offset).ok_or(StatsError::Truncated {
            what: "directory entry",
            offset: offset as u64,
            len: ENTRY_LEN as u64,
            size: self.mem.len() as u64,
        })?;
        let union = self.u64_at(offset + ENTRY_UNION, "directory entry")?;
        let name = if is_live_type(entry_type) {
            self.entry_name(index, offset + ENTRY_NAME)?
        } else {
            String::new()
        };
        Ok(DirEntry {
            index,
            entry_type,
            union,
            name,
        })
    }

    fn entry_name(&self, index: usize, offset: usize) -> Result<String, StatsError> {
        let mut raw = [0u8; NAME_FIELD_LEN];
        self.mem
            .read_bytes(offset, &mut raw)
            .ok_or(StatsError::Truncated {
                what: "directory entry name",
                offset: offset as u64,
                len: NAME_FIELD_LEN as u64,
                size: self.mem.len() as u64,
            })?;
        let end = raw
            .iter()
            .position(|&b| b == 0)
            .ok_or(StatsError::NameNotTerminated { index })?;
        Ok(String::from_utf8_lossy(raw.get(..end).unwrap_or_default()).into_owned())
    }

    /// Outer vector of per-thread pointers of a counter entry (types 2, 3, 7).
    pub fn thread_rows(&self, entry: &DirEntry) -> Result<VecRef, StatsError> {
        self.vector(entry.union, POINTER_LEN, "counter threads")
    }

    /// Per-thread vector `thread` of a counter entry, elements of
    /// `elem_size` bytes (8 simple, 16 combined).
    pub fn thread_row(
        &self,
        rows: &VecRef,
        thread: usize,
        elem_size: usize,
    ) -> Result<VecRef, StatsError> {
        let Some(offset) = rows.element(thread) else {
            return Ok(VecRef::EMPTY);
        };
        let pointer = self.u64_at(offset, "counter thread pointer")?;
        self.vector(pointer, elem_size, "counter row")
    }

    /// Simple counter `[thread][index]`; 0 past the row end.
    pub fn simple_at(&self, row: &VecRef, index: usize) -> Result<u64, StatsError> {
        match row.element(index) {
            Some(offset) => self.u64_at(offset, "simple counter"),
            None => Ok(0),
        }
    }

    /// Combined counter `[thread][index]`; zero past the row end.
    pub fn combined_at(&self, row: &VecRef, index: usize) -> Result<CombinedCounter, StatsError> {
        match row.element(index) {
            Some(offset) => Ok(CombinedCounter {
                packets: self.u64_at(offset, "combined counter")?,
                bytes: self.u64_at(offset + 8, "combined counter")?,
            }),
            None => Ok(CombinedCounter::default()),
        }
    }

    /// Decode the value of `entry`. `Ok(None)` for types that carry no
    /// readable value (ILLEGAL, EMPTY, RING_BUFFER, unknown).
    pub fn value(
        &self,
        entry: &DirEntry,
        budget: &mut Budget,
    ) -> Result<Option<StatValue>, StatsError> {
        use entry_type as t;
        let value = match entry.entry_type {
            t::SCALAR_INDEX => StatValue::Scalar(entry.union),
            t::GAUGE => StatValue::Gauge(entry.union),
            t::COUNTER_VECTOR_SIMPLE => StatValue::Simple(self.simple_matrix(entry, budget)?),
            t::HISTOGRAM_LOG2 => StatValue::Histogram(self.simple_matrix(entry, budget)?),
            t::COUNTER_VECTOR_COMBINED => StatValue::Combined(self.combined_matrix(entry, budget)?),
            t::NAME_VECTOR => StatValue::Names(self.names(entry, budget)?),
            t::SYMLINK => self.symlink(entry, budget)?,
            _ => return Ok(None),
        };
        Ok(Some(value))
    }

    fn simple_matrix(
        &self,
        entry: &DirEntry,
        budget: &mut Budget,
    ) -> Result<Vec<Vec<u64>>, StatsError> {
        self.matrix(entry, 8, budget, |row, i| self.simple_at(row, i))
    }

    fn combined_matrix(
        &self,
        entry: &DirEntry,
        budget: &mut Budget,
    ) -> Result<Vec<Vec<CombinedCounter>>, StatsError> {
        self.matrix(entry, COMBINED_LEN, budget, |row, i| {
            self.combined_at(row, i)
        })
    }

    fn matrix<T>(
        &self,
        entry: &DirEntry,
        elem_size: usize,
        budget: &mut Budget,
        element: impl Fn(&VecRef, usize) -> Result<T, StatsError>,
    ) -> Result<Vec<Vec<T>>, StatsError> {
        let rows = self.thread_rows(entry)?;
        budget.take(rows.len.saturating_mul(std::mem::size_of::<Vec<T>>()))?;
        let mut matrix = Vec::with_capacity(rows.len);
        for thread in 0..rows.len {
            let row = self.thread_row(&rows, thread, elem_size)?;
            budget.take(row.len.saturating_mul(std::mem::size_of::<T>()))?;
            let values = (0..row.len)
                .map(|i| element(&row, i))
                .collect::<Result<Vec<T>, _>>()?;
            matrix.push(values);
        }
        Ok(matrix)
    }

    fn names(
        &self,
        entry: &DirEntry,
        budget: &mut Budget,
    ) -> Result<Vec<Option<String>>, StatsError> {
        let outer = self.vector(entry.union, POINTER_LEN, "name vector")?;
        budget.take(
            outer
                .len
                .saturating_mul(std::mem::size_of::<Option<String>>()),
        )?;
        let mut names = Vec::with_capacity(outer.len);
        for i in 0..outer.len {
            let slot = outer.element(i).unwrap_or_default();
            let pointer = self.u64_at(slot, "name pointer")?;
            if pointer == 0 {
                names.push(None);
                continue;
            }
            let string = self.vector(pointer, 1, "name string")?;
            budget.take(string.len)?;
            let mut raw = vec![0u8; string.len];
            self.mem
                .read_bytes(string.offset, &mut raw)
                .ok_or(StatsError::Truncated {
                    what: "name string",
                    offset: string.offset as u64,
                    len: string.len as u64,
                    size: self.mem.len() as u64,
                })?;
            // The length includes the NUL; tolerate its absence.
            let end = raw.iter().position(|&b| b == 0).unwrap_or(raw.len());
            raw.truncate(end);
            names.push(Some(String::from_utf8_lossy(&raw).into_owned()));
        }
        Ok(names)
    }

    /// `target[thread][index2]` for every thread row of the target. Chains
    /// of symlinks are refused, which also rules out loops.
    fn symlink(&self, entry: &DirEntry, budget: &mut Budget) -> Result<StatValue, StatsError> {
        let (target_index, column) = self.symlink_target(entry)?;
        let target = self.entry(target_index)?;
        let rows = self.thread_rows(&target)?;
        let column = column as usize;
        match target.entry_type {
            entry_type::COUNTER_VECTOR_SIMPLE | entry_type::HISTOGRAM_LOG2 => {
                budget.take(rows.len.saturating_mul(8))?;
                let values = (0..rows.len)
                    .map(|thread| {
                        let row = self.thread_row(&rows, thread, 8)?;
                        self.simple_at(&row, column)
                    })
                    .collect::<Result<_, _>>()?;
                Ok(StatValue::SymlinkSimple(values))
            }
            entry_type::COUNTER_VECTOR_COMBINED => {
                budget.take(rows.len.saturating_mul(COMBINED_LEN))?;
                let values = (0..rows.len)
                    .map(|thread| {
                        let row = self.thread_row(&rows, thread, COMBINED_LEN)?;
                        self.combined_at(&row, column)
                    })
                    .collect::<Result<_, _>>()?;
                Ok(StatValue::SymlinkCombined(values))
            }
            other => Err(StatsError::BadSymlink {
                index: entry.index,
                target: target_index as u32,
                target_type: Some(other),
            }),
        }
    }

    /// Directory index and column a symlink refers to, validated to be a
    /// counter vector entry inside the directory.
    pub fn symlink_target(&self, entry: &DirEntry) -> Result<(usize, u32), StatsError> {
        let (index1, index2) = entry.symlink_indexes();
        let target_index = index1 as usize;
        let bad = |target_type| StatsError::BadSymlink {
            index: entry.index,
            target: index1,
            target_type,
        };
        if target_index >= self.directory.len {
            return Err(bad(None));
        }
        let offset = self.directory.element(target_index).ok_or(bad(None))?;
        let target_type = self.mem.load_u32(offset).ok_or(bad(None))?;
        match target_type {
            entry_type::COUNTER_VECTOR_SIMPLE
            | entry_type::COUNTER_VECTOR_COMBINED
            | entry_type::HISTOGRAM_LOG2 => Ok((target_index, index2)),
            other => Err(bad(Some(other))),
        }
    }
}
