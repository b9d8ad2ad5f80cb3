//! The timer heap: every deadline of the daemon (probe schedules, probe
//! timeouts, syncs, pings, client idle timeouts) lives here.
//!
//! A binary heap keyed by (deadline, insertion sequence) keeps scheduling and
//! popping at O(log n), so 10,000 backends at 1 s cost nothing per tick.
//! Cancellation is lazy: owners put a generation in their key and ignore
//! entries whose generation is stale when they pop, which avoids an O(n)
//! removal. Pure: the caller passes every `Instant`.

use std::cmp::Ordering;
use std::collections::BinaryHeap;
use std::time::{Duration, Instant};

/// 24 bytes with the daemon's 12-byte keys (a heap holds one per backend).
struct Entry<K> {
    /// Nanoseconds after the heap's `base`.
    at: u64,
    /// Insertion order among equal deadlines, compared with wrap-around
    /// (entries 2^31 schedules apart never share a deadline).
    seq: u32,
    key: K,
}

impl<K> PartialEq for Entry<K> {
    fn eq(&self, other: &Self) -> bool {
        self.at == other.at && self.seq == other.seq
    }
}
impl<K> Eq for Entry<K> {}
impl<K> PartialOrd for Entry<K> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl<K> Ord for Entry<K> {
    // Reversed so that `BinaryHeap` (a max-heap) pops the earliest deadline,
    // and equal deadlines pop in insertion order (deterministic tests).
    fn cmp(&self, other: &Self) -> Ordering {
        other
            .at
            .cmp(&self.at)
            .then_with(|| (other.seq.wrapping_sub(self.seq) as i32).cmp(&0))
    }
}

/// Deadlines with keys of type `K`.
pub struct TimerHeap<K> {
    heap: BinaryHeap<Entry<K>>,
    seq: u32,
    /// Deadlines are stored as offsets from here: a day before the heap was
    /// made, so that callers' `Instant`s taken just before it still fit.
    base: Instant,
}

impl<K> Default for TimerHeap<K> {
    fn default() -> Self {
        Self::new()
    }
}

impl<K> TimerHeap<K> {
    pub fn new() -> Self {
        let now = Instant::now();
        TimerHeap {
            heap: BinaryHeap::new(),
            seq: 0,
            base: now.checked_sub(Duration::from_secs(86_400)).unwrap_or(now),
        }
    }

    /// Make room for `additional` more deadlines without the doubling
    /// slack of `push` (a reload adding 10,000 probes would otherwise leave
    /// up to 6,000 empty entries behind).
    pub fn reserve_exact(&mut self, additional: usize) {
        self.heap.reserve_exact(additional);
    }

    fn offset(&self, at: Instant) -> u64 {
        // 2^64 ns is 584 years: saturation is theoretical.
        u64::try_from(at.saturating_duration_since(self.base).as_nanos()).unwrap_or(u64::MAX)
    }

    fn instant(&self, offset: u64) -> Instant {
        self.base + Duration::from_nanos(offset)
    }

    /// Schedule `key` to fire at `at`.
    pub fn schedule(&mut self, at: Instant, key: K) {
        self.seq = self.seq.wrapping_add(1);
        let at = self.offset(at);
        self.heap.push(Entry {
            at,
            seq: self.seq,
            key,
        });
    }

    /// The earliest deadline, stale entries included.
    pub fn next_deadline(&self) -> Option<Instant> {
        self.heap.peek().map(|e| self.instant(e.at))
    }

    /// How long the loop may sleep: until the next deadline, at most `cap`.
    pub fn poll_timeout(&self, now: Instant, cap: Duration) -> Duration {
        match self.next_deadline() {
            Some(at) => at.saturating_duration_since(now).min(cap),
            None => cap,
        }
    }

    /// Pop one entry whose deadline is at or before `now`, with the deadline
    /// it was scheduled for (so the caller can measure lateness).
    pub fn pop_due(&mut self, now: Instant) -> Option<(Instant, K)> {
        self.pop_due_within(now, |_| Duration::ZERO)
    }

    /// Like [`TimerHeap::pop_due`], but the earliest entry may also fire up
    /// to `slack(key)` before its deadline: timers that tolerate it (probe
    /// starts, within their jitter) then share one wake-up.
    pub fn pop_due_within(
        &mut self,
        now: Instant,
        slack: impl Fn(&K) -> Duration,
    ) -> Option<(Instant, K)> {
        let e = self.heap.peek()?;
        let now = self.offset(now);
        if e.at > now {
            let slack = u64::try_from(slack(&e.key).as_nanos()).unwrap_or(u64::MAX);
            if e.at > now.saturating_add(slack) {
                return None;
            }
        }
        let e = self.heap.pop()?;
        Some((self.instant(e.at), e.key))
    }

    /// Entries held, stale ones included.
    pub fn len(&self) -> usize {
        self.heap.len()
    }

    pub fn is_empty(&self) -> bool {
        self.heap.is_empty()
    }

    /// Drop every entry for which `keep` is false (used after a reload
    /// removes many owners at once, so the heap does not carry dead weight).
    pub fn retain(&mut self, mut keep: impl FnMut(&K) -> bool) {
        self.heap.retain(|e| keep(&e.key));
    }
}

/// Log-linear latency histogram in microseconds for p50/p99 reporting
/// (timer lateness, reaction latency). Fixed memory, O(1) record.
#[derive(Clone)]
pub struct LatencyHistogram {
    /// 8 sub-buckets per power of two up to 2^32 µs.
    buckets: Vec<u64>,
    count: u64,
    max_us: u64,
    sum_us: u64,
}

const SUB: u64 = 8;

impl Default for LatencyHistogram {
    fn default() -> Self {
        Self::new()
    }
}

impl LatencyHistogram {
    pub fn new() -> Self {
        LatencyHistogram {
            buckets: vec![0; (33 * SUB) as usize],
            count: 0,
            max_us: 0,
            sum_us: 0,
        }
    }

    fn index(us: u64) -> usize {
        if us < SUB {
            return us as usize;
        }
        let exp = 63 - us.leading_zeros() as u64; // ≥ 3
        let sub = (us >> (exp - 3)) & (SUB - 1);
        let idx = (exp - 2) * SUB + sub;
        idx.min(33 * SUB - 1) as usize
    }

    /// Lower bound of a bucket, in µs.
    fn lower_bound(idx: usize) -> u64 {
        let idx = idx as u64;
        if idx < SUB {
            return idx;
        }
        let exp = idx / SUB + 2;
        let sub = idx % SUB;
        (1u64 << exp) | (sub << (exp - 3))
    }

    pub fn record(&mut self, d: Duration) {
        let us = u64::try_from(d.as_micros()).unwrap_or(u64::MAX);
        if let Some(b) = self.buckets.get_mut(Self::index(us)) {
            *b += 1;
        }
        self.count += 1;
        self.max_us = self.max_us.max(us);
        self.sum_us = self.sum_us.saturating_add(us);
    }

    pub fn sum_us(&self) -> u64 {
        self.sum_us
    }

    pub fn count(&self) -> u64 {
        self.count
    }

    pub fn max_us(&self) -> u64 {
        self.max_us
    }

    /// Quantile `q` in [0, 1] as the lower bound of its bucket, in µs
    /// (accurate to 1/8 of a power of two).
    pub fn quantile_us(&self, q: f64) -> u64 {
        if self.count == 0 {
            return 0;
        }
        let rank = ((self.count as f64) * q.clamp(0.0, 1.0)).ceil().max(1.0) as u64;
        let mut seen = 0;
        for (i, n) in self.buckets.iter().enumerate() {
            seen += n;
            if seen >= rank {
                return Self::lower_bound(i).min(self.max_us);
            }
        }
        self.max_us
    }

    pub fn reset(&mut self) {
        self.buckets.iter_mut().for_each(|b| *b = 0);
        self.count = 0;
        self.max_us = 0;
        self.sum_us = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pops_in_deadline_then_insertion_order() {
        let t0 = Instant::now();
        let mut h = TimerHeap::new();
        h.schedule(t0 + Duration::from_millis(30), "c");
        h.schedule(t0 + Duration::from_millis(10), "a");
        h.schedule(t0 + Duration::from_millis(10), "b");
        h.schedule(t0 + Duration::from_millis(50), "d");
        let now = t0 + Duration::from_millis(40);
        let mut got = vec![];
        while let Some((_, k)) = h.pop_due(now) {
            got.push(k);
        }
        assert_eq!(got, vec!["a", "b", "c"]);
        assert_eq!(h.next_deadline(), Some(t0 + Duration::from_millis(50)));
        assert_eq!(
            h.poll_timeout(now, Duration::from_secs(1)),
            Duration::from_millis(10)
        );
        assert_eq!(
            h.poll_timeout(t0 + Duration::from_secs(9), Duration::from_secs(1)),
            Duration::ZERO
        );
    }

    #[test]
    fn nothing_due_before_deadline() {
        let t0 = Instant::now();
        let mut h = TimerHeap::new();
        h.schedule(t0 + Duration::from_millis(5), 1u32);
        assert!(h.pop_due(t0).is_none());
        assert_eq!(
            h.pop_due(t0 + Duration::from_millis(5)).map(|x| x.1),
            Some(1)
        );
        assert!(h.is_empty());
    }

    #[test]
    fn slack_lets_tolerant_timers_fire_early() {
        let t0 = Instant::now();
        let mut h = TimerHeap::new();
        h.schedule(t0 + Duration::from_millis(10), ("probe", 1));
        h.schedule(t0 + Duration::from_millis(30), ("probe", 2));
        h.schedule(t0 + Duration::from_millis(40), ("ping", 3));
        let slack = |k: &(&str, i32)| {
            if k.0 == "probe" {
                Duration::from_millis(25)
            } else {
                Duration::ZERO
            }
        };
        let mut got = vec![];
        while let Some((_, k)) = h.pop_due_within(t0 + Duration::from_millis(10), slack) {
            got.push(k.1);
        }
        assert_eq!(got, vec![1, 2], "the ping keeps its deadline");
        assert!(h
            .pop_due_within(t0 + Duration::from_millis(39), slack)
            .is_none());
        assert_eq!(
            h.pop_due_within(t0 + Duration::from_millis(40), slack)
                .map(|e| e.1 .1),
            Some(3)
        );
    }

    #[test]
    fn deadlines_come_back_exact_and_order_survives_sequence_wrap() {
        let before = Instant::now();
        let mut h = TimerHeap::new();
        // Taken before the heap existed, and far ahead: both exact.
        let far = before + Duration::from_secs(30 * 86_400) + Duration::from_nanos(7);
        h.schedule(far, 2);
        h.schedule(before, 1);
        assert_eq!(h.next_deadline(), Some(before));
        assert_eq!(h.pop_due(before), Some((before, 1)));
        assert_eq!(h.pop_due(far), Some((far, 2)));
        // Equal deadlines keep insertion order across the u32 wrap.
        h.seq = u32::MAX - 1;
        for k in 10..14 {
            h.schedule(before, k);
        }
        let got: Vec<i32> = std::iter::from_fn(|| h.pop_due(before).map(|e| e.1)).collect();
        assert_eq!(got, vec![10, 11, 12, 13]);
        assert_eq!(std::mem::size_of::<Entry<[u32; 3]>>(), 24);
    }

    #[test]
    fn retain_drops_entries() {
        let t0 = Instant::now();
        let mut h = TimerHeap::new();
        for i in 0..100u32 {
            h.schedule(t0 + Duration::from_millis(u64::from(i)), i);
        }
        h.retain(|k| k % 2 == 0);
        assert_eq!(h.len(), 50);
        let mut prev = None;
        while let Some((_, k)) = h.pop_due(t0 + Duration::from_secs(1)) {
            assert_eq!(k % 2, 0);
            if let Some(p) = prev {
                assert!(k > p);
            }
            prev = Some(k);
        }
    }

    #[test]
    fn histogram_quantiles() {
        let mut h = LatencyHistogram::new();
        assert_eq!(h.quantile_us(0.99), 0);
        for us in 1..=1000u64 {
            h.record(Duration::from_micros(us));
        }
        let p50 = h.quantile_us(0.5);
        let p99 = h.quantile_us(0.99);
        assert!((448..=500).contains(&p50), "p50 {p50}");
        assert!((896..=990).contains(&p99), "p99 {p99}");
        assert_eq!(h.max_us(), 1000);
        assert_eq!(h.count(), 1000);
        for i in 0..(33 * SUB as usize) {
            assert_eq!(LatencyHistogram::index(LatencyHistogram::lower_bound(i)), i);
        }
    }
}
