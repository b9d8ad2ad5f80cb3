//! Per-backend probe counters and a Prometheus-style duration histogram,
//! kept compact (fixed arrays, no maps) because 10,000 backends each carry
//! one.

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
    /// Non-cumulative counts per bucket; observations above the last bound
    /// only appear in `count`.
    buckets: [u32; 12],
    count: u64,
    sum_us: u64,
}

impl DurationHistogram {
    pub fn record(&mut self, d: Duration) {
        let us = u64::try_from(d.as_micros()).unwrap_or(u64::MAX);
        if let Some(i) = BUCKETS_US.iter().position(|&b| us <= b) {
            if let Some(b) = self.buckets.get_mut(i) {
                *b = b.saturating_add(1);
            }
        }
        self.count += 1;
        self.sum_us = self.sum_us.saturating_add(us);
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
        self.count
    }

    pub fn sum_seconds(&self) -> f64 {
        self.sum_us as f64 / 1e6
    }
}

/// Probe totals of one backend by result code.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ProbeStats {
    /// u32 (saturating) keeps the per-backend struct small: at one probe a
    /// second a counter lasts 136 years.
    by_code: [u32; Code::PROBE_CODES.len()],
    pub durations: DurationHistogram,
}

impl ProbeStats {
    pub fn record(&mut self, code: Code, duration: Duration) {
        if let Some(i) = Code::PROBE_CODES.iter().position(|&c| c == code) {
            if let Some(n) = self.by_code.get_mut(i) {
                *n = n.saturating_add(1);
            }
        }
        self.durations.record(duration);
    }

    /// (code, count) for every code seen at least once.
    pub fn by_code(&self) -> impl Iterator<Item = (Code, u64)> + '_ {
        Code::PROBE_CODES
            .iter()
            .zip(self.by_code.iter())
            .filter(|(_, &n)| n > 0)
            .map(|(&c, &n)| (c, u64::from(n)))
    }

    pub fn total(&self) -> u64 {
        self.by_code.iter().map(|&n| u64::from(n)).sum()
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
        s.record(Code::Paused, Duration::ZERO); // not a probe code: only timed
        let got: Vec<_> = s.by_code().collect();
        assert_eq!(got, vec![(Code::L4Con, 1), (Code::L7Ok, 2)]);
        assert_eq!(s.total(), 3);
        assert_eq!(s.durations.count(), 4);
    }
}
