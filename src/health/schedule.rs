//! Probe scheduling policy (spec/health.md §1, §5): which interval follows a
//! result, the ±10 % jitter, the spreading of first probes and a tiny PRNG.
//!
//! Pure: randomness comes in as a `u32` (drawn by the daemon from [`Rng`]),
//! so every decision is reproducible in tests. The daemon owns the timers and
//! the clock.

use std::time::Duration;

use super::types::State;
use crate::config::HealthCheck;

/// Period of the synthetic pass of a static backend (no health check).
/// Q-H3: 30 s, as inferred from the original.
pub const STATIC_REAFFIRM: Duration = Duration::from_secs(30);

/// Window over which first probes are spread at most (spec/health.md §1).
pub const FIRST_PROBE_WINDOW: Duration = Duration::from_secs(1);

/// Which of a check's three intervals applies next.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum IntervalKind {
    /// `interval`: fully healthy (counter == Max).
    Normal,
    /// `fast-interval`: in transition (0 < counter < Max) or `unknown`.
    Fast,
    /// `down-interval`: fully down (counter == 0).
    Down,
}

impl IntervalKind {
    pub fn as_str(self) -> &'static str {
        match self {
            IntervalKind::Normal => "interval",
            IntervalKind::Fast => "fast-interval",
            IntervalKind::Down => "down-interval",
        }
    }
}

/// The interval rule of spec/health.md §5 (Q-H2, HAProxy inter/fastinter/
/// downinter). `unknown` always probes fast, whatever the counter, so a
/// fresh backend resolves quickly. Only meaningful for probing states.
pub fn interval_kind(state: State, counter: u32, max: u32) -> IntervalKind {
    if state == State::Unknown {
        IntervalKind::Fast
    } else if counter >= max {
        IntervalKind::Normal
    } else if counter == 0 {
        IntervalKind::Down
    } else {
        IntervalKind::Fast
    }
}

/// The three intervals of one health check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Intervals {
    pub interval: Duration,
    pub fast: Duration,
    pub down: Duration,
}

impl Intervals {
    /// From a validated check (defaults for fast/down already applied).
    pub fn from_check(check: &HealthCheck) -> Self {
        Intervals {
            interval: check.interval,
            fast: check.fast_interval,
            down: check.down_interval,
        }
    }

    pub fn pick(&self, kind: IntervalKind) -> Duration {
        match kind {
            IntervalKind::Normal => self.interval,
            IntervalKind::Fast => self.fast,
            IntervalKind::Down => self.down,
        }
    }
}

/// `base` scaled uniformly into [0.9·base, 1.1·base] by `random`
/// (0 → 0.9·base, `u32::MAX` → 1.1·base). Saturates at the largest
/// representable nanosecond count instead of overflowing.
pub fn jittered(base: Duration, random: u32) -> Duration {
    let base_ns = base.as_nanos();
    let low = base_ns * 9 / 10;
    let span = base_ns * 2 / 10;
    let offset = span * u128::from(random) / u128::from(u32::MAX);
    nanos_saturating(low + offset)
}

/// The interval that follows a result: the base of the next probe's
/// jitter band.
pub fn next_interval(intervals: &Intervals, state: State, counter: u32, max: u32) -> Duration {
    intervals.pick(interval_kind(state, counter, max))
}

/// Offset of the first probe of backend number `index` out of `count`
/// (spec/health.md §1, ours): spread uniformly over min(interval, 1 s), index
/// 0 at once, so a large configuration never probes in one burst yet every
/// backend resolves within about a second. An `index` beyond `count` is
/// treated as the last slot.
pub fn first_probe_offset(index: usize, count: usize, interval: Duration) -> Duration {
    if count == 0 {
        return Duration::ZERO;
    }
    let window_ns = interval.min(FIRST_PROBE_WINDOW).as_nanos();
    let slot = index.min(count - 1) as u128;
    nanos_saturating(window_ns * slot / count as u128)
}

fn nanos_saturating(ns: u128) -> Duration {
    let secs = ns / 1_000_000_000;
    let sub = (ns % 1_000_000_000) as u32;
    match u64::try_from(secs) {
        Ok(secs) => Duration::new(secs, sub),
        Err(_) => Duration::MAX,
    }
}

/// SplitMix64: tiny, fast and statistically good enough for jitter. Not for
/// anything security related. The daemon seeds it (e.g. from the clock and
/// pid); tests seed it with constants.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rng {
    state: u64,
}

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng { state: seed }
    }

    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// The high half of [`Rng::next_u64`] (the better-mixed bits).
    pub fn next_u32(&mut self) -> u32 {
        (self.next_u64() >> 32) as u32
    }
}

#[cfg(test)]
mod tests;
