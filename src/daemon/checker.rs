//! The health checker's runtime: one slot per backend holding its state
//! machine, its schedule generation and at most one probe in flight. It
//! starts probes when their timers fire, feeds results into
//! [`BackendHealth`], schedules the next probe from the pure policy in
//! [`crate::health::schedule`], and hands transitions back to the loop.
//!
//! Timer entries and in-flight probes carry the slot's generation; pausing,
//! restarting or removing a backend bumps it, so stale timers and late probe
//! results are ignored without searching the heap.

use std::collections::{BTreeMap, VecDeque};
use std::net::IpAddr;
use std::rc::Rc;
use std::sync::Arc;
use std::time::{Duration, Instant};

use mio::{Registry, Token};

use crate::config::{Backend, CheckType, Config, HealthCheck};
use crate::health::schedule::{self, Intervals, Rng, STATIC_REAFFIRM};
use crate::health::shared_starts::SharedStarts;
use crate::health::{Action, ActionError, BackendHealth, Code, ProbeResult, State, Transition};
use crate::probe::{IcmpEngine, PreparedCheck, Probe, Ready, SocketFactory, SocketPool};
use crate::probe_stats::ProbeStats;
use crate::timer::{LatencyHistogram, TimerHeap};

use super::tokens::{self, TimerKey};

/// A health check prepared for probing (request bytes, TLS config, regex
/// built once, not per probe).
pub struct CheckRuntime {
    pub name: String,
    pub check: HealthCheck,
    pub intervals: Intervals,
    pub prepared: PreparedCheck,
}

/// What a slot has started and not yet finished.
enum Started {
    /// Boxed so that the many idle slots stay small.
    Socket(Box<Probe>),
    Icmp,
}

/// One backend's runtime.
pub struct BackendSlot {
    /// The config's own copy of the name (shared, not cloned).
    pub name: Arc<str>,
    /// The backend's address; its check is `check`, its `enabled` lives in
    /// `health` (the config's `Backend` is not copied: 10,000 slots).
    pub address: IpAddr,
    /// `None`: static backend.
    pub check: Option<Rc<CheckRuntime>>,
    pub health: BackendHealth,
    gen: u32,
    /// How far (µs) this backend's starts are ahead of (+) or behind (-)
    /// its random draws, from joining neighbours and starting early or
    /// late; carried into the next draw so the mean period stays the
    /// interval (`health::shared_starts`).
    start_carry_us: i32,
    /// How early (µs) the next start may go when the loop is awake anyway
    /// (`Placement::slack`).
    start_slack_us: u32,
    /// The tcp/http/https probe in flight. (Not an `Option<Started>`,
    /// which takes 16 bytes: with the flag below the slot is 224.)
    probe: Option<Box<Probe>>,
    /// An ICMP echo in flight (the engine holds it).
    icmp_pending: bool,
    pub last: Option<LastProbe>,
    pub stats: ProbeStats,
    /// Transitions since start by (from, to), for metrics.
    pub transition_counts: TransitionCounts,
}

impl BackendSlot {
    fn in_flight(&self) -> bool {
        self.probe.is_some() || self.icmp_pending
    }

    /// The configured health check's name; `None`: static backend.
    pub fn healthcheck(&self) -> Option<&str> {
        self.check.as_ref().map(|c| c.name.as_str())
    }

    pub fn check_type(&self) -> Option<CheckType> {
        self.check.as_ref().map(|c| c.check.check_type)
    }
}

/// A transition the loop must act on (events, logs, VPP sync).
#[derive(Debug, Clone)]
pub struct BackendTransition {
    pub backend: String,
    pub transition: Transition,
    pub detail: String,
}

pub struct Checker {
    slots: Vec<Option<BackendSlot>>,
    free: Vec<usize>,
    /// Slot indices sorted by backend name, without a second copy of the
    /// names (16 bytes a backend instead of ~80 in a map).
    by_name: NameIndex,
    checks: BTreeMap<String, Rc<CheckRuntime>>,
    sockets: SocketFactory,
    /// tcp/http/https probe sockets, reused from probe to probe.
    pool: SocketPool,
    icmp: IcmpEngine,
    rng: Rng,
    pub lateness: LatencyHistogram,
    pub probes_started: u64,
    /// Probe deadlines in start order, one queue per timeout value: each
    /// queue is sorted by itself, and finished probes are dropped lazily
    /// instead of waking the loop (they would in the timer heap).
    deadlines: BTreeMap<Duration, VecDeque<(Instant, u32, u32)>>,
    /// (slot, generation) of http probes connected and waiting for their
    /// request to be written with the batch (see `requests.rs`).
    requests_due: Vec<(u32, u32)>,
    /// The instants next probe starts are planned on, shared between
    /// backends so that they share the loop's wake-ups.
    shared_starts: SharedStarts,
}

/// Errors preparing a health check at (re)load.
#[derive(Debug)]
pub struct CheckBuildError {
    pub check: String,
    pub message: String,
}

impl std::fmt::Display for CheckBuildError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "healthchecks.{}: {}", self.check, self.message)
    }
}

fn build_checks(cfg: &Config) -> Result<BTreeMap<String, Rc<CheckRuntime>>, CheckBuildError> {
    let mut out = BTreeMap::new();
    for (name, hc) in &cfg.healthchecks {
        let prepared = PreparedCheck::new(hc).map_err(|e| CheckBuildError {
            check: name.clone(),
            message: e.to_string(),
        })?;
        out.insert(
            name.clone(),
            Rc::new(CheckRuntime {
                name: name.clone(),
                check: hc.clone(),
                intervals: Intervals::from_check(hc),
                prepared,
            }),
        );
    }
    Ok(out)
}

/// Checks that the backend's probe target can be built (it is built again
/// per probe, so nothing per backend is kept).
fn target_for(
    backend_name: &str,
    check: Option<&Rc<CheckRuntime>>,
    b: &Backend,
) -> Result<(), CheckBuildError> {
    match check {
        None => Ok(()),
        Some(c) => c
            .prepared
            .target(b.address)
            .map(drop)
            .map_err(|e| CheckBuildError {
                check: c.name.clone(),
                message: format!("backend {backend_name}: {e}"),
            }),
    }
}

fn unix_ms() -> u64 {
    crate::logging::now_unix_ms()
}

impl Checker {
    /// Prepare the checks of `cfg`; backends are added by [`Checker::apply_reload`].
    pub fn new(cfg: &Config, seed: u64) -> Result<Checker, CheckBuildError> {
        Ok(Checker {
            slots: Vec::new(),
            free: Vec::new(),
            by_name: NameIndex::default(),
            checks: build_checks(cfg)?,
            sockets: SocketFactory::new(cfg.healthchecker.netns.as_deref()),
            pool: SocketPool::new(tokens::PROBE_BASE),
            icmp: IcmpEngine::new(
                Token(tokens::ICMP_BASE),
                tokens::ICMP_END - tokens::ICMP_BASE,
            ),
            rng: Rng::new(seed),
            lateness: LatencyHistogram::new(),
            probes_started: 0,
            deadlines: BTreeMap::new(),
            requests_due: Vec::new(),
            shared_starts: SharedStarts::new(),
        })
    }

    /// Validate that `cfg`'s checks can be prepared, without applying.
    pub fn precheck(cfg: &Config) -> Result<(), CheckBuildError> {
        build_checks(cfg).map(|_| ())
    }

    /// Where `name` is (`Ok`) or would go (`Err`) in the name index.
    fn name_position(&self, name: &str) -> Result<usize, usize> {
        let slots = &self.slots;
        self.by_name
            .position(name, |i| match slots.get(i as usize) {
                Some(Some(s)) => Some(s.name.as_ref()),
                _ => None,
            })
    }

    /// The slot of backend `name`.
    fn slot_index(&self, name: &str) -> Option<usize> {
        let pos = self.name_position(name).ok()?;
        self.by_name.slot_at(pos).map(|i| i as usize)
    }

    pub fn get(&self, name: &str) -> Option<&BackendSlot> {
        self.slot_index(name)
            .and_then(|i| self.slots.get(i))
            .and_then(Option::as_ref)
    }

    pub fn state_of(&self, name: &str) -> State {
        self.get(name)
            .map(|s| s.health.state())
            .unwrap_or(State::Removed)
    }

    /// Backends sorted by name.
    pub fn iter(&self) -> impl Iterator<Item = &BackendSlot> {
        self.by_name
            .slots()
            .filter_map(|i| self.slots.get(i as usize).and_then(Option::as_ref))
    }

    /// Probes currently in flight.
    pub fn in_flight(&self) -> usize {
        self.slots
            .iter()
            .flatten()
            .filter(|s| s.in_flight())
            .count()
    }
}

mod last_probe;
mod name_index;
mod reload;
mod requests;
mod transition_counts;

pub use last_probe::LastProbe;
use name_index::NameIndex;
pub use transition_counts::TransitionCounts;

impl Checker {
    /// Stop whatever the slot has in flight and invalidate its timers.
    fn cancel(&mut self, slot: &mut BackendSlot, i: usize) {
        if let Some(p) = slot.probe.take() {
            p.recycle(&mut self.pool);
        }
        if std::mem::take(&mut slot.icmp_pending) {
            self.icmp.cancel(icmp_key(i, slot.gen));
        }
        slot.gen = slot.gen.wrapping_add(1);
    }

    /// An operator action (or a config `enabled` flip).
    pub fn operator(
        &mut self,
        name: &str,
        action: Action,
        timers: &mut TimerHeap<TimerKey>,
        now: Instant,
        out: &mut Vec<BackendTransition>,
    ) -> Result<Option<Transition>, ActionError> {
        let Some(i) = self.slot_index(name) else {
            return Err(ActionError::Removed);
        };
        let Some(mut slot) = self.slots.get_mut(i).and_then(Option::take) else {
            return Err(ActionError::Removed);
        };
        let was_probing = slot.health.state().is_probing();
        let result = slot.health.apply(action, unix_ms());
        if let Ok(Some(t)) = &result {
            if was_probing && !t.to.is_probing() {
                self.cancel(&mut slot, i);
            }
            out.push(BackendTransition {
                backend: name.to_string(),
                transition: t.clone(),
                detail: "operator".into(),
            });
        }
        let restart = matches!(&result, Ok(Some(t)) if t.to.is_probing() && !was_probing);
        if let Some(s) = self.slots.get_mut(i) {
            *s = Some(slot);
        }
        if restart {
            // Resume/enable: the first probe goes out at once.
            self.schedule_first(i, 0, 1, timers, now);
        }
        result
    }

    /// A probe timer fired.
    pub fn on_probe_timer(
        &mut self,
        (slot_index, gen, scheduled): (u32, u32, Instant),
        registry: &Registry,
        timers: &mut TimerHeap<TimerKey>,
        now: Instant,
        out: &mut Vec<BackendTransition>,
    ) {
        // Stale or not, the timer no longer holds its place.
        self.shared_starts.release(scheduled);
        let i = slot_index as usize;
        let Some(Some(slot)) = self.slots.get_mut(i) else {
            return;
        };
        if slot.gen != gen || slot.in_flight() || !slot.health.state().is_probing() {
            return;
        }
        self.lateness
            .record(now.saturating_duration_since(scheduled));
        slot.start_carry_us = SharedStarts::started(slot.start_carry_us, scheduled, now);
        let Some(check) = slot.check.as_ref() else {
            let result = ProbeResult {
                code: Code::Static,
                detail: String::new(),
                duration_us: 0,
            };
            self.finish(i, result, timers, now, out);
            return;
        };
        // Built per probe (cheap: the request template is shared by the
        // check) rather than kept per backend; reload already checked that
        // it can be built.
        let target = match check.prepared.target(slot.address) {
            Ok(t) => t,
            Err(e) => {
                let result = ProbeResult {
                    code: Code::L4Con,
                    detail: e.to_string(),
                    duration_us: 0,
                };
                self.finish(i, result, timers, now, out);
                return;
            }
        };
        let timeout = check.check.timeout;
        self.probes_started += 1;
        let started = match check.check.check_type {
            CheckType::Icmp => self
                .icmp
                .send(
                    registry,
                    &self.sockets,
                    target.addr.ip(),
                    target.source,
                    icmp_key(i, gen),
                    now,
                )
                .map(|()| Started::Icmp),
            _ => Probe::start(
                &target,
                registry,
                &mut self.pool,
                slot_index,
                &self.sockets,
                now,
            )
            .map(|p| Started::Socket(Box::new(p))),
        };
        match started {
            Ok(started) => {
                if let Some(Some(slot)) = self.slots.get_mut(i) {
                    match started {
                        Started::Socket(p) => slot.probe = Some(p),
                        Started::Icmp => slot.icmp_pending = true,
                    }
                }
                self.deadlines.entry(timeout).or_default().push_back((
                    now + timeout,
                    slot_index,
                    gen,
                ));
            }
            Err(result) => self.finish(i, result, timers, now, out),
        }
    }

    /// The earliest deadline of a probe in flight. Deadlines of probes that
    /// already finished are dropped here, so they never wake the loop.
    pub fn next_deadline(&mut self) -> Option<Instant> {
        let slots = &self.slots;
        let live = |&(_, slot, gen): &(Instant, u32, u32)| matches!(slots.get(slot as usize), Some(Some(s)) if s.gen == gen && s.in_flight());
        let mut earliest: Option<Instant> = None;
        for q in self.deadlines.values_mut() {
            while q.front().is_some_and(|e| !live(e)) {
                q.pop_front();
            }
            if let Some(&(at, _, _)) = q.front() {
                earliest = Some(earliest.map_or(at, |e| e.min(at)));
            }
        }
        earliest
    }

    /// Time out every probe whose deadline passed.
    pub fn expire_probes(
        &mut self,
        timers: &mut TimerHeap<TimerKey>,
        now: Instant,
        out: &mut Vec<BackendTransition>,
    ) {
        let mut due = Vec::new();
        for (&timeout, q) in self.deadlines.iter_mut() {
            while let Some(&(at, slot, gen)) = q.front() {
                if at > now {
                    break;
                }
                q.pop_front();
                due.push((slot, gen, at.checked_sub(timeout).unwrap_or(at)));
            }
        }
        for (slot, gen, started) in due {
            self.on_probe_deadline(slot, gen, started, timers, now, out);
        }
    }

    /// How early a probe may start so that it shares a wake-up the loop
    /// makes anyway: a tenth of its interval, at most 100 ms, less when its
    /// backend is already ahead (nothing for a first probe, whose start is
    /// spread on purpose).
    pub fn start_slack(&self, slot: u32) -> Duration {
        match self.slots.get(slot as usize) {
            Some(Some(s)) => Duration::from_micros(u64::from(s.start_slack_us)),
            _ => Duration::ZERO,
        }
    }

    /// A probe's deadline passed.
    fn on_probe_deadline(
        &mut self,
        slot_index: u32,
        gen: u32,
        started: Instant,
        timers: &mut TimerHeap<TimerKey>,
        now: Instant,
        out: &mut Vec<BackendTransition>,
    ) {
        let i = slot_index as usize;
        let Some(Some(slot)) = self.slots.get_mut(i) else {
            return;
        };
        if slot.gen != gen {
            return;
        }
        let result = if let Some(p) = slot.probe.take() {
            let result = p.on_timeout(now);
            p.recycle(&mut self.pool);
            result
        } else if std::mem::take(&mut slot.icmp_pending) {
            self.icmp
                .timeout(icmp_key(i, gen), now)
                .unwrap_or(ProbeResult {
                    code: Code::L3Tout,
                    detail: "no echo reply".into(),
                    duration_us: now.saturating_duration_since(started).as_micros() as u64,
                })
        } else {
            return;
        };
        self.finish(i, result, timers, now, out);
    }

    /// Whether `token` is one of the probe sockets'.
    pub fn is_probe_token(&self, token: Token) -> bool {
        token.0 >= tokens::PROBE_BASE
    }

    /// Readiness on a probe socket: routed to the backend whose probe holds
    /// it. Events of idle sockets (the reset of their last connection) have
    /// no owner and are dropped.
    pub fn on_probe_ready(
        &mut self,
        event: &mio::event::Event,
        timers: &mut TimerHeap<TimerKey>,
        now: Instant,
        out: &mut Vec<BackendTransition>,
    ) {
        let Some(id) = self.pool.id_of(event.token()) else {
            return;
        };
        let Some(owner) = self.pool.owner(id) else {
            return;
        };
        let i = owner as usize;
        let Some(Some(slot)) = self.slots.get_mut(i) else {
            return;
        };
        let Some(p) = slot.probe.as_mut() else {
            return;
        };
        if p.socket_id() != id {
            return;
        }
        match p.on_ready(event, now) {
            Ready::Pending => {}
            Ready::RequestDue => self.queue_request(owner, timers, now, out),
            Ready::Done(result) => self.finish_socket_probe(i, result, timers, now, out),
        }
    }

    /// Slot `i`'s socket probe ended with `result`: the socket goes back to
    /// the pool and the result to the state machine.
    fn finish_socket_probe(
        &mut self,
        i: usize,
        result: ProbeResult,
        timers: &mut TimerHeap<TimerKey>,
        now: Instant,
        out: &mut Vec<BackendTransition>,
    ) {
        let Some(Some(slot)) = self.slots.get_mut(i) else {
            return;
        };
        if let Some(p) = slot.probe.take() {
            p.recycle(&mut self.pool);
        }
        // The deadline timer goes stale with the generation bump.
        slot.gen = slot.gen.wrapping_add(1);
        self.finish(i, result, timers, now, out);
    }

    /// Readiness on an ICMP socket.
    pub fn on_icmp_ready(
        &mut self,
        token: Token,
        timers: &mut TimerHeap<TimerKey>,
        now: Instant,
        out: &mut Vec<BackendTransition>,
    ) {
        for (key, result) in self.icmp.on_readable(token, now) {
            let i = (key >> 32) as usize;
            let gen = key as u32;
            let Some(Some(slot)) = self.slots.get_mut(i) else {
                continue;
            };
            if slot.gen != gen || !slot.icmp_pending {
                continue;
            }
            slot.icmp_pending = false;
            slot.gen = slot.gen.wrapping_add(1);
            self.finish(i, result, timers, now, out);
        }
    }

    /// Count a transition for metrics (called for every one reported).
    pub fn note_transition(&mut self, backend: &str, t: &Transition) {
        let Some(i) = self.slot_index(backend) else {
            return;
        };
        if let Some(Some(slot)) = self.slots.get_mut(i) {
            slot.transition_counts.record(t.from, t.to);
        }
    }

    pub fn is_icmp_token(&self, token: Token) -> bool {
        self.icmp.owns(token)
    }

    /// Record a result, schedule the next probe, report a transition.
    fn finish(
        &mut self,
        i: usize,
        result: ProbeResult,
        timers: &mut TimerHeap<TimerKey>,
        now: Instant,
        out: &mut Vec<BackendTransition>,
    ) {
        let random = self.rng.next_u32();
        let Some(Some(slot)) = self.slots.get_mut(i) else {
            return;
        };
        let now_ms = unix_ms();
        slot.stats
            .record(result.code, Duration::from_micros(result.duration_us));
        crate::logev!(
            log::Level::Debug,
            "probe-done",
            backend = slot.name,
            code = result.code,
            duration_us = result.duration_us,
            detail = result.detail,
        );
        if let Some(t) = slot.health.record(result.code, now_ms) {
            out.push(BackendTransition {
                backend: slot.name.to_string(),
                transition: t,
                detail: result.detail.clone(),
            });
        }
        slot.last = Some(LastProbe::new(result, now_ms));
        let at = match &slot.check {
            None => now + STATIC_REAFFIRM,
            Some(c) => {
                let base = schedule::next_interval(
                    &c.intervals,
                    slot.health.state(),
                    slot.health.counter(),
                    slot.health.max(),
                );
                let drawn = schedule::jittered(base, random);
                let placed = self
                    .shared_starts
                    .place(now, base, drawn, slot.start_carry_us);
                slot.start_carry_us = placed.carry_us;
                slot.start_slack_us = u32::try_from(placed.slack.as_micros()).unwrap_or(u32::MAX);
                placed.at
            }
        };
        slot.gen = slot.gen.wrapping_add(1);
        timers.schedule(
            at,
            TimerKey::Probe {
                slot: i as u32,
                gen: slot.gen,
            },
        );
    }
}

/// ICMP probes are keyed by slot and generation, so a late echo reply to
/// a cancelled probe cannot be taken for the current one.
fn icmp_key(i: usize, gen: u32) -> u64 {
    ((i as u64) << 32) | u64::from(gen)
}

#[cfg(test)]
mod size_tests {
    /// 10,000 of these are most of the daemon's memory.
    #[test]
    fn backend_slot_stays_small() {
        assert!(std::mem::size_of::<Option<super::BackendSlot>>() <= 224);
    }
}
