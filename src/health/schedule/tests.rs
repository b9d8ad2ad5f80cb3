use super::*;
use crate::health::{BackendHealth, Code};

const MS: fn(u64) -> Duration = Duration::from_millis;

#[test]
fn interval_kind_table() {
    use IntervalKind::{Fast, Normal};
    use State::{Down, Unknown, Up};
    const SLOW: IntervalKind = IntervalKind::Down;
    // (state, counter, max, expected)
    let cases = [
        (Unknown, 1, 4, Fast),
        (Unknown, 0, 1, Fast),
        (Unknown, 4, 4, Fast),
        (Up, 4, 4, Normal),
        (Up, 3, 4, Fast),
        (Up, 2, 4, Fast),
        (Down, 1, 4, Fast),
        (Down, 0, 4, SLOW),
        (Up, 1, 1, Normal),
        (Down, 0, 1, SLOW),
    ];
    for (state, counter, max, want) in cases {
        assert_eq!(
            interval_kind(state, counter, max),
            want,
            "{state} {counter}/{max}"
        );
    }
}

#[test]
fn interval_after_each_step() {
    use IntervalKind::*;
    let intervals = Intervals {
        interval: MS(2000),
        fast: MS(500),
        down: MS(10_000),
    };
    // rise=2 fall=3 (Max=4); (result, interval kind after it)
    let steps = [
        (true, Fast),   // unknown → up, counter 2
        (true, Fast),   // 3
        (true, Normal), // 4 = Max
        (true, Normal), // stays at Max
        (false, Fast),  // 3, still up
        (false, Fast),  // 2
        (false, Fast),  // 1, down
        (false, Down),  // 0
        (false, Down),  // stays 0
        (true, Fast),   // 1
    ];
    let mut h = BackendHealth::new(2, 3, 5, true, 0);
    assert_eq!(interval_kind(h.state(), h.counter(), h.max()), Fast);
    for (i, (pass, want)) in steps.into_iter().enumerate() {
        h.record(if pass { Code::L4Ok } else { Code::L4Tout }, i as u64);
        let kind = interval_kind(h.state(), h.counter(), h.max());
        assert_eq!(kind, want, "step {i}");
        // With the midpoint random value the jitter factor is (almost) 1.
        let delay = jittered(
            next_interval(&intervals, h.state(), h.counter(), h.max()),
            u32::MAX / 2,
        );
        let base = intervals.pick(want);
        assert!(
            delay.abs_diff(base) <= base / 1_000_000,
            "step {i}: {delay:?} vs {base:?}"
        );
    }
}

#[test]
fn pick_matches_kind() {
    let intervals = Intervals {
        interval: MS(1),
        fast: MS(2),
        down: MS(3),
    };
    assert_eq!(intervals.pick(IntervalKind::Normal), MS(1));
    assert_eq!(intervals.pick(IntervalKind::Fast), MS(2));
    assert_eq!(intervals.pick(IntervalKind::Down), MS(3));
}

#[test]
fn jitter_bounds() {
    let cases = [
        (MS(1000), 0, MS(900)),
        (MS(1000), u32::MAX, MS(1100)),
        (Duration::from_secs(30), 0, Duration::from_secs(27)),
        (Duration::from_secs(30), u32::MAX, Duration::from_secs(33)),
        (Duration::ZERO, 12345, Duration::ZERO),
    ];
    for (base, random, want) in cases {
        assert_eq!(jittered(base, random), want, "{base:?} {random}");
    }
    // Midpoint is the base (within rounding).
    assert!(jittered(MS(1000), u32::MAX / 2).abs_diff(MS(1000)) < Duration::from_micros(1));
    // Monotonic in the random input.
    let mut last = Duration::ZERO;
    for r in (0..=u32::MAX).step_by(1 << 24) {
        let d = jittered(MS(1000), r);
        assert!(d >= last);
        last = d;
    }
    // Huge bases saturate instead of panicking.
    assert!(jittered(Duration::MAX, u32::MAX) <= Duration::MAX);
}

#[test]
fn jitter_distribution_with_rng() {
    let base = MS(1000);
    let mut rng = Rng::new(0x5eed);
    // Ten buckets of 20 ms over [900, 1100] ms.
    let mut buckets = [0u32; 10];
    let n = 20_000;
    for _ in 0..n {
        let d = jittered(base, rng.next_u32());
        assert!(d >= MS(900) && d <= MS(1100), "{d:?}");
        let idx = ((d.as_micros() - 900_000) / 20_000).min(9) as usize;
        buckets[idx] += 1;
    }
    // Uniform: each bucket holds about n/10 = 2000; allow ±15 %.
    for (i, count) in buckets.iter().enumerate() {
        assert!(
            (1700..=2300).contains(count),
            "bucket {i}: {count} ({buckets:?})"
        );
    }
}

#[test]
fn rng_is_deterministic_and_seed_dependent() {
    let a: Vec<u32> = {
        let mut r = Rng::new(1);
        (0..8).map(|_| r.next_u32()).collect()
    };
    let b: Vec<u32> = {
        let mut r = Rng::new(1);
        (0..8).map(|_| r.next_u32()).collect()
    };
    let c: Vec<u32> = {
        let mut r = Rng::new(2);
        (0..8).map(|_| r.next_u32()).collect()
    };
    assert_eq!(a, b);
    assert_ne!(a, c);
    // SplitMix64 reference value for seed 0 (first output).
    assert_eq!(Rng::new(0).next_u64(), 0xE220_A839_7B1D_CDAF);
}

#[test]
fn first_probe_spreading() {
    // (index, count, interval, expected offset)
    let cases = [
        (0, 4, MS(2000), MS(0)),
        (1, 4, MS(2000), MS(250)),
        (3, 4, MS(2000), MS(750)),
        // Short interval: the window is the interval itself.
        (1, 4, MS(400), MS(100)),
        (0, 1, MS(2000), MS(0)),
        (0, 0, MS(2000), MS(0)),
        // Out-of-range index is treated as the last slot.
        (9, 4, MS(2000), MS(750)),
        (999, 1000, Duration::from_secs(5), MS(999)),
    ];
    for (index, count, interval, want) in cases {
        assert_eq!(
            first_probe_offset(index, count, interval),
            want,
            "{index}/{count} {interval:?}"
        );
    }
    // Many backends: strictly inside the window, non-decreasing, evenly spread.
    let count = 5000;
    let offsets: Vec<Duration> = (0..count)
        .map(|i| first_probe_offset(i, count, MS(3000)))
        .collect();
    assert!(offsets.windows(2).all(|w| w[0] <= w[1]));
    assert!(offsets.iter().all(|d| *d < FIRST_PROBE_WINDOW));
    let in_first_half = offsets.iter().filter(|d| **d < MS(500)).count();
    assert_eq!(in_first_half, count / 2);
}
