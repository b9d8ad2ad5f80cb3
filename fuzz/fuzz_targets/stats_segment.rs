//! Fuzz target: arbitrary bytes as a stats segment. Every reader entry
//! point must return Ok or Err, never panic, read out of bounds or allocate
//! without bound.
//!
//! Each input is used twice: as a raw segment, and as a list of 3-byte
//! patches (u16 offset, byte) applied to the valid synthetic sample segment.
//! The second form reaches deep into the parser at once, without libFuzzer
//! first having to discover a consistent header, base and pointers.
#![no_main]

use libfuzzer_sys::fuzz_target;
use vpp_maglev::vpp::stats::synth::sample_segment;
use vpp_maglev::vpp::stats::{
    dump, entry_by_name, read_lb_counters, DirectoryIndex, ReadPolicy, VipQuery,
};

const POLICY: ReadPolicy = ReadPolicy {
    max_attempts: 2,
    max_spins: 2,
};

fn exercise(segment: &[u8]) {
    let queries = [
        VipQuery { lb_index: 1, fib_index: Some(1) },
        VipQuery { lb_index: 5, fib_index: None },
        VipQuery { lb_index: u32::MAX, fib_index: Some(u32::MAX) },
    ];
    let mut index = DirectoryIndex::new();
    let _ = dump(segment, POLICY, &|_| true);
    let _ = read_lb_counters(segment, &mut index, POLICY, &queries);
    for name in ["/net/route/to/1", "/if/names", "/err/null-node/blackholed packets"] {
        let _ = entry_by_name(segment, &mut index, POLICY, name);
    }
}

fuzz_target!(|data: &[u8]| {
    exercise(data);
    let mut patched = sample_segment();
    for patch in data.chunks_exact(3) {
        let offset = usize::from(u16::from_le_bytes([patch[0], patch[1]]));
        if let Some(byte) = patched.get_mut(offset) {
            *byte = patch[2];
        }
    }
    exercise(&patched);
});
