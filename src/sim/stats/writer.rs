//! The writer side of a version-2 stats segment (STATS.md), over any
//! [`WritableMemory`]: the simulator's shared mapping, or a byte vector in
//! tests. Pure: values come from the lb model, times from the caller.
//!
//! Layout: header at 0; from [`HEAP_START`] the directory (fixed entries),
//! then per counter an outer vector of one thread-row pointer and the row
//! itself with spare capacity. Rows only grow (VPP never shrinks counter
//! vectors). Growing within the capacity rewrites the row's length field;
//! beyond it the whole heap is laid out again with doubled capacities. Both
//! are structural changes and follow VPP's protocol: `in_progress` = 1, the
//! change, `epoch` + 1, `in_progress` = 0. Counter values and scalars are
//! stored in place with single aligned 8-byte stores, as VPP does.

use crate::sim::lb::{Counter, LbState};
use crate::vpp::stats::segment::{
    entry_type, ENTRY_LEN, NAME_FIELD_LEN, OFF_BASE, OFF_DIRECTORY, OFF_EPOCH, OFF_IN_PROGRESS,
    OFF_VERSION, SEGMENT_VERSION,
};

/// VPP's stats heap starts after the first page.
pub const HEAP_START: usize = 4096;
/// Smallest row capacity in elements.
const MIN_CAPACITY: usize = 64;
/// Counter vectors are 64-byte aligned with a 64-byte header area in VPP.
const COUNTER_ALIGN: usize = 64;
/// Byte -3 of a vector header: log2 alignment, bit 7 "default heap".
const FLAGS_COUNTER: u8 = 0x86;
const FLAGS_EXPLICIT_HEAP: u8 = 0x03;

/// Directory order. Indexes are looked up by name by readers; they are
/// fixed here only because the simulator registers nothing else.
const DIR_BOOTTIME: usize = 0;
const DIR_HEARTBEAT: usize = 1;
const DIR_ROUTE_TO: usize = 2;
const DIR_LB_FIRST: usize = 3;
const DIR_LEN: usize = DIR_LB_FIRST + Counter::ALL.len();

pub const SYS_BOOTTIME: &str = "/sys/boottime";
pub const SYS_HEARTBEAT: &str = "/sys/heartbeat";
pub const NET_ROUTE_TO: &str = "/net/route/to";

/// Shared memory the writer can store into. Out-of-range writes are
/// ignored (the writer computes every offset itself and checks the fit
/// before laying out, so they do not happen).
pub trait WritableMemory {
    /// Bytes of memory.
    fn size(&self) -> usize;
    /// Plain copy (used only while `in_progress` is set).
    fn write_bytes(&mut self, offset: usize, bytes: &[u8]);
    /// One aligned little-endian 8-byte store, never torn for a reader.
    fn store_u64(&mut self, offset: usize, value: u64);
    /// Orders the stores before it against the stores after it.
    fn barrier(&mut self) {}
}

impl WritableMemory for Vec<u8> {
    fn size(&self) -> usize {
        self.as_slice().len()
    }

    fn write_bytes(&mut self, offset: usize, bytes: &[u8]) {
        if let Some(target) = offset
            .checked_add(bytes.len())
            .and_then(|end| self.get_mut(offset..end))
        {
            target.copy_from_slice(bytes);
        }
    }

    fn store_u64(&mut self, offset: usize, value: u64) {
        self.write_bytes(offset, &value.to_le_bytes());
    }
}

/// Where the current layout put things (offsets into the segment).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Layout {
    directory: usize,
    /// Data offsets of the lb rows, in [`Counter::ALL`] order.
    lb_rows: [usize; 4],
    route_row: usize,
    vip_capacity: usize,
    route_capacity: usize,
}

impl Layout {
    fn entry_value(&self, index: usize) -> usize {
        self.directory + index * ENTRY_LEN + 8
    }
}

/// The segment's lengths are larger than the memory: the counters past what
/// fits are not exported.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Clamped {
    pub vip_len: usize,
    pub route_len: usize,
}

/// Writes the lb model's counters into a segment and keeps them current.
#[derive(Debug)]
pub struct SegmentWriter<M: WritableMemory> {
    mem: M,
    base: u64,
    epoch: u64,
    boottime: u64,
    heartbeat: u64,
    layout: Layout,
    vip_len: usize,
    route_len: usize,
    synced_generation: u64,
    clamped: Option<Clamped>,
}

/// Bump allocator over a heap image that starts at [`HEAP_START`].
struct Heap {
    image: Vec<u8>,
    base: u64,
}

impl Heap {
    fn offset(&self) -> usize {
        HEAP_START + self.image.len()
    }

    fn pointer(&self, offset: usize) -> u64 {
        self.base + offset as u64
    }

    /// A vector of `len` elements with room for `capacity` of `elt` bytes,
    /// data aligned to `align`, `header` bytes before the data. Returns the
    /// data offset.
    fn vector(
        &mut self,
        len: usize,
        capacity: usize,
        elt: usize,
        align: usize,
        flags: u8,
    ) -> usize {
        let header = align.max(16);
        let data = (self.offset() + header).next_multiple_of(align);
        self.image.resize(data - HEAP_START, 0);
        let grow = u8::try_from(capacity.saturating_sub(len)).unwrap_or(u8::MAX);
        let mut head = [0u8; 8];
        head[..4].copy_from_slice(&(len as u32).to_le_bytes());
        head[4] = (header / 8) as u8;
        head[5] = flags;
        head[6] = grow;
        let at = data - HEAP_START - 8;
        self.image[at..at + 8].copy_from_slice(&head);
        if flags & 0x80 == 0 {
            // Explicit heap: VPP stores its heap pointer before the header.
            let heap = self.pointer(HEAP_START).to_le_bytes();
            self.image[at - 8..at].copy_from_slice(&heap);
        }
        self.image.resize(data - HEAP_START + capacity * elt, 0);
        data
    }

    fn put_u64(&mut self, offset: usize, value: u64) {
        let at = offset - HEAP_START;
        self.image[at..at + 8].copy_from_slice(&value.to_le_bytes());
    }
}

fn capacity_for(len: usize) -> usize {
    len.max(MIN_CAPACITY).next_power_of_two()
}

/// Bytes a layout with these capacities needs from offset 0.
fn layout_size(vip_capacity: usize, route_capacity: usize) -> usize {
    let directory = 16 + DIR_LEN * ENTRY_LEN;
    // Outer vector (header + one pointer, padded) + row header + row data.
    let row = |elt: usize, cap: usize| 4 * COUNTER_ALIGN + cap * elt;
    HEAP_START + directory + 4 * row(8, vip_capacity) + row(16, route_capacity) + COUNTER_ALIGN
}

impl<M: WritableMemory> SegmentWriter<M> {
    /// A segment "mapped" at `base`, booted at `boottime` (Unix seconds),
    /// with empty counters.
    pub fn new(mem: M, base: u64, boottime: u64) -> SegmentWriter<M> {
        let mut writer = SegmentWriter {
            mem,
            base,
            epoch: 0,
            boottime,
            heartbeat: 0,
            layout: Layout {
                directory: 0,
                lb_rows: [0; 4],
                route_row: 0,
                vip_capacity: 0,
                route_capacity: 0,
            },
            vip_len: 0,
            route_len: 0,
            synced_generation: 0,
            clamped: None,
        };
        writer.mem.store_u64(OFF_VERSION, SEGMENT_VERSION);
        writer.mem.store_u64(OFF_BASE, base);
        writer.relayout(0, 0, &[], &[]);
        writer
    }

    pub fn memory(&self) -> &M {
        &self.mem
    }

    pub fn epoch(&self) -> u64 {
        self.epoch
    }

    pub fn boottime(&self) -> u64 {
        self.boottime
    }

    /// Set when the model outgrew the memory (first time only reported).
    pub fn clamped(&self) -> Option<Clamped> {
        self.clamped
    }

    /// Brings the segment up to the model: row lengths, then values (only
    /// when the model's stats generation moved) and the heartbeat.
    pub fn sync(&mut self, lb: &LbState, heartbeat: u64) {
        let mut vip_len = self.vip_len.max(lb.vip_index_bound());
        let mut route_len = self.route_len.max(lb.route_stats_index_bound());
        if let Some(clamped) = self.clamped {
            vip_len = vip_len.min(clamped.vip_len);
            route_len = route_len.min(clamped.route_len);
        }
        let generation = lb.stats_generation();
        if vip_len > self.layout.vip_capacity || route_len > self.layout.route_capacity {
            let vips: Vec<[u64; 4]> = (0..vip_len).map(|i| vip_values(lb, i)).collect();
            let routes: Vec<(u64, u64)> = (0..route_len).map(|i| route_values(lb, i)).collect();
            self.relayout(vip_len, route_len, &vips, &routes);
            self.synced_generation = generation;
        } else {
            if vip_len > self.vip_len || route_len > self.route_len {
                self.grow_within_capacity(vip_len, route_len);
            }
            if generation != self.synced_generation {
                self.store_values(lb);
                self.synced_generation = generation;
            }
        }
        if heartbeat != self.heartbeat {
            self.heartbeat = heartbeat;
            let at = self.layout.entry_value(DIR_HEARTBEAT);
            self.mem.store_u64(at, heartbeat);
        }
    }

    fn begin_change(&mut self) {
        self.mem.store_u64(OFF_IN_PROGRESS, 1);
        self.mem.barrier();
    }

    fn end_change(&mut self) {
        self.mem.barrier();
        self.epoch += 1;
        self.mem.store_u64(OFF_EPOCH, self.epoch);
        self.mem.barrier();
        self.mem.store_u64(OFF_IN_PROGRESS, 0);
    }

    fn grow_within_capacity(&mut self, vip_len: usize, route_len: usize) {
        self.begin_change();
        for row in self.layout.lb_rows {
            self.write_len(row, vip_len, self.layout.vip_capacity);
        }
        self.write_len(self.layout.route_row, route_len, self.layout.route_capacity);
        self.vip_len = vip_len;
        self.route_len = route_len;
        self.end_change();
    }

    fn write_len(&mut self, row: usize, len: usize, capacity: usize) {
        let grow = u8::try_from(capacity.saturating_sub(len)).unwrap_or(u8::MAX);
        self.mem.write_bytes(row - 8, &(len as u32).to_le_bytes());
        self.mem.write_bytes(row - 2, &[grow]);
    }

    /// Lays the whole heap out again for these lengths (clamped to the
    /// memory), with `vips` / `routes` as the values.
    fn relayout(
        &mut self,
        vip_len: usize,
        route_len: usize,
        vips: &[[u64; 4]],
        routes: &[(u64, u64)],
    ) {
        let (vip_len, route_len, vip_capacity, route_capacity) = self.fit(vip_len, route_len);
        let mut heap = Heap {
            image: Vec::new(),
            base: self.base,
        };
        let directory = heap.vector(DIR_LEN, DIR_LEN, ENTRY_LEN, 16, FLAGS_EXPLICIT_HEAP);
        let mut entries = [(0u32, 0u64, ""); DIR_LEN];
        entries[DIR_BOOTTIME] = (entry_type::SCALAR_INDEX, self.boottime, SYS_BOOTTIME);
        entries[DIR_HEARTBEAT] = (entry_type::SCALAR_INDEX, self.heartbeat, SYS_HEARTBEAT);

        let counter_row = |heap: &mut Heap, len: usize, capacity: usize, elt: usize| {
            let outer = heap.vector(1, 1, 8, COUNTER_ALIGN, FLAGS_COUNTER);
            let row = heap.vector(len, capacity, elt, COUNTER_ALIGN, FLAGS_COUNTER);
            let row_pointer = heap.pointer(row);
            heap.put_u64(outer, row_pointer);
            (heap.pointer(outer), row)
        };
        let (route_outer, route_row) = counter_row(&mut heap, route_len, route_capacity, 16);
        entries[DIR_ROUTE_TO] = (
            entry_type::COUNTER_VECTOR_COMBINED,
            route_outer,
            NET_ROUTE_TO,
        );
        for (i, (packets, bytes)) in routes.iter().take(route_len).enumerate() {
            heap.put_u64(route_row + 16 * i, *packets);
            heap.put_u64(route_row + 16 * i + 8, *bytes);
        }
        let mut lb_rows = [0usize; 4];
        for (c, counter) in Counter::ALL.iter().enumerate() {
            let (outer, row) = counter_row(&mut heap, vip_len, vip_capacity, 8);
            entries[DIR_LB_FIRST + c] = (entry_type::COUNTER_VECTOR_SIMPLE, outer, counter.name());
            for (i, values) in vips.iter().take(vip_len).enumerate() {
                heap.put_u64(row + 8 * i, values[c]);
            }
            lb_rows[c] = row;
        }
        for (i, (kind, union, name)) in entries.iter().enumerate() {
            let at = directory + i * ENTRY_LEN - HEAP_START;
            let entry = &mut heap.image[at..at + ENTRY_LEN];
            entry[..4].copy_from_slice(&kind.to_le_bytes());
            entry[8..16].copy_from_slice(&union.to_le_bytes());
            let name = name.as_bytes();
            let n = name.len().min(NAME_FIELD_LEN - 1);
            entry[16..16 + n].copy_from_slice(&name[..n]);
        }

        self.begin_change();
        self.mem.write_bytes(HEAP_START, &heap.image);
        self.mem.store_u64(OFF_DIRECTORY, heap.pointer(directory));
        self.layout = Layout {
            directory,
            lb_rows,
            route_row,
            vip_capacity,
            route_capacity,
        };
        self.vip_len = vip_len;
        self.route_len = route_len;
        self.end_change();
    }

    /// Lengths and capacities that fit the memory: doubled capacities if
    /// possible, else exact lengths, else lengths cut to what fits.
    fn fit(&mut self, vip_len: usize, route_len: usize) -> (usize, usize, usize, usize) {
        let size = self.mem.size();
        let (vc, rc) = (capacity_for(vip_len), capacity_for(route_len));
        if layout_size(vc, rc) <= size {
            return (vip_len, route_len, vc, rc);
        }
        if layout_size(vip_len, route_len) <= size {
            return (vip_len, route_len, vip_len, route_len);
        }
        let spare = size.saturating_sub(layout_size(0, 0));
        let vip_fit = vip_len.min(spare / 32);
        let route_fit = route_len.min(spare.saturating_sub(vip_fit * 32) / 16);
        self.clamped = Some(Clamped {
            vip_len: vip_fit,
            route_len: route_fit,
        });
        (vip_fit, route_fit, vip_fit, route_fit)
    }

    fn store_values(&mut self, lb: &LbState) {
        for i in 0..self.vip_len {
            let values = vip_values(lb, i);
            for (c, row) in self.layout.lb_rows.iter().enumerate() {
                self.mem.store_u64(row + 8 * i, values[c]);
            }
        }
        for i in 0..self.route_len {
            let (packets, bytes) = route_values(lb, i);
            self.mem.store_u64(self.layout.route_row + 16 * i, packets);
            self.mem
                .store_u64(self.layout.route_row + 16 * i + 8, bytes);
        }
    }
}

fn vip_values(lb: &LbState, index: usize) -> [u64; 4] {
    lb.vip_counters(index).unwrap_or([0; 4])
}

fn route_values(lb: &LbState, index: usize) -> (u64, u64) {
    u32::try_from(index).map_or((0, 0), |i| lb.route_counters(i))
}
