//! Applying a (re)load plan to the checker: new backends get a slot and a
//! first probe spread over min(interval, 1 s); removed ones leave; restarted
//! ones go back to `unknown`; kept ones keep their state and schedule.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use mio::Registry;

use crate::config::Config;
use crate::health::schedule::{self, FIRST_PROBE_WINDOW};
use crate::health::{Action, BackendHealth};
use crate::probe::SocketFactory;
use crate::probe_stats::ProbeStats;
use crate::timer::TimerHeap;

use super::super::reload::{BackendPlan, BackendReload, PlanCounts};
use super::super::tokens::TimerKey;
use super::{
    build_checks, target_for, unix_ms, BackendSlot, BackendTransition, CheckBuildError, Checker,
};

impl Checker {
    /// Apply a reload plan (or the initial load, where every backend is
    /// `Add`). New and restarted backends get their first probe spread over
    /// min(interval, 1 s).
    pub fn apply_reload(
        &mut self,
        cfg: &Config,
        plan: &BTreeMap<&str, BackendReload>,
        registry: &Registry,
        timers: &mut TimerHeap<TimerKey>,
        now: Instant,
        out: &mut Vec<BackendTransition>,
    ) -> Result<(), CheckBuildError> {
        self.checks = build_checks(cfg)?;
        if self.sockets.netns() != cfg.healthchecker.netns.as_deref() {
            // ICMP sockets live in the namespace they were created in.
            self.icmp.close(registry);
            self.pool.reset();
            self.sockets = SocketFactory::new(cfg.healthchecker.netns.as_deref());
        }
        let now_ms = unix_ms();
        let history = cfg.healthchecker.transition_history;
        let counts = PlanCounts::of(plan);
        let count = counts.starting();
        // Exact sizes: a slot is 224 bytes, and growth by doubling would
        // leave up to 40 % of a 10,000-backend table unused.
        self.slots
            .reserve_exact(counts.added.saturating_sub(self.free.len()));
        self.by_name.reserve_exact(counts.added);
        timers.reserve_exact(count);
        let mut start_index = 0usize;
        for (&name, r) in plan {
            match &r.plan {
                BackendPlan::Remove => {
                    let found = self
                        .name_position(name)
                        .ok()
                        .and_then(|pos| self.by_name.remove(pos))
                        .map(|i| i as usize);
                    if let Some(i) = found {
                        if let Some(mut slot) = self.slots.get_mut(i).and_then(Option::take) {
                            self.cancel(&mut slot, i);
                            if let Ok(Some(t)) = slot.health.remove(now_ms) {
                                out.push(BackendTransition {
                                    backend: name.to_owned(),
                                    transition: t,
                                    detail: "removed from config".into(),
                                });
                            }
                        }
                        self.free.push(i);
                    }
                }
                BackendPlan::Add => {
                    let Some((shared_name, b)) = cfg.backends.get_key_value(name) else {
                        continue;
                    };
                    let check = b
                        .healthcheck
                        .as_ref()
                        .and_then(|c| self.checks.get(&**c))
                        .cloned();
                    let (rise, fall) = check
                        .as_ref()
                        .map(|c| (c.check.rise, c.check.fall))
                        .unwrap_or((1, 1));
                    target_for(name, check.as_ref(), b)?;
                    let slot = BackendSlot {
                        name: Arc::clone(shared_name),
                        address: b.address,
                        check,
                        health: BackendHealth::new(rise, fall, history, b.enabled, now_ms),
                        gen: 0,
                        start_carry_us: 0,
                        start_slack_us: 0,
                        probe: None,
                        icmp_pending: false,
                        last: None,
                        stats: ProbeStats::default(),
                        transition_counts: Default::default(),
                    };
                    let i = match self.free.pop() {
                        Some(i) => {
                            if let Some(s) = self.slots.get_mut(i) {
                                *s = Some(slot);
                            }
                            i
                        }
                        None => {
                            self.slots.push(Some(slot));
                            self.slots.len() - 1
                        }
                    };
                    match self.name_position(name) {
                        // A duplicate cannot happen (the plan is keyed by
                        // name); keep the index consistent regardless.
                        Ok(pos) | Err(pos) => self.by_name.insert(pos, name, i as u32),
                    }
                    self.schedule_first(i, start_index, count, timers, now);
                    start_index += 1;
                }
                BackendPlan::Keep | BackendPlan::Restart(_) => {
                    let Some(i) = self.slot_index(name) else {
                        continue;
                    };
                    let Some((shared_name, b)) = cfg.backends.get_key_value(name) else {
                        continue;
                    };
                    let check = b
                        .healthcheck
                        .as_ref()
                        .and_then(|c| self.checks.get(&**c))
                        .cloned();
                    target_for(name, check.as_ref(), b)?;
                    let restart = matches!(r.plan, BackendPlan::Restart(_));
                    let mut cancel_needed = false;
                    if let Some(Some(slot)) = self.slots.get_mut(i) {
                        // The new config's copy: the old one goes with it.
                        slot.name = Arc::clone(shared_name);
                        slot.address = b.address;
                        slot.check = check;
                        slot.health.set_history_cap(history);
                        if restart {
                            cancel_needed = true;
                        }
                    }
                    if cancel_needed {
                        if let Some(mut slot) = self.slots.get_mut(i).and_then(Option::take) {
                            self.cancel(&mut slot, i);
                            let (rise, fall) = slot
                                .check
                                .as_ref()
                                .map(|c| (c.check.rise, c.check.fall))
                                .unwrap_or((1, 1));
                            if let Ok(Some(t)) = slot.health.restart(rise, fall, now_ms) {
                                out.push(BackendTransition {
                                    backend: name.to_owned(),
                                    transition: t,
                                    detail: match &r.plan {
                                        BackendPlan::Restart(reason) => reason.as_str().into(),
                                        _ => String::new(),
                                    },
                                });
                            }
                            if let Some(s) = self.slots.get_mut(i) {
                                *s = Some(slot);
                            }
                        }
                        self.schedule_first(i, start_index, count, timers, now);
                        start_index += 1;
                    }
                }
            }
            if let Some(enabled) = r.enabled_changed {
                let action = if enabled {
                    Action::Enable
                } else {
                    Action::Disable
                };
                let _ = self.operator(name, action, timers, now, out);
            }
        }
        Ok(())
    }

    pub(super) fn schedule_first(
        &mut self,
        i: usize,
        index: usize,
        count: usize,
        timers: &mut TimerHeap<TimerKey>,
        now: Instant,
    ) {
        let Some(Some(slot)) = self.slots.get_mut(i) else {
            return;
        };
        if !slot.health.state().is_probing() {
            return;
        }
        slot.gen = slot.gen.wrapping_add(1);
        // A first probe keeps its spread start, and owes nothing.
        slot.start_slack_us = 0;
        slot.start_carry_us = 0;
        let delay = match &slot.check {
            // Static backends resolve at once.
            None => Duration::ZERO,
            Some(c) => schedule::first_probe_offset(
                index,
                count,
                c.intervals.interval.min(FIRST_PROBE_WINDOW),
            ),
        };
        timers.schedule(
            now + delay,
            TimerKey::Probe {
                slot: i as u32,
                gen: slot.gen,
            },
        );
    }
}
