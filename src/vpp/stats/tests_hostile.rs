//! Corrupt and concurrently-changing segments: every case must end in a
//! `StatsError` (or a correct value), never a panic.

use std::cell::Cell;

use super::counters::{dump, entry_by_name, read_boottime, read_lb_counters, VipQuery};
use super::segment::{OFF_DIRECTORY, OFF_EPOCH, OFF_IN_PROGRESS, OFF_VERSION};
use super::synth::{sample_segment, SegmentBuilder};
use super::{DirectoryIndex, ReadPolicy, Segment, SegmentMemory, StatValue, StatsError};

const FAST: ReadPolicy = ReadPolicy {
    max_attempts: 2,
    max_spins: 4,
};

fn put_u64(bytes: &mut [u8], offset: usize, value: u64) {
    bytes[offset..offset + 8].copy_from_slice(&value.to_le_bytes());
}

fn get_u64(bytes: &[u8], offset: usize) -> u64 {
    u64::from_le_bytes(bytes[offset..offset + 8].try_into().unwrap())
}

/// Checks that an error is the one a case expects.
type IsExpected = fn(&StatsError) -> bool;

fn queries() -> Vec<VipQuery> {
    vec![
        VipQuery {
            lb_index: 1,
            fib_index: Some(1),
        },
        VipQuery {
            lb_index: 5,
            fib_index: None,
        },
        VipQuery {
            lb_index: u32::MAX,
            fib_index: Some(u32::MAX),
        },
    ]
}

/// Run every reader entry point; return whether all succeeded.
fn exercise(mem: &[u8]) -> bool {
    let mut index = DirectoryIndex::new();
    let a = dump(mem, FAST, &|_| true).is_ok();
    let b = read_lb_counters(mem, &mut index, FAST, &queries()).is_ok();
    let c = entry_by_name(mem, &mut index, FAST, "/net/route/to/1").is_ok();
    let d = entry_by_name(mem, &mut index, FAST, "/if/names").is_ok();
    a && b && c && d
}

#[test]
fn sample_segment_reads_back() {
    let mem = sample_segment();
    let mut index = DirectoryIndex::new();
    let snapshot = read_lb_counters(&mem[..], &mut index, FAST, &queries()).unwrap();
    // Second thread rows are short or empty: they count as 0, and columns
    // past every row are 0 too.
    let got: Vec<_> = snapshot
        .vips
        .iter()
        .map(|v| (v.first, v.next, v.no_server, v.fib_packets, v.fib_bytes))
        .collect();
    assert_eq!(
        got,
        vec![(4, 9, 0, 13, 832), (0, 0, 3, 0, 0), (0, 0, 0, 0, 0)]
    );
    assert_eq!(snapshot.boottime, 1_795_313_094);
    let names = entry_by_name(&mem[..], &mut index, FAST, "/if/names")
        .unwrap()
        .unwrap();
    assert_eq!(
        names.value,
        StatValue::Names(vec![Some("local0".into()), None, Some("pg0".into())])
    );
    let link = entry_by_name(
        &mem[..],
        &mut index,
        FAST,
        "/err/null-node/blackholed packets",
    )
    .unwrap()
    .unwrap();
    assert_eq!(link.value, StatValue::SymlinkSimple(vec![26, 1]));
    // EMPTY and unknown-type entries are skipped, not errors.
    let all = dump(&mem[..], FAST, &|_| true).unwrap();
    assert!(all.iter().all(|e| e.name != "/future/type"));
    assert!(exercise(&mem));
}

#[test]
fn missing_lb_counters_read_as_zero_and_are_reported() {
    let mut b = SegmentBuilder::new(0x1000_0000, 1);
    b.scalar("/sys/boottime", 5);
    let mem = b.finish();
    let snapshot =
        read_lb_counters(&mem[..], &mut DirectoryIndex::new(), FAST, &queries()).unwrap();
    assert_eq!(snapshot.missing.len(), 5);
    assert!(snapshot.vips.iter().all(|v| *v == Default::default()));
    let err = read_boottime(&[0u8; 0][..], &mut DirectoryIndex::new(), FAST).unwrap_err();
    assert!(matches!(err, StatsError::Truncated { .. }), "{err:?}");
}

fn directory_offset(mem: &[u8]) -> usize {
    Segment::open(mem).unwrap().directory_offset()
}

#[test]
fn corrupt_segments_are_errors() {
    let valid = sample_segment();
    let base = get_u64(&valid, 8);
    let dir = directory_offset(&valid);
    type Corrupt = fn(&mut Vec<u8>, u64, usize);
    let cases: &[(&str, Corrupt, IsExpected)] = &[
        (
            "truncated in header",
            |m, _, _| m.truncate(20),
            |e| matches!(e, StatsError::Truncated { .. }),
        ),
        (
            "truncated in directory",
            |m, _, d| m.truncate(d + 100),
            |e| matches!(e, StatsError::VectorTooLong { .. }),
        ),
        (
            "version 3",
            |m, _, _| put_u64(m, OFF_VERSION, 3),
            |e| *e == StatsError::UnsupportedVersion { found: 3 },
        ),
        (
            "directory pointer past the end",
            |m, b, _| {
                let past = b + m.len() as u64 + 64;
                put_u64(m, OFF_DIRECTORY, past)
            },
            |e| matches!(e, StatsError::PointerOutOfRange { .. }),
        ),
        (
            "directory pointer far past the end (overflow)",
            |m, _, _| put_u64(m, OFF_DIRECTORY, u64::MAX),
            |e| matches!(e, StatsError::PointerOutOfRange { .. }),
        ),
        (
            "directory pointer to offset 0",
            |m, b, _| put_u64(m, OFF_DIRECTORY, b),
            |e| matches!(e, StatsError::PointerOutOfRange { offset: 0, .. }),
        ),
        (
            "directory pointer to offset 4 (no room for vector header)",
            |m, b, _| put_u64(m, OFF_DIRECTORY, b + 4),
            |e| matches!(e, StatsError::PointerOutOfRange { .. }),
        ),
        (
            "negative relocation",
            |m, b, _| put_u64(m, OFF_DIRECTORY, b - 8),
            |e| matches!(e, StatsError::PointerBelowBase { .. }),
        ),
        (
            "huge directory length",
            |m, _, d| m[d - 8..d - 4].copy_from_slice(&u32::MAX.to_le_bytes()),
            |e| matches!(e, StatsError::VectorTooLong { .. }),
        ),
        (
            "name without NUL",
            |m, _, d| m[d + 16..d + 144].fill(b'x'),
            |e| *e == StatsError::NameNotTerminated { index: 0 },
        ),
    ];
    for (what, corrupt, expected) in cases {
        let mut mem = valid.clone();
        corrupt(&mut mem, base, dir);
        let mut index = DirectoryIndex::new();
        let err = read_lb_counters(&mem[..], &mut index, FAST, &queries()).unwrap_err();
        assert!(expected(&err), "{what}: {err:?}");
        assert!(dump(&mem[..], FAST, &|_| true).is_err(), "{what}");
    }
}

#[test]
fn corrupt_values_are_errors() {
    let base = 0x5000_0000u64;
    let mut b = SegmentBuilder::new(base, 1);
    let row = b.vector(4, &[1u8; 32]);
    // 4 rows all pointing at one row, plus a row that points outside.
    let data: Vec<u8> = [row, row, row, base + (1 << 40)]
        .iter()
        .flat_map(|p| p.to_le_bytes())
        .collect();
    let outer = b.vector(4, &data);
    b.raw_entry(2, outer, "bad rows");
    b.symlink("self link", 2, 0);
    b.symlink("link past directory", 99, 0);
    b.raw_entry(4, base + (1 << 40), "names out of range");
    let mem = b.finish();
    let mut index = DirectoryIndex::new();
    let cases: &[(&str, IsExpected)] = &[
        ("bad rows", |e| {
            matches!(e, StatsError::PointerOutOfRange { .. })
        }),
        ("self link", |e| {
            matches!(
                e,
                StatsError::BadSymlink {
                    target: 2,
                    target_type: Some(6),
                    ..
                }
            )
        }),
        ("link past directory", |e| {
            matches!(
                e,
                StatsError::BadSymlink {
                    target_type: None,
                    ..
                }
            )
        }),
        ("names out of range", |e| {
            matches!(e, StatsError::PointerOutOfRange { .. })
        }),
    ];
    for (name, expected) in cases {
        let err = entry_by_name(&mem[..], &mut index, FAST, name).unwrap_err();
        assert!(expected(&err), "{name}: {err:?}");
    }
}

#[test]
fn aliased_rows_cannot_exhaust_memory() {
    // 2,000 thread rows all aliasing one 1,000-element row: a naive copy
    // would allocate 16 MB from a 30 kB segment.
    let base = 0x5000_0000u64;
    let mut b = SegmentBuilder::new(base, 1);
    let row = b.vector(1000, &[0u8; 8000]);
    let data: Vec<u8> = std::iter::repeat_n(row.to_le_bytes(), 2000)
        .flatten()
        .collect();
    let outer = b.vector(2000, &data);
    b.raw_entry(2, outer, "aliased");
    let mem = b.finish();
    let err = entry_by_name(&mem[..], &mut DirectoryIndex::new(), FAST, "aliased").unwrap_err();
    assert!(matches!(err, StatsError::BudgetExceeded { .. }), "{err:?}");
}

/// Deterministic xorshift64* generator.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

#[test]
fn random_mutations_never_panic() {
    let valid = sample_segment();
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let (mut ok, mut failed) = (0u32, 0u32);
    for _ in 0..10_000 {
        let mut mem = valid.clone();
        for _ in 0..1 + rng.below(4) {
            let at = rng.below(mem.len());
            // Mix random bytes with small edits, which keep pointers
            // plausible and so reach deeper code.
            mem[at] = match rng.below(3) {
                0 => rng.next() as u8,
                1 => mem[at].wrapping_add(1 + rng.below(16) as u8),
                _ => 0xff,
            };
        }
        if rng.below(20) == 0 {
            mem.truncate(rng.below(mem.len()));
        }
        if exercise(&mem) {
            ok += 1;
        } else {
            failed += 1;
        }
    }
    // Both outcomes must occur, or the mutations are not reaching the parser.
    eprintln!("mutations: ok {ok}, failed {failed}");
    assert!(ok > 100 && failed > 100, "ok {ok}, failed {failed}");
}

/// Memory whose header words follow a script, to drive the protocol.
struct Scripted<F: Fn(usize, u32) -> Option<u64>> {
    bytes: Vec<u8>,
    header_loads: Cell<u32>,
    script: F,
}

impl<F: Fn(usize, u32) -> Option<u64>> SegmentMemory for Scripted<F> {
    fn len(&self) -> usize {
        self.bytes.len()
    }

    fn load_u64(&self, offset: usize) -> Option<u64> {
        if offset == OFF_EPOCH || offset == OFF_IN_PROGRESS {
            let n = self.header_loads.get();
            self.header_loads.set(n + 1);
            if let Some(value) = (self.script)(offset, n) {
                return Some(value);
            }
        }
        self.bytes.load_u64(offset)
    }

    fn read_bytes(&self, offset: usize, out: &mut [u8]) -> Option<()> {
        self.bytes.read_bytes(offset, out)
    }
}

fn scripted<F: Fn(usize, u32) -> Option<u64>>(script: F) -> Scripted<F> {
    Scripted {
        bytes: sample_segment(),
        header_loads: Cell::new(0),
        script,
    }
}

#[test]
fn protocol_reports_busy_and_unstable() {
    let policy = ReadPolicy {
        max_attempts: 3,
        max_spins: 5,
    };
    let busy = scripted(|off, _| (off == OFF_IN_PROGRESS).then_some(1));
    let err = read_boottime(&busy, &mut DirectoryIndex::new(), policy).unwrap_err();
    assert_eq!(err, StatsError::Busy { attempts: 3 });

    // The epoch moves on every load: no attempt is ever bracketed.
    let unstable = scripted(|off, n| (off == OFF_EPOCH).then_some(u64::from(n)));
    let err = read_boottime(&unstable, &mut DirectoryIndex::new(), policy).unwrap_err();
    assert_eq!(err, StatsError::Unstable { attempts: 3 });
}

#[test]
fn protocol_waits_out_in_progress_and_retries_a_changed_epoch() {
    // in_progress is set for the first 3 header loads, then clear.
    let settling = scripted(|off, n| (off == OFF_IN_PROGRESS && n < 3).then_some(1));
    let boottime = read_boottime(&settling, &mut DirectoryIndex::new(), ReadPolicy::default());
    assert_eq!(boottime, Ok(1_795_313_094));

    // The epoch changes during the first attempt (7 → 8) and then holds:
    // the first result is discarded and the index is rebuilt for epoch 8.
    let changing = scripted(|off, n| (off == OFF_EPOCH).then_some(if n == 0 { 7 } else { 8 }));
    let mut index = DirectoryIndex::new();
    let boottime = read_boottime(&changing, &mut index, ReadPolicy::default());
    assert_eq!(boottime, Ok(1_795_313_094));
    assert_eq!(index.rebuilds(), 2);
    assert!(changing.header_loads.get() > 4);
}

#[test]
fn index_follows_epoch_changes_and_reused_slots() {
    let mut b = SegmentBuilder::new(0x1000_0000, 1);
    b.scalar("/sys/boottime", 5);
    b.scalar("/a", 1);
    let mut mem = b.finish();
    let mut index = DirectoryIndex::new();
    let read = |mem: &[u8], index: &mut DirectoryIndex, name: &str| {
        entry_by_name(mem, index, FAST, name)
            .unwrap()
            .map(|e| e.value)
    };
    assert_eq!(read(&mem, &mut index, "/a"), Some(StatValue::Scalar(1)));
    // VPP reuses slot 1 for "/b" without (yet) bumping the epoch: the
    // verified lookup must not return "/b" as "/a".
    let dir = directory_offset(&mem);
    mem[dir + 144 + 16..dir + 144 + 18].copy_from_slice(b"/b");
    assert_eq!(read(&mem, &mut index, "/a"), None);
    put_u64(&mut mem, OFF_EPOCH, 2);
    assert_eq!(read(&mem, &mut index, "/b"), Some(StatValue::Scalar(1)));
    assert_eq!(index.rebuilds(), 3);
}
