//! What the daemon reads from the segment (spec/dataplane.md §11): the lb
//! plugin's per-VIP counters, the FIB `/net/route/to` counter of each VIP's
//! host route and `/sys/boottime`; plus a generic dump for debugging.
//!
//! Each public function is one consistent read (see `consistency`), so the
//! values of one snapshot come from one directory layout.

use super::consistency::{read_consistent, ReadPolicy};
use super::error::StatsError;
use super::index::DirectoryIndex;
use super::memory::SegmentMemory;
use super::segment::{entry_type, Budget, DirEntry, Segment, StatValue};

/// lb simple counters, registered without a leading slash.
pub const LB_NEXT_PACKET: &str = "packet from existing sessions";
pub const LB_FIRST_PACKET: &str = "first session packet";
pub const LB_UNTRACKED_PACKET: &str = "untracked packet";
pub const LB_NO_SERVER: &str = "no server configured";
/// FIB combined counter, `[thread][route stats_index]`.
pub const NET_ROUTE_TO: &str = "/net/route/to";
/// VPP start time, Unix seconds.
pub const SYS_BOOTTIME: &str = "/sys/boottime";

/// One VIP to read: lb's VIP pool index and, if known, the stats index of
/// the VIP's host route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VipQuery {
    pub lb_index: u32,
    pub fib_index: Option<u32>,
}

/// Counters of one VIP, summed over all thread rows.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct VipCounters {
    /// `first session packet`.
    pub first: u64,
    /// `packet from existing sessions`.
    pub next: u64,
    /// `untracked packet`.
    pub untracked: u64,
    /// `no server configured`.
    pub no_server: u64,
    /// `/net/route/to` packets; 0 when the query had no FIB index.
    pub fib_packets: u64,
    pub fib_bytes: u64,
}

/// Result of one scrape.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LbCounterSnapshot {
    /// Epoch the snapshot was read under.
    pub epoch: u64,
    /// `/sys/boottime`: changes when VPP restarts.
    pub boottime: u64,
    /// One element per query, in query order.
    pub vips: Vec<VipCounters>,
    /// Counter entries not (yet) in the directory, read as 0. lb registers
    /// its counters lazily, so this is normal before the first VIP exists.
    pub missing: Vec<&'static str>,
}

/// A named entry and its decoded value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatEntry {
    pub index: usize,
    pub name: String,
    pub entry_type: u32,
    /// For symlinks: (target directory index, column).
    pub symlink: Option<(u32, u32)>,
    pub value: StatValue,
}

/// Read the lb counters of `vips`, their FIB counters and the boot time.
pub fn read_lb_counters<M: SegmentMemory + ?Sized>(
    mem: &M,
    index: &mut DirectoryIndex,
    policy: ReadPolicy,
    vips: &[VipQuery],
) -> Result<LbCounterSnapshot, StatsError> {
    read_consistent(mem, policy, |segment| lb_counters_in(segment, index, vips))
}

fn lb_counters_in<M: SegmentMemory + ?Sized>(
    segment: &Segment<'_, M>,
    index: &mut DirectoryIndex,
    vips: &[VipQuery],
) -> Result<LbCounterSnapshot, StatsError> {
    let boottime = scalar(&index.require(segment, SYS_BOOTTIME)?)?;
    let mut missing = Vec::new();
    let simple = entry_type::COUNTER_VECTOR_SIMPLE;
    let first = counter_entry(segment, index, LB_FIRST_PACKET, simple, &mut missing)?;
    let next = counter_entry(segment, index, LB_NEXT_PACKET, simple, &mut missing)?;
    let untracked = counter_entry(segment, index, LB_UNTRACKED_PACKET, simple, &mut missing)?;
    let no_server = counter_entry(segment, index, LB_NO_SERVER, simple, &mut missing)?;
    let combined = entry_type::COUNTER_VECTOR_COMBINED;
    let route_to = counter_entry(segment, index, NET_ROUTE_TO, combined, &mut missing)?;

    let mut out = Vec::with_capacity(vips.len());
    for vip in vips {
        let column = vip.lb_index as usize;
        let (fib_packets, fib_bytes) = match (vip.fib_index, &route_to) {
            (Some(fib), Some(route_to)) => sum_combined(segment, route_to, fib as usize)?,
            _ => (0, 0),
        };
        out.push(VipCounters {
            first: sum_simple(segment, first.as_ref(), column)?,
            next: sum_simple(segment, next.as_ref(), column)?,
            untracked: sum_simple(segment, untracked.as_ref(), column)?,
            no_server: sum_simple(segment, no_server.as_ref(), column)?,
            fib_packets,
            fib_bytes,
        });
    }
    Ok(LbCounterSnapshot {
        epoch: segment.header().epoch,
        boottime,
        vips: out,
        missing,
    })
}

fn scalar(entry: &DirEntry) -> Result<u64, StatsError> {
    match entry.entry_type {
        entry_type::SCALAR_INDEX | entry_type::GAUGE => Ok(entry.union),
        found => Err(StatsError::WrongType {
            name: entry.name.clone(),
            found,
            expected: "scalar or gauge",
        }),
    }
}

fn counter_entry<M: SegmentMemory + ?Sized>(
    segment: &Segment<'_, M>,
    index: &mut DirectoryIndex,
    name: &'static str,
    wanted: u32,
    missing: &mut Vec<&'static str>,
) -> Result<Option<DirEntry>, StatsError> {
    let Some(entry) = index.find(segment, name)? else {
        missing.push(name);
        return Ok(None);
    };
    if entry.entry_type != wanted {
        return Err(StatsError::WrongType {
            name: entry.name,
            found: entry.entry_type,
            expected: if wanted == entry_type::COUNTER_VECTOR_SIMPLE {
                "simple counter vector"
            } else {
                "combined counter vector"
            },
        });
    }
    Ok(Some(entry))
}

/// Column `column` summed over all thread rows; rows too short to hold the
/// column (a VIP not yet seen by that worker) count as 0.
fn sum_simple<M: SegmentMemory + ?Sized>(
    segment: &Segment<'_, M>,
    entry: Option<&DirEntry>,
    column: usize,
) -> Result<u64, StatsError> {
    let Some(entry) = entry else {
        return Ok(0);
    };
    let rows = segment.thread_rows(entry)?;
    let mut total = 0u64;
    for thread in 0..rows.len {
        let row = segment.thread_row(&rows, thread, 8)?;
        total = total.saturating_add(segment.simple_at(&row, column)?);
    }
    Ok(total)
}

fn sum_combined<M: SegmentMemory + ?Sized>(
    segment: &Segment<'_, M>,
    entry: &DirEntry,
    column: usize,
) -> Result<(u64, u64), StatsError> {
    let rows = segment.thread_rows(entry)?;
    let (mut packets, mut bytes) = (0u64, 0u64);
    for thread in 0..rows.len {
        let row = segment.thread_row(&rows, thread, 16)?;
        let counter = segment.combined_at(&row, column)?;
        packets = packets.saturating_add(counter.packets);
        bytes = bytes.saturating_add(counter.bytes);
    }
    Ok((packets, bytes))
}

/// Read `/sys/boottime` alone (on connect, and to notice a restart).
pub fn read_boottime<M: SegmentMemory + ?Sized>(
    mem: &M,
    index: &mut DirectoryIndex,
    policy: ReadPolicy,
) -> Result<u64, StatsError> {
    read_consistent(mem, policy, |segment| {
        scalar(&index.require(segment, SYS_BOOTTIME)?)
    })
}

/// The entry called `name` with its value, `None` if absent or of a type
/// without a readable value.
pub fn entry_by_name<M: SegmentMemory + ?Sized>(
    mem: &M,
    index: &mut DirectoryIndex,
    policy: ReadPolicy,
    name: &str,
) -> Result<Option<StatEntry>, StatsError> {
    read_consistent(mem, policy, |segment| {
        let Some(entry) = index.find(segment, name)? else {
            return Ok(None);
        };
        let mut budget = Budget::for_segment(segment.memory());
        decode(segment, entry, &mut budget)
    })
}

/// Every live entry whose name passes `filter`, in directory order.
pub fn dump<M: SegmentMemory + ?Sized>(
    mem: &M,
    policy: ReadPolicy,
    filter: &dyn Fn(&str) -> bool,
) -> Result<Vec<StatEntry>, StatsError> {
    read_consistent(mem, policy, |segment| {
        let mut budget = Budget::for_segment(segment.memory());
        let mut out = Vec::new();
        for i in 0..segment.directory_len() {
            let entry = segment.entry(i)?;
            if !entry.is_live() || !filter(&entry.name) {
                continue;
            }
            if let Some(stat) = decode(segment, entry, &mut budget)? {
                out.push(stat);
            }
        }
        Ok(out)
    })
}

fn decode<M: SegmentMemory + ?Sized>(
    segment: &Segment<'_, M>,
    entry: DirEntry,
    budget: &mut Budget,
) -> Result<Option<StatEntry>, StatsError> {
    let Some(value) = segment.value(&entry, budget)? else {
        return Ok(None);
    };
    let symlink = (entry.entry_type == entry_type::SYMLINK).then(|| entry.symlink_indexes());
    Ok(Some(StatEntry {
        index: entry.index,
        name: entry.name,
        entry_type: entry.entry_type,
        symlink,
        value,
    }))
}
