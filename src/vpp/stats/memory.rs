//! The memory a stats segment is read from: a byte slice (tests, fuzzing,
//! captured fixtures) or VPP's live shared mapping (`client.rs`).
//!
//! The parser never holds a `&[u8]` over the live mapping: VPP writes to it
//! concurrently, so a Rust slice over it would be a data race the compiler may
//! exploit (hoisting or merging loads). Instead every access goes through this
//! trait, which copies small pieces out with bounds checks; the mmap
//! implementation uses atomic/volatile loads. All methods return `None` for
//! out-of-range or overflowing requests, so callers cannot read out of bounds.

/// Read-only, bounds-checked access to segment bytes (host byte order).
pub trait SegmentMemory {
    /// Size of the segment in bytes.
    fn len(&self) -> usize;

    /// Whether the segment has no bytes at all.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// One 8-byte value at `offset`. For shared memory this is a single
    /// atomic (Acquire) load when aligned, so VPP's in-place counter updates
    /// are never torn.
    fn load_u64(&self, offset: usize) -> Option<u64>;

    /// Copy `out.len()` bytes starting at `offset` into `out`.
    fn read_bytes(&self, offset: usize, out: &mut [u8]) -> Option<()>;

    /// One 4-byte value at `offset`.
    fn load_u32(&self, offset: usize) -> Option<u32> {
        let mut raw = [0u8; 4];
        self.read_bytes(offset, &mut raw)?;
        Some(u32::from_le_bytes(raw))
    }
}

/// Byte range `[offset, offset + len)` if it lies inside `size`.
pub(crate) fn checked_range(
    offset: usize,
    len: usize,
    size: usize,
) -> Option<std::ops::Range<usize>> {
    let end = offset.checked_add(len)?;
    (end <= size).then_some(offset..end)
}

impl SegmentMemory for [u8] {
    fn len(&self) -> usize {
        <[u8]>::len(self)
    }

    fn load_u64(&self, offset: usize) -> Option<u64> {
        let range = checked_range(offset, 8, <[u8]>::len(self))?;
        let raw: [u8; 8] = self.get(range)?.try_into().ok()?;
        Some(u64::from_le_bytes(raw))
    }

    fn read_bytes(&self, offset: usize, out: &mut [u8]) -> Option<()> {
        let range = checked_range(offset, out.len(), <[u8]>::len(self))?;
        out.copy_from_slice(self.get(range)?);
        Some(())
    }
}

impl SegmentMemory for Vec<u8> {
    fn len(&self) -> usize {
        self.as_slice().len()
    }

    fn load_u64(&self, offset: usize) -> Option<u64> {
        self.as_slice().load_u64(offset)
    }

    fn read_bytes(&self, offset: usize, out: &mut [u8]) -> Option<()> {
        self.as_slice().read_bytes(offset, out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slice_access_is_bounds_checked() {
        let bytes: Vec<u8> = (0u8..16).collect();
        let mem: &[u8] = &bytes;
        let cases: &[(usize, Option<u64>)] = &[
            (0, Some(0x0706_0504_0302_0100)),
            (8, Some(0x0f0e_0d0c_0b0a_0908)),
            (9, None),
            (usize::MAX - 3, None),
        ];
        for &(offset, want) in cases {
            assert_eq!(mem.load_u64(offset), want, "offset {offset}");
        }
        assert_eq!(mem.load_u32(12), Some(0x0f0e_0d0c));
        assert_eq!(mem.load_u32(13), None);
        let mut out = [0u8; 3];
        assert_eq!(mem.read_bytes(14, &mut out), None);
        assert_eq!(mem.read_bytes(13, &mut out), Some(()));
        assert_eq!(out, [13, 14, 15]);
    }
}
