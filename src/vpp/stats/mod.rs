//! VPP stats segment: the shared-memory counters VPP exports (STATS.md).
//!
//! Pure parts read any [`SegmentMemory`] (a byte slice in tests and fuzzing):
//! * `segment` — header, pointer relocation, vectors, directory, values;
//! * `consistency` — the epoch / `in_progress` optimistic read protocol;
//! * `index` — name → directory index, cached per epoch;
//! * `counters` — what the daemon scrapes (lb VIP and FIB counters,
//!   `/sys/boottime`) and a generic dump;
//! * `synth` — a builder of small valid segments (tests, fuzz, simulator).
//!
//! `client` is the thin I/O shell: stats socket, `SCM_RIGHTS`, `mmap`.

pub mod client;
pub mod consistency;
pub mod counters;
pub mod error;
pub mod index;
pub mod memory;
pub mod segment;
pub mod synth;

#[cfg(test)]
mod tests_client;
#[cfg(test)]
mod tests_fixture;
#[cfg(test)]
mod tests_hostile;

pub use client::{connect_blocking, ClientError, MappedSegment, StatsConnector};
pub use consistency::{read_consistent, ReadPolicy};
pub use counters::{
    dump, entry_by_name, read_boottime, read_lb_counters, LbCounterSnapshot, StatEntry,
    VipCounters, VipQuery,
};
pub use error::StatsError;
pub use index::DirectoryIndex;
pub use memory::SegmentMemory;
pub use segment::{CombinedCounter, DirEntry, Header, Segment, StatValue};
