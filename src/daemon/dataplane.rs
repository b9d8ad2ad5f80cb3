//! The dataplane reconciler: keeps VPP's `lb` plugin in line with the
//! desired state. It owns the API connection and its lifecycle (connect,
//! handshake, startup reads, liveness pings, reconnect with backoff), the
//! cached view of what VPP holds, the flush memory, warmup gating and the
//! sync counters. Planning is `vpp::sync`'s pure code; this module only
//! sequences requests and applies their outcomes.
//!
//! Event-driven VIP syncs plan against the cached current state so that a
//! probe result reaches VPP without waiting for a dump (the cache is ours:
//! maglevd is VPP's only lb writer, and the periodic full sync re-reads VPP
//! and repairs drift). Plans are applied to the cache when sent; any failed
//! call invalidates the cache, and the next sync re-reads VPP first.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::net::IpAddr;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use log::Level;
use mio::Registry;

use crate::config::Config;
use crate::logev;
use crate::logging;
use crate::timer::TimerHeap;
use crate::vpp::client::{ConnError, Connection};
use crate::vpp::session::{Request, Response, SessionEvent};
use crate::vpp::sync::{
    self, ChangeCounts, CurrentAs, CurrentVip, DesiredVip, FlushMemory, LbCall, VipKey,
};
use crate::vpp::warmup::{Gate, Warmup};
use crate::vpp::wire::lb::LbConf;
use crate::vpp::wire::lb_dump::{LbAsV2Details, LbVipDetails};
use crate::vpp::wire::vnet_error_name;

use super::checker::Checker;
use super::desired;
use super::tokens::{self, TimerKey};

mod exec;
mod ops;
mod show;
mod state;
mod stats;

pub use state::{DpCounters, VppInfo};

/// Liveness ping period (spec/dataplane.md §10).
pub const PING_INTERVAL: Duration = Duration::from_secs(10);
/// A request without reply after this long fails.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// First reconnect delay; doubles up to [`MAX_BACKOFF`].
pub const FIRST_BACKOFF: Duration = Duration::from_millis(100);
pub const MAX_BACKOFF: Duration = Duration::from_secs(5);

/// Everything of the daemon a dataplane step may read or schedule.
pub struct Ctx<'a> {
    pub registry: &'a Registry,
    pub timers: &'a mut TimerHeap<TimerKey>,
    pub cfg: &'a Config,
    pub checker: &'a Checker,
    pub now: Instant,
    /// Deferred control replies: (client, full reply text).
    pub replies: &'a mut Vec<(u64, String)>,
}

/// Why a full sync runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trigger {
    Connect,
    Periodic,
    Reload,
    Operator,
    WarmupEnd,
    Repair,
}

impl Trigger {
    pub fn as_str(self) -> &'static str {
        match self {
            Trigger::Connect => "connect",
            Trigger::Periodic => "periodic",
            Trigger::Reload => "reload",
            Trigger::Operator => "operator",
            Trigger::WarmupEnd => "warmup-end",
            Trigger::Repair => "repair",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Link {
    Disabled,
    Down,
    Handshaking,
    Starting,
    Up,
}

/// A request for a full (or one-frontend) sync.
#[derive(Debug, Clone, PartialEq, Eq)]
struct FullSync {
    trigger: Trigger,
    /// `Some`: operator asked for one frontend only.
    frontend: Option<String>,
    reply_to: Vec<u64>,
}

pub struct Dataplane {
    socket: Option<PathBuf>,
    conn: Option<Connection>,
    link: Link,
    /// Bumped on every connect and disconnect: stale timers are ignored.
    gen: u32,
    sync_gen: u32,
    backoff: Duration,
    info: Option<VppInfo>,
    conf_pushed: Option<LbConf>,
    current: BTreeMap<VipKey, CurrentVip>,
    buckets: BTreeMap<(VipKey, IpAddr), u32>,
    cache_valid: bool,
    flushed: FlushMemory,
    forced: BTreeMap<VipKey, BTreeSet<IpAddr>>,
    ops: HashMap<u64, ops::Op>,
    next_op: u64,
    full_busy: bool,
    queued_full: Option<FullSync>,
    /// Frontends whose VIP sync waits for a running full sync.
    dirty: BTreeSet<String>,
    ping_outstanding: bool,
    pub counters: DpCounters,
    warmup: Warmup,
    started: Instant,
    stats: stats::StatsState,
    /// Bumped whenever our VIP set in VPP changes (stats indexes move).
    vips_version: u64,
}

impl Dataplane {
    pub fn new(cfg: &Config, started: Instant) -> Dataplane {
        let lb = &cfg.vpp.lb;
        Dataplane {
            socket: cfg.vpp.api_socket.clone(),
            conn: None,
            link: if cfg.vpp.api_socket.is_some() {
                Link::Down
            } else {
                Link::Disabled
            },
            gen: 0,
            sync_gen: 0,
            backoff: FIRST_BACKOFF,
            info: None,
            conf_pushed: None,
            current: BTreeMap::new(),
            buckets: BTreeMap::new(),
            cache_valid: false,
            flushed: FlushMemory::new(),
            forced: BTreeMap::new(),
            ops: HashMap::new(),
            next_op: 1,
            full_busy: false,
            queued_full: None,
            dirty: BTreeSet::new(),
            ping_outstanding: false,
            counters: DpCounters::default(),
            warmup: Warmup::new(lb.startup_min_delay, lb.startup_max_delay),
            started,
            stats: stats::StatsState::new(
                Some(cfg.vpp.stats_socket.clone()).filter(|p| !p.as_os_str().is_empty()),
            ),
            vips_version: 0,
        }
    }

    pub fn enabled(&self) -> bool {
        self.link != Link::Disabled
    }

    pub fn is_up(&self) -> bool {
        self.link == Link::Up
    }

    pub fn info(&self) -> Option<&VppInfo> {
        self.info.as_ref()
    }

    /// VPP's `/sys/boottime` (Unix seconds) from the stats segment.
    pub fn boottime(&self) -> Option<u64> {
        self.stats.boottime()
    }

    /// The last per-VIP counter snapshot, for metrics.
    pub fn vip_counter_metrics(&self) -> Vec<crate::metrics::snapshot::VipCounters> {
        self.stats.vip_metrics()
    }

    fn elapsed(&self, now: Instant) -> Duration {
        now.saturating_duration_since(self.started)
    }

    /// Start: connect (if enabled) and arm the warmup poll.
    pub fn start(&mut self, ctx: &mut Ctx<'_>) {
        if self.link == Link::Disabled {
            return;
        }
        self.schedule_warmup(ctx);
        self.connect(ctx);
    }

    pub fn owns(&self, token: mio::Token) -> bool {
        token == tokens::VPP_API || token == tokens::VPP_STATS
    }

    fn connect(&mut self, ctx: &mut Ctx<'_>) {
        let Some(path) = self.socket.clone() else {
            return;
        };
        self.gen = self.gen.wrapping_add(1);
        match Connection::connect(
            &path,
            ctx.registry,
            tokens::VPP_API,
            ctx.now,
            REQUEST_TIMEOUT,
        ) {
            Ok(c) => {
                self.conn = Some(c);
                self.link = Link::Handshaking;
                self.schedule_deadline(ctx);
            }
            Err(e) => {
                logev!(
                    Level::Debug,
                    "vpp-connect-failed",
                    socket = path.display(),
                    error = e,
                    retry_ms = self.backoff.as_millis(),
                );
                self.schedule_reconnect(ctx);
            }
        }
    }

    fn schedule_reconnect(&mut self, ctx: &mut Ctx<'_>) {
        self.link = Link::Down;
        ctx.timers.schedule(
            ctx.now + self.backoff,
            TimerKey::VppReconnect { gen: self.gen },
        );
        self.backoff = (self.backoff * 2).min(MAX_BACKOFF);
    }

    /// Tear the connection down and forget everything VPP told us: after
    /// a reconnect nothing can be assumed (VPP may have restarted).
    fn disconnect(&mut self, ctx: &mut Ctx<'_>, reason: &dyn std::fmt::Display) {
        if let Some(mut c) = self.conn.take() {
            c.close(ctx.registry);
        }
        let was_up = self.link == Link::Up;
        logev!(
            if was_up { Level::Warn } else { Level::Debug },
            "vpp-disconnect",
            reason = reason,
        );
        self.counters.disconnects += 1;
        self.info = None;
        self.conf_pushed = None;
        self.current.clear();
        self.buckets.clear();
        self.cache_valid = false;
        self.flushed.clear();
        self.stats.reset(ctx.registry);
        self.ping_outstanding = false;
        self.full_busy = false;
        for (_, op) in self.ops.drain() {
            for client in op.reply_to() {
                ctx.replies.push((
                    client,
                    crate::control::render::reply_err("VPP disconnected"),
                ));
            }
        }
        if let Some(q) = self.queued_full.take() {
            for client in q.reply_to {
                ctx.replies.push((
                    client,
                    crate::control::render::reply_err("VPP disconnected"),
                ));
            }
        }
        self.gen = self.gen.wrapping_add(1);
        if was_up {
            // First retry fast: VPP may just have restarted.
            self.backoff = FIRST_BACKOFF;
        }
        self.schedule_reconnect(ctx);
    }

    fn schedule_deadline(&mut self, ctx: &mut Ctx<'_>) {
        if let Some(c) = self.conn.as_mut() {
            if let Some(at) = c.session_mut().next_deadline() {
                ctx.timers
                    .schedule(at, TimerKey::VppRequestDeadline { gen: self.gen });
            }
        }
    }

    /// Socket readiness.
    pub fn on_ready(&mut self, ctx: &mut Ctx<'_>, event: &mio::event::Event) {
        if event.token() == tokens::VPP_STATS {
            self.stats.on_ready(ctx.registry);
            return;
        }
        let Some(conn) = self.conn.as_mut() else {
            return;
        };
        let mut events = Vec::new();
        let result = conn.on_ready(ctx.registry, event, ctx.now, &mut events);
        for ev in events {
            self.on_session_event(ctx, ev);
        }
        if let Err(e) = result {
            self.fail(ctx, e);
        }
    }

    fn fail(&mut self, ctx: &mut Ctx<'_>, e: ConnError) {
        if let ConnError::Session(crate::vpp::session::SessionError::Missing(m)) = &e {
            logev!(
                Level::Error,
                "vpp-api-incompatible",
                error = m,
                msg = "this VPP lacks messages maglevd needs; check the VPP version",
            );
        }
        self.disconnect(ctx, &e);
    }

    /// A timer of ours fired.
    pub fn on_timer(&mut self, ctx: &mut Ctx<'_>, key: TimerKey) {
        match key {
            TimerKey::VppReconnect { gen } if gen == self.gen && self.link == Link::Down => {
                self.connect(ctx)
            }
            TimerKey::VppPing { gen } if gen == self.gen && self.link == Link::Up => {
                if self.ping_outstanding {
                    self.disconnect(ctx, &"liveness ping unanswered");
                    return;
                }
                self.ping_outstanding = true;
                self.send_op(ctx, ops::Op::Ping, vec![Request::Ping]);
                ctx.timers
                    .schedule(ctx.now + PING_INTERVAL, TimerKey::VppPing { gen: self.gen });
            }
            TimerKey::VppRequestDeadline { gen } if gen == self.gen => {
                let mut events = Vec::new();
                let r = match self.conn.as_mut() {
                    Some(c) => c.session_mut().expire(ctx.now, &mut events),
                    None => Ok(()),
                };
                for ev in events {
                    self.on_session_event(ctx, ev);
                }
                if r.is_err() {
                    self.disconnect(ctx, &"handshake timed out");
                    return;
                }
                self.schedule_deadline(ctx);
            }
            TimerKey::VppSync { gen } if gen == self.sync_gen => {
                self.request_full(ctx, Trigger::Periodic, None, None);
                self.schedule_periodic(ctx);
            }
            TimerKey::Warmup => self.on_warmup_timer(ctx),
            TimerKey::StatsScrape { gen } if gen == self.gen && self.link == Link::Up => {
                self.scrape(ctx);
                ctx.timers.schedule(
                    ctx.now + stats::SCRAPE_INTERVAL,
                    TimerKey::StatsScrape { gen: self.gen },
                );
            }
            _ => {}
        }
    }

    fn schedule_periodic(&mut self, ctx: &mut Ctx<'_>) {
        let interval = ctx.cfg.vpp.lb.sync_interval;
        if interval.is_zero() || !self.warmup.is_finished() {
            return;
        }
        ctx.timers
            .schedule(ctx.now + interval, TimerKey::VppSync { gen: self.sync_gen });
    }

    fn schedule_warmup(&mut self, ctx: &mut Ctx<'_>) {
        if let Some(at) = self.warmup.next_poll(self.elapsed(ctx.now)) {
            ctx.timers.schedule(self.started + at, TimerKey::Warmup);
        }
    }

    fn on_warmup_timer(&mut self, ctx: &mut Ctx<'_>) {
        let elapsed = self.elapsed(ctx.now);
        let known: Vec<(String, bool)> = ctx
            .cfg
            .frontends
            .iter()
            .map(|(n, f)| {
                let all_known = f
                    .backend_names()
                    .all(|b| ctx.checker.state_of(b) != crate::health::State::Unknown);
                (n.clone(), all_known)
            })
            .collect();
        let actions = self
            .warmup
            .poll(elapsed, known.iter().map(|(n, k)| (n.as_str(), *k)));
        for f in &actions.released {
            logev!(
                Level::Info,
                "vpp-lb-warmup-release",
                frontend = f,
                trigger = "poller",
                elapsed_ms = elapsed.as_millis(),
            );
            if !actions.finished {
                self.sync_frontend(ctx, f);
            }
        }
        if actions.finished {
            logev!(
                Level::Info,
                "vpp-lb-warmup-done",
                elapsed_ms = elapsed.as_millis()
            );
            self.request_full(ctx, Trigger::WarmupEnd, None, None);
            self.sync_gen = self.sync_gen.wrapping_add(1);
            self.schedule_periodic(ctx);
        } else {
            self.schedule_warmup(ctx);
        }
    }

    /// A backend transition touched `frontend` (one event per frontend).
    pub fn on_frontend_event(&mut self, ctx: &mut Ctx<'_>, frontend: &str) {
        if !self.enabled() {
            return;
        }
        let elapsed = self.elapsed(ctx.now);
        match self.warmup.may_sync_vip(frontend, elapsed) {
            Gate::Allowed => self.sync_frontend(ctx, frontend),
            Gate::SuppressedMinDelay => logev!(
                Level::Debug,
                "vpp-reconciler-suppressed-min-delay",
                frontend = frontend,
            ),
            Gate::SuppressedWarmup => {
                let all_known = ctx.cfg.frontends.get(frontend).is_some_and(|f| {
                    f.backend_names()
                        .all(|b| ctx.checker.state_of(b) != crate::health::State::Unknown)
                });
                if let Some(r) = self.warmup.try_release(frontend, all_known, elapsed) {
                    logev!(
                        Level::Info,
                        "vpp-lb-warmup-release",
                        frontend = r.frontend,
                        trigger = "event",
                        elapsed_ms = r.elapsed.as_millis(),
                    );
                    self.sync_frontend(ctx, frontend);
                } else {
                    logev!(
                        Level::Debug,
                        "vpp-reconciler-suppressed-warmup",
                        frontend = frontend,
                    );
                }
            }
        }
    }

    /// After a successful reload: re-push lb_conf if it changed, restart
    /// the periodic timer, run a full sync (gated by warmup).
    pub fn on_reload(&mut self, ctx: &mut Ctx<'_>, new_socket: Option<PathBuf>) {
        if new_socket != self.socket {
            logev!(
                Level::Warn,
                "config-reload-ignored",
                key = "vpp.api-socket",
                msg = "the VPP socket changes only on restart",
            );
        }
        if !self.enabled() {
            return;
        }
        self.flushed
            .retain_vips(&desired::all(ctx.cfg, ctx.checker));
        self.push_conf_if_changed(ctx);
        self.sync_gen = self.sync_gen.wrapping_add(1);
        self.schedule_periodic(ctx);
        self.request_full(ctx, Trigger::Reload, None, None);
    }

    fn push_conf_if_changed(&mut self, ctx: &mut Ctx<'_>) {
        if self.link != Link::Up && self.link != Link::Starting {
            return;
        }
        let conf = desired::lb_conf(ctx.cfg);
        if self.conf_pushed == Some(conf) {
            return;
        }
        self.conf_pushed = Some(conf);
        self.send_op(ctx, ops::Op::Conf, vec![Request::LbConf(conf)]);
    }

    /// Operator weight change: sync that VIP now, with a forced flush of
    /// the backend's AS when asked.
    pub fn on_weight_set(&mut self, ctx: &mut Ctx<'_>, frontend: &str, backend: &str, flush: bool) {
        if !self.enabled() {
            return;
        }
        if flush {
            if let (Some(f), Some(b)) = (
                ctx.cfg.frontends.get(frontend),
                ctx.cfg.backends.get(backend),
            ) {
                self.forced
                    .entry(desired::vip_key(f))
                    .or_default()
                    .insert(b.address.to_canonical());
            }
        }
        self.on_frontend_event(ctx, frontend);
    }

    /// Queue requests as one operation and flush the socket once.
    fn send_op(&mut self, ctx: &mut Ctx<'_>, op: ops::Op, requests: Vec<Request>) -> Option<u64> {
        let conn = self.conn.as_mut()?;
        let id = self.next_op;
        self.next_op += 1;
        for (i, req) in requests.iter().enumerate() {
            let tag = (id << 24) | i as u64;
            self.counters.count_api(req.message(), "send", true);
            logev!(Level::Debug, "vpp-api-send", msg = req.message(), tag = tag);
            if let Err(e) = conn.queue(tag, req, ctx.now) {
                logev!(
                    Level::Warn,
                    "vpp-api-send-failed",
                    msg = req.message(),
                    error = e
                );
                return None;
            }
        }
        self.ops.insert(id, op);
        if let Some(Err(e)) = self.conn.as_mut().map(|c| c.flush(ctx.registry)) {
            self.fail(ctx, e);
            return None;
        }
        self.schedule_deadline(ctx);
        Some(id)
    }
}
