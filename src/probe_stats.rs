//! Per-backend probe counters and a Prometheus-style duration histogram,
//! kept compact (fixed arrays, no maps, 72 bytes) because 10,000 backends
//! each carry one.

use std::time::Duration;

use crate::health::Code;

/// Upper bounds of the duration histogram buckets, in seconds (Prometheus
/// `le` labels). Probes on a LAN take well under a millisecond; the tail
/// goes to the usual 1–10 s timeouts.
pub const BUCKETS_SECONDS: [f64; 12] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
];

const BUCKETS_US: [u64; 12] = [
    500, 1_000, 2_500, 5_000, 10_000, 25_000, 50_000, 100_000, 250_000, 500_000, 1_000_000,
    2_500_000,
];

/// Cumulative-on-read histogram of probe durations.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct DurationHistogram {
    /// The sum of durations in µs, as (low, high) halves of a u64: with a
    /// u64 field the histogram is 8-aligned and pads to 64 bytes; 4-aligned
    /// it is 60, and `ProbeStats` 72 instead of 80.
    sum_us: [u32; 2],
    /// Non-cumulative counts per bucket.
    buckets: [u32; 12],
    /// Observations above the last bound (in `count`, in no bucket).
    above: u32,
}

impl DurationHistogram {
    pub fn record(&mut self, d: Duration) {
        let us = u64::try_from(d.as_micros()).unwrap_or(u64::MAX);
        let counter = match BUCKETS_US.iter().position(|&b| us <= b) {
            Some(i) => self.buckets.get_mut(i),
            None => Some(&mut self.above),
        };
        if let Some(n) = counter {
            *n = n.saturating_add(1);
        }
        let sum = self.sum_us().saturating_add(us);
        // Splitting a u64 into its halves: the truncations are the point.
        self.sum_us = [sum as u32, (sum >> 32) as u32];
    }

    fn sum_us(&self) -> u64 {
        let [low, high] = self.sum_us;
        (u64::from(high) << 32) | u64::from(low)
    }

    /// Cumulative counts per `le` bound, as Prometheus wants them.
    pub fn cumulative(&self) -> [u64; 12] {
        let mut out = [0u64; 12];
        let mut acc = 0u64;
        for (o, b) in out.iter_mut().zip(self.buckets.iter()) {
            acc += u64::from(*b);
            *o = acc;
        }
        out
    }

    pub fn count(&self) -> u64 {
        self.buckets.iter().map(|&n| u64::from(n)).sum::<u64>() + u64::from(self.above)
    }

    pub fn sum_seconds(&self) -> f64 {
        self.sum_us() as f64 / 1e6
    }
}

/// Probe totals of one backend by result code. Most backends only ever see
/// one code (L7OK, L4OK, or the one they fail with): while they do, the
/// histogram's count is that code's count, and a full table is allocated
/// when a second code shows up.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ProbeStats {
    /// Every probe is timed once and counted once, so while `all` is
    /// `None` its count is the count of `first_code`.
    pub durations: DurationHistogram,
    /// Index into [`Code::PROBE_CODES`] of the only code seen so far
    /// (meaningless while nothing was counted).
    first_code: u8,
    /// Every code's count once a second code was seen (the inline count is
    /// then moved here).
    #[allow(clippy::box_collection)]
    all: Option<Box<[u32; Code::PROBE_CODES.len()]>>,
}

impl ProbeStats {
    /// Counts and times one probe. A code that is not a probe result (an
    /// operator action's) is neither: the histogram is of probes only.
    pub fn record(&mut self, code: Code, duration: Duration) {
        let Some(i) = Code::PROBE_CODES.iter().position(|&c| c == code) else {
            return;
        };
        // The usual probe repeats the code seen so far: nothing to count
        // beyond the histogram.
        if self.all.is_none() && usize::from(self.first_code) != i {
            let counted = self.durations.count();
            if counted == 0 {
                // PROBE_CODES has 14 entries: the index fits a u8.
                self.first_code = i as u8;
            } else {
                let mut all = Box::new([0u32; Code::PROBE_CODES.len()]);
                if let Some(n) = all.get_mut(usize::from(self.first_code)) {
                    *n = u32::try_from(counted).unwrap_or(u32::MAX);
                }
                self.all = Some(all);
            }
        }
        self.durations.record(duration);
        if let Some(n) = self.all.as_mut().and_then(|all| all.get_mut(i)) {
            *n = n.saturating_add(1);
        }
    }

    /// (code, count) for every code seen at least once, in
    /// [`Code::PROBE_CODES`] order.
    pub fn by_code(&self) -> impl Iterator<Item = (Code, u64)> + '_ {
        let inline = match self.all {
            None => Code::PROBE_CODES
                .get(usize::from(self.first_code))
                .map(|&c| (c, self.durations.count()))
                .filter(|&(_, n)| n > 0),
            Some(_) => None,
        };
        let table = self.all.iter().flat_map(|all| {
            Code::PROBE_CODES
                .iter()
                .zip(all.iter())
                .filter(|(_, &n)| n > 0)
                .map(|(&c, &n)| (c, u64::from(n)))
        });
        inline.into_iter().chain(table)
    }

    pub fn total(&self) -> u64 {
        self.by_code().map(|(_, n)| n).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histogram_buckets_are_cumulative() {
        let mut h = DurationHistogram::default();
        for us in [100, 500, 501, 3_000, 2_000_000, 9_000_000] {
            h.record(Duration::from_micros(us));
        }
        let c = h.cumulative();
        assert_eq!(c[0], 2); // ≤ 0.5 ms
        assert_eq!(c[1], 3); // ≤ 1 ms
        assert_eq!(c[3], 4); // ≤ 5 ms
        assert_eq!(c[11], 5); // ≤ 2.5 s; the 9 s probe is only in count
        assert_eq!(h.count(), 6);
        assert!((h.sum_seconds() - 11.004101).abs() < 1e-9);
    }

    #[test]
    fn stats_by_code() {
        let mut s = ProbeStats::default();
        s.record(Code::L7Ok, Duration::from_micros(10));
        s.record(Code::L7Ok, Duration::from_micros(10));
        s.record(Code::L4Con, Duration::from_micros(10));
        s.record(Code::Paused, Duration::from_micros(10)); // not a probe: ignored
        let got: Vec<_> = s.by_code().collect();
        assert_eq!(got, vec![(Code::L4Con, 1), (Code::L7Ok, 2)]);
        assert_eq!(s.total(), 3);
        assert_eq!(s.durations.count(), 3);
        let mut only_actions = ProbeStats::default();
        only_actions.record(Code::Paused, Duration::ZERO);
        assert_eq!(
            (only_actions.total(), only_actions.durations.count()),
            (0, 0)
        );
    }

    #[test]
    fn one_code_is_counted_inline_then_a_table_takes_over() {
        let mut s = ProbeStats::default();
        assert_eq!(s.by_code().count(), 0);
        assert_eq!(s.total(), 0);
        for _ in 0..3 {
            s.record(Code::L4Ok, Duration::from_micros(10));
        }
        assert!(s.all.is_none(), "a single code needs no table");
        assert_eq!(s.by_code().collect::<Vec<_>>(), vec![(Code::L4Ok, 3)]);
        s.record(Code::L3Ok, Duration::from_micros(10));
        s.record(Code::L4Ok, Duration::from_micros(10));
        s.record(Code::Static, Duration::from_micros(10));
        assert_eq!(
            s.by_code().collect::<Vec<_>>(),
            vec![(Code::L3Ok, 1), (Code::L4Ok, 4), (Code::Static, 1)]
        );
        assert_eq!(s.total(), 6);
        // The first code in the table, not only inline.
        let mut t = ProbeStats::default();
        t.record(Code::L3Ok, Duration::ZERO);
        t.record(Code::L7Sts, Duration::ZERO);
        assert_eq!(
            t.by_code().collect::<Vec<_>>(),
            vec![(Code::L3Ok, 1), (Code::L7Sts, 1)]
        );
    }

    #[test]
    fn stats_stay_small() {
        assert_eq!(std::mem::size_of::<DurationHistogram>(), 60);
        assert_eq!(std::mem::size_of::<ProbeStats>(), 72);
    }

    #[test]
    fn the_sum_carries_into_the_high_half() {
        let mut h = DurationHistogram::default();
        let big = Duration::from_micros(u64::from(u32::MAX));
        h.record(big);
        h.record(big);
        h.record(Duration::from_micros(2));
        assert_eq!(h.sum_us(), 2 * u64::from(u32::MAX) + 2);
        assert_eq!(h.sum_us, [0, 2]);
    }
}
