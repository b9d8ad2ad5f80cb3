//! Where the next probe of a backend starts, so that probes of different
//! backends share the daemon's wake-ups (ours, docs/health.md "Shared
//! starts").
//!
//! The ±10 % jitter of spec/health.md §5 lets the next start of a backend
//! fall anywhere in a band of [0.9, 1.1] × its interval after its last
//! result. Rather than a point drawn at random in that band, a backend
//! joins an instant already planned for other backends when one lies in
//! its band next to its random draw (but not nearer than
//! [`LOOP_AWAKE_ANYWAY`]). That matters at idle, where a wake-up (a
//! context switch, cold caches, waking the server) costs more than the
//! probes it serves.
//!
//! The random draw still picks which neighbour a backend joins, so groups
//! keep mixing instead of locking together, and an instant takes at most
//! [`MAX_STARTS_PER_INSTANT`] probes, which bounds a burst and the
//! lateness of its last start. The daemon may also start a probe early,
//! when it is awake anyway, by up to a tenth of its interval (at most
//! 100 ms: [`Placement::slack`]), so a period is never shorter than 0.8 ×
//! the interval nor longer than 1.1 × plus the loop's lateness. What a
//! backend gains or loses against its draw, by joining a neighbour or by
//! starting early or late, is carried into its next draws, and a backend
//! already ahead may not start early by as much, so its mean period stays
//! its interval.
//!
//! Pure: the daemon passes the clock and the random draw.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use super::schedule::jittered;

/// Probe starts planned on one instant at most (one loop wake-up).
pub const MAX_STARTS_PER_INSTANT: u16 = 32;

/// A neighbour planned this close to a draw needs no joining: the loop is
/// awake around then anyway. Under load, where starts are that dense,
/// joining would only turn spread starts into bursts, which cost the
/// loop and the servers more (scripts/bench/README.md, session 6).
pub const LOOP_AWAKE_ANYWAY: Duration = Duration::from_millis(1);

/// The instants on which probe starts are planned, with how many each.
#[derive(Debug, Default)]
pub struct SharedStarts {
    /// Keyed by nanoseconds after `base`: half the size of `Instant` keys,
    /// and under load there is about one entry per backend.
    planned: BTreeMap<u64, u16>,
    /// Set at the first placement, a day before it (as in `TimerHeap`),
    /// so that any instant the daemon passes later has an offset.
    base: Option<Instant>,
}

/// Where a probe was placed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Placement {
    /// When it starts.
    pub at: Instant,
    /// Microseconds the backend is ahead of (positive) or behind
    /// (negative) its draws so far, at most one interval either way: the
    /// caller keeps it and passes it to the backend's next placement.
    pub carry_us: i32,
    /// How much earlier than `at` the probe may start, when the daemon is
    /// awake anyway: a tenth of its interval, at most 100 ms, and never so
    /// far that the backend gets more than a fifth of its interval ahead
    /// of its draws.
    pub slack: Duration,
}

impl SharedStarts {
    pub fn new() -> Self {
        Self::default()
    }

    /// Place the next start of a backend whose result was recorded at
    /// `now`, whose next interval is `base` and whose random draw in the
    /// jitter band is `drawn` (both from `schedule`). `carry_us` is what
    /// its last placement returned (0 for a backend's first).
    pub fn place(
        &mut self,
        now: Instant,
        base: Duration,
        drawn: Duration,
        carry_us: i32,
    ) -> Placement {
        self.set_base(now);
        self.forget_before(now);
        let earliest = now + jittered(base, 0);
        let latest = now + jittered(base, u32::MAX);
        let wanted = shifted(now + drawn, carry_us);
        let aim = wanted.clamp(earliest, latest);
        let at = match self.neighbour_with_room(earliest, aim, latest) {
            Some(at) if at.max(aim) - at.min(aim) >= LOOP_AWAKE_ANYWAY => at,
            _ => self.free_instant_from(aim),
        };
        if let Some(key) = self.key(at) {
            *self.planned.entry(key).or_insert(0) += 1;
        }
        let limit = i64::try_from(base.as_micros()).unwrap_or(i64::MAX);
        let carry = signed_us(wanted, at).clamp(-limit, limit);
        // Early starts are taken whenever the loop is awake, while the band
        // caps what the next placements can give back; without a cap on
        // the lead a backend may build up, its periods drift short (1.8 %
        // more probes than configured with 100 backends at 1 s, in a
        // first version).
        //
        // Early starts are not held to the band itself: under load the
        // loop then kept sleeping and waking between groups of starts,
        // 15 to 20 % more CPU a probe at 5,000 backends (session 6).
        let lead_us = i64::try_from((base / 5).as_micros()).unwrap_or(i64::MAX);
        let lead_left = u64::try_from(lead_us.saturating_sub(carry)).unwrap_or(0);
        Placement {
            at,
            carry_us: saturated(carry),
            slack: (base / 10)
                .min(Duration::from_millis(100))
                .min(Duration::from_micros(lead_left)),
        }
    }

    /// The carry of a backend whose start planned for `planned` happened
    /// at `now`: a start taken early adds what it gained, a late one
    /// subtracts what it lost, so neither changes the mean period.
    pub fn started(carry_us: i32, planned: Instant, now: Instant) -> i32 {
        saturated(i64::from(carry_us) + signed_us(planned, now))
    }

    /// A probe timer planned for `at` fired, or was found stale: its place
    /// is free. Timers that were not placed here (first probes, resume)
    /// find nothing to free.
    pub fn release(&mut self, at: Instant) {
        let Some(key) = self.key(at) else {
            return;
        };
        if let Some(n) = self.planned.get_mut(&key) {
            *n -= 1;
            if *n == 0 {
                self.planned.remove(&key);
            }
        }
    }

    /// Instants with starts planned.
    #[cfg(test)]
    pub fn instants(&self) -> usize {
        self.planned.len()
    }

    /// Starts planned on `at`.
    pub fn starts_at(&self, at: Instant) -> u16 {
        self.key(at)
            .and_then(|key| self.planned.get(&key).copied())
            .unwrap_or(0)
    }

    /// Offsets count from a day before the first instant seen (as in
    /// `TimerHeap`), so that any instant the daemon passes later has one.
    fn set_base(&mut self, first: Instant) {
        self.base.get_or_insert_with(|| {
            first
                .checked_sub(Duration::from_secs(86_400))
                .unwrap_or(first)
        });
    }

    /// `at` as a key: nanoseconds after `base` (none before it, or before
    /// the first placement).
    fn key(&self, at: Instant) -> Option<u64> {
        let since = at.checked_duration_since(self.base?)?;
        u64::try_from(since.as_nanos()).ok()
    }

    fn instant(&self, key: u64) -> Option<Instant> {
        self.base?.checked_add(Duration::from_nanos(key))
    }

    /// Plan `n` starts on `at` directly (tests).
    #[cfg(test)]
    fn plan(&mut self, at: Instant, n: u16) {
        self.set_base(at);
        let key = self.key(at).expect("test instants after the base");
        self.planned.insert(key, n);
    }

    /// Instants already past can take no new start (every band begins
    /// after now). Their timers are late or were dropped (a reload prunes
    /// the timer heap), so they are forgotten rather than kept forever.
    fn forget_before(&mut self, now: Instant) {
        let Some(now) = self.key(now) else {
            return;
        };
        while let Some(entry) = self.planned.first_entry() {
            if *entry.key() >= now {
                break;
            }
            entry.remove();
        }
    }

    /// `aim`, or the first instant after it with room when it is a full
    /// planned instant itself (a nanosecond later, in practice).
    fn free_instant_from(&self, aim: Instant) -> Instant {
        let mut at = aim;
        while self.starts_at(at) >= MAX_STARTS_PER_INSTANT {
            at += Duration::from_nanos(1);
        }
        at
    }

    /// Of the two planned instants around `aim` in [earliest, latest],
    /// the last before it and the first after it, the nearer one with room.
    ///
    /// Only those two: passing over a full instant for the next one with
    /// room would favour later instants (those near the end of a band were
    /// planned most recently, so they are the ones with room) and make
    /// every backend fall behind its draws under load.
    fn neighbour_with_room(
        &self,
        earliest: Instant,
        aim: Instant,
        latest: Instant,
    ) -> Option<Instant> {
        let (earliest, aim, latest) = (self.key(earliest)?, self.key(aim)?, self.key(latest)?);
        let with_room = |key: &u64, n: &u16| (*n < MAX_STARTS_PER_INSTANT).then_some(*key);
        let after = self
            .planned
            .range(aim..=latest)
            .next()
            .and_then(|(key, n)| with_room(key, n));
        let before = self
            .planned
            .range(earliest..aim)
            .next_back()
            .and_then(|(key, n)| with_room(key, n));
        let nearer = match (before, after) {
            (Some(b), Some(a)) if aim - b <= a - aim => Some(b),
            (_, Some(a)) => Some(a),
            (b, None) => b,
        };
        self.instant(nearer?)
    }
}

/// `at` moved later by `us` microseconds (earlier when negative).
fn shifted(at: Instant, us: i32) -> Instant {
    let by = Duration::from_micros(u64::from(us.unsigned_abs()));
    if us >= 0 {
        at.checked_add(by).unwrap_or(at)
    } else {
        at.checked_sub(by).unwrap_or(at)
    }
}

fn saturated(us: i64) -> i32 {
    i32::try_from(us).unwrap_or(if us < 0 { i32::MIN } else { i32::MAX })
}

/// `wanted - at` in microseconds, negative when `at` is later.
fn signed_us(wanted: Instant, at: Instant) -> i64 {
    let us = |d: Duration| i64::try_from(d.as_micros()).unwrap_or(i64::MAX);
    if wanted >= at {
        us(wanted - at)
    } else {
        -us(at - wanted)
    }
}

#[cfg(test)]
mod tests;
