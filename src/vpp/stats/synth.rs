//! Builder of small, valid version-2 stats segments in memory.
//!
//! Used by the tests (hostile-input mutation starts from a valid segment),
//! the fuzz seed corpus and, later, the simulator, which can hand one out
//! over its stats socket. The layout follows STATS.md: header at 0, vectors
//! with an 8-byte header whose first u32 is the length, 144-byte directory
//! entries, pointers relative to a fake VPP `base`.

use super::segment::{entry_type, ENTRY_LEN, HEADER_LEN, NAME_FIELD_LEN, SEGMENT_VERSION};

/// Builds a segment; entries get directory indexes in call order.
#[derive(Debug, Clone)]
pub struct SegmentBuilder {
    bytes: Vec<u8>,
    base: u64,
    epoch: u64,
    entries: Vec<[u8; ENTRY_LEN]>,
}

impl SegmentBuilder {
    /// An empty segment that VPP "mapped" at `base`.
    pub fn new(base: u64, epoch: u64) -> Self {
        SegmentBuilder {
            bytes: vec![0; HEADER_LEN.next_multiple_of(16)],
            base,
            epoch,
            entries: Vec::new(),
        }
    }

    /// Append a vector of `len` elements with the given raw element bytes;
    /// returns the VPP pointer to element 0.
    pub fn vector(&mut self, len: u32, data: &[u8]) -> u64 {
        while self.bytes.len() % 8 != 0 {
            self.bytes.push(0);
        }
        // len, header size in 8-byte units, align 8 / explicit heap, grow, pad.
        self.bytes.extend_from_slice(&len.to_le_bytes());
        self.bytes.extend_from_slice(&[1, 0x03, 0, 0]);
        let offset = self.bytes.len();
        self.bytes.extend_from_slice(data);
        self.base + offset as u64
    }

    fn u64_vector(&mut self, values: &[u64]) -> u64 {
        let data: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
        self.vector(values.len() as u32, &data)
    }

    /// Append a raw directory entry (any type, any union); returns its index.
    pub fn raw_entry(&mut self, entry_type: u32, union: u64, name: &str) -> usize {
        let mut entry = [0u8; ENTRY_LEN];
        entry[..4].copy_from_slice(&entry_type.to_le_bytes());
        // VPP leaves junk in the padding; so do we, to catch u64 type reads.
        entry[4..8].copy_from_slice(b"a___");
        entry[8..16].copy_from_slice(&union.to_le_bytes());
        let name = name.as_bytes();
        let n = name.len().min(NAME_FIELD_LEN - 1);
        entry[16..16 + n].copy_from_slice(&name[..n]);
        self.entries.push(entry);
        self.entries.len() - 1
    }

    pub fn scalar(&mut self, name: &str, value: u64) -> usize {
        self.raw_entry(entry_type::SCALAR_INDEX, value, name)
    }

    pub fn gauge(&mut self, name: &str, value: u64) -> usize {
        self.raw_entry(entry_type::GAUGE, value, name)
    }

    /// Simple counter with one row per thread.
    pub fn simple(&mut self, name: &str, rows: &[&[u64]]) -> usize {
        let row_pointers: Vec<u64> = rows.iter().map(|row| self.u64_vector(row)).collect();
        let outer = self.u64_vector(&row_pointers);
        self.raw_entry(entry_type::COUNTER_VECTOR_SIMPLE, outer, name)
    }

    /// Combined counter with one row of `(packets, bytes)` per thread.
    pub fn combined(&mut self, name: &str, rows: &[&[(u64, u64)]]) -> usize {
        let row_pointers: Vec<u64> = rows
            .iter()
            .map(|row| {
                let data: Vec<u8> = row
                    .iter()
                    .flat_map(|(p, b)| p.to_le_bytes().into_iter().chain(b.to_le_bytes()))
                    .collect();
                self.vector(row.len() as u32, &data)
            })
            .collect();
        let outer = self.u64_vector(&row_pointers);
        self.raw_entry(entry_type::COUNTER_VECTOR_COMBINED, outer, name)
    }

    /// Name vector; `None` is stored as a null element pointer.
    pub fn names(&mut self, name: &str, names: &[Option<&str>]) -> usize {
        let pointers: Vec<u64> = names
            .iter()
            .map(|n| match n {
                Some(s) => {
                    let mut bytes = s.as_bytes().to_vec();
                    bytes.push(0);
                    self.vector(bytes.len() as u32, &bytes)
                }
                None => 0,
            })
            .collect();
        let outer = self.u64_vector(&pointers);
        self.raw_entry(entry_type::NAME_VECTOR, outer, name)
    }

    /// Symlink to column `column` of entry `target`.
    pub fn symlink(&mut self, name: &str, target: usize, column: u32) -> usize {
        let union = (target as u64 & 0xffff_ffff) | (u64::from(column) << 32);
        self.raw_entry(entry_type::SYMLINK, union, name)
    }

    /// Lay out the directory, write the header and return the bytes.
    pub fn finish(mut self) -> Vec<u8> {
        let directory: Vec<u8> = self.entries.iter().flatten().copied().collect();
        let directory_pointer = self.vector(self.entries.len() as u32, &directory);
        let header = [SEGMENT_VERSION, self.base, self.epoch, 0, directory_pointer];
        for (i, word) in header.iter().enumerate() {
            self.bytes[i * 8..i * 8 + 8].copy_from_slice(&word.to_le_bytes());
        }
        self.bytes
    }
}

/// A small segment shaped like VPP's with lb configured: two threads, a
/// short row on the second, names, symlinks and scalars. Used as the base
/// for mutation tests and the fuzz seed corpus.
pub fn sample_segment() -> Vec<u8> {
    let mut b = SegmentBuilder::new(0x7f00_1234_5000, 7);
    b.scalar("/sys/heartbeat", 3);
    b.scalar("/sys/boottime", 1_795_313_094);
    b.gauge("/sys/num_worker_threads", 1);
    let errors = b.simple("/node/errors", &[&[26, 0, 4], &[1, 2]]);
    b.symlink("/err/null-node/blackholed packets", errors, 0);
    b.simple("packet from existing sessions", &[&[0, 8, 4, 4], &[0, 1]]);
    b.simple("first session packet", &[&[0, 4, 2, 1], &[]]);
    b.simple("untracked packet", &[&[0, 0, 0, 0]]);
    b.simple("no server configured", &[&[0, 0, 0, 0, 0, 3]]);
    let route = b.combined(
        "/net/route/to",
        &[&[(0, 0), (12, 768), (6, 480)], &[(0, 0), (1, 64)]],
    );
    b.symlink("/net/route/to/1", route, 1);
    b.names("/if/names", &[Some("local0"), None, Some("pg0")]);
    b.raw_entry(entry_type::EMPTY, 0, "");
    b.raw_entry(42, 0xdead_beef, "/future/type");
    b.finish()
}
