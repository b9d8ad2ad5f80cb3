//! Startup warmup (dataplane.md §9): keeps a freshly started daemon from
//! draining VIPs while every backend is still `unknown`.
//!
//! Pure and clock-free: `elapsed` is the time since *process* start (not VPP
//! connect, not reload), supplied by the caller. Our decisions:
//! * Q-D3 (a) warmup ends early once every frontend is released;
//! * Q-D3 (b) the periodic full sync is suppressed until warmup is done;
//! * Q-D3 (c) every LB write except `lb_conf` is gated, including the full
//!   sync after a VPP (re)connect;
//! * Q-D9 the full sync after a reload obeys the same gate.
//!
//! Whatever full sync was suppressed is made up for by the single final full
//! sync that [`Warmup::poll`] reports with `finished`.

use std::collections::BTreeMap;
use std::time::Duration;

/// Period of the release poller during the release phase.
pub const RELEASE_POLL_INTERVAL: Duration = Duration::from_millis(250);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// `[0, min)`: no LB writes at all.
    HandsOff,
    /// `[min, max)`: per-frontend release.
    Release,
    /// From `max`, or once every frontend is released; or from the start
    /// when warmup is disabled.
    Done,
}

/// May an LB write go ahead now?
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Gate {
    Allowed,
    /// Hands-off phase (`vpp-reconciler-suppressed-min-delay`).
    SuppressedMinDelay,
    /// Release phase, frontend not released yet, or a full sync before the
    /// end of warmup (`vpp-reconciler-suppressed-warmup`).
    SuppressedWarmup,
}

/// A frontend that has just been released: run one VIP sync for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Release {
    pub frontend: String,
    pub elapsed: Duration,
}

/// What the caller must do after [`Warmup::poll`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WarmupActions {
    /// Frontends released by this poll, by name; one VIP sync each.
    pub released: Vec<String>,
    /// True exactly once per process: run the final full sync and start the
    /// periodic sync. (Released frontends of the same poll are covered by
    /// that full sync, so their VIP syncs may be skipped.)
    pub finished: bool,
}

#[derive(Debug, Clone)]
pub struct Warmup {
    min: Duration,
    max: Duration,
    /// Every frontend the tracker knows, → released or not.
    frontends: BTreeMap<String, bool>,
    /// All frontends were released before `max`.
    ended_early: bool,
    finished_reported: bool,
}

impl Warmup {
    /// `min = max = 0` disables warmup. A `max` below `min` (rejected by
    /// config validation) is treated as `min`.
    pub fn new(min: Duration, max: Duration) -> Warmup {
        Warmup {
            min,
            max: max.max(min),
            frontends: BTreeMap::new(),
            ended_early: false,
            finished_reported: false,
        }
    }

    pub fn phase(&self, elapsed: Duration) -> Phase {
        if self.ended_early || elapsed >= self.max {
            Phase::Done
        } else if elapsed < self.min {
            Phase::HandsOff
        } else {
            Phase::Release
        }
    }

    /// Gate for a VIP sync of `frontend` (backend event, operator weight
    /// change, release-time sync).
    pub fn may_sync_vip(&self, frontend: &str, elapsed: Duration) -> Gate {
        match self.phase(elapsed) {
            Phase::HandsOff => Gate::SuppressedMinDelay,
            Phase::Release if self.is_released(frontend) => Gate::Allowed,
            Phase::Release => Gate::SuppressedWarmup,
            Phase::Done => Gate::Allowed,
        }
    }

    /// Gate for a full sync (periodic, after connect, after reload, operator).
    pub fn may_sync_all(&self, elapsed: Duration) -> Gate {
        match self.phase(elapsed) {
            Phase::HandsOff => Gate::SuppressedMinDelay,
            Phase::Release => Gate::SuppressedWarmup,
            Phase::Done => Gate::Allowed,
        }
    }

    pub fn is_released(&self, frontend: &str) -> bool {
        self.frontends.get(frontend).copied().unwrap_or(false)
    }

    /// The arbiter shared by the poller and the event path: releases
    /// `frontend` when the release phase is on and none of its backends is
    /// `unknown` (`all_backends_known`). Returns `Some` exactly once per
    /// frontend; the caller then runs one VIP sync for it.
    pub fn try_release(
        &mut self,
        frontend: &str,
        all_backends_known: bool,
        elapsed: Duration,
    ) -> Option<Release> {
        if self.phase(elapsed) != Phase::Release || !all_backends_known {
            return None;
        }
        let released = self.frontends.entry(frontend.to_string()).or_insert(false);
        if *released {
            return None;
        }
        *released = true;
        Some(Release {
            frontend: frontend.to_string(),
            elapsed,
        })
    }

    /// The poller: call at [`Warmup::next_poll`] with every configured
    /// frontend and whether all its backends are known. Frontends not listed
    /// are forgotten (removed by a reload); new ones join the release rule.
    /// A name listed twice counts once, with its last flag.
    pub fn poll<'a>(
        &mut self,
        elapsed: Duration,
        frontends: impl Iterator<Item = (&'a str, bool)>,
    ) -> WarmupActions {
        // Sorted by name so releases come out in a stable order.
        let listed: BTreeMap<&str, bool> = frontends.collect();
        self.frontends = listed
            .keys()
            .map(|name| (name.to_string(), self.is_released(name)))
            .collect();

        let mut actions = WarmupActions::default();
        if self.phase(elapsed) == Phase::Release {
            for (name, all_known) in listed {
                if let Some(release) = self.try_release(name, all_known, elapsed) {
                    actions.released.push(release.frontend);
                }
            }
            if self.frontends.values().all(|released| *released) {
                self.ended_early = true;
            }
        }
        if self.phase(elapsed) == Phase::Done && !self.finished_reported {
            self.finished_reported = true;
            actions.finished = true;
        }
        actions
    }

    /// When to call [`Warmup::poll`] next, as time since process start:
    /// the end of hands-off, then every 250 ms (never past `max`), then right
    /// away until `finished` has been reported, then never.
    pub fn next_poll(&self, elapsed: Duration) -> Option<Duration> {
        match self.phase(elapsed) {
            Phase::HandsOff => Some(self.min),
            Phase::Release => Some((elapsed + RELEASE_POLL_INTERVAL).min(self.max)),
            Phase::Done if self.finished_reported => None,
            Phase::Done => Some(elapsed),
        }
    }

    /// `finished` has been reported: warmup no longer gates anything.
    pub fn is_finished(&self) -> bool {
        self.finished_reported
    }
}

#[cfg(test)]
#[path = "warmup_tests.rs"]
mod tests;
