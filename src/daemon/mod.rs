//! The daemon: the single-threaded `mio` event loop and the glue that feeds
//! sockets, signals and time into the pure cores. This is the only module
//! that waits.
//!
//! Each iteration: wait in `poll` until the next timer deadline, dispatch the
//! ready sockets by token range, fire due timers, answer complete control
//! lines, then fan events and captured log records out to watchers.

pub mod checker;
pub mod cli;
mod commands;
pub mod control_server;
pub mod dataplane;
mod desired;
mod entry;
pub mod frontends;
mod metrics_view;
pub mod reload;
pub mod rlimit;
pub mod tokens;
mod views;
mod watch;

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use log::Level;
use mio::{Events, Interest, Poll};
use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM, SIGUSR1};
use signal_hook_mio::v1_0::Signals;

use crate::config::Config;
use crate::logev;
use crate::logging;

use checker::{BackendTransition, Checker};
use cli::Options;
use control_server::{ControlLine, ControlServer};
use dataplane::{Ctx, Dataplane};
use frontends::FrontendTracker;
use tokens::TimerKey;
use watch::Watchers;

pub use entry::{load_config, main, StartupError};

/// Most control clients served at once.
pub const MAX_CONTROL_CLIENTS: usize = 1024;
/// Backends rendered per loop pass while a `/metrics` page is in progress
/// (about 1.5 ms of work): probes run between slices.
const METRICS_SLICE_BACKENDS: usize = 1000;
/// Probe starts taken ahead of their planned instant (`Checker::start_slack`)
/// per wake-up of the loop.
const EARLY_STARTS_PER_WAKEUP: u32 = 32;
/// Timers (mostly probe starts, ~20 µs each) worked through in one loop
/// pass before the loop looks at its sockets again. More are due or may
/// start early: the next pass polls without sleeping and goes on.
const TIMERS_PER_PASS: u32 = 4;
/// The loop never sleeps longer than this (a safety net, not a tick).
const MAX_POLL_WAIT: Duration = Duration::from_secs(60);

/// Loop statistics reported by `show` and metrics.
#[derive(Debug, Default, Clone, Copy)]
pub struct LoopStats {
    pub iterations: u64,
    pub events: u64,
}

pub struct Daemon {
    poll: Poll,
    timers: crate::timer::TimerHeap<TimerKey>,
    opts: Options,
    config: Config,
    checker: Checker,
    frontends: FrontendTracker,
    control: ControlServer,
    watchers: Watchers,
    dataplane: Dataplane,
    /// `None` when `--metrics-addr` is empty.
    metrics: Option<crate::metrics::MetricsServer>,
    /// Reused between scrapes: a 10k-backend page is ~20 MB.
    metrics_buf: String,
    /// The `/metrics` page being rendered, and the clients waiting for it.
    metrics_job: Option<(crate::metrics::RenderJob, Vec<u64>)>,
    signals: Signals,
    /// Process start: the warmup clock and the uptime metric count from here.
    started: Instant,
    running: bool,
    loop_stats: LoopStats,
}

impl Daemon {
    pub fn new(opts: Options, config: Config) -> Result<Daemon, StartupError> {
        let poll = Poll::new().map_err(StartupError::Poll)?;
        let mut signals =
            Signals::new([SIGHUP, SIGTERM, SIGINT, SIGUSR1]).map_err(StartupError::Signals)?;
        poll.registry()
            .register(&mut signals, tokens::SIGNALS, Interest::READABLE)
            .map_err(StartupError::Signals)?;
        let socket_path = opts
            .control_socket
            .clone()
            .or_else(|| config.control.socket.clone())
            .unwrap_or_else(|| PathBuf::from(cli::DEFAULT_CONTROL_SOCKET));
        let control = ControlServer::bind(
            &socket_path,
            config.control.mode,
            poll.registry(),
            tokens::CONTROL_LISTENER,
            tokens::CONTROL_CLIENT_BASE,
            MAX_CONTROL_CLIENTS,
        )
        .map_err(StartupError::Control)?;
        logev!(
            Level::Info,
            "control-listening",
            socket = socket_path.display(),
            mode = format_args!("{:04o}", config.control.mode),
        );
        let seed =
            u64::from(std::process::id()) ^ (logging::now_unix_ms() << 16) ^ 0x9e37_79b9_7f4a_7c15;
        let checker = Checker::new(&config, seed).map_err(StartupError::Check)?;
        let started = Instant::now();
        let dataplane = Dataplane::new(&config, started);
        let metrics = if opts.metrics_addr.is_empty() {
            None
        } else {
            let addr: std::net::SocketAddr = opts
                .metrics_addr
                .parse()
                .map_err(|_| StartupError::MetricsAddr(opts.metrics_addr.clone()))?;
            let m = crate::metrics::MetricsServer::bind(
                addr,
                poll.registry(),
                tokens::METRICS_LISTENER,
                tokens::METRICS_CLIENT_BASE,
                crate::metrics::http::MAX_CLIENTS,
                crate::metrics::http::IDLE_TIMEOUT,
            )
            .map_err(StartupError::Metrics)?;
            logev!(Level::Info, "metrics-listening", addr = m.local_addr());
            Some(m)
        };
        let mut d = Daemon {
            poll,
            timers: crate::timer::TimerHeap::new(),
            opts,
            config: Config::empty(),
            checker,
            frontends: FrontendTracker::default(),
            control,
            watchers: Watchers::default(),
            dataplane,
            metrics,
            metrics_buf: String::new(),
            metrics_job: None,
            signals,
            started,
            running: true,
            loop_stats: LoopStats::default(),
        };
        d.raise_nofile(&config);
        d.apply_config(config, "startup")
            .map_err(StartupError::Check)?;
        release_free_memory();
        d.with_dataplane(|dp, ctx| dp.start(ctx));
        Ok(d)
    }

    fn raise_nofile(&self, cfg: &Config) {
        let needed = rlimit::needed(cfg.backends.len(), MAX_CONTROL_CLIENTS);
        match rlimit::raise_to(needed) {
            Ok(c) if c.after < c.needed => logev!(
                Level::Warn,
                "rlimit-nofile",
                before = c.before,
                after = c.after,
                needed = c.needed,
                hard = c.hard,
                msg = "hard limit too low: probes may fail with EMFILE",
            ),
            Ok(c) if c.after != c.before => logev!(
                Level::Info,
                "rlimit-nofile",
                before = c.before,
                after = c.after,
                needed = c.needed,
            ),
            Ok(_) => {}
            Err(e) => logev!(Level::Warn, "rlimit-nofile-failed", error = e),
        }
    }

    /// Apply a validated config (startup or reload) and report what changed.
    fn apply_config(
        &mut self,
        new: Config,
        trigger: &str,
    ) -> Result<String, checker::CheckBuildError> {
        Checker::precheck(&new)?;
        let plan = reload::plan(&self.config, &new);
        let mut transitions = Vec::new();
        let now = Instant::now();
        self.checker.apply_reload(
            &new,
            &plan,
            self.poll.registry(),
            &mut self.timers,
            now,
            &mut transitions,
        )?;
        let counts = reload::PlanCounts::of(&plan);
        // The plan borrows the new config's names; it goes before the config
        // moves in.
        drop(plan);
        let summary = format!(
            "added={} removed={} restarted={} kept={}",
            counts.added, counts.removed, counts.restarted, counts.kept
        );
        if trigger != "startup"
            && new.control.socket != self.config.control.socket
            && self.opts.control_socket.is_none()
        {
            logev!(
                Level::Warn,
                "config-reload-ignored",
                key = "control.socket",
                msg = "the control socket moves only on restart",
            );
        }
        self.config = new;
        self.frontends.reindex(&self.config);
        self.handle_transitions(transitions);
        let checker = &self.checker;
        let changes = self.frontends.update(
            &self.config,
            None,
            &|b| checker.state_of(b),
            logging::now_unix_ms(),
        );
        self.emit_frontend_transitions(changes);
        logev!(
            Level::Info,
            "config-reload-done",
            trigger = trigger,
            backends = self.config.backends.len(),
            frontends = self.config.frontends.len(),
            added = counts.added,
            removed = counts.removed,
            restarted = counts.restarted,
        );
        Ok(summary)
    }

    /// Reload from disk (SIGHUP, `config reload`). On any error nothing
    /// changes; the error is logged and returned.
    fn reload(&mut self, trigger: &str) -> Result<String, String> {
        logev!(Level::Info, "config-reload-start", trigger = trigger);
        let new = match load_config(&self.opts) {
            Ok(c) => c,
            Err(e) => {
                logev!(
                    Level::Error,
                    "config-reload-failed",
                    trigger = trigger,
                    error = e
                );
                return Err(e.to_string());
            }
        };
        if let Err(e) = Checker::precheck(&new) {
            logev!(
                Level::Error,
                "config-reload-failed",
                trigger = trigger,
                error = e
            );
            return Err(e.to_string());
        }
        self.raise_nofile(&new);
        let socket = new.vpp.api_socket.clone();
        let summary = self.apply_config(new, trigger).map_err(|e| e.to_string())?;
        self.with_dataplane(|dp, ctx| dp.on_reload(ctx, socket));
        release_free_memory();
        Ok(summary)
    }

    /// Run a dataplane step with a view of the daemon, then send the
    /// control replies it deferred.
    fn with_dataplane<R>(&mut self, f: impl FnOnce(&mut Dataplane, &mut Ctx<'_>) -> R) -> R {
        let mut replies = Vec::new();
        let r = {
            let mut ctx = Ctx {
                registry: self.poll.registry(),
                timers: &mut self.timers,
                cfg: &self.config,
                checker: &self.checker,
                now: Instant::now(),
                replies: &mut replies,
            };
            f(&mut self.dataplane, &mut ctx)
        };
        let now = Instant::now();
        for (client, text) in replies {
            self.control.reply(
                self.poll.registry(),
                client,
                &text,
                control_server::After::Default,
                now,
            );
        }
        r
    }

    /// Log transitions, emit one event per referencing frontend, and update
    /// the frontends' aggregate states.
    fn handle_transitions(&mut self, transitions: Vec<BackendTransition>) {
        if transitions.is_empty() {
            return;
        }
        let mut touched = std::collections::BTreeSet::new();
        for bt in &transitions {
            let t = &bt.transition;
            logev!(
                Level::Info,
                "backend-transition",
                backend = bt.backend,
                from = t.from,
                to = t.to,
                code = t.code,
                detail = bt.detail,
            );
            self.checker.note_transition(&bt.backend, t);
            let users: Vec<String> = self.frontends.users_of(&bt.backend).cloned().collect();
            self.watchers.backend_event(
                &mut self.control,
                self.poll.registry(),
                bt,
                &users,
                Instant::now(),
            );
            touched.extend(users);
        }
        let checker = &self.checker;
        let changes = self.frontends.update(
            &self.config,
            Some(&mut touched.iter()),
            &|b| checker.state_of(b),
            logging::now_unix_ms(),
        );
        self.emit_frontend_transitions(changes);
        // The only health → VPP path: one VIP sync per touched frontend.
        self.with_dataplane(|dp, ctx| {
            for f in &touched {
                dp.on_frontend_event(ctx, f);
            }
        });
    }

    fn emit_frontend_transitions(&mut self, changes: Vec<frontends::FrontendTransition>) {
        for ft in changes {
            logev!(
                Level::Info,
                "frontend-transition",
                frontend = ft.frontend,
                from = ft.from,
                to = ft.to,
            );
            self.watchers.frontend_event(
                &mut self.control,
                self.poll.registry(),
                &ft,
                Instant::now(),
            );
        }
    }

    /// The event loop. Returns the process exit code.
    pub fn run(&mut self) -> ExitCode {
        // Lines of a pass go to the writer in one batch, before the loop
        // sleeps: never between a probe result and the VPP call it causes.
        logging::defer_on_this_thread();
        let mut events = Events::with_capacity(1024);
        let mut lines: Vec<ControlLine> = Vec::new();
        let mut transitions: Vec<BackendTransition> = Vec::new();
        // Early starts left in this wake-up, and whether the last pass
        // stopped with timers still to take (then this pass must not sleep).
        let mut early_left = EARLY_STARTS_PER_WAKEUP;
        let mut more_timers = false;
        logev!(
            Level::Info,
            "running",
            backends = self.config.backends.len(),
            frontends = self.config.frontends.len(),
        );
        while self.running {
            let now = Instant::now();
            let mut timeout = self.timers.poll_timeout(now, MAX_POLL_WAIT);
            if let Some(d) = self.checker.next_deadline() {
                timeout = timeout.min(d.saturating_duration_since(now));
            }
            if self.control.client_count() > 0 {
                if let Some(d) = self.control.next_deadline() {
                    timeout = timeout.min(d.saturating_duration_since(now));
                }
            }
            if let Some(d) = self.metrics.as_ref().and_then(|m| m.next_deadline()) {
                timeout = timeout.min(d.saturating_duration_since(now));
            }
            if self.metrics_job.is_some() || more_timers {
                // A render in progress, or timers left over by the last
                // pass: look at the sockets and come back at once.
                timeout = Duration::ZERO;
            } else {
                early_left = EARLY_STARTS_PER_WAKEUP;
            }
            logging::flush_deferred();
            if let Err(e) = self.poll.poll(&mut events, Some(timeout)) {
                if e.kind() != std::io::ErrorKind::Interrupted {
                    logev!(Level::Error, "poll-failed", error = e);
                    return ExitCode::from(1);
                }
            }
            self.loop_stats.iterations += 1;
            let now = Instant::now();
            for event in events.iter() {
                self.loop_stats.events += 1;
                let token = event.token();
                if self.checker.is_probe_token(token) {
                    self.checker
                        .on_probe_ready(event, &mut self.timers, now, &mut transitions);
                    // A state change goes to VPP before the rest of this
                    // batch of events is worked through: the reaction time
                    // of the dataplane must not grow with the probe load.
                    if !transitions.is_empty() {
                        self.handle_transitions(std::mem::take(&mut transitions));
                    }
                } else if token == tokens::SIGNALS {
                    self.on_signals();
                } else if self.control.is_listener(token) {
                    self.control.accept(self.poll.registry(), now);
                } else if let Some(client) = self.control.client_of(token) {
                    self.control
                        .on_ready(self.poll.registry(), client, event, now, &mut lines);
                    if !self.control.is_watching(client) {
                        self.watchers.forget_if_gone(&self.control);
                    }
                } else if self.metrics.as_ref().is_some_and(|m| m.owns(token)) {
                    self.on_metrics_ready(token, event, now);
                } else if self.dataplane.owns(token) {
                    self.with_dataplane(|dp, ctx| dp.on_ready(ctx, event));
                } else if self.checker.is_icmp_token(token) {
                    self.checker
                        .on_icmp_ready(token, &mut self.timers, now, &mut transitions);
                }
            }
            self.checker
                .expire_probes(&mut self.timers, now, &mut transitions);
            if !transitions.is_empty() {
                self.handle_transitions(std::mem::take(&mut transitions));
            }
            // Early starts share a wake-up, and a pass is kept short: a
            // probe answer that arrives during a batch of starts is read
            // after at most TIMERS_PER_PASS of them, not after the whole
            // batch (the reaction time of the dataplane). Splitting a batch
            // costs one epoll_wait that does not sleep; skipping early
            // starts in busy passes instead cost up to 35 % more CPU per
            // probe at 5,000 to 10,000 backends (scripts/bench/README.md).
            let mut taken = 0;
            more_timers = false;
            loop {
                if taken == TIMERS_PER_PASS {
                    more_timers = true;
                    break;
                }
                let checker = &self.checker;
                let Some((scheduled, key)) = self.timers.pop_due_within(now, |k| match k {
                    TimerKey::Probe { slot, .. } if early_left > 0 => checker.start_slack(*slot),
                    _ => Duration::ZERO,
                }) else {
                    break;
                };
                taken += 1;
                early_left = early_left.saturating_sub(1);
                self.on_timer(key, scheduled, now, &mut transitions);
                if !transitions.is_empty() {
                    self.handle_transitions(std::mem::take(&mut transitions));
                }
            }
            // The wake-up's starts are done: its requests go out before the
            // loop may sleep.
            if !more_timers && self.checker.requests_due() > 0 {
                self.checker
                    .send_requests(&mut self.timers, now, &mut transitions);
            }
            if !transitions.is_empty() {
                self.handle_transitions(std::mem::take(&mut transitions));
            }
            if self.control.client_count() > 0 {
                self.control.expire_idle(self.poll.registry(), now);
            }
            if let Some(m) = self.metrics.as_mut() {
                if m.client_count() > 0 {
                    m.expire_idle(self.poll.registry(), now);
                }
            }
            for line in lines.drain(..) {
                self.execute_line(line, now);
            }
            self.metrics_step(now);
            self.watchers.forget_if_gone(&self.control);
            self.watchers
                .forward_logs(&mut self.control, self.poll.registry(), Instant::now());
        }
        // Scheduling quality over the whole run, for scripts/bench (the
        // control grammar has no stats command yet).
        let lateness = &self.checker.lateness;
        logev!(
            Level::Info,
            "stopping",
            reason = "signal",
            probes_started = self.checker.probes_started,
            lateness_samples = lateness.count(),
            lateness_p50_us = lateness.quantile_us(0.50),
            lateness_p99_us = lateness.quantile_us(0.99),
            lateness_max_us = lateness.max_us(),
        );
        self.control.shutdown(self.poll.registry());
        if let Some(m) = self.metrics.as_mut() {
            m.shutdown(self.poll.registry());
        }
        ExitCode::SUCCESS
    }

    fn on_timer(
        &mut self,
        key: TimerKey,
        scheduled: Instant,
        now: Instant,
        transitions: &mut Vec<BackendTransition>,
    ) {
        let registry = self.poll.registry();
        match key {
            TimerKey::Probe { slot, gen } => self.checker.on_probe_timer(
                (slot, gen, scheduled),
                registry,
                &mut self.timers,
                now,
                transitions,
            ),
            dp_key => self.with_dataplane(|dp, ctx| dp.on_timer(ctx, dp_key)),
        }
    }

    fn on_metrics_ready(&mut self, token: mio::Token, event: &mio::event::Event, now: Instant) {
        let Some(m) = self.metrics.as_mut() else {
            return;
        };
        if m.is_listener(token) {
            m.accept(self.poll.registry(), now);
            return;
        }
        let Some(client) = m.client_of(token) else {
            return;
        };
        if let Some(c) = m.on_ready(self.poll.registry(), client, event, now) {
            self.want_metrics(c, now);
        }
    }

    /// A client asked for `/metrics`: it joins the render in progress or
    /// starts one. The page is rendered in slices between loop passes.
    fn want_metrics(&mut self, client: u64, now: Instant) {
        match self.metrics_job.as_mut() {
            Some((_, waiting)) => waiting.push(client),
            None => {
                let snapshot = self.metrics_snapshot(now);
                let buf = std::mem::take(&mut self.metrics_buf);
                self.metrics_job =
                    Some((crate::metrics::RenderJob::new(snapshot, buf), vec![client]));
            }
        }
    }

    /// One slice of the render in progress; answer its clients when done.
    fn metrics_step(&mut self, now: Instant) {
        let Some((job, _)) = self.metrics_job.as_mut() else {
            return;
        };
        let started = Instant::now();
        if !job.step(METRICS_SLICE_BACKENDS) {
            return;
        }
        let Some((job, waiting)) = self.metrics_job.take() else {
            return;
        };
        let body = job.finish();
        let mut again = Vec::new();
        if let Some(m) = self.metrics.as_mut() {
            for c in waiting {
                // A pipelined next request of the same client gets the next page.
                if let Some(next) = m.respond(self.poll.registry(), c, &body, now) {
                    again.push(next);
                }
            }
        }
        logev!(
            Level::Debug,
            "metrics-render",
            bytes = body.len(),
            last_slice_us = started.elapsed().as_micros(),
        );
        self.metrics_buf = body;
        for c in again {
            self.want_metrics(c, now);
        }
    }

    fn on_signals(&mut self) {
        let pending: Vec<i32> = self.signals.pending().collect();
        for sig in pending {
            match sig {
                SIGHUP => {
                    let _ = self.reload("SIGHUP");
                }
                SIGTERM | SIGINT => {
                    logev!(
                        Level::Info,
                        "signal",
                        signal = if sig == SIGTERM { "SIGTERM" } else { "SIGINT" },
                        action = "shutdown",
                    );
                    self.running = false;
                }
                SIGUSR1 => {
                    logging::reopen();
                    logev!(Level::Info, "log-reopen", trigger = "SIGUSR1");
                }
                _ => {}
            }
        }
    }
}

/// Give the memory the YAML parser used back to the system: parsing a
/// 10,000-backend config briefly needs several times what the daemon keeps,
/// and glibc would otherwise hold on to it for the life of the process.
fn release_free_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim has no preconditions; it only returns free pages.
    unsafe {
        nix::libc::malloc_trim(0);
    }
}
